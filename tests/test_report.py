"""dark.analysis.report: the report's tables next to ours, and verdicts, from fabricated run directories with
known
numbers (config.json, evaluation.json, frame_sums.npz written here)."""

import json
import math

import numpy as np
import pytest
from fakes import write_run
from scipy import stats

from dark import metrics
from dark.analysis import report
from dark.analysis.report.analysis import improvement
from dark.analysis.report.claims import NOT_EVALUATED
from dark.analysis.report.endpoints import NOT_MEASURED, ONE_TRAINING_NOTE
from dark.analysis.report.load import load_run
from dark.analysis.report.tables import expected_bias
from dark.design import paper
from dark.experiment import runs
from dark.metrics import Interval

COLS = metrics.frame_sum_columns(metrics.ALL_METRIC_NAMES)  # n sq_error error dx dy correct@0.1 correct@0.5
DECODERS = ("argmax", "standard", "com", "dark", "mom")
G, K = 8, 4  # frames, joints per frame


def _table(err, p01, p05, bias=(0.0, 0.0), jitter=0.0, rng=None):
    """G frames with K joints each; every frame has mean error ``err`` (+ jitter), PCKh ``p01``, ``p05``."""
    e = err + (jitter * rng.standard_normal(G) if jitter else np.zeros(G))
    t = np.zeros((G, len(COLS)))
    t[:, 0], t[:, 1], t[:, 2] = K, K * e**2, K * e
    t[:, 3], t[:, 4] = K * bias[0], K * bias[1]
    t[:, 5], t[:, 6] = K * p01 / 100, K * p05 / 100
    return t


def make_run(root, model, encoding, seed, score, jitter=0.0):
    """One evaluated run: decoder i has error ``score(decoder) `` as (err, p01, p05, bias)."""
    rng = np.random.default_rng(seed)
    tables = {dec: _table(*score(dec), jitter=jitter, rng=rng) for dec in DECODERS}
    ev = {
        "run": {"model": model, "encoding": encoding, "seed": seed, "profile": "smoke",
                "dir": str(root / runs.run_name(model, encoding, seed))},
        "data": {"profile": "smoke", "path": "/data/smoke", "samples": 32, "frames": G},
        "bootstrap": {"confidence": 0.95, "n_resamples": 100, "seed": 0, "unit": "frames"},
        "decoders": {dec: {"metrics": {"rmse": {"value": 4.0, "low": 3.9, "high": 4.1}}} for dec in DECODERS},
        "differences": {"dark-argmax": {"rmse": {"value": -0.3, "low": -0.4, "high": -0.2}}},
    }  # fmt: skip
    return write_run(root, model, encoding, seed, tables=tables, columns=COLS, evaluation=ev)


RANK = {"argmax": 0, "standard": 1, "com": 2, "dark": 3, "mom": 1.5}


def scorer(shift, bias=(0.0, 0.0)):
    """Better decoders (RANK) and a per-run ``shift`` of every score (a training's luck)."""
    return lambda dec: (
        4.0 - 0.2 * RANK[dec] - shift / 10,
        40 + RANK[dec] + shift,
        70 + RANK[dec] + shift,
        bias,
    )


def build(tmp_path, seeds, effect=2.0, encodings=("unbiased", "quantized"), jitter=0.0):
    """Every cell with the given per-seed shifts; the unbiased cells ``effect`` points better."""
    paths = []
    for m in ("sh", "hrnet"):
        for e in encodings:
            for s, shift in seeds.items():
                paths.append(make_run(tmp_path, m, e, s, scorer(shift + (effect if e == "unbiased" else 0)),
                                      jitter=jitter))  # fmt: skip
    return paths


def test_load_runs_groups_cells_and_orders_seeds(tmp_path):
    paths = build(tmp_path, {2: 0.0, 1314: 1.0, 3: -1.0})
    recs = report.load_runs(paths)
    assert recs[0].columns == tuple(COLS) and set(recs[0].tables) == set(DECODERS)
    c = report.cells(recs)
    assert list(c) == [("sh", "unbiased"), ("sh", "quantized"), ("hrnet", "unbiased"), ("hrnet", "quantized")]
    assert [r.seed for r in c[("sh", "unbiased")]] == [1314, 2, 3]
    with pytest.raises(FileNotFoundError, match="dark evaluate"):
        load_run(tmp_path)


