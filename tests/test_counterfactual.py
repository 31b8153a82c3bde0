"""dark.analysis.report.counterfactual: the shift-only counterfactual against a known truth (synthetic
predictions
whose quantised cell is the unbiased one shifted by a known bias)."""

import numpy as np
import pytest

from dark.analysis.protocols import PROTOCOLS
from dark.analysis.report.counterfactual import counterfactual, counterfactual_display
from dark.analysis.report.load import RunRecord
from dark.experiment import runs

N, K = 60, 6
DECODERS = ["argmax", "standard", "com", "dark", "standard_report", "dark_report"]


def _truth(rng):
    gt = rng.uniform(20, 300, (N, K, 2))
    visible = rng.random((N, K)) > 0.15
    head = rng.uniform(18, 30, N)
    return gt, visible, head


def _record(root, encoding, seed, coords, gt, visible, head):
    path = root / runs.run_name("sh", encoding, seed)
    path.mkdir(parents=True)
    arrays = {
        "coords": coords.astype(np.float32), "decoders": np.array(DECODERS), "gt": gt, "visible": visible,
        "head_size": head, "groups": np.array([f"f{i}" for i in range(N)]),
        "names": np.array([f"f{i}" for i in range(N)]),
    }  # fmt: skip
    runs.save_predictions(path, arrays)
    return RunRecord(path, "sh", encoding, seed, {}, {}, np.array([]), (), {})


def _pckh(pred, gt, visible, head, alpha):
    """Independent PCKh (percent of visible joints within alpha * head size)."""
    ok = np.linalg.norm(pred - gt, axis=-1) <= alpha * head[:, None]
    return 100 * ok[visible].mean()


def test_shifted_unbiased_runs_reproduce_a_pure_shift_exactly(tmp_path):
    """The ceil runs ARE the unbiased runs shifted by delta: the measured shift is delta, the shifted
    predictions are the ceil predictions, so expected cost = observed cost = the direct computation."""
    rng = np.random.default_rng(0)
    gt, visible, head = _truth(rng)
    delta = np.array([0.5, 0.25])  # on the file's 1/1024 px grid: stored exactly
    recs = []
    for seed in (1, 2):
        u = np.round((gt[None] + rng.normal(0.1, 2.0, (len(DECODERS), N, K, 2))) * 1024) / 1024
        recs.append(_record(tmp_path, "unbiased", seed, u, gt, visible, head))
        recs.append(_record(tmp_path, "ceil", seed, u + delta, gt, visible, head))
    rows, missing = counterfactual(recs)
    assert missing == [] and set(rows.protocol) == set(PROTOCOLS)
    std = rows[(rows.protocol == "standard") & (rows.metric == "pckh@0.1")].set_index("role")
    assert list(std.index) == list(PROTOCOLS["standard"].decoders)
    for role, r in std.iterrows():
        assert (r.shift_x, r.shift_y) == (pytest.approx(0.5, abs=1e-6), pytest.approx(0.25, abs=1e-6))
        assert r.expected_cost == pytest.approx(r.observed, abs=1e-9), role
        i = DECODERS.index(r.decoder)
        direct = np.mean([
            _pckh(p[i], gt, visible, head, 0.1) - _pckh(p[i] + delta, gt, visible, head, 0.1)
            for p in (runs.load_predictions(x.path)["coords"].astype(np.float64) for x in recs[::2])
        ])  # fmt: skip
        assert r.expected_cost == pytest.approx(direct, abs=1e-9)
    shown = counterfactual_display(rows)  # what the results and recorded pages show: the primary metrics
    primary = {name: p.primary_metric for name, p in PROTOCOLS.items()}
    assert len(shown) == sum(len(p.decoders) for p in PROTOCOLS.values())
    kept = rows[[m == primary[p] for p, m in zip(rows.protocol, rows.metric, strict=True)]]
    np.testing.assert_allclose(shown.observed.to_numpy(), kept.observed.round(2).to_numpy())
    rmse = rows[(rows.protocol == "report") & (rows.metric == "rmse") & (rows.role == "dark")]
    assert rmse.decoder.tolist() == ["dark_report"] and rmse.expected_cost.iloc[0] == pytest.approx(
        rmse.observed.iloc[0],
        abs=1e-6,  # float32 coordinates
    )


def test_shift_is_the_difference_of_mean_biases_and_noise_is_not_shifted(tmp_path):
    """Ceil runs with their own noise and a bias of +0.8 px in x: the shift is the difference of the cells'
    mean biases (computed here with numpy), and the expected cost is the unbiased runs' score minus their
    score at that shift; the observed cost also holds the noise, which the counterfactual leaves out."""
    rng = np.random.default_rng(1)
    gt, visible, head = _truth(rng)
    u = [gt[None] + rng.normal(0.0, 1.5, (len(DECODERS), N, K, 2)) for _ in range(2)]
    e = [gt[None] + rng.normal(0.0, 2.5, (len(DECODERS), N, K, 2)) + np.array([0.8, 0.0]) for _ in range(2)]
    recs = [_record(tmp_path, "unbiased", s, c, gt, visible, head) for s, c in zip((1, 2), u, strict=True)]
    recs += [_record(tmp_path, "ceil", s, c, gt, visible, head) for s, c in zip((1, 2), e, strict=True)]
    recs.append(RunRecord(tmp_path / "gone", "sh", "ceil", 9, {}, {}, np.array([]), (), {}))
    rows, missing = counterfactual(recs)
    assert missing == [str(tmp_path / "gone")]
    r = rows[(rows.protocol == "standard") & (rows.metric == "pckh@0.1") & (rows.role == "dark")].iloc[0]
    i = DECODERS.index("dark")
    stored = [runs.load_predictions(x.path)["coords"][i].astype(np.float64) for x in recs[:4]]
    bias = [(p - gt)[visible].mean(0) for p in stored]
    shift = np.mean(bias[2:], 0) - np.mean(bias[:2], 0)
    assert (r.shift_x, r.shift_y) == (pytest.approx(shift[0]), pytest.approx(shift[1]))
    assert shift[0] == pytest.approx(0.8, abs=0.15)
    direct = np.mean([_pckh(p, gt, visible, head, 0.1) - _pckh(p + shift, gt, visible, head, 0.1)
                      for p in stored[:2]])  # fmt: skip
    observed = np.mean([_pckh(p, gt, visible, head, 0.1) for p in stored[:2]]) - np.mean(
        [_pckh(p, gt, visible, head, 0.1) for p in stored[2:]]
    )
    assert r.expected_cost == pytest.approx(direct) and r.observed == pytest.approx(observed)
    assert r.observed > r.expected_cost > 0  # the extra noise of the ceil runs costs beyond the shift
