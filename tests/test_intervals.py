"""dark.metrics two-level intervals (seeds x test frames): exact values against scipy's t intervals, and
coverage in a simulation where training variance dominates the frame noise."""

import math

import numpy as np
import pytest
from scipy import stats

from dark import metrics as M

COLS = ["n", "sq_error", "error"]  # frame_sum_columns(["mean_error"])


def cell_estimate(tables, metric, columns, **kw):
    return M.cell_estimates(tables, [metric], columns, **kw)[metric]


def cell_difference(tables_a, tables_b, metric, columns, **kw):
    return M.cell_difference_estimates(tables_a, tables_b, [metric], columns, **kw)[metric]


def within_run_difference(tables_a, tables_b, metric, columns, **kw):
    return M.within_run_difference_estimates(tables_a, tables_b, [metric], columns, **kw)[metric]


def _flat(values, frames=6, joints=2):
    """One run per value: every frame has mean error ``value``, so a frame bootstrap cannot move it."""
    return [np.tile([joints, 0.0, joints * v], (frames, 1)) for v in values]


def test_cell_estimate_is_the_one_sample_t_interval_when_frames_are_noise_free():
    seeds = [3.0, 3.5, 4.5]
    e = cell_estimate(_flat(seeds), "mean_error", COLS)
    ref = stats.ttest_1samp(seeds, 0.0).confidence_interval(0.95)
    assert e.value == pytest.approx(np.mean(seeds)) and e.seeds == tuple(seeds) and e.n_seeds == 3
    assert (e.low, e.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert e.df == pytest.approx(2) and e.se_frames == 0 and e.training_variance


def test_cell_difference_is_welch_and_within_run_is_paired_t():
    a, b = [3.0, 3.5, 4.5], [2.0, 2.2]
    d = cell_difference(_flat(a), _flat(b), "mean_error", COLS)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert d.value == pytest.approx(np.mean(a) - np.mean(b)) and d.n_seeds == (3, 2)
    assert (d.low, d.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert d.df == pytest.approx(ref.df) and d.seeds_b == pytest.approx(tuple(b))
    b3 = [2.0, 2.2, 4.0]
    w = within_run_difference(_flat(a), _flat(b3), "mean_error", COLS)
    ci = stats.ttest_rel(a, b3).confidence_interval(0.95)
    assert (w.value, w.low, w.high) == (pytest.approx(np.mean(a) - np.mean(b3)), pytest.approx(ci.low),
                                        pytest.approx(ci.high))  # fmt: skip
    assert w.seeds == pytest.approx(tuple(np.subtract(a, b3)))


def test_one_seed_gives_the_flagged_frame_interval():
    rng = np.random.default_rng(0)
    G = 200
    err = rng.normal(5.0, 2.0, G)
    table = np.stack([np.ones(G), err**2, err], axis=1)
    e = cell_estimate([table], "mean_error", COLS, n_resamples=4000, seed=1)
    assert not e.training_variance and math.isinf(e.df) and e.n_seeds == 1
    se = err.std(ddof=1) / math.sqrt(G)  # the bootstrap sd of a mean is the standard error
    assert (e.high - e.low) / 2 == pytest.approx(1.96 * se, rel=0.06)
    assert e.value == pytest.approx(err.mean())
    two = cell_estimate([table, table], "mean_error", COLS)  # 2 seeds, 1 of them no spread
    assert two.training_variance and two.se_seeds == 0
    d = cell_difference([table], [table, table], "mean_error", COLS)
    assert not d.training_variance and d.value == 0 and d.low == d.high == 0  # paired: frames cancel


def test_metrics_read_by_column_name_bias_and_rmse():
    cols = M.frame_sum_columns(M.ALL_METRIC_NAMES)
    rng = np.random.default_rng(3)
    gt = rng.uniform(0, 50, (30, 4, 2))
    vis = rng.random((30, 4)) > 0.2
    hs = np.full(30, 10.0)
    runs = [gt + rng.normal(b, 1.0, gt.shape) for b in (0.2, 0.4, 0.9)]
    tables = [M.frame_sums(p, gt, vis, hs, M.ALL_METRIC_NAMES) for p in runs]
    est = M.cell_estimates(tables, ["bias_x", "rmse", "pckh@0.1"], cols, n_resamples=200)
    assert est["bias_x"].seeds == pytest.approx(tuple(M.bias(p, gt, vis)[0] for p in runs))
    assert est["rmse"].seeds == pytest.approx(tuple(M.rmse(p, gt, vis) for p in runs))
    assert est["pckh@0.1"].value == pytest.approx(np.mean([M.pckh(p, gt, vis, hs, 0.1) for p in runs]))


def _simulate(rng, n, reps, G=40, joints=5, tau=0.6, s_frame=1.0, s_run=0.5):
    """Frame tables of ``reps`` experiments, two cells of ``n`` runs each, true effect zero.

    A frame's mean error is ``3 + f_g + r_i + e_ig``: ``f_g`` the frame's difficulty (shared by every run),
    ``r_i ~ N(0, tau)`` the training's effect, ``e_ig`` the run's own noise on that frame. The frame noise of
    one run's value is sqrt(s_frame^2 + s_run^2 / G) ~ 0.16 px, tau is ~4 times that.
    """
    f = rng.normal(0, s_frame, (reps, 1, 1, G))
    r = rng.normal(0, tau, (reps, 2, n, 1))
    err = 3.0 + f + r + rng.normal(0, s_run, (reps, 2, n, G))  # (reps, cell, run, G)
    return np.stack([np.full(err.shape, joints), np.zeros(err.shape), joints * err], axis=-1)


@pytest.mark.parametrize("n", [2, 3])
def test_two_level_interval_covers_a_zero_effect_and_the_frame_interval_does_not(n):
    """Nominal 95%; over 400 repetitions the binomial sd of a coverage rate is 1.1 points, so 3 sd is
    [91.7%, 98.3%]. The frame-only interval ignores the training variance and covers ~20% (asserted < 60%).
    The cell's own interval must cover its true mean (3 px) too: there the shared frame difficulty counts.
    """
    reps = 400
    tables = _simulate(np.random.default_rng(100 + n), n, reps)
    two = frames = cell = 0
    for k in range(reps):
        a, b = list(tables[k, 0]), list(tables[k, 1])
        d = cell_difference(a, b, "mean_error", COLS, n_resamples=300, seed=k)
        f = cell_difference(a, b, "mean_error", COLS, n_resamples=300, seed=k, frames_only=True)
        c = cell_estimate(a, "mean_error", COLS, n_resamples=300, seed=k)
        two += d.low <= 0 <= d.high
        frames += f.low <= 0 <= f.high
        cell += c.low <= 3.0 <= c.high
        assert d.training_variance and not f.training_variance and d.n_seeds == (n, n)
    assert 0.917 <= two / reps <= 0.983, two / reps
    assert 0.917 <= cell / reps <= 0.983, cell / reps
    assert frames / reps < 0.60, frames / reps