def test_table2_cell_mean_interval_and_seeds_are_the_t_interval(tmp_path):
    shifts = {1314: 1.0, 2: 0.0, 3: -2.5}
    a = report.analyse(report.load_runs(build(tmp_path, shifts)), n_resamples=200)
    t = report.table2(a)
    row = t.loc[("sh", "unbiased", "dark"), "pckh@0.1"]
    per_seed = [40 + 3 + s + 2.0 for s in shifts.values()]  # frames are identical: no frame variance
    ci = stats.ttest_1samp(per_seed, 0).confidence_interval()
    assert row["ours"] == pytest.approx(np.mean(per_seed)) and row["n_seeds"] == 3
    assert (row["low"], row["high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert row["seeds"] == pytest.approx(per_seed) and row["report"] == 45.17
    assert t.loc[("sh", "unbiased", "dark"), ("rmse", "ours")] == pytest.approx(
        4.0 - 0.6 - np.mean([3, 2, -0.5]) / 10
    )
    assert ("sh", "unbiased", "mom") in t.index and math.isnan(
        t.loc[("sh", "unbiased", "mom"), ("rmse", "report")]
    )
    shown = report.display_table(t)
    name = "SH_4S (w/o quant) + DARK"
    assert (
        shown.loc[name, "PCKh@0.1 (%) ours [95% CI]"]
        == f"{np.mean(per_seed):.2f} [{ci.low:.2f}, {ci.high:.2f}]"
    )
    assert shown.loc[name, "PCKh@0.1 (%) per seed"] == "46.00, 45.00, 42.50"
    assert shown.loc[name, "trainings"] == "3" and shown.loc[name, "PCKh@0.1 (%) report"] == "45.17"
    assert report.styled(t).to_html().count("font-style: italic") >= 1
    md = report.to_markdown(shown)
    assert md.count("\n") == len(shown) + 1 and f"| {name} |" in md
    bias = a.values[("sh", "unbiased", "dark")]
    assert bias["bias_x"].value == 0.0 and "bias_y" in bias


def test_claim2_with_one_training_per_cell_is_inconclusive_whatever_the_frames_say(tmp_path):
    a = report.analyse(
        report.load_runs(build(tmp_path, {1314: 0.0}, effect=5.0, jitter=0.1)), n_resamples=200
    )
    v = report.verdicts(a)
    assert v[2]["verdict"] == NOT_EVALUATED  # its primary endpoint is unbiased - ceil: no ceil runs
    assert v[2]["by_encoding"] == {"quantized": "0 better, 0 unclear, 0 worse, 24 one training"}
    ev = v[2]["evidence"]
    assert (ev.status == "one training").all() and len(ev) == 2 * 4 * 3
    assert (ev.imp_low > 0).all()  # the frame intervals alone would have said "better"
    # claim 1 is within a training: frames decide it, and the verdict says what the interval covers
    (row,) = [
        r
        for r in v[1]["primary"]
        if (r["model"], r["protocol"], r["comparison"]) == ("sh", "standard", "dark - argmax")
    ]
    assert (
        row["verdict"] == "reproduced" + ONE_TRAINING_NOTE  # no size words outside the report's regime
        and not row["training_variance"]
    )
    assert v[2]["counts"] == {"better": 0, "unclear": 0, "worse": 0, "one training": 24}
    assert "test frames only" in v[2]["covers"] and v[2]["seeds"] == "1 in each of the 4 cells"


def test_claim2_with_seeds_welch_difference_and_per_quantiser_verdicts(tmp_path):
    shifts = {1314: 0.5, 2: -0.5, 3: 0.0}
    recs = report.load_runs(build(tmp_path, shifts, effect=3.0, encodings=("unbiased", "quantized", "ceil")))
    a = report.analyse(recs, n_resamples=200)
    d = a.between[("sh", "unbiased - ceil", "dark")]["pckh@0.5"]
    # the cells share their seeds, whose luck is the same in both: paired by seed it cancels
    assert d.value == pytest.approx(3.0) and d.n_seeds == (3, 3) and d.training_variance and d.paired
    assert (d.low, d.high) == (pytest.approx(3.0), pytest.approx(3.0))
    v = report.verdicts(a)
    (row,) = [r for r in v[2]["primary"] if (r["model"], r["protocol"]) == ("sh", "standard")]
    assert row["verdict"] == "reproduced" and row["n_pairs"] == 3 and row["paired"]
    assert row["report_effect"] == pytest.approx(45.17 - 39.54) and row["estimate"] == pytest.approx(3.0)
    assert set(v[2]["by_encoding"]) == {"quantized", "ceil"}
    assert v[2]["counts"]["better"] == 2 * 2 * 4 * 3
    shown = report.evidence_display(v[2]["evidence"])
    row = shown.iloc[0]
    assert row["trainings"] == "3 vs 3" and row["per seed"].count(",") == 4 and " vs " in row["per seed"]
    t = report.table2(a)  # the report's "w/ quant" (its code: ceil) beside both our quantisers
    assert t.loc[("sh", "ceil", "dark"), ("pckh@0.1", "report")] == 39.54
    assert t.loc[("sh", "quantized", "dark"), ("pckh@0.1", "report")] == 39.54
    assert row["encoding"] == "w/o quant - w/ quant (nearest, input grid)"
    # trainings of other seeds whose luck swamps the effect: Welch, inconclusive, not "reproduced"
    noisy = [make_run(tmp_path / "noisy", "sh", e, s, scorer(shift + (1.0 if e == "unbiased" else 0)))
             for e, seeds in (("unbiased", {1314: 4.0, 2: -4.0}), ("ceil", {3: 4.0, 4: -4.0}))
             for s, shift in seeds.items()]  # fmt: skip
    a2 = report.analyse(report.load_runs(noisy), n_resamples=200)
    (row,) = [
        r for r in report.verdicts(a2)[2]["primary"] if (r["model"], r["protocol"]) == ("sh", "standard")
    ]
    ref = stats.ttest_ind([44 + 4 + 1, 44 - 4 + 1], [44 + 4, 44 - 4], equal_var=False).confidence_interval()
    assert (row["low"], row["high"]) == (pytest.approx(ref.low), pytest.approx(ref.high)) and not row[
        "paired"
    ]
    # 2 vs 2 seeds, unpaired: the design cannot detect the report's effect, and says so
    assert row["verdict"].startswith("inconclusive (underpowered: MDE ") and row["mde"] > row["report_effect"]
    assert row["n_pairs"] is None and row["n_seeds"] == [2, 2]


def test_claim1_within_runs_and_table3(tmp_path):
    a = report.analyse(report.load_runs(build(tmp_path, {1314: 0.0, 2: 1.0})), n_resamples=200)
    w = a.within[("sh", "unbiased", "dark - argmax")]
    assert w["pckh@0.1"].value == pytest.approx(3.0) and w["rmse"].value == pytest.approx(-0.6)
    v = report.verdicts(a)
    assert v[1]["counts"]["better"] == 4 * 2 * 3 and v[1]["missing"] == []
    rows = {(r["model"], r["protocol"], r["comparison"]): r for r in v[1]["primary"]}
    arg = rows[("sh", "standard", "dark - argmax")]
    assert arg["estimate"] == pytest.approx(3.0) and arg["report_effect"] == pytest.approx(45.17 - 39.80)
    assert arg["verdict"] == "reproduced" and arg["n_pairs"] == 2 and arg["mde"] == pytest.approx(0, abs=1e-9)
    assert rows[("hrnet", "report", "dark - standard")]["verdict"] == NOT_MEASURED  # no per-axis sums
    assert v[1]["endpoints"].startswith("SH_4S (standard), DARK - Standard: reproduced; ")
    t3 = report.table3(a)
    row = t3.loc[("sh", "unbiased", "dark - com")]
    assert row[("pckh@0.1", "ours")] == pytest.approx(1.0)
    assert row[("pckh@0.1", "report")] == pytest.approx(45.17 - 44.24)
    assert list(t3.index[:2]) == [("sh", "unbiased", "com"), ("sh", "unbiased", "dark")]


def test_orientation():
    assert improvement(Interval(-0.3, -0.4, -0.2), "rmse") == Interval(0.3, 0.2, 0.4)
    e = improvement(metrics.Estimate(-0.3, -0.4, -0.2, seeds=(-0.1, -0.5), n_seeds=2), "rmse")
    assert e.seeds == (0.1, 0.5) and e.low == 0.2 and e.n_seeds == 2


def test_partial_runs_unpaired_frames_and_display_names(tmp_path):
    a = report.analyse(
        report.load_runs([make_run(tmp_path, "sh", "unbiased", 1314, scorer(0))]), n_resamples=50
    )
    v = report.verdicts(a)
    assert len(v[1]["missing"]) == 3 and v[1]["endpoints"].endswith(NOT_MEASURED)
    assert "DARK - Standard: reproduced" + ONE_TRAINING_NOTE in v[1]["endpoints"]
    assert v[2]["verdict"] == NOT_EVALUATED and any("HRNet_4S" in m for m in v[2]["missing"])
    assert report.verdicts(report.analyse([]))[1]["verdict"] == NOT_EVALUATED
    other = make_run(tmp_path, "sh", "quantized", 1314, scorer(0))
    z = dict(np.load(other / runs.FRAME_SUMS))
    z["groups"] = z["groups"][::-1].copy()
    np.savez(other / runs.FRAME_SUMS, **z)
    with pytest.raises(ValueError, match="same test frames"):
        report.analyse(report.load_runs([tmp_path / "sh-unbiased-s1314", other]))
    assert (
        report.display_name("sh", "ceil", "dark - com")
        == "SH_4S (w/ quant (ceil, input grid; the report's code)) + DARK - CoM"
    )
    assert report.display_name("hrnet", "unbiased", "") == "HRNet_4S (w/o quant)"


def test_save_provenance_and_verdict_table(tmp_path, monkeypatch):
    a = report.analyse(
        report.load_runs(build(tmp_path / "runs", {1314: 0.0, 2: 1.0}, effect=5.0)), n_resamples=100
    )
    out = tmp_path / "out"
    written = report.save(out, a)
    assert {p.name for p in written.values()} == {
        "table2.csv", "table2.json", "table3.csv", "table3.json", "verdicts.json", "evidence.csv",
        "counterfactual.csv",
    }  # fmt: skip
    saved = report.load_saved(out)
    assert len(saved[1]["evidence"]) == 24 and saved[1]["notes"] == [
        "runs evaluated at their best validation epoch (trained before the last epoch became the evaluated "
        "checkpoint)",
        "test frames resampled one by one: these runs carry no test-clip clusters",
    ]  # the fabricated evaluations have no format: older than the last-epoch rule
    assert saved[2]["by_encoding"] == {"quantized": "24 better, 0 unclear, 0 worse"}
    assert [p["verdict"] for p in saved[1]["primary"][:2]] == ["reproduced"] * 2
    assert saved["intervals"] == metrics.INTERVALS and "Trainings per cell" in saved["provenance"]
    t2 = json.loads((out / "table2.json").read_text())
    assert t2["source"] == paper.SOURCE and len(t2["rows"]) == 16 + 2 * 2  # + mom rows
    shown = report.verdict_table({k: saved[k] for k in (1, 2)})
    assert shown["primary endpoints"].tolist() == [saved[1]["verdict"], NOT_EVALUATED]
    assert shown["trainings per cell"].iloc[1] == "2 in each of the 4 cells"
    assert shown["intervals cover"].iloc[1] == "test frames and training seeds"
    primary = report.primary_table(saved)
    assert len(primary) == 2 * 2 * 2 and primary.iloc[0]["estimate [95% CI]"] == "2.00 [2.00, 2.00]"
    assert primary.iloc[0]["report"] == "+3.99" and primary.iloc[0]["trainings"] == "2"
    ev = report.evidence_display(saved[2]["evidence"])
    assert len(ev) == 24 and set(ev["status"]) == {"better"}
    assert not list(out.glob("*.tmp"))
    assert "Profile smoke" in report.provenance(a) and "seed 1314" in report.provenance(a)
    monkeypatch.chdir(tmp_path)
    assert "runs/sh-unbiased-s1314" in report.provenance(a)
    cap = report.caption(a)
    assert cap.startswith("Profile smoke, data /data/smoke (32 test samples, 8 frames)") and "seeds" in cap


def test_run_table_formats_one_evaluation(tmp_path):
    ev = report.load_evaluations([make_run(tmp_path, "sh", "unbiased", 1314, scorer(0))])[0]
    t = report.run_table(ev)
    assert t.loc["DARK", "RMSE (px)"] == "4.00 [3.90, 4.10]"  # rows by the decoders' labels
    assert t.loc["ArgMax", "DARK - this, RMSE (px)"] == "-0.30 [-0.40, -0.20]"
    assert t.loc["DARK", "DARK - this, RMSE (px)"] == "–"


def test_bias_table_and_expected_bias(tmp_path):
    paths = [make_run(tmp_path, "sh", e, s, scorer(0, bias=(b + s / 1e4, -0.1)))
             for e, b in (("unbiased", 0.0), ("ceil", 0.5)) for s in (1314, 2)]  # fmt: skip
    ev = json.loads((paths[2] / runs.EVALUATION).read_text())  # sh ceil, seed 1314
    ev["decoders"]["dark"]["median_bias"] = [0.26, 0.51]
    (paths[2] / runs.EVALUATION).write_text(json.dumps(ev))
    a = report.analyse(report.load_runs(paths), n_resamples=50)
    t = report.bias_table(a)
    assert expected_bias("ceil") == 0.5 and expected_bias("floor") == -0.5
    assert expected_bias("quantized") == 0.0 and expected_bias("random-heatmap") == 0.0
    ceil = t.loc[report.display_name("sh", "ceil", "dark")]
    assert ceil["expected from the targets (px, per axis)"] == "+0.50" and ceil["trainings"] == 2
    assert ceil["bias x (px) [95% CI]"].startswith("0.57 [") and ceil["bias x per seed"] == "0.63, 0.50"
    assert t.loc[report.display_name("sh", "unbiased", "dark"), "bias y (px) [95% CI]"].startswith("-0.10 [")
    assert ceil["median bias (x, y) per seed"] == "(+0.26, +0.51); –"  # seed 2's evaluation has none


def test_prose_helpers(tmp_path):
    a = report.analyse(report.load_runs(build(tmp_path, {2: 1.0, 1314: 0.0}, effect=5.0)), n_resamples=50)
    assert report.focus(a.records).seed == 1314 and report.focus(a.records).encoding == "unbiased"
    text = report.value_text(a, "sh", "unbiased", "dark", "pckh@0.1")
    assert text.endswith("(2 trainings: 48.00, 49.00)") and text.startswith("48.50 [")
    assert report.value_text(a, "sh", "ceil", "dark", "rmse") == "–"
    assert report.report_text("sh", "unbiased", "dark", "pckh@0.1") == "45.17"
    assert report.report_text("sh", "unbiased", "mom", "rmse") == "–" and report.extra_decoders(a) == ["mom"]
    best = report.best_decoders(a)
    assert best[0].startswith("- SH_4S (w/o quant) + DARK: RMSE 2.85 [") and best[0].endswith(" px")


def test_paper_numbers_transcribed():
    assert len(paper.TABLE2) == 16
    assert paper.TABLE2[("sh", "unbiased", "dark")] == {"pckh@0.1": 45.17, "pckh@0.5": 71.65, "rmse": 3.47}
    assert paper.TABLE2[("hrnet", "quantized", "com")] == {"pckh@0.1": 33.95, "pckh@0.5": 68.38, "rmse": 3.94}
    for k, v in paper.TABLE3.items():
        assert paper.TABLE2[k] == v
    assert paper.published("hrnet", "ceil", "com") == paper.TABLE2[("hrnet", "quantized", "com")]


def test_mixed_seed_counts_cannot_reproduce_claim2(tmp_path):
    paths = build(tmp_path / "both", {1314: 0.0, 2: 0.5}, effect=5.0)
    paths = [p for p in paths if p.name != "sh-quantized-s2"]  # SH w/ quant: one training only
    a = report.analyse(report.load_runs(paths), n_resamples=50)
    v = report.verdicts(a)
    ev = v[2]["evidence"]
    assert set(ev[ev.model == "sh"].status) == {"one training"} and set(ev[ev.model == "hrnet"].status) == {
        "better"
    }
    assert set(ev[ev.model == "sh"].n_seeds) == {"2 vs 1"}
    assert v[2]["by_encoding"] == {"quantized": "12 better, 0 unclear, 0 worse, 12 one training"}
    assert v[2]["covers"] == "test frames and, for cells with several trainings, their seeds"
    assert "SH_4S (w/ quant (nearest, input grid)) 1" in v[2]["seeds"]


# ---------------------------------------------------------------------------------- both protocols (P3)


def test_table2_under_both_protocols_says_not_measured_for_runs_without_the_reports_instrument(tmp_path):
    shifts = {1314: 1.0, 2: 0.0, 3: -2.5}
    a = report.analyse(report.load_runs(build(tmp_path, shifts)), n_resamples=200)
    std = report.table2(a, protocol="standard")
    assert list(dict.fromkeys(std.columns.get_level_values(0))) == ["pckh@0.1", "pckh@0.5", "rmse"]
    assert {d for _, _, d in std.index} == set(paper.PAPER_DECODERS)  # the report's four rows only
    full = report.table2(a)
    assert (
        std.loc[("sh", "unbiased", "dark"), ("pckh@0.1", "ours")]
        == full.loc[("sh", "unbiased", "dark"), ("pckh@0.1", "ours")]
    )
    rep = report.table2(a, protocol="report")
    assert ("sh", "unbiased", "standard_report") in rep.index and (
        "sh",
        "unbiased",
        "standard",
    ) not in rep.index
    row = rep.loc[("sh", "unbiased", "standard_report")]
    # these runs have neither the report's Standard nor the per-axis PCKh: trained, but not measured
    assert not row[("pckh_axis@0.1", "measured")] and row[("pckh_axis@0.1", "n_seeds")] == 0
    assert row[("pckh_axis@0.1", "report")] == 41.18  # the report's Standard row, w/o quant
    assert rep.loc[("sh", "unbiased", "argmax"), ("rmse", "measured")]  # argmax and RMSE are there
    shown = report.display_table(rep, per_seed=False)
    assert (
        shown.loc["SH_4S (w/o quant) + Standard (report's code)", "per-axis PCKh@0.1 (%) ours [95% CI]"]
        == "not measured"
    )
    assert not any("per seed" in c for c in shown.columns)

    side = report.compare_protocols(a)
    assert list(side) == ["PCKh@0.1 (%)", "PCKh@0.5 (%)", "RMSE (px)"]
    t = side["PCKh@0.1 (%)"]
    assert list(t.columns) == ["trainings", "standard", "report's code", "report"]
    r = t.loc["SH_4S (w/o quant) + Standard"]
    e = a.values[("sh", "unbiased", "standard")]["pckh@0.1"]
    assert r["standard"] == f"{e.value:.2f} [{e.low:.2f}, {e.high:.2f}]"
    assert r["report's code"] == "not measured" and r["report"] == "41.18" and r["trainings"] == "3"
    assert len(t) == len(std)  # one row per report row, the same under both protocols


def test_primary_endpoints_display_limits_and_reasons():
    rows = [
        {"claim": 1, "model": "sh", "protocol": "standard", "comparison": "dark - standard",
         "metric": "pckh@0.1",
         "estimate": 0.5, "low": 0.1, "high": 0.9, "n_pairs": 3, "n_seeds": [3], "paired": True,
         "report_effect": 3.99, "mde": 1.234, "verdict": "reproduced, smaller than reported",
         "training_variance": True},
        {"claim": 2, "model": "sh", "protocol": "report", "comparison": "unbiased - ceil",
         "metric": "pckh_axis@0.1", "estimate": 1.0, "low": -0.5, "high": 2.5, "n_seeds": [1, 1],
         "paired": False, "report_effect": 5.63, "mde": 4.2, "verdict": "smaller than reported",
         "training_variance": False},
        {"claim": 2, "model": "hrnet", "protocol": "report", "comparison": "unbiased - ceil",
         "metric": "pckh_axis@0.1", "estimate": None, "low": None, "high": None, "report_effect": 3.1,
         "verdict": "not measured in these runs"},
    ]  # fmt: skip
    t = report.primary_display(rows)
    one = t.loc[1]
    assert (one["endpoint"], one["estimate [95% CI]"], one["n"], one["report"], one["MDE"]) == (
        "DARK - Standard, PCKh@0.1",
        "0.50 [0.10, 0.90]",
        "3 pairs",
        "+3.99",
        "1.23",
    )
    two = report.primary_display(rows, claim=2)
    assert list(two["protocol"]) == ["report's code", "report's code"]
    assert two.iloc[0]["endpoint"] == "w/o quant - ceil, DARK per-axis PCKh@0.1"
    assert two.iloc[0]["n"] == "1 training"
    assert two.iloc[0]["verdict"].startswith(
        "smaller than reported (one training per cell"
    )  # limit, same cell
    assert (two.iloc[1]["estimate [95% CI]"], two.iloc[1]["verdict"]) == ("–", "not measured in these runs")
    already = dict(rows[1], verdict="inconclusive (test frames only: one training per cell)")
    assert report.primary_display([already]).iloc[0]["verdict"].count("one training") == 1
