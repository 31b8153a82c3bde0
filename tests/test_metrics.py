"""dark.metrics: hand-made predictions with known answers, and bootstrap coverage in simulation."""

import math

import numpy as np
import pytest
import torch

from dark import metrics as M


def _hand_made():
    """2 frames x 3 joints; errors chosen as Pythagorean triples so they are exact in floating point."""
    gt = np.array([[[10, 10], [20, 20], [30, 30]], [[0, 0], [5, 5], [7, 7]]], dtype=float)
    offsets = np.array([[[3, 4], [0, 0], [6, 8]], [[0, 1], [100, 100], [0, 0]]], dtype=float)
    visible = np.array([[True, True, True], [True, False, True]])
    head = np.array([10.0, 4.0])
    # visible errors: frame 0 -> 5, 0, 10 ; frame 1 -> 1, (invisible: 141.4), 0
    return gt + offsets, gt, visible, head


def test_hand_made_values():
    pred, gt, vis, head = _hand_made()
    errs = np.array([5.0, 0.0, 10.0, 1.0, 0.0])
    assert M.mean_error(pred, gt, vis) == pytest.approx(errs.mean())
    assert M.rmse(pred, gt, vis) == pytest.approx(math.sqrt((errs**2).mean()))
    # alpha 0.5: thresholds 5 (frame 0) and 2 (frame 1): 5 <= 5 on the threshold counts, 0, 10 no; 1, 0 yes
    assert M.pckh(pred, gt, vis, head, 0.5) == pytest.approx(100 * 4 / 5)
    # alpha 0.1: thresholds 1 and 0.4: joints with error 0 (twice) only; 1 > 0.4
    assert M.pckh(pred, gt, vis, head, 0.1) == pytest.approx(100 * 2 / 5)
    assert M.joint_errors(pred, gt)[1, 1] == pytest.approx(100 * math.sqrt(2))


def test_joint_exactly_on_threshold_counts():
    gt = np.zeros((1, 1, 2))
    pred = np.array([[[0.3, 0.4]]])  # error 0.5 (0.3**2 + 0.4**2 rounds to exactly 0.25 in float64)
    assert M.joint_errors(pred, gt)[0, 0] == 0.5
    assert M.pckh(pred, gt, np.ones((1, 1), bool), np.array([1.0]), alpha=0.5) == 100.0
    assert M.pckh(pred, gt, np.ones((1, 1), bool), np.array([1.0]), alpha=0.4999) == 0.0


def test_perfect_prediction_and_invisible_excluded():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 300, (7, 18, 2))
    vis = rng.random((7, 18)) > 0.3
    pred = gt.copy()
    pred[~vis] += 1000.0  # invisible joints wildly wrong: must not matter
    hs = rng.uniform(10, 30, 7)
    assert M.pckh(pred, gt, vis, hs, 0.1) == 100.0
    assert M.rmse(pred, gt, vis) == 0.0
    assert M.mean_error(pred, gt, vis) == 0.0
    np.testing.assert_array_equal(M.pckh_curve(pred, gt, vis, hs, [0.0, 0.1, 0.5]), [100.0, 100.0, 100.0])


def test_torch_input_equals_numpy():
    pred, gt, vis, head = _hand_made()
    t = [torch.tensor(a) for a in (pred, gt, vis, head)]
    assert M.rmse(*t[:3]) == pytest.approx(M.rmse(pred, gt, vis))
    assert M.pckh(*t, 0.5) == pytest.approx(M.pckh(pred, gt, vis, head, 0.5))


def test_per_joint_and_curve():
    pred, gt, vis, head = _hand_made()
    pj = M.per_joint(pred, gt, vis, head)
    np.testing.assert_allclose(pj["mean_error"], [3.0, 0.0, 5.0])  # joint 1 only visible in frame 0
    np.testing.assert_allclose(pj["rmse"], [math.sqrt(13), 0.0, math.sqrt(50)])
    np.testing.assert_allclose(pj["pckh@0.5"], [100.0, 100.0, 50.0])
    alphas = np.linspace(0, 2, 21)
    curve = M.pckh_curve(pred, gt, vis, head, alphas)
    assert np.all(np.diff(curve) >= 0)
    for a, c in zip(alphas, curve, strict=True):
        assert c == pytest.approx(M.pckh(pred, gt, vis, head, a))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        M.rmse(np.zeros((3, 2)), np.zeros((3, 2)), np.ones(3, bool))
    with pytest.raises(ValueError, match="visible"):
        M.rmse(np.zeros((3, 4, 2)), np.zeros((3, 4, 2)), np.ones((3, 5), bool))
    with pytest.raises(ValueError, match="head_size"):
        M.pckh(np.zeros((3, 4, 2)), np.zeros((3, 4, 2)), np.ones((3, 4), bool), np.ones(4))
    with pytest.raises(ValueError, match="unknown metric"):
        M.summarize({"a": np.zeros((3, 4, 2))}, np.zeros((3, 4, 2)), np.ones((3, 4), bool), np.ones(3),
                    metrics=["auc"])  # fmt: skip


