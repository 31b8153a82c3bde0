"""dark.analysis.report's primary endpoints: fixed in code, verdicts against zero and the report's effect, the
report's effects from its Table 2, the MDE, and what limits a verdict (checkpoint, clusters)."""

import json
from pathlib import Path

import numpy as np
import pytest
from fakes import write_run

from dark import metrics
from dark.analysis import report
from dark.analysis.report import render
from dark.analysis.report.endpoints import NO_RUNS, NOT_MEASURED, ONE_TRAINING_NOTE, endpoint_verdict
from dark.design import paper
from dark.design.protocols import PROTOCOLS
from dark.experiment import runs
from dark.metrics import Estimate

COLS = metrics.frame_sum_columns(metrics.ALL_METRIC_NAMES)


def _e(value, low, high, seeds=True):
    return Estimate(value, low, high, training_variance=seeds)


def test_endpoint_verdict_words():
    """Each word by its rule: the Holm-adjusted p against zero, the adjusted interval against the report's
    effect, the MDE against it, size words only in the report's regime."""
    up, down, x = _e(2, 1, 3), _e(-2, -3, -1), (1.0, 3.0)
    assert endpoint_verdict(up, 5.6, p_adjusted=0.01, adjusted=x) == "reproduced"
    assert endpoint_verdict(up, 5.6, p_adjusted=0.01, adjusted=x, comparable=True) == (
        "reproduced, smaller than reported"
    )
    assert endpoint_verdict(_e(9, 7, 11), 5.6, p_adjusted=0.01, adjusted=(7, 11), comparable=True) == (
        "reproduced, larger than reported"
    )
    assert (
        endpoint_verdict(_e(6, 5, 7), 5.6, p_adjusted=0.01, adjusted=(5, 7), comparable=True) == "reproduced"
    )
    assert endpoint_verdict(down, 5.6, p_adjusted=0.01, adjusted=(-3, -1)) == "contradicted"
    # zero not excluded after the correction, the report's effect excluded
    assert endpoint_verdict(up, 5.6, p_adjusted=0.08, adjusted=(-0.5, 4.5)) == (
        "not reproduced: the report's effect is excluded; sign undetermined"
    )
    # the report's effect inside: underpowered when the MDE exceeds it
    assert endpoint_verdict(up, 3.0, p_adjusted=0.08, adjusted=(-0.5, 4.5), mde=4.2) == (
        "inconclusive (underpowered: MDE 4.2 > the report's effect 3.0)"
    )
    assert endpoint_verdict(up, 3.0, p_adjusted=0.08, adjusted=(-0.5, 4.5), mde=2.0) == "inconclusive"
    assert endpoint_verdict(_e(1, -1, 3), None, p_adjusted=0.4) == "inconclusive"
    assert (
        endpoint_verdict(_e(2, 1, 3, seeds=False), None, p_adjusted=0.01) == "reproduced" + ONE_TRAINING_NOTE
    )
    assert ONE_TRAINING_NOTE == " (test frames only: one training per cell)"


def test_p_value_inverts_the_interval_and_holm_is_the_step_down():
    """The p-value is the level whose interval touches zero (analytic for one normal or one t part); Holm's
    adjustment matches its textbook step-down on a hand-worked family."""
    from scipy import stats

    e = Estimate(1.5, 0.0, 0.0, se_frames=1.0)
    assert metrics.p_value(e) == pytest.approx(2 * stats.norm.sf(1.5), rel=1e-6)
    t = Estimate(1.5, 0.0, 0.0, se_seeds=0.5, df=4, training_variance=True)
    assert metrics.p_value(t) == pytest.approx(2 * stats.t.sf(3.0, 4), rel=1e-6)
    # two parts: at the p-value's level the interval's edge is exactly zero
    both = Estimate(2.0, 0.0, 0.0, se_seeds=0.6, df=7, se_frames=0.5, df_frames=3, training_variance=True)
    p = metrics.p_value(both)
    assert metrics.interval_at(both, 1 - p)[0] == pytest.approx(0.0, abs=1e-7)
    assert metrics.interval_at(both, 0.95)[0] > 0 if p < 0.05 else metrics.interval_at(both, 0.95)[0] <= 0
    # Holm by hand: sorted 0.01, 0.02, 0.04, 0.30 -> 4 x 0.01, 3 x 0.02, max(2 x 0.04, .), 0.30
    np.testing.assert_allclose(metrics.holm([0.04, 0.01, 0.30, 0.02]), [0.08, 0.04, 0.30, 0.06])
    np.testing.assert_allclose(metrics.holm([0.03, 0.02]), [0.04, 0.04])  # monotone: max with the earlier
    np.testing.assert_allclose(metrics.holm_levels([0.04, 0.01]), [0.95, 0.975])
    with pytest.raises(ValueError):
        metrics.holm([0.5, 1.2])


