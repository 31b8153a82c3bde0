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


@pytest.mark.parametrize("name", sorted(figures.ROUNDINGS))
def test_rounding_sizes_are_those_of_the_encoder(name):
    """RMS displacement and mean shift of a target centre per axis (input px, stride 4), measured on the
    encoder's ``centres`` for uniform sub-pixel positions, against the closed forms the figure plots."""
    e = ENCODINGS[name]
    g = torch.Generator().manual_seed(0)
    x_in = torch.rand(200_000, 2, generator=g, dtype=torch.float64) * 64 + 8  # input px
    c = centres(x_in / 4, (32, 32), e.method, e.grid, 4, e.rounding or "nearest", g, e.grid_step)
    d = (c * 4 - x_in).numpy()
    rms, mean = figures.ROUNDINGS[name]
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
