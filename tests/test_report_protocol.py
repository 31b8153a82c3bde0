"""The scoring protocols (:mod:`dark.design.protocols`): the standard one and the report's own code (issue
18)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dark.design import paper
from dark.design.protocols import PROTOCOLS, Protocol


def test_both_protocols_fill_every_row_of_table_2():
    assert set(PROTOCOLS) == {"standard", "report"}
    for name, p in PROTOCOLS.items():
        assert isinstance(p, Protocol) and p.name == name
        assert set(p.decoders) == set(paper.PAPER_DECODERS)
        assert p.primary_metric in p.metrics and len(p.metrics) == 3
    assert PROTOCOLS["standard"].metrics == paper.TABLE_METRICS
    assert PROTOCOLS["report"].decoders["standard"] == "standard_report"
    assert PROTOCOLS["report"].decoders["dark"] == "dark_report"


def test_every_name_of_a_protocol_exists():
    from dark import codecs, metrics

    for p in PROTOCOLS.values():
        for m in p.metrics:
            assert metrics.metric(m).name == m and m in metrics.ALL_METRIC_NAMES
        assert set(p.decoders.values()) <= set(codecs.DECODERS)
        assert set(p.metrics) <= set(metrics.PER_EPOCH_METRICS)  # validation scores both protocols


class _MapsModel(torch.nn.Module):
    """Returns given heatmaps in the order asked for (the last stack's output), whatever the input."""

    def __init__(self, maps):
        super().__init__()
        self.maps, self.seen = maps, 0

    def forward(self, x):
        out = self.maps[self.seen : self.seen + len(x)]
        self.seen += len(x)
        return [out]


def test_validation_scores_the_per_axis_pckh_of_every_decoder_with_its_visibility():
    from dark import codecs, metrics
    from dark.experiment import runs, train

    config = runs.RunConfig.resolve("sh", "ceil", "full", precision="fp32")  # the report's SH quant: batch 24
    rng = np.random.default_rng(0)
    n = 40
    gt = np.stack([rng.uniform(-10, 330, (n, 18)), rng.uniform(-5, 165, (n, 18))], axis=-1)
    gt[:, 3] = gt[:, 2] + rng.normal([20, 0], [4, 3], (n, 2))
    maps = codecs.encode(torch.as_tensor(gt / 4), size=(40, 80), sigma=2.0).float()
    maps = maps * torch.as_tensor(rng.uniform(0.3, 1.0, (n, 18, 1, 1)), dtype=torch.float32)  # some faint
    maps = maps + 0.05 * torch.rand(maps.shape, generator=torch.Generator().manual_seed(1))
    split = {
        "depth": torch.zeros((n, 1, 160, 320)),
        "joints": torch.as_tensor(gt, dtype=torch.float32),
        "visible": torch.ones((n, 18), dtype=torch.bool),
        "head_size": torch.full((n,), 20.0),
    }
    scores = train.validate(_MapsModel(maps), split, config, torch.device("cpu"))["val_decoders"]
    fov = metrics.fov_mask(split["joints"])
    for d in ("dark_report", "standard_report", "argmax"):  # independent: decode, visibility, metric
        step = 24 if d == "standard_report" else n  # the report's SH quant test batch, in order
        xy = torch.cat(
            [codecs.decode(maps[i : i + step], d, sigma=2.0)[0] for i in range(0, n, step)]
        ).double()
        pv = codecs.report_visibility(maps, xy, stride=4).numpy()
        assert 0.2 < pv.mean() < 1  # faint maps are predicted invisible
        for a in (0.1, 0.5):
            expect = metrics.pckh_per_axis(4 * xy.numpy(), gt, a, gt_visible=fov, pred_visible=pv)
            assert scores[d][f"pckh_axis@{a}"] == pytest.approx(expect, abs=1e-4), (d, a)