def test_holm_controls_the_family_wise_error_under_the_null():
    """A simulation with a known truth: four endpoints with no effect, correlated, 4000 families; the
    chance of any adjusted p below 0.05 stays at or under 5% (unadjusted it is far above)."""
    rng = np.random.default_rng(0)
    cov = 0.5 + 0.5 * np.eye(4)
    z = rng.multivariate_normal(np.zeros(4), cov, size=4000)
    from scipy import stats

    p = 2 * stats.norm.sf(np.abs(z))
    any_raw = (p < 0.05).any(1).mean()
    any_holm = np.array([(metrics.holm(row) < 0.05).any() for row in p]).mean()
    assert any_raw > 0.10 and any_holm <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000)


def test_claim_verdict_rule():
    from dark.analysis.report.claims import claim_verdict

    def rows(*words):
        return [{"verdict": w, "estimate": 1.0} for w in words]

    nr = "not reproduced: the report's effect is excluded; sign undetermined"
    assert claim_verdict(rows("reproduced", "reproduced")) == "reproduced"
    assert claim_verdict(rows("reproduced", "inconclusive", nr)) == "partly reproduced (1 of 3 endpoints)"
    assert claim_verdict(rows("contradicted", "inconclusive")) == "contradicted"
    assert claim_verdict(rows(nr, "inconclusive (underpowered: MDE 8.8 > the report's effect 4.0)")) == (
        "not reproduced"
    )
    assert claim_verdict(rows("inconclusive")) == "inconclusive"
    assert (
        claim_verdict([{"verdict": "not evaluated (no runs)", "estimate": None}]) == "not evaluated (no runs)"
    )


def test_endpoints_are_fixed_per_claim_and_protocol():
    assert {(e.claim, e.protocol, e.comparison) for e in report.ENDPOINTS} == {
        (c, p, k) for p in PROTOCOLS for c, k in
        ((1, "dark - standard"), (1, "dark - argmax"), (2, "unbiased - ceil"))
    }  # fmt: skip
    for e in report.ENDPOINTS:
        assert e.metric == PROTOCOLS[e.protocol].primary_metric
        assert e.decoders[0] == PROTOCOLS[e.protocol].decoders["dark"]
        assert e.within_run == (e.claim == 1)
    report_std = next(
        e for e in report.ENDPOINTS if (e.protocol, e.comparison) == ("report", "dark - standard")
    )
    assert report_std.decoders == ("dark_report", "standard_report") and report_std.metric == "pckh_axis@0.1"


def test_report_effects_are_table2_differences_at_pckh01():
    assert paper.REPORT_EFFECTS[(1, "sh", "dark - standard")] == pytest.approx(45.17 - 41.18)
    assert paper.REPORT_EFFECTS[(1, "sh", "dark - argmax")] == pytest.approx(45.17 - 39.80)
    assert paper.REPORT_EFFECTS[(2, "sh", "unbiased - ceil")] == pytest.approx(45.17 - 39.54)
    assert paper.REPORT_EFFECTS[(1, "hrnet", "dark - standard")] == pytest.approx(44.83 - 40.50)
    assert paper.REPORT_EFFECTS[(2, "hrnet", "unbiased - ceil")] == pytest.approx(44.83 - 41.73)
    assert len(paper.REPORT_EFFECTS) == 6


def _run(root, encoding, seed, dark_p01, std_p01, clusters, fmt=3, **options):
    """A run on ``len(clusters)`` frames in placement ``clusters`` (4 placements a clip): DARK and
    Standard score ``dark_p01`` / ``std_p01`` + frame noise."""
    rng = np.random.default_rng(seed)
    G, K = len(clusters), 10

    def table(p01):
        t = np.zeros((G, len(COLS)))
        t[:, 0], t[:, 1], t[:, 2] = K, K * 4.0, K * 2.0
        t[:, COLS.index("correct@0.1")] = K * np.clip(p01 / 100 + rng.normal(0, 0.05, G), 0, 1)
        t[:, COLS.index("correct@0.5")] = K * 0.7
        return t

    tables = {name: table(p) for name, p in (("dark", dark_p01), ("standard", std_p01),
                                            ("argmax", std_p01 - 2))}  # fmt: skip
    run = {
        "model": "sh",
        "encoding": encoding,
        "seed": seed,
        "dir": str(root / runs.run_name("sh", encoding, seed)),
    }
    if fmt >= 3:
        run["checkpoint"] = "last"
    ev = {"format": fmt, "run": run, "data": {}, "bootstrap": {}}
    return write_run(
        root, "sh", encoding, seed, tables=tables, columns=COLS, clusters=clusters, evaluation=ev, **options
    )


