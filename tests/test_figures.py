"""The verdict figures: the rounding sizes they plot against the encoder's own rounding (a simulation), and
the forest plot's rows against verdicts.json."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from dark.analysis.report import figures
from dark.codecs import ENCODINGS
from dark.codecs.encode import centres

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stride", [4, 8])
@pytest.mark.parametrize("name", figures.ROUNDINGS)
def test_rounding_sizes_are_those_of_the_encoder(name, stride):
    """RMS displacement and mean shift of a target centre per axis (input px, at two strides), measured on the
    encoder's ``centres`` for uniform sub-pixel positions, against the closed forms the figure plots."""
    e = ENCODINGS[name]
    g = torch.Generator().manual_seed(0)
    x_in = torch.rand(200_000, 2, generator=g, dtype=torch.float64) * 64 + 8  # input px
    c = centres(x_in / stride, (32, 32), e.method, e.grid, stride, e.rounding or "nearest", g, e.grid_step)
    d = (c * stride - x_in).numpy()
    rms, mean = figures.rounding_size(name, stride)
    assert np.sqrt((d**2).mean()) == pytest.approx(rms, rel=0.01)
    assert d.mean() == pytest.approx(mean, abs=0.01 + 0.01 * rms)


def test_forest_has_a_row_per_evaluated_endpoint_and_the_rounding_figure_a_point_per_reading():
    saved = json.loads((ROOT / "results" / "cpu" / "results" / "verdicts.json").read_text())
    rows = [r for c in ("1", "2") for r in saved[c]["primary"] if r.get("estimate") is not None]
    fig = figures.forest(saved)
    assert len(fig.axes[0].get_yticks()) == len(rows) == 12
    fig = figures.rounding_costs(saved)
    readings = [
        r for r in saved["2"]["by_reading"]
        if (r["model"], r["protocol"]) == ("sh", "standard") and r["quantiser"] in figures.ROUNDINGS
    ]  # fmt: skip
    assert len(fig.axes[0].containers) == len(readings)  # one error bar each
    assert figures.verdict_class("reproduced, larger than reported") == "reproduced"


def test_waterfall_and_table2_dots_draw_what_they_read():
    """The waterfall's bars stack to the report protocol's gap; the dot plot has one row per Table 2 row
    with runs, the report's value at each."""
    import glob

    from dark.analysis import report
    from dark.analysis.report import why

    recs = report.load_runs(sorted(glob.glob(str(ROOT / "results" / "cpu" / "runs" / "sh-*"))))
    rows = why.decompose_claim1([r for r in recs if r.encoding == "unbiased"], "sh", "0.1")
    fig = figures.waterfall(rows)
    bars = fig.axes[0].patches
    measured = [r for r in rows if r.estimate is not None]
    steps = measured[1:-2]
    top = bars[len(steps)]  # the last step's bar ends where the steps add up to
    assert top.get_y() + top.get_height() == pytest.approx(
        measured[0].estimate.value + sum(s.estimate.value for s in steps)
    )
    assert top.get_y() + top.get_height() == pytest.approx(measured[-2].estimate.value, abs=1e-6)
    a = report.analyse(recs)
    fig = figures.table2_dots(a)
    assert len(fig.axes[0].get_yticks()) == 8  # SH: 2 encodings x 4 decoders