def test_frame_sums_groups_merge_frames():
    pred, gt, vis, head = _hand_made()
    s = M.frame_sums(pred, gt, vis, head, metrics=["rmse", "pckh@0.5"])
    np.testing.assert_allclose(s, [[3, 125, 15, 2], [2, 1, 1, 2]])
    merged = M.frame_sums(pred, gt, vis, head, metrics=["rmse", "pckh@0.5"], groups=["x", "x"])
    np.testing.assert_allclose(merged, [[5, 126, 16, 4]])


def test_summarize_point_values_equal_plain_metrics():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 100, (40, 5, 2))
    vis = rng.random((40, 5)) > 0.2
    hs = rng.uniform(5, 15, 40)
    a, b = gt + rng.normal(0, 2, gt.shape), gt + rng.normal(0, 3, gt.shape)
    r = M.summarize({"a": a, "b": b}, gt, vis, hs, pairs=[("a", "b")], n_resamples=200, seed=3)
    ma, d = r["metrics"]["a"], r["differences"][("a", "b")]
    assert ma["rmse"].value == pytest.approx(M.rmse(a, gt, vis))
    assert ma["pckh@0.1"].value == pytest.approx(M.pckh(a, gt, vis, hs, 0.1))
    assert d["mean_error"].value == pytest.approx(M.mean_error(a, gt, vis) - M.mean_error(b, gt, vis))
    for iv in [*ma.values(), *d.values()]:
        assert iv.low <= iv.value <= iv.high
    # seeded: the same seed gives the same interval
    r2 = M.summarize({"a": a, "b": b}, gt, vis, hs, pairs=[("a", "b")], n_resamples=200, seed=3)
    assert r2["differences"][("a", "b")]["rmse"] == d["rmse"]


def _simulate(rng, frames, s_frame, s_a, s_b, joints=6):
    """Shared per-frame offset (joints of a frame correlated) + per-joint noise; a and b share the offset."""
    gt = rng.uniform(0, 100, (frames, joints, 2))
    common = rng.normal(0, s_frame, (frames, 1, 2))
    a = gt + common + rng.normal(0, s_a, gt.shape)
    b = gt + common + rng.normal(0, s_b, gt.shape)
    return a, b, gt, np.ones((frames, joints), bool), np.full(frames, 10.0)


def test_bootstrap_covers_true_value_at_nominal_rate():
    """Errors are Rayleigh with scale s = sqrt(s_frame^2 + s_x^2): RMSE = s sqrt(2), mean = s sqrt(pi/2),
    PCKh@alpha = 100 (1 - exp(-(10 alpha)^2 / (2 s^2))); the RMSE difference a - b is sqrt(2) (s_a - s_b).
    The joints of a frame share an offset, so only a bootstrap over frames (not joints) covers."""
    rng = np.random.default_rng(2024)
    s_frame, s_a, s_b = 1.5, 1.0, 2.0
    sa, sb = math.hypot(s_frame, s_a), math.hypot(s_frame, s_b)
    truth = {
        "rmse": sa * math.sqrt(2),
        "mean_error": sa * math.sqrt(math.pi / 2),
        "pckh@0.2": 100 * (1 - math.exp(-(2.0**2) / (2 * sa**2))),
    }
    true_diff = math.sqrt(2) * (sa - sb)
    reps, hits, diff_hits = 150, dict.fromkeys(truth, 0), 0
    for i in range(reps):
        a, b, gt, vis, hs = _simulate(rng, 80, s_frame, s_a, s_b)
        r = M.summarize({"a": a, "b": b}, gt, vis, hs, metrics=list(truth), pairs=[("a", "b")],
                        n_resamples=400, seed=i)  # fmt: skip
        for m, t in truth.items():
            iv = r["metrics"]["a"][m]
            hits[m] += iv.low <= t <= iv.high
        d = r["differences"][("a", "b")]["rmse"]
        diff_hits += d.low <= true_diff <= d.high
    for m in truth:  # nominal 0.95; binomial sd over 150 reps is 0.018
        assert 0.88 <= hits[m] / reps <= 0.995, (m, hits[m] / reps)
    assert 0.88 <= diff_hits / reps <= 0.995


