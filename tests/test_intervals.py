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


def paired_difference(tables_a, tables_b, metric, columns, **kw):
    return M.paired_difference_estimates(tables_a, tables_b, [metric], columns, **kw)[metric]


def test_paired_difference_is_the_paired_t_and_cells_sharing_seeds_pair():
    a, b = [3.0, 3.5, 4.5], [2.0, 2.2, 4.0]
    p = paired_difference(_flat(a), _flat(b), "mean_error", COLS)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (p.value, p.low, p.high) == (pytest.approx(np.mean(a) - np.mean(b)), pytest.approx(ci.low),
                                        pytest.approx(ci.high))  # fmt: skip
    assert p.paired and p.df == pytest.approx(2) and p.n_seeds == (3, 3)
    assert p.seeds == pytest.approx(tuple(a)) and p.seeds_b == pytest.approx(tuple(b))
    # the same cells through cell_difference_estimates: paired when the seeds match (in any order) ...
    d = cell_difference(_flat(a), _flat(b[::-1]), "mean_error", COLS, seeds_a=[1, 2, 3], seeds_b=[3, 2, 1])
    assert (d.low, d.high, d.paired) == (p.low, p.high, True)
    # ... Welch otherwise (bitwise as without seeds)
    w = cell_difference(_flat(a), _flat(b), "mean_error", COLS, seeds_a=[1, 2, 3], seeds_b=[1, 2, 4])
    assert w == cell_difference(_flat(a), _flat(b), "mean_error", COLS) and not w.paired
    assert w.df == pytest.approx(stats.ttest_ind(a, b, equal_var=False).df)


def test_cluster_bootstrap_resamples_whole_clusters():
    """K equal clusters of constant frames: the frame part is the standard error of the K cluster means
    (the bootstrap variance scaled by K / (K - 1)), at t with K_eff - 1 = K - 1 df; a frame bootstrap
    that ignores the clusters sees K * size frames and is sqrt(size) times narrower."""
    rng = np.random.default_rng(5)
    K, size = 12, 5
    level = np.repeat(rng.normal(4.0, 1.0, K), size)
    clusters = np.repeat(np.arange(K) * 7 % K, size)  # labels need not be sorted or contiguous numbers
    table = np.stack([np.ones(K * size), level**2, level], axis=1)
    c = cell_estimate([table], "mean_error", COLS, clusters=clusters, n_resamples=4000, seed=2)
    f = cell_estimate([table], "mean_error", COLS, n_resamples=4000, seed=2)
    se = level[::size].std(ddof=1) / math.sqrt(K)
    assert c.se_frames == pytest.approx(se, rel=0.06) and c.df_frames == pytest.approx(K - 1)
    assert (c.high - c.low) / 2 == pytest.approx(stats.t.ppf(0.975, K - 1) * c.se_frames)
    assert f.se_frames == pytest.approx(c.se_frames / math.sqrt(size), rel=0.1) and math.isinf(f.df_frames)
    uneven = np.repeat(np.arange(3), [8, 1, 1])  # Kish: 10^2 / (64 + 1 + 1) = 1.5 effective clusters
    e = cell_estimate([table[:10]] * 2, "mean_error", COLS, clusters=uneven, n_resamples=50)
    assert e.df_frames == 1.0  # 100 / 66 - 1 < 1: at least one degree of freedom
    with pytest.raises(ValueError, match="2 clusters"):
        cell_estimate([table], "mean_error", COLS, clusters=np.zeros(K * size))
    gt = np.zeros((K * size, 1, 2))
    pred = gt + level[:, None, None] / math.sqrt(2)
    vis, hs = np.ones((K * size, 1), bool), np.ones(K * size)
    by_cluster = M.summarize({"p": pred}, gt, vis, hs, metrics=["mean_error"], clusters=clusters, seed=1)
    by_group = M.summarize({"p": pred}, gt, vis, hs, metrics=["mean_error"], groups=clusters, seed=1)
    assert by_cluster == by_group


def test_mde_is_the_quantile_sum_times_each_part():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert M.mde(M.Estimate(0.0, -1, 1, se_frames=0.5)) == pytest.approx(z * 0.5)
    t3 = stats.t.ppf(0.975, 3) + stats.t.ppf(0.8, 3)
    assert M.mde(M.Estimate(0.0, -1, 1, df=3, se_seeds=0.4)) == pytest.approx(t3 * 0.4)
    both = M.Estimate(0.0, -1, 1, df=3, se_seeds=0.4, se_frames=0.3, df_frames=15)
    t15 = stats.t.ppf(0.975, 15) + stats.t.ppf(0.8, 15)
    assert M.mde(both) == pytest.approx(math.hypot(t3 * 0.4, t15 * 0.3))
    assert M.mde(both, power=0.9) > M.mde(both) and M.mde(both, confidence=0.9) < M.mde(both)


#: frame groups per cluster: like the test split, 32 clusters (8 clips x 4 placements) of uneven size,
#: the 4 placements of the long clip holding ~46% of the frames
SIZES = [12] * 4 + [2] * 28