def test_primary_rows_paired_clustered_with_mde_and_limits(tmp_path):
    clusters = np.arange(16)  # 16 placements: 4 test clips of 4
    paths = [_run(tmp_path, "unbiased", s, 40 + s, 37 + s, clusters) for s in (1, 2, 3)]
    paths += [_run(tmp_path, "ceil", s, 38 + s, 35 + s, clusters) for s in (1, 2, 3)]
    a = report.analyse(report.load_runs(paths), n_resamples=300)
    assert a.settings["clusters"]
    v = report.verdicts(a)
    assert v[1]["notes"] == [] and v[2]["notes"] == []
    rows = {(r["claim"], r["protocol"], r["comparison"]): r for r in v[1]["primary"] + v[2]["primary"]
            if r["model"] == "sh"}  # fmt: skip
    two = rows[(2, "standard", "unbiased - ceil")]
    est = a.primary[(2, "sh", "standard", "unbiased - ceil")]
    assert (
        two["paired"]
        and two["n_pairs"] == 3
        and two["resampled"] == "clips"
        and two["cluster_unit"] == "clip"
        and two["checkpoint"] == "last"
    )
    assert two["estimate"] == pytest.approx(est.value) and two["mde"] == pytest.approx(metrics.mde(est))
    assert est.df_frames == pytest.approx(3.0)  # 4 equal clips: K_eff - 1
    # the family: claim 2's measured endpoints (SH standard only here) with Holm's p and its level
    assert two["family"].startswith("claim 2: 1 endpoints") and two["p_holm"] == pytest.approx(two["p"])
    assert two["p"] == pytest.approx(metrics.p_value(est))
    lo, hi = metrics.interval_at(est, two["level"])
    assert (two["adj_low"], two["adj_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert two["verdict"] == endpoint_verdict(
        est,
        paper.REPORT_EFFECTS[(2, "sh", "unbiased - ceil")],
        p_adjusted=two["p_holm"],
        adjusted=(lo, hi),
        mde=two["mde"],
    )
    assert two["regime_text"] and two["comparable"] is False
    assert rows[(1, "report", "dark - standard")]["verdict"] == NOT_MEASURED
    assert all(r["verdict"] == NO_RUNS for r in v[1]["primary"] if r["model"] == "hrnet")
    saved = json.loads(json.dumps(two))  # the row is plain JSON
    assert saved == two


def test_old_evaluations_say_best_epoch_and_frames(tmp_path):
    paths = [_run(tmp_path, "unbiased", s, 40 + s, 37 + s, np.repeat([0, 1], 6), fmt=2) for s in (1, 2)]
    for p in paths:  # frame sums written before clusters
        z = dict(np.load(p / runs.FRAME_SUMS))
        del z["clusters"]
        np.savez(p / runs.FRAME_SUMS, **z)
    a = report.analyse(report.load_runs(paths), n_resamples=100)
    assert not a.settings["clusters"]
    (row,) = [r for r in report.verdicts(a)[1]["primary"] if (r["model"], r["protocol"], r["comparison"]) ==
              ("sh", "standard", "dark - standard")]  # fmt: skip
    assert row["checkpoint"] == "best" and row["resampled"] == "frames"
    assert any("best validation epoch" in n for n in report.verdicts(a)[1]["notes"])


def test_a_record_grown_in_steps_saves_the_analysis_of_every_recorded_run(tmp_path, monkeypatch):
    """dark book --max-trainings saves the analysis of the record's runs into its results/ (what the summary
    reads): claim 2's primary endpoint there is the paired difference of DARK's PCKh@0.1 read straight from
    the runs' frame sums."""
    from dark.book import summary

    clusters = np.arange(16)  # 16 placements: 4 test clips of 4
    dest = tmp_path / "results" / "cpu"
    paths = [_run(dest / "runs", enc, s, 40 + s - 2 * (enc == "ceil") + (s == 3), 37 + s, clusters)
             for s in (1, 2, 3) for enc in ("unbiased", "ceil")]  # fmt: skip
    assert report.save_analysis(dest, paths) == dest / "results"
    saved = report.load_saved(dest / "results")
    two = [r for r in saved[2]["primary"] if r["model"] == "sh" and r["protocol"] == "standard"]
    by_seed = [_dark_pckh(u) - _dark_pckh(c) for u, c in zip(paths[::2], paths[1::2], strict=True)]
    assert two[0]["n_pairs"] == 3 and two[0]["estimate"] == pytest.approx(np.mean(by_seed))
    written = {p.name for p in (dest / "results").iterdir()}
    assert {"table2.csv", "evidence.csv", "counterfactual.csv"} <= written
    # the summary reads them (nothing computed there)
    grown = {"results_dir": str(dest / "results"), "run_dirs": [str(p) for p in paths]}
    monkeypatch.setattr(summary.record, "load", lambda folder: grown)
    monkeypatch.setattr(report, "analyse", None)
    [(_, _, found)] = summary.recorded_runs([dest])
    assert [r["estimate"] for r in found["2"]["primary"]] == [r["estimate"] for r in saved[2]["primary"]]


def _dark_pckh(path):
    """DARK's PCKh@0.1 of one run, straight from its frame sums."""
    with np.load(path / runs.FRAME_SUMS) as z:
        t = z["decoder:dark"]
    return 100 * t[:, COLS.index("correct@0.1")].sum() / t[:, COLS.index("n")].sum()


def test_a_record_that_saved_no_verdicts_has_them_computed_from_its_runs(tmp_path, monkeypatch):
    """A record grown by --max-trainings builds keeps runs but no analysis: the summary computes its
    primary endpoints from those runs, as the recorded chapter does, instead of saying none were saved."""
    from dark.book import summary

    clusters = np.arange(16)  # 16 placements: 4 test clips of 4
    paths = [_run(tmp_path, enc, s, 40 + s - 2 * (enc == "ceil"), 37 + s, clusters)
             for s in (1, 2) for enc in ("unbiased", "ceil")]  # fmt: skip
    grown = {"results_dir": str(tmp_path / "no-results"), "run_dirs": [str(p) for p in paths]}
    monkeypatch.setattr(summary.record, "load", lambda folder: grown)
    [(name, rec, found)] = summary.recorded_runs([tmp_path / "results" / "cpu"])
    assert name == "results/cpu" and rec is grown
    two = [r for r in found["2"]["primary"] if r["model"] == "sh" and r["protocol"] == "standard"]
    assert two[0]["n_pairs"] == 2 and two[0]["paired"]

    by_seed = [_dark_pckh(u) - _dark_pckh(c) for u, c in zip(paths[::2], paths[1::2], strict=True)]
    assert two[0]["estimate"] == pytest.approx(np.mean(by_seed))  # unbiased - ceil, paired by seed
    assert "w/o quant - ceil" in render.endpoints_table(found)  # as the recorded chapter renders it


def test_claim2_per_reading_of_w_quant_is_the_primary_estimate_against_every_quantised_cell(tmp_path):
    """Every quantised cell trained gets claim 2's endpoint (DARK's PCKh@0.1 of w/o quant minus the cell,
    paired by seed): ceil's row is the primary endpoint with its verdict; the others are secondary (no
    verdict word), each the mean of the per-seed differences read straight from the frame sums, set
    against the report's one effect; the summary and the recorded chapter show them."""
    from dark.analysis.report.endpoints import SECONDARY

    clusters = np.arange(16)  # 16 placements: 4 test clips of 4
    offsets = {"unbiased": 0.0, "ceil": -2.0, "quantized": -1.0}
    paths = {
        (enc, s): _run(tmp_path, enc, s, 40 + s + off + 0.5 * (s == 2) * (enc == "quantized"), 37, clusters)
        for s in (1, 2, 3)
        for enc, off in offsets.items()
    }
    a = report.analyse(report.load_runs(list(paths.values())), n_resamples=300)
    v = report.verdicts(a)
    rows = {(r["quantiser"], r["protocol"]): r for r in v[2]["by_reading"] if not r.get("same_seeds_as")}
    assert set(rows) == {(q, p) for q in ("ceil", "quantized") for p in PROTOCOLS}
    primary = next(r for r in v[2]["primary"] if (r["model"], r["protocol"]) == ("sh", "standard"))
    assert {k: x for k, x in rows["ceil", "standard"].items() if k != "quantiser"} == primary
    q = rows["quantized", "standard"]
    by_seed = [_dark_pckh(paths["unbiased", s]) - _dark_pckh(paths["quantized", s]) for s in (1, 2, 3)]
    assert q["estimate"] == pytest.approx(np.mean(by_seed)) and q["n_pairs"] == 3 and q["paired"]
    assert q["seeds"] == [1, 2, 3]
    assert q["low"] < q["estimate"] < q["high"] and q["verdict"] == SECONDARY
    assert q["report_effect"] == paper.REPORT_EFFECTS[(2, "sh", "unbiased - ceil")]
    assert rows["quantized", "report"]["verdict"] == NOT_MEASURED  # no report-protocol decoders here
    # beside each secondary reading: ceil's endpoint on the same seeds, secondary too
    same = [
        r for r in v[2]["by_reading"] if r.get("same_seeds_as") == "quantized" and r["protocol"] == "standard"
    ]
    assert len(same) == 1 and same[0]["quantiser"] == "ceil" and same[0]["verdict"] == SECONDARY
    ceil_by_seed = [_dark_pckh(paths["unbiased", s]) - _dark_pckh(paths["ceil", s]) for s in (1, 2, 3)]
    assert same[0]["estimate"] == pytest.approx(np.mean(ceil_by_seed)) and same[0]["n_pairs"] == 3
    # shown: the primary row points at its verdict instead of repeating it; the others say secondary
    shown = report.readings_display(v[2]["by_reading"])
    assert "on the seeds of w/ quant (nearest, input grid)" in " ".join(shown["w/ quant"])
    assert set(shown["verdict"]) == {"primary endpoint (its verdict: above)", "secondary: no verdict"}
    others = report.readings_display(v[2]["by_reading"], primary=False)
    assert "w/ quant (nearest, input grid)" in list(others["w/ quant"])
    report.save(tmp_path / "results", a)
    saved = json.loads((tmp_path / "results" / "verdicts.json").read_text())
    assert [r["estimate"] for r in saved["2"]["by_reading"]] == pytest.approx(
        [r["estimate"] for r in v[2]["by_reading"]]
    )


def test_clip_signs_count_the_clips_each_endpoint_favours(tmp_path):
    """Per test clip, the endpoint's difference from the clip's summed sums (by hand here), and the exact
    sign test."""
    from dark.analysis.report.clips import clip_differences, clip_signs
    from dark.analysis.report.endpoints import ENDPOINTS

    clusters = np.arange(16)  # 4 clips of 4 placements, one frame each
    paths = [_run(tmp_path, enc, s, 40 + s, 37, clusters) for s in (1, 2) for enc in ("unbiased", "ceil")]
    recs = report.load_runs(paths)
    cells = report.cells(recs)
    e = next(
        x for x in ENDPOINTS if (x.claim, x.protocol, x.comparison) == (1, "standard", "dark - standard")
    )
    d = clip_differences(e, "sh", cells)
    i = COLS.index("correct@0.1")
    by_hand = []
    for r in cells["sh", "unbiased"]:
        t_d, t_s = r.tables["dark"], r.tables["standard"]
        by_hand.append([100 * (t_d[4 * c : 4 * c + 4, i].sum() - t_s[4 * c : 4 * c + 4, i].sum())
                        / t_d[4 * c : 4 * c + 4, 0].sum() for c in range(4)])  # fmt: skip
    np.testing.assert_allclose(d, np.mean(by_hand, axis=0))
    s = clip_signs(d)
    assert s["clips"] == 4 and s["favour"] == int((d > 0).sum())
    assert clip_signs(np.array([1.0, -1.0, 0.0])) == {"favour": 1, "clips": 2, "p": 1.0}


def test_runs_of_another_regime_are_analysed_on_their_own(tmp_path):
    """A record holding two heatmap sizes: the verdicts rest on the larger regime only (the other's runs
    are named in a note), and the other regime gets its own endpoints, families and words, read from its
    runs alone (:func:`dark.analysis.report.regime_verdicts`)."""
    clusters = np.arange(16)
    main = [_run(tmp_path / "main", e, s, 40 + s - 2 * (e == "ceil"), 37, clusters)
            for s in (1, 2, 3, 4) for e in ("unbiased", "ceil")]  # fmt: skip
    low = []
    for s in (1, 2, 3):
        for e, p in (("unbiased", 30.0), ("ceil", 31.0)):  # at 10 x 20 the ceil runs score higher
            low.append(_run(tmp_path / "low", e, s, p + s, 28, clusters, input_scale=4))
    records = report.load_runs(main + low)
    a = report.analyse(records, n_resamples=200)
    assert {r.path for r in a.records} == set(main)
    assert any("6 runs of other regimes" in n for n in report.verdicts(a)[1]["notes"])
    (other,) = report.regime_verdicts(records, n_resamples=200)
    assert other["regime"]["heatmap"] == [10, 20] and other["regime_text"].startswith("heatmaps 10 x 20")
    assert sorted(other["runs"]) == sorted(d.name for d in low) and other["comparable"] is False
    two = next(
        r for r in other["claims"]["2"]["primary"] if (r["model"], r["protocol"]) == ("sh", "standard")
    )
    low_run = {
        (e, s): tmp_path / "low" / runs.run_name("sh", e, s) for e in ("unbiased", "ceil") for s in (1, 2, 3)
    }
    by_seed = [_dark_pckh(low_run["unbiased", s]) - _dark_pckh(low_run["ceil", s]) for s in (1, 2, 3)]
    assert two["estimate"] == pytest.approx(np.mean(by_seed)) and two["n_pairs"] == 3
    assert two["family"].startswith("claim 2: 1 endpoints") and "verdict" in two


def test_the_renderer_states_each_regimes_verdicts_under_keys_of_their_own():

    claim2 = {"verdict": "not reproduced", "by_model": {"sh": "not reproduced", "hrnet": "inconclusive"}}
    saved = {
        "regimes": [{"regime_text": "heatmaps 10 x 20, 8 epochs, bf16, rendered", "claims": {"2": claim2}}]
    }
    text = render.regime_sentences(saved)
    assert text.startswith("- At heatmaps 10 x 20, 8 epochs, bf16, rendered, claim 2:")
    assert 'data-verdict="regime/0/claim/2">not reproduced<' in text
    assert 'data-verdict="regime/0/claim/2/hrnet">inconclusive<' in text
    assert render.regime_sentences({"regimes": []}) == ""
    claim2["by_model"]["hrnet"] = "not evaluated (no runs)"  # a model without runs there is not named
    assert "HRNet" not in render.regime_sentences(saved)
    assert render.regime_sentences(saved, comparable_only=True) == ""  # 10 x 20: not the report's size
    report_size = {"regime_text": "heatmaps 40 x 80, ...", "comparable": True, "claims": {"2": claim2}}
    saved["regimes"].append(report_size)
    (line,) = render.regime_sentences(saved, comparable_only=True).splitlines()
    assert line.startswith("- At heatmaps 40 x 80, ..., claim 2:")
    assert 'data-verdict="regime/1/claim/2"' in line


def test_claim2_against_the_placebo_is_the_paired_mean_of_the_frame_sums(tmp_path):
    """Claim 2's null: placebo - q on DARK, paired on the seeds the two cells share, equals the mean of the
    per-seed differences read straight from the frame sums; saved with the verdicts and shown on the page."""
    from dark.analysis.report import along, along_page
    from dark.analysis.report.endpoints import SECONDARY

    clusters = np.arange(16)
    offsets = {"unbiased": 0.0, "ceil": -2.0, "placebo": -0.2}
    paths = {(e, s): _run(tmp_path, e, s, 40 + s + off + 0.3 * (s == 3) * (e == "ceil"), 37, clusters)
             for s in (1, 2, 3) for e, off in offsets.items() if not (e == "placebo" and s == 3)}  # fmt: skip
    a = report.analyse(report.load_runs(list(paths.values())), n_resamples=300)
    (row,) = [r for r in along.null_rows(a, n_resamples=300) if r["protocol"] == "standard"]
    by_seed = [_dark_pckh(paths["placebo", s]) - _dark_pckh(paths["ceil", s]) for s in (1, 2)]
    assert row["comparison"] == "placebo - ceil" and row["seeds"] == [1, 2] and row["n_pairs"] == 2
    assert row["estimate"] == pytest.approx(np.mean(by_seed)) and row["verdict"] == SECONDARY
    assert row["low"] < row["estimate"] < row["high"]
    report.save(tmp_path / "results", a)
    saved = report.load_saved(tmp_path / "results")
    assert saved[2]["against_null"][0]["estimate"] == pytest.approx(np.mean(by_seed))
    html = along_page.null_table(saved)
    assert "placebo - ceil" in html and "w/o quant - placebo" in html and "1, 2" in html
    said = along_page.null_text(saved)
    assert f"`ceil` {row['estimate']:.2f} [{row['low']:.2f}, {row['high']:.2f}] (2 pairs)" in said


def test_the_batch_confound_pairs_a_quantised_regime_with_the_main_unbiased_cell(tmp_path):
    """A regime that trained only ceil at batch 24 is paired by seed with the main regime's unbiased runs
    at 16 (claim 2 as the report ran it), beside ceil at 16 on the same seeds and ceil 16 - ceil 24; each
    the mean of the per-seed differences of the frame sums; as run = within + setting."""
    from dark.analysis.report import along, along_page

    clusters = np.arange(16)
    main = {(e, s): _run(tmp_path / "main", e, s, 40 + s - 2 * (e == "ceil"), 37, clusters)
            for s in (1, 2, 3, 4) for e in ("unbiased", "ceil")}  # fmt: skip
    b24 = {
        s: _run(tmp_path / "b24", "ceil", s, 37.5 + s + 0.4 * s, 37, clusters, batch_size=24) for s in (1, 3)
    }
    records = report.load_runs([*main.values(), *b24.values()])
    rows = {(r["role"], r["protocol"]): r for r in along.crossed_rows(records, n_resamples=300)}
    assert {role for role, _ in rows} == {"as run", "within", "setting"}
    run, within, setting = (rows[k, "standard"] for k in ("as run", "within", "setting"))
    u, c = (lambda s: _dark_pckh(main["unbiased", s])), (lambda s: _dark_pckh(main["ceil", s]))
    assert run["estimate"] == pytest.approx(np.mean([u(s) - _dark_pckh(b24[s]) for s in (1, 3)]))
    assert within["estimate"] == pytest.approx(np.mean([u(s) - c(s) for s in (1, 3)]))
    assert setting["estimate"] == pytest.approx(np.mean([c(s) - _dark_pckh(b24[s]) for s in (1, 3)]))
    assert run["estimate"] == pytest.approx(within["estimate"] + setting["estimate"])
    assert (
        run["comparison"] == "unbiased - ceil at batch 24" and run["axis"] == "batch" and run["setting"] == 24
    )
    assert all(r["seeds"] == [1, 3] and r["n_pairs"] == 2 for r in rows.values() if r["estimate"] is not None)
    (other,) = report.regime_verdicts(records, n_resamples=300)
    assert other["axis"] == "batch" and len(other["crossed"]) == len(rows)
    html = along_page.crossed_table({"regimes": [other]})
    assert "w/o quant - ceil at batch 24" in html and "as run" in html
    said = along_page.crossed_text({"regimes": [other]})
    assert said.startswith("Under the standard protocol, on seeds 1, 3: w/o quant - ceil at batch 24 is ")
    assert f"{setting['estimate']:.2f} [{setting['low']:.2f}, {setting['high']:.2f}] (2 pairs)." in said


def test_claim2_of_another_precision_stands_beside_the_main_regimes_on_the_same_seeds(tmp_path):
    """fp32 pairs on 2 of the 4 bf16 seeds: the main regime's w/o quant - ceil on those 2 seeds is the mean
    of its per-seed differences of the frame sums there (not on all 4); the fp32 regime's own primary is
    its own pairs'; the page's sentence and table say all three, each verdict under its own key."""
    from dark.analysis.report import along, along_page

    clusters = np.arange(16)

    def runs_of(precision, seeds, dark_p01):
        return {(e, s): _run(tmp_path / precision, e, s, dark_p01(e, s), 37, clusters, precision=precision)
                for s in seeds for e in ("unbiased", "ceil")}  # fmt: skip

    main = runs_of("bf16", (1, 2, 3, 4), lambda e, s: 40 + s - (1 + s) * (e == "ceil"))
    fp32 = runs_of("fp32", (2, 4), lambda e, s: 41 + s - 0.5 * (e == "ceil"))
    records = report.load_runs([*main.values(), *fp32.values()])
    rows = {r["protocol"]: r for r in along.seed_matched_rows(records, n_resamples=300)}
    std = rows["standard"]
    diff = {s: _dark_pckh(main["unbiased", s]) - _dark_pckh(main["ceil", s]) for s in (1, 2, 3, 4)}
    assert std["estimate"] == pytest.approx(np.mean([diff[2], diff[4]]))
    assert std["estimate"] != pytest.approx(np.mean(list(diff.values())))
    assert std["seeds"] == [2, 4] and std["n_pairs"] == 2 and std["axis"] == "precision"
    assert std["setting"] == "fp32" and std["comparison"] == "unbiased - ceil"
    (other,) = report.regime_verdicts(records, n_resamples=300)
    assert other["seed_matched"] == along.seed_matched_rows(records, n_resamples=300)
    a = report.analyse(records, n_resamples=300)
    report.save(tmp_path / "results", a, regimes=[other])
    saved = report.load_saved(tmp_path / "results")
    own = next(r for r in other["claims"]["2"]["primary"] if r["protocol"] == "standard")
    fp32_diff = [_dark_pckh(fp32["unbiased", s]) - _dark_pckh(fp32["ceil", s]) for s in (2, 4)]
    assert own["estimate"] == pytest.approx(np.mean(fp32_diff))
    said = along_page.seed_matched_text(saved)
    assert said.startswith("Under the standard protocol, SH")
    for r, where in ((own, "in fp32"), (std, "in bf16 on the same seeds (2, 4)")):
        assert f"{r['estimate']:.2f} [{r['low']:.2f}, {r['high']:.2f}] (2 pairs) {where}" in said
    assert 'data-verdict="regime/0/claim/2/sh/standard/unbiased - ceil"' in said
    html = along_page.seed_matched_table(saved)
    assert 'data-verdict="regime/0/claim/2/sh/standard/unbiased - ceil"' in html
    assert 'data-verdict="claim/2/sh/standard/unbiased - ceil"' in html and "bf16, same seeds" in html
    assert along_page.seed_matched_text({"regimes": []}) == ""


def test_regimes_are_laid_out_along_the_one_setting_they_change(tmp_path):
    """:func:`along.axis` names the one setting two regimes differ in; :func:`along_page.points` lays the
    main regime and the regimes of one axis out along it, each endpoint with its regime's verdict key."""
    from dark.analysis.report import along, along_page

    base = {
        "heatmap": [20, 40],
        "input": [80, 160],
        "stride": 8,
        "precision": "bf16",
        "batch": 16,
        "epochs": 8,
    }
    assert along.axis(base, base) is None
    assert along.axis(base, base | {"precision": "fp32"}) == "precision"
    assert along.axis(base, base | {"epochs": 30, "batch": 24}) is None
    row = {"model": "sh", "protocol": "standard", "comparison": "unbiased - ceil", "estimate": 1.0,
           "low": 0.0, "high": 2.0, "verdict": "inconclusive", "claim": 2, "metric": "pckh@0.1",
           "n_pairs": 3}  # fmt: skip
    saved = {
        "1": {"regime": base, "primary": []}, "2": {"regime": base, "primary": [row]},
        "regimes": [
            {"regime": base | {"precision": "fp32"}, "axis": "precision",
             "claims": {"2": {"primary": [row]}}},
            {"regime": base | {"heatmap": [10, 20], "input": [40, 80]}, "axis": "resolution",
             "claims": {"2": {"primary": [row | {"estimate": 5.0, "low": 4.0, "high": 6.0}]}}},
        ],
    }  # fmt: skip
    pts = along_page.points(saved, "resolution")
    assert list(pts.setting) == ["10 x 20", "20 x 40"] and list(pts.regime) == [1, -1]
    html = along_page.points_table(pts)
    assert 'data-verdict="regime/1/claim/2/sh/standard/unbiased - ceil"' in html
    assert 'data-verdict="claim/2/sh/standard/unbiased - ceil"' in html
    assert list(along_page.points(saved, "precision").setting) == ["bf16", "fp32"]
    fig = along_page.resolution_figure(pts, [(10, 20), (20, 40), (40, 80)])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("not trained\nyet") == 3 + 3 + 1  # claim 1's two panels: none; claim 2: 40 x 80


def _pckh01(run_dir, decoder="dark"):
    """A run's PCKh@0.1 (points) of ``decoder``, from its frame sums by their own column names."""
    with np.load(run_dir / runs.FRAME_SUMS) as z:
        cols, t = list(z["columns"]), z[f"decoder:{decoder}"]
    return 100 * t[:, cols.index("correct@0.1")].sum() / t[:, cols.index("n")].sum()


def test_the_committed_records_regime_rows_are_the_paired_means_of_its_frame_sums():
    """The regime page's secondary rows saved with results/cpu (claim 2 against the placebo, claim 2 across
    the batch regimes, the main regime's claim 2 on another regime's seeds), standard protocol, each equal
    to the mean over its seeds of the per-seed difference of the two runs' PCKh@0.1, read straight from the
    recorded frame sums."""
    results = Path(__file__).resolve().parents[1] / "results" / "cpu"
    saved = report.load_saved(results / "results")
    run = lambda cell, s: results / "runs" / f"sh-{cell}-s{s}"  # noqa: E731
    checked = 0
    for r in [
        *saved[2].get("against_null", []),
        *(x for g in saved.get("regimes", []) for x in g.get("crossed", [])),
        *(x for g in saved.get("regimes", []) for x in g.get("seed_matched", [])),
    ]:
        if r["protocol"] != "standard" or r["estimate"] is None or r["model"] != "sh":
            continue
        a, b = r["comparison"].split(" - ")
        cell = {"unbiased": "unbiased", "placebo": "placebo", "ceil at batch 24": "ceil-b24"}
        by_seed = [_pckh01(run(cell.get(a, a), s)) - _pckh01(run(cell.get(b, b), s)) for s in r["seeds"]]
        assert r["estimate"] == pytest.approx(np.mean(by_seed), abs=1e-9), r["comparison"]
        checked += 1
    assert checked >= 4 + 3 + 2  # placebo - 4 quantisers, the batch confound, 10 x 20 and fp32 seeds