def test_paired_interval_is_narrower_than_unpaired():
    """With a shared per-frame error, pairing cancels it: the paired CI is much narrower."""
    rng = np.random.default_rng(5)
    a, b, gt, vis, hs = _simulate(rng, 200, 4.0, 1.0, 1.2)
    r = M.summarize(
        {"a": a, "b": b}, gt, vis, hs, metrics=["mean_error"], pairs=[("a", "b")], n_resamples=500
    )
    d = r["differences"][("a", "b")]["mean_error"]
    ca, cb = r["metrics"]["a"]["mean_error"], r["metrics"]["b"]["mean_error"]
    unpaired = math.hypot(ca.high - ca.low, cb.high - cb.low)
    assert d.high - d.low < 0.5 * unpaired
    assert d.value == pytest.approx(ca.value - cb.value)


def test_interval_helpers():
    iv = M.Interval(1.0, 0.5, 1.5)
    assert iv.excludes_zero() == 1 and M.Interval(-1, -2, -0.1).excludes_zero() == -1
    assert M.Interval(0.1, -0.1, 0.3).excludes_zero() == 0
    assert f"{iv:.1f}" == "1.0 [0.5, 1.5]"
    assert M.higher_is_better("pckh@0.1") and not M.higher_is_better("rmse")


def test_metric_table_and_bias_probe():
    assert list(M.METRICS) == ["pckh@0.1", "pckh@0.5", "rmse", "mean_error"]
    assert set(M.ALL_METRIC_NAMES) == {*M.METRICS, "bias_x", "bias_y", "pckh_axis@0.1", "pckh_axis@0.5"}
    assert M.ALL_METRICS["rmse"].heading == "RMSE (px)" and M.metric("pckh@0.5").heading == "PCKh@0.5 (%)"
    with pytest.raises(ValueError, match="no better direction"):
        M.higher_is_better("bias_x")
    pred, gt, vis, head = _hand_made()
    # visible signed offsets: (3,4), (0,0), (6,8), (0,1), (0,0) -> mean (9/5, 13/5), median (0, 1)
    np.testing.assert_allclose(M.bias(pred, gt, vis), [9 / 5, 13 / 5])
    np.testing.assert_allclose(M.median_bias(pred, gt, vis), [0.0, 1.0])
    joints = M.ALL_METRIC_NAMES[:6]  # the metrics of joints (the per-axis PCKh needs 4 joints: below)
    assert M.ALL_METRIC_NAMES[6:] == ("pckh_axis@0.1", "pckh_axis@0.5")
    s = M.frame_sums(pred, gt, vis, head, metrics=joints)
    assert M.frame_sum_columns(joints) == ["n", "sq_error", "error", "dx", "dy", "correct@0.1", "correct@0.5"]
    assert M.frame_sum_columns(M.ALL_METRIC_NAMES)[7:] == ["correct_axis@0.1", "n_axis", "correct_axis@0.5"]
    np.testing.assert_allclose(s[:, 3:5], [[9, 12], [0, 1]])
    v = M.from_sums(s.sum(0), joints, M.frame_sum_columns(joints))
    expect = [M.pckh(pred, gt, vis, head, 0.1), M.pckh(pred, gt, vis, head, 0.5), M.rmse(pred, gt, vis),
              M.mean_error(pred, gt, vis), 9 / 5, 13 / 5]  # fmt: skip
    np.testing.assert_allclose(v, expect)
    r = M.summarize({"p": pred}, gt, vis, head, metrics=["bias_x", "rmse"], n_resamples=50)
    assert r["metrics"]["p"]["bias_x"].value == pytest.approx(9 / 5)
    with pytest.raises(ValueError, match="needs column"):
        M.from_sums(s, ["bias_x"], ["n", "sq_error", "error"])


