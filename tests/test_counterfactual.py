"""dark.analysis.report.counterfactual: the shift-only counterfactual against a known truth (synthetic
predictions
whose quantised cell is the unbiased one shifted by a known bias)."""

import numpy as np
import pytest
from scipy import stats

from dark.analysis.report.counterfactual import counterfactual, counterfactual_display, shift_estimates
from dark.analysis.report.load import RunRecord
from dark.design.protocols import PROTOCOLS
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


# a simulation of known truth for the intervals: each run's error per joint and axis is a seed offset
# (shared by the two runs of a seed when paired), a test-clip offset shared by every run, and its own noise;
# the quantised runs add a known shift, a seed-to-seed spread of their bias, and more noise (the part the
# shift leaves)
G, J, CLIPS, RADIUS = 48, 6, 8, 2.0  # frame groups, joints, clips; PCKh@0.1 radius (0.1 x head 20) input px
SIG_U, SIG_E, TAU_SEED, TAU_CLIP, TAU_BIAS = 1.2, 1.4, 0.3, 0.4, 0.25
DELTA = np.array([0.5, 0.5])


def _within(mu, var):
    """Independent truth: percent of joints within RADIUS of an isotropic normal error N(mu, var I) (2-D)."""
    return 100 * stats.ncx2.cdf(RADIUS**2 / var, 2, float(mu @ mu) / var)


def _experiment(rng, n_u, n_e, paired):
    gt = rng.uniform(20, 60, (G, J, 2))
    clip = np.arange(G) % CLIPS
    c = rng.normal(0, TAU_CLIP, (CLIPS, 2))[clip][:, None, :]
    common = {
        "gt": gt, "visible": np.ones((G, J), bool), "head_size": np.full(G, 20.0),
        "groups": np.array([f"g{i:03d}" for i in range(G)]), "decoders": np.array(["dark"]),
    }  # fmt: skip
    seeds = rng.normal(0, TAU_SEED, (max(n_u, n_e), 2))
    seeds_e = seeds if paired else rng.normal(0, TAU_SEED, (n_e, 2))
    u = [{**common, "coords": (gt + a + c + rng.normal(0, SIG_U, (G, J, 2)))[None]} for a in seeds[:n_u]]
    e = [
        {
            **common,
            "coords": (gt + DELTA + a + rng.normal(0, TAU_BIAS, 2) + c + rng.normal(0, SIG_E, (G, J, 2)))[
                None
            ],
        }
        for a in seeds_e[:n_e]
    ]
    return u, e, clip


@pytest.mark.parametrize(("n_u", "n_e", "paired"), [(8, 8, True), (8, 3, False)])
def test_intervals_cover_the_known_expected_cost_and_rest(n_u, n_e, paired):
    """Over 300 simulated records (8 clips, seeds paired or not), the 95% intervals of the expected cost
    (at the population's mean shift) and of the rest beyond it cover the truth, computed independently in
    closed form (the non-central chi-square of a 2-D normal error), within three binomial standard
    deviations of 95%; the point expected cost is the one the unbiased runs give at the estimated shift."""
    var_u = TAU_SEED**2 + TAU_CLIP**2 + SIG_U**2
    var_e = TAU_SEED**2 + TAU_BIAS**2 + TAU_CLIP**2 + SIG_E**2
    truth_expected = _within(np.zeros(2), var_u) - _within(DELTA, var_u)
    truth_rest = _within(DELTA, var_u) - _within(DELTA, var_e)
    assert truth_expected > 3 and truth_rest > 3  # both parts matter in this design
    rng, reps, hits = np.random.default_rng(0), 300, np.zeros(2)
    for k in range(reps):
        u, e, clip = _experiment(rng, n_u, n_e, paired)
        shift, rows = shift_estimates(
            u, e, "dark", ["pckh@0.1"], paired=paired, clusters=clip, n_resamples=500, seed=k
        )
        r = rows["pckh@0.1"]
        if k == 0:
            direct = np.mean([_pckh(p["coords"][0], p["gt"], p["visible"], p["head_size"], 0.1)
                              - _pckh(p["coords"][0] + shift, p["gt"], p["visible"], p["head_size"], 0.1)
                              for p in u])  # fmt: skip
            assert r["expected"].value == pytest.approx(direct)
            assert r["expected"].value + r["unexplained"].value == pytest.approx(r["observed"])
            assert r["expected"].paired == paired and r["expected"].df_frames == pytest.approx(CLIPS - 1)
        hits += [
            r[k_].low <= t <= r[k_].high
            for k_, t in (("expected", truth_expected), ("unexplained", truth_rest))
        ]
    sd = np.sqrt(0.95 * 0.05 / reps)
    assert np.all(np.abs(hits / reps - 0.95) <= 3 * sd), hits / reps
