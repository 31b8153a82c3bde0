"""dark.analysis.report.joints: the bias per joint against a known truth (synthetic predictions whose
joints carry known systematic errors, and a quantised cell shifted by a known constant)."""

import matplotlib
import numpy as np
import pytest

from dark.analysis import plots
from dark.analysis.report.joints import JOINT_BIAS_COLUMNS, joint_bias, joint_bias_text, joint_shifts
from dark.analysis.report.load import RunRecord
from dark.design.skeleton import JOINTS_18
from dark.experiment import runs

matplotlib.use("Agg")

N, K = 40, len(JOINTS_18)
DECODERS = ["argmax", "dark"]


def _record(root, encoding, seed, coords, gt, visible):
    path = root / runs.run_name("sh", encoding, seed)
    path.mkdir(parents=True)
    names = np.array([f"f{i}" for i in range(N)])
    runs.save_predictions(path, {
        "coords": coords.astype(np.float32), "decoders": np.array(DECODERS), "gt": gt, "visible": visible,
        "head_size": np.full(N, 25.0), "groups": names, "names": names,
    })  # fmt: skip
    return RunRecord(path, "sh", encoding, seed, {}, {}, np.array([]), (), {})


def test_joint_bias_recovers_each_joints_systematic_error_and_a_constant_shift(tmp_path):
    """Joint k of the unbiased runs is off by (k/4 - 2, -k/8) px plus noise that sums to zero over the
    visible frames, and by a seed-dependent 0.1 * seed in x; the ceil runs are those shifted by (0.5,
    0.5). Hidden joints carry 100 px errors and NaNs that must not count."""
    rng = np.random.default_rng(3)
    gt = rng.uniform(20, 300, (N, K, 2))
    visible = np.ones((N, K), bool)
    visible[::7, 3] = False  # hidden: wildly off, never counted
    truth = np.stack([np.arange(K) / 4 - 2, -np.arange(K) / 8], axis=1)  # (K, 2)
    recs = []
    for seed in (1, 2, 3):
        noise = rng.normal(0, 1.5, (N, K, 2))
        noise -= np.nanmean(np.where(visible[..., None], noise, np.nan), axis=0)  # zero mean where visible
        err = truth + noise + [0.1 * seed, 0.0]
        err[~visible] = 100.0
        err[7, 3] = np.nan  # a hidden joint's NaN: not counted either
        dark = np.round((gt + err) * 1024) / 1024  # on the file's 1/1024 px grid
        coords = np.stack([gt + 50.0, dark])  # argmax: another decoder, far off
        recs.append(_record(tmp_path, "unbiased", seed, coords, gt, visible))
        recs.append(_record(tmp_path, "ceil", seed, coords + 0.5, gt, visible))
    b = joint_bias(recs)
    assert list(b.columns) == JOINT_BIAS_COLUMNS and len(b) == 2 * K and set(b.runs) == {3}
    u = b[b.encoding == "unbiased"].set_index("joint").loc[list(JOINTS_18)]
    np.testing.assert_allclose(u.bias_x, truth[:, 0] + 0.2, atol=1e-3)  # mean of 0.1, 0.2, 0.3
    np.testing.assert_allclose(u.bias_y, truth[:, 1], atol=1e-3)
    np.testing.assert_allclose(u.sd_x, 0.1, atol=1e-3)  # the seeds' 0.1 px steps
    np.testing.assert_allclose(u.sd_y, 0.0, atol=1e-3)
    s = joint_shifts(b)
    assert set(s.encoding) == {"ceil"} and list(s.joint) == list(JOINTS_18)
    np.testing.assert_allclose(s[["shift_x", "shift_y"]], 0.5, atol=1e-3)
    text = joint_bias_text(b)
    lo, hi = truth[0, 0] + 0.2, truth[-1, 0] + 0.2
    assert f"x from {lo:+.2f} ({JOINTS_18[0]}) to {hi:+.2f} ({JOINTS_18[-1]})" in text
    shift = "x +0.50 to +0.50 (mean +0.50); y +0.50 to +0.50 (mean +0.50)."
    assert f"Minus w/o quant, joint by joint: {shift}" in text
    assert "SH_4S (w/o quant), 3 runs, input px: x from" in text
    # another decoder reads its own coordinates; a run without predictions is left out
    argmax = joint_bias(recs, decoder="argmax").set_index("encoding")
    assert argmax.loc["unbiased", "bias_x"].to_numpy() == pytest.approx(50.0, abs=1e-3)
    assert argmax.loc["ceil", "bias_y"].to_numpy() == pytest.approx(50.5, abs=1e-3)
    (recs[0].path / runs.PREDICTIONS).unlink()
    assert set(joint_bias(recs)[lambda d: d.encoding == "unbiased"].runs) == {2}
    assert joint_bias(recs, decoder="mle").empty
    fig = plots.joint_bias(b)
    assert len(fig.axes) == 2 and [len(ax.containers) for ax in fig.axes] == [2, 2]  # x, y: both cells