def test_decoder_scores_are_the_per_epoch_metrics_of_the_table():
    pred, gt, vis, head = _hand_made()
    # a 4th joint (the per-axis PCKh's head end), invisible: the metrics of visible joints do not change
    gt = np.concatenate([gt, gt[:, :1] + [[[12.0, 3.0]]]], axis=1)
    pred, vis = np.concatenate([pred, gt[:, 3:]], axis=1), np.concatenate([vis, [[False], [False]]], axis=1)
    split = {"joints": torch.tensor(gt, dtype=torch.float32), "visible": torch.tensor(vis),
             "head_size": torch.tensor(head)}  # fmt: skip
    pv = np.array([[True, True, False, True], [True, True, True, True]])
    s = M.decoder_scores(pred, split, pred_visible=pv)
    assert tuple(s) == M.PER_EPOCH_METRICS == ("pckh@0.1", "pckh@0.5", "rmse", "bias_x", "bias_y",
                                                "pckh_axis@0.1", "pckh_axis@0.5")  # fmt: skip
    assert s["pckh@0.5"] == 100 * 4 / 5 and s["rmse"] == M.rmse(pred, gt, vis)
    assert (s["bias_x"], s["bias_y"]) == tuple(M.bias(pred, gt, vis))
    # per-axis: every joint is in view (masks all set) but joint 2 of frame 0 is predicted invisible
    assert s["pckh_axis@0.5"] == M.pckh_per_axis(pred, gt, 0.5, pred_visible=pv)


def _joint_and_pred_visible(f: M.Frames) -> np.ndarray:
    return f.visible & f.get("pred_visible")


def test_a_new_metric_is_one_table_entry(monkeypatch):
    """A metric over (joint, axis) elements that needs an extra input (a predicted visibility) works in
    every computation once it is in the table: the share of axes within 1 px, where both are visible."""
    within = M.Sum("within1", lambda f: np.abs(f.signed) <= 1.0, mask=_joint_and_pred_visible)  # (N, K, 2)
    axes = M.Sum("n_axes", lambda f: np.ones(f.signed.shape, bool), mask=_joint_and_pred_visible)
    new = M.Metric("within1_axis", "within 1 px", True, "%", within, axes, finish=lambda r: 100.0 * r)
    monkeypatch.setitem(M.ALL_METRICS, new.name, new)
    pred, gt, vis, head = _hand_made()
    pv = np.array([[True, True, False], [True, True, True]])
    # counted: frame 0 joints 0, 1 (offsets (3, 4), (0, 0)); frame 1 joints 0, 2 ((0, 1), (0, 0)): 6 of 8 axes
    assert M.score("within1_axis", M.Frames.of(pred, gt, vis, pred_visible=pv)) == 75.0
    s = M.frame_sums(pred, gt, vis, head, ["within1_axis"], pred_visible=pv)
    cols = M.frame_sum_columns(["within1_axis", "pckh@0.5"])
    assert cols == ["n", "sq_error", "error", "within1", "n_axes", "correct@0.5"]
    np.testing.assert_array_equal(s[:, 3:], [[2, 4], [4, 4]])
    assert M.from_sums(s.sum(0), ["within1_axis", "rmse"]).tolist() == [75.0, M.rmse(pred, gt, vis)]
    pj = M.per_joint(pred, gt, vis, head, ["within1_axis"], pred_visible=pv)
    np.testing.assert_array_equal(pj["within1_axis"], [50.0, 100.0, 100.0])
    with pytest.raises(ValueError, match="pred_visible"):
        M.frame_sums(pred, gt, vis, head, ["within1_axis"])


# --- the report's per-axis PCKh (moai's _calculate_pck, docs/report-code.md, item 1) ---------------