def _simulate_design(rng, n, reps, delta=0.3, tau=0.3, rho=0.8, s_cluster=2.0, s_inter=1.0, joints=5):
    """Frame tables of ``reps`` experiments, two cells ``a``, ``b`` of ``n`` runs trained with the same seeds.

    A frame's mean error in run ``i`` of cell ``k`` (``x_k = +1/2`` for ``a``, ``-1/2`` for ``b``) is
    ``3 + x_k delta + u_c + x_k w_c + f_g + r_ik + e_ikg``: ``u_c ~ N(0, s_cluster)`` the difficulty of
    the frame's cluster (shared by every run), ``w_c ~ N(0, s_inter)`` how much more that cluster differs
    between the cells, ``f_g ~ N(0, 0.3)`` the frame's own difficulty, ``r_ik = tau (sqrt(rho) s_i +
    sqrt(1 - rho) o_ik)`` the training's effect, correlated between the two runs of one seed, and
    ``e ~ N(0, 0.5)`` the run's own noise on that frame. Truths: ``a`` = 3 + delta / 2, ``a - b`` = delta.
    """
    cl = np.repeat(np.arange(len(SIZES)), SIZES)
    x = np.array([0.5, -0.5])[None, :, None, None]
    u = rng.normal(0, s_cluster, (reps, 1, 1, len(SIZES)))[..., cl]
    w = rng.normal(0, s_inter, (reps, 1, 1, len(SIZES)))[..., cl]
    f = rng.normal(0, 0.3, (reps, 1, 1, len(cl)))
    r = tau * (
        np.sqrt(rho) * rng.normal(0, 1, (reps, 1, n, 1))
        + np.sqrt(1 - rho) * rng.normal(0, 1, (reps, 2, n, 1))
    )
    err = 3.0 + x * delta + u + x * w + f + r + rng.normal(0, 0.5, (reps, 2, n, len(cl)))
    return np.stack([np.full(err.shape, joints), np.zeros(err.shape), joints * err], axis=-1), cl


@pytest.mark.parametrize("n", [3, 5])
def test_clustered_paired_intervals_cover_the_truth_and_ignoring_either_costs(n):
    """Nominal 95% over 400 repetitions: 3 binomial sd is [91.7%, 98.3%]. Ignoring the clusters (a frame
    bootstrap) under-covers the cell's truth; ignoring the pairing (Welch) gives wider intervals."""
    reps, delta = 400, 0.3
    tables, cl = _simulate_design(np.random.default_rng(200 + n), n, reps, delta=delta)
    hits = {k: 0 for k in ("paired", "welch", "cell", "cell_frames")}
    width = {"paired": 0.0, "welch": 0.0}
    for k in range(reps):
        a, b = list(tables[k, 0]), list(tables[k, 1])
        kw = {"n_resamples": 300, "seed": k}
        est = {
            "paired": paired_difference(a, b, "mean_error", COLS, clusters=cl, **kw),
            "welch": cell_difference(a, b, "mean_error", COLS, clusters=cl, **kw),
            "cell": cell_estimate(a, "mean_error", COLS, clusters=cl, **kw),
            "cell_frames": cell_estimate(a, "mean_error", COLS, **kw),
        }
        truth = {"paired": delta, "welch": delta, "cell": 3 + delta / 2, "cell_frames": 3 + delta / 2}
        for name, e in est.items():
            hits[name] += e.low <= truth[name] <= e.high
        for name in width:
            width[name] += (est[name].high - est[name].low) / reps
        assert est["paired"].paired and not est["welch"].paired and est["paired"].training_variance
    cover = {k: v / reps for k, v in hits.items()}
    assert 0.917 <= cover["paired"] <= 0.983, cover
    assert 0.917 <= cover["cell"] <= 0.983, cover
    assert cover["cell_frames"] < 0.85, cover
    assert width["paired"] < 0.9 * width["welch"] and cover["welch"] >= cover["paired"], (width, cover)


def test_a_two_term_combination_is_the_within_run_difference():
    """within_run_combination with (+1, a), (-1, b) is within_run_difference_estimates of a and b, bitwise,
    with and without clusters; a third term adds its own per-run values."""
    rng = np.random.default_rng(3)
    cols = M.frame_sum_columns(M.ALL_METRIC_NAMES)
    a = [rng.uniform(0.0, 5.0, (12, len(cols))) + 1.0 for _ in range(3)]
    b = [rng.uniform(0.0, 5.0, (12, len(cols))) + 1.0 for _ in range(3)]
    for clusters in (None, np.repeat(np.arange(4), 3)):
        kw = {"clusters": clusters, "n_resamples": 300, "seed": 2}
        want = M.within_run_difference_estimates(a, b, ["rmse"], cols, **kw)["rmse"]
        got = M.within_run_combination([(1.0, a, "rmse"), (-1.0, b, "rmse")], cols, **kw)
        assert (got.value, got.low, got.high, got.seeds) == (want.value, want.low, want.high, want.seeds)
    three = M.within_run_combination([(1.0, a, "rmse"), (-1.0, b, "rmse"), (1.0, b, "rmse")], cols)
    rmse_a = [float(M.from_sums(t.sum(0), ["rmse"], cols)[0]) for t in a]
    np.testing.assert_allclose(three.seeds, rmse_a, rtol=1e-12)