def _pckh_axis_moai(gt, pred, gt_mask, pred_mask, alpha, head=(2, 3)):
    """The oracle of docs/report-code.md, item 1, one call = one batch: written from moai's source, not
    from dark.metrics."""
    gm = np.broadcast_to(gt_mask[..., None], gt.shape) if gt_mask.ndim == 2 else gt_mask
    pm = np.broadcast_to(pred_mask[..., None], gt.shape) if pred_mask.ndim == 2 else pred_mask
    ext = np.abs(gt[:, head[0], :] - gt[:, head[1], :])[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (np.abs(gt - pred) / ext) < alpha
    ok[gm ^ pm] = False
    sel = gm | pm
    return 100 * ok[sel].mean() if sel.any() else float("nan")


def _axis_case(rng, n=50, k=6, zero_extent=True):
    gt = rng.uniform(-20, 340, (n, k, 2))
    gt[:, 3] = gt[:, 2] + rng.normal(0, [20.0, 3.0], (n, 2))
    if zero_extent:
        gt[:5, 3, 1] = gt[:5, 2, 1]  # no head extent along y in 5 frames
    pred = gt + rng.normal(0, 2.0, gt.shape)
    pred[:3] = gt[:3]  # exact hits
    return pred, gt


def test_pckh_per_axis_equals_the_oracle_batch_by_batch():
    rng = np.random.default_rng(18)
    for trial in range(20):
        pred, gt = _axis_case(rng)
        gm = M.fov_mask(gt) if trial % 2 else rng.random(gt.shape[:2]) > 0.2
        pm = rng.random(gt.shape[:2]) > 0.3 if trial % 3 else rng.random(gt.shape) > 0.3
        for alpha in (0.1, 0.5):
            expect = _pckh_axis_moai(gt, pred, gm, pm, alpha)
            assert M.pckh_per_axis(pred, gt, alpha, gt_visible=gm, pred_visible=pm) == pytest.approx(expect)
            for b in (1, 16, 24):
                sl = [slice(i, i + b) for i in range(0, len(gt), b)]
                per_batch = [_pckh_axis_moai(gt[s], pred[s], gm[s], pm[s], alpha) for s in sl]
                got = M.pckh_per_axis(pred, gt, alpha, gt_visible=gm, pred_visible=pm, batch_size=b)
                assert got == pytest.approx(np.mean(per_batch), nan_ok=True)
        # defaults: all visible, and pred_visible defaults to gt_visible (no XOR failures)
        assert M.pckh_per_axis(pred, gt, 0.5) == pytest.approx(
            _pckh_axis_moai(gt, pred, np.ones(gt.shape, bool), np.ones(gt.shape, bool), 0.5)
        )
        assert M.pckh_per_axis(pred, gt, 0.5, gt_visible=gm) == pytest.approx(
            _pckh_axis_moai(gt, pred, gm, gm, 0.5)
        )


def _four_joints():
    """1 frame, 4 joints; head extent (10, 4) (joints 2 and 3)."""
    gt = np.array([[[100.0, 50.0], [120.0, 60.0], [0.0, 0.0], [10.0, 4.0]]])
    return gt


def test_pckh_per_axis_hand_worked():
    gt = _four_joints()
    # joint 0: x off by exactly 0.5 * 10 (fails: strict <), y by 1.9 < 0.5 * 4 (correct)
    # joint 1: x off by 4.9 (correct), y off by 2.0 = 0.5 * 4 (fails); joints 2, 3 exact
    pred = gt + np.array([[[5.0, 1.9], [4.9, 2.0], [0.0, 0.0], [0.0, 0.0]]])
    assert M.pckh_per_axis(pred, gt, 0.5) == 100 * 6 / 8
    # XOR: joint 1 predicted invisible -> both axes compared and failed; gt and pred both 0 -> not compared
    pv = np.array([[True, False, True, True]])
    assert M.pckh_per_axis(pred, gt, 0.5, pred_visible=pv) == 100 * 5 / 8
    gv = np.array([[[True, True], [False, True], [True, True], [True, True]]])  # joint 1: x out of view
    pv2 = np.array([[[True, True], [False, True], [True, True], [True, True]]])
    assert M.pckh_per_axis(pred, gt, 0.5, gt_visible=gv, pred_visible=pv2) == 100 * 5 / 7
    # a zero extent along y fails every joint's y, exact hits included
    flat = gt.copy()
    flat[0, 3, 1] = flat[0, 2, 1]
    assert M.pckh_per_axis(flat.copy(), flat, 0.5) == 100 * 4 / 8
    # per-batch means: frame 0 scores 75, frame 1 (a copy, one joint predicted invisible) 62.5
    two = np.concatenate([pred, pred]), np.concatenate([gt, gt])
    pv3 = np.array([[True] * 4, [True, False, True, True]])
    assert M.pckh_per_axis(*two, 0.5, pred_visible=pv3, batch_size=1) == (75 + 62.5) / 2
    assert M.pckh_per_axis(*two, 0.5, pred_visible=pv3) == 100 * 11 / 16
    assert np.isnan(M.pckh_per_axis(*two, 0.5, gt_visible=np.zeros((2, 4), bool)))
    with pytest.raises(ValueError, match="head joints"):
        M.pckh_per_axis(gt[:, :3], gt[:, :3], 0.5)


def test_fov_mask_is_the_reports_field_of_view_per_axis():
    from dark.design import skeleton

    assert M.REPORT_HEAD == skeleton.HEAD_SEGMENT_18 and M.REPORT_INPUT_SIZE == (160, 320)
    # ours: pixel j's centre at j; moai's at j + 0.5, and moai keeps 0 <= x < 320, 0 <= y < 160
    gt = np.array([[[-0.5, -0.5], [-0.51, 80.0], [319.49, 159.5], [100.0, 159.49]]])
    assert M.fov_mask(gt).tolist() == [[[True, True], [False, True], [True, False], [True, True]]]


def test_pckh_axis_table_entries_follow_the_function():
    rng = np.random.default_rng(5)
    pred, gt = _axis_case(rng, n=40)
    vis = rng.random(gt.shape[:2]) > 0.2  # ignored by the per-axis PCKh
    hs = np.full(40, 20.0)
    pv = rng.random(gt.shape[:2]) > 0.2
    fov = M.fov_mask(gt)
    assert 0 < fov.mean() < 1 and (fov[..., 0] != fov[..., 1]).any()
    names = ["pckh_axis@0.1", "pckh_axis@0.5", "pckh_axis@0.2"]  # 0.2 through the family
    f = M.Frames.of(pred, gt, vis, hs, pred_visible=pv)
    expect = [
        M.pckh_per_axis(pred, gt, float(n.split("@")[1]), gt_visible=fov, pred_visible=pv) for n in names
    ]
    assert [M.score(n, f) for n in names] == pytest.approx(expect)
    sums = M.frame_sums(pred, gt, vis, hs, names, pred_visible=pv)
    assert M.from_sums(sums.sum(0), names).tolist() == pytest.approx(expect)
    pj = M.per_joint(pred, gt, vis, hs, names, pred_visible=pv)["pckh_axis@0.5"]
    ext = np.abs(gt[:, 2] - gt[:, 3])  # (N, 2): joint 1's elements by hand
    with np.errstate(divide="ignore", invalid="ignore"):
        ok1 = (np.abs(gt[:, 1] - pred[:, 1]) / ext < 0.5) & ~(fov[:, 1] ^ pv[:, 1, None])
    sel1 = fov[:, 1] | pv[:, 1, None]
    assert pj[1] == pytest.approx(100 * ok1[sel1].mean())
    gv = rng.random(gt.shape) > 0.5  # the ground truth's masks can be given instead of the field of view
    g = M.Frames.of(pred, gt, vis, pred_visible=pv, gt_axis_visible=gv)
    assert M.score("pckh_axis@0.5", g) == pytest.approx(_pckh_axis_moai(gt, pred, gv, pv, 0.5))
    assert M.metric("pckh_axis@0.5").heading == "per-axis PCKh@0.5 (%)" and M.higher_is_better(
        "pckh_axis@0.1"
    )


def test_pooled_pckh_axis_and_moais_mean_of_batch_means_differ_slightly():
    """The table pools all frames; moai averages per-batch values: on a realistic split (clips of uneven
    difficulty and field of view, in order) they differ by about 0.1 percentage point (axis.py says so)."""
    rng = np.random.default_rng(4)
    n, k, clips = 1000, 18, 8
    clip = np.repeat(np.arange(clips), n // clips)
    scale = rng.uniform(1.0, 4.0, clips)[clip]  # hard and easy clips
    out = rng.uniform(0.0, 0.3, clips)[clip]  # share of joints outside the view
    gt = rng.uniform([0, 0], [320, 160], (n, k, 2))
    gt[:, :, 0] += np.where(rng.random((n, k)) < out[:, None], 330, 0)
    gt[:, 3] = gt[:, 2] + np.stack([rng.normal(23, 4, n), rng.normal(0, 3, n)], -1)
    pred = gt + rng.normal(0, 1, gt.shape) * scale[:, None, None]
    pv = rng.random((n, k)) > 0.1
    fov = M.fov_mask(gt)
    pooled = M.pckh_per_axis(pred, gt, 0.5, gt_visible=fov, pred_visible=pv)
    assert pooled == pytest.approx(
        M.score("pckh_axis@0.5", M.Frames.of(pred, gt, fov.all(-1), pred_visible=pv))
    )
    for b in (16, 24):
        diff = M.pckh_per_axis(pred, gt, 0.5, gt_visible=fov, pred_visible=pv, batch_size=b) - pooled
        assert 0.01 < abs(diff) < 0.2, diff
    # equal batches compare equal counts when every mask is set: the two then agree
    full = M.pckh_per_axis(pred[:992], gt[:992], 0.5, batch_size=16)
    assert full == pytest.approx(M.pckh_per_axis(pred[:992], gt[:992], 0.5), rel=1e-12)
