"""dark.report: the report's tables next to ours, and verdicts on synthetic evaluations with known answers."""

import json
import math

import pytest

from dark import paper, report
from dark.metrics import Interval

GOOD = {"pckh@0.1": (2.0, 1.0, 3.0), "pckh@0.5": (1.0, 0.5, 1.5), "rmse": (-0.3, -0.4, -0.2)}  # a beats b


def _iv(v, lo, hi):
    return {"value": v, "low": lo, "high": hi}


def make_eval(model, encoding, decoders=("argmax", "standard", "com", "dark"), diffs=None, base=40.0):
    """A minimal evaluation dict: decoder i has PCKh@0.1 = base + i, and the given paired differences."""
    dec = {
        d: {"metrics": {"pckh@0.1": _iv(base + i, base + i - 1, base + i + 1), "rmse": _iv(4.0, 3.9, 4.1)}}
        for i, d in enumerate(decoders)
    }
    diffs = {"dark-argmax": GOOD, "dark-standard": GOOD, "dark-com": GOOD} if diffs is None else diffs
    return {
        "run": {
            "model": model,
            "encoding": encoding,
            "config_name": "smoke",
            "dir": f"/runs/{model}-{encoding}",
        },
        "data": {"profile": "smoke", "path": "/data/smoke", "samples": 32, "frames": 8},
        "bootstrap": {"confidence": 0.95, "n_resamples": 100, "seed": 0, "unit": "frames"},
        "decoders": dec,
        "differences": {k: {m: _iv(*t) for m, t in v.items()} for k, v in diffs.items()},
    }


def all_runs(overrides=None):
    overrides = overrides or {}
    return [
        overrides.get((m, e)) or make_eval(m, e) for m in ("sh", "hrnet") for e in ("quantized", "unbiased")
    ]


def comparison(model, diffs=None):
    diffs = diffs or {d: GOOD for d in paper.PAPER_DECODERS}
    return {
        "model": model,
        "a": "unbiased",
        "b": "quantized",
        "differences": {d: {m: _iv(*t) for m, t in v.items()} for d, v in diffs.items()},
    }


def test_paper_numbers_transcribed():
    assert len(paper.TABLE2) == 16
    assert paper.TABLE2[("sh", "unbiased", "dark")] == {"pckh@0.1": 45.17, "pckh@0.5": 71.65, "rmse": 3.47}
    assert paper.TABLE2[("hrnet", "quantized", "com")] == {"pckh@0.1": 33.95, "pckh@0.5": 68.38, "rmse": 3.94}
    for k, v in paper.TABLE3.items():
        assert paper.TABLE2[k] == v


def test_table2_rows_and_values():
    evs = [make_eval("sh", "unbiased", decoders=("argmax", "standard", "com", "dark", "mom"))]
    t = report.table2(evs)
    paper_rows = [k for k in t.index if k in paper.TABLE2]
    assert paper_rows == list(paper.TABLE2)  # the report's rows, in its order
    assert ("sh", "unbiased", "mom") in t.index and ("hrnet", "unbiased", "mom") not in t.index
    assert math.isnan(t.loc[("sh", "unbiased", "mom"), ("pckh@0.1", "report")])
    assert t.loc[("sh", "unbiased", "mom"), ("pckh@0.1", "ours")] == 44.0
    assert t.loc[("sh", "unbiased", "dark"), ("pckh@0.1", "low")] == 42.0
    assert t.loc[("sh", "unbiased", "dark"), ("pckh@0.1", "report")] == 45.17
    assert math.isnan(t.loc[("hrnet", "quantized", "dark"), ("pckh@0.1", "ours")])  # no such run
    assert math.isnan(t.loc[("sh", "unbiased", "dark"), ("pckh@0.5", "ours")])  # metric not evaluated
    shown = report.display_table(t)
    assert shown.loc["SH_4S (w/o quant) + DARK", "PCKh@0.1 (%) ours [95% CI]"] == "43.00 [42.00, 44.00]"
    assert shown.loc["SH_4S (w/o quant) + DARK", "PCKh@0.1 (%) report"] == "45.17"
    md = report.to_markdown(shown)
    assert md.count("\n") == len(shown) + 1 and "| SH_4S (w/o quant) + DARK | 43.00 [42.00, 44.00] |" in md
    assert report.styled(t).to_html().count("font-style: italic") >= 1


def test_duplicate_runs_rejected():
    with pytest.raises(ValueError, match="two evaluations"):
        report.table2([make_eval("sh", "unbiased"), make_eval("sh", "unbiased")])


def test_table3_difference_row():
    ev = make_eval("sh", "unbiased", diffs={"com-dark": {"pckh@0.1": (-1.0, -1.5, -0.5)}})
    t = report.table3([ev])
    row = t.loc[("sh", "unbiased", "dark - com")]
    assert (
        row[("pckh@0.1", "ours")] == 1.0
        and row[("pckh@0.1", "low")] == 0.5
        and row[("pckh@0.1", "high")] == 1.5
    )
    assert row[("pckh@0.1", "report")] == pytest.approx(45.17 - 44.24)
    assert row[("rmse", "report")] == pytest.approx(3.47 - 3.33)
    assert list(t.index[:2]) == [("sh", "unbiased", "com"), ("sh", "unbiased", "dark")]


def test_decide_rule():
    up, down, zero = Interval(1, 0.5, 2), Interval(-1, -2, -0.5), Interval(0.1, -0.2, 0.4)
    assert report.decide([up, up]) == report.REPRODUCED
    assert report.decide([up, zero]) == report.INCONCLUSIVE
    assert report.decide([up, zero, down]) == report.NOT_REPRODUCED
    assert report.decide([]) == report.NOT_EVALUATED


def test_improvement_orientation():
    # lower RMSE is better: a - b = -0.3 [-0.4, -0.2] is an improvement of 0.3 [0.2, 0.4]
    assert report.improvement(Interval(-0.3, -0.4, -0.2), "rmse") == Interval(0.3, 0.2, 0.4)
    assert report.improvement(Interval(1, 0, 2), "pckh@0.5") == Interval(1, 0, 2)


def test_claim1_reproduced_when_every_interval_favours_dark():
    v = report.verdicts(all_runs(), [comparison("sh"), comparison("hrnet")])
    assert v[1]["verdict"] == report.REPRODUCED
    assert v[1]["counts"] == {"better": 4 * 2 * 3, "unclear": 0, "worse": 0}
    assert v[1]["missing"] == []
    assert v[2]["verdict"] == report.REPRODUCED
    assert v[2]["counts"]["better"] == 2 * 4 * 3


def test_claim1_not_reproduced_when_dark_rmse_significantly_worse():
    bad = dict(GOOD, rmse=(0.2, 0.1, 0.3))  # DARK has a higher RMSE than Standard, interval above 0
    runs = all_runs({("hrnet", "unbiased"): make_eval("hrnet", "unbiased", diffs={
        "dark-argmax": GOOD, "dark-standard": bad})})  # fmt: skip
    v = report.verdicts(runs)
    assert v[1]["verdict"] == report.NOT_REPRODUCED
    assert v[1]["by_metric"] == {"pckh@0.1": report.REPRODUCED, "pckh@0.5": report.REPRODUCED,
                                 "rmse": report.NOT_REPRODUCED}  # fmt: skip
    worse = v[1]["evidence"][v[1]["evidence"].status == "worse"]
    assert worse[["model", "encoding", "comparison", "metric"]].values.tolist() == [
        ["hrnet", "unbiased", "dark - standard", "rmse"]
    ]
    assert worse.improvement.iloc[0] == pytest.approx(-0.2)


def test_claim1_inconclusive_when_an_interval_contains_zero():
    unclear = dict(GOOD, **{"pckh@0.5": (0.2, -0.1, 0.5)})
    runs = all_runs({("sh", "quantized"): make_eval("sh", "quantized", diffs={
        "dark-argmax": unclear, "dark-standard": GOOD})})  # fmt: skip
    v = report.verdicts(runs)
    assert v[1]["verdict"] == report.INCONCLUSIVE
    assert v[1]["counts"] == {"better": 23, "unclear": 1, "worse": 0}


def test_claim2_verdicts_and_missing_model():
    unclear_dark = {d: GOOD for d in paper.PAPER_DECODERS} | {"dark": dict(GOOD, rmse=(-0.1, -0.3, 0.1))}
    v = report.verdicts(all_runs(), [comparison("sh", unclear_dark)])
    assert v[2]["verdict"] == report.INCONCLUSIVE
    assert any("HRNet_4S" in m for m in v[2]["missing"])
    reversed_com = {d: GOOD for d in paper.PAPER_DECODERS} | {"com": dict(GOOD, **{"pckh@0.1": (-3, -4, -2)})}
    v = report.verdicts(all_runs(), [comparison("sh"), comparison("hrnet", reversed_com)])
    assert v[2]["verdict"] == report.NOT_REPRODUCED
    assert v[2]["by_metric"]["pckh@0.5"] == report.REPRODUCED
    with pytest.raises(ValueError, match="unbiased - quantized"):
        report.verdicts([], [dict(comparison("sh"), a="quantized", b="unbiased")])


def test_partial_runs_and_no_runs():
    v = report.verdicts([make_eval("sh", "unbiased")])
    assert v[1]["verdict"] == report.REPRODUCED  # on what was evaluated ...
    assert len(v[1]["missing"]) == 3  # ... and says which runs are missing
    assert report.verdicts([])[1]["verdict"] == report.NOT_EVALUATED
    assert report.verdicts([])[2]["verdict"] == report.NOT_EVALUATED


def test_save_and_provenance(tmp_path):
    runs = all_runs()
    written = report.save(tmp_path, runs, [comparison("sh"), comparison("hrnet")])
    assert {p.name for p in written.values()} == {
        "table2.csv", "table2.json", "table3.csv", "table3.json", "verdicts.json", "evidence.csv",
    }  # fmt: skip
    v = json.loads((tmp_path / "verdicts.json").read_text())
    assert v["1"]["verdict"] == report.REPRODUCED and len(v["1"]["evidence"]) == 24
    t2 = json.loads((tmp_path / "table2.json").read_text())
    assert t2["source"] == paper.SOURCE and len(t2["rows"]) == 16
    assert not list(tmp_path.glob("*.tmp"))
    text = report.provenance(runs)
    assert "Profile smoke" in text and "/data/smoke" in text and "config smoke" in text
    cap = report.caption(runs)
    assert cap.startswith("Profile smoke, data /data/smoke (32 test samples, 8 frames), model configuration")
    shown = report.verdict_table(report.verdicts(runs))
    assert shown["verdict"].tolist() == [report.REPRODUCED, report.NOT_EVALUATED]
    ev = report.evidence_display(report.verdicts(runs)[1]["evidence"])
    assert ev["improvement [95% CI]"].iloc[0] == "2.00 [1.00, 3.00]"


def test_run_table_formats_intervals():
    ev = make_eval("sh", "unbiased")
    t = report.run_table(ev)
    assert t.loc["dark", "PCKh@0.1 (%)"] == "43.00 [42.00, 44.00]"
    assert t.loc["argmax", "DARK - this, RMSE (px)"] == "-0.30 [-0.40, -0.20]"
    assert t.loc["dark", "DARK - this, RMSE (px)"] == "–"


def test_plots_draw_from_evaluations_and_predictions():
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from dark import plots

    ev = make_eval("sh", "unbiased")
    for d in ev["decoders"].values():
        d["per_joint"] = {"mean_error": [1.0, None, 2.0]}
        d["pckh_curve"] = [0.0, 50.0, 100.0]
    ev["joints"], ev["alphas"] = ["a", "b", "c"], [0.0, 0.25, 0.5]
    assert len(plots.per_joint(ev).axes[0].patches) == 4 * 3
    assert len(plots.pckh_curves([ev, ev]).axes) == 2
    rng = np.random.default_rng(0)
    gt = rng.uniform(50, 100, (5, 3, 2))
    coords = np.stack([gt + 0.5, gt + 0.5])
    coords[1, 3, 2] += [6.0, 8.0]  # dark and com disagree by 10 px on sample 3, joint 2
    pred = {
        "decoders": np.array(["dark", "com"]),
        "coords": coords,
        "gt": gt,
        "visible": np.ones((5, 3), bool),
    }
    assert plots.top_disagreements(pred, n=1) == [(3, 2, pytest.approx(10.0))]
    fig = plots.disagreements(pred, lambda i: np.full((160, 320), 2.0), ["a", "b", "c"], n=2)
    assert "10.0 px apart" in fig.axes[0].get_title()
    err = plots.joint_errors(pred)
    np.testing.assert_allclose(np.sort(err["dark"]), np.full(15, np.sqrt(0.5)))
    assert len(plots.error_histograms(pred).axes) == 2


def test_provenance_shows_paths_inside_the_working_directory_relative(tmp_path, monkeypatch):
    runs = all_runs()
    inside = tmp_path / "data" / "generated" / "smoke"
    inside.mkdir(parents=True)
    for ev in runs:
        ev["data"]["path"] = str(inside)
    monkeypatch.chdir(tmp_path)
    assert "data data/generated/smoke (" in report.caption(runs)
    assert str(tmp_path) not in report.provenance(runs)
    monkeypatch.chdir(inside)  # a path outside the working directory stays as it is
    for ev in runs:
        ev["data"]["path"] = "/elsewhere/data"
    assert "data /elsewhere/data (" in report.caption(runs)
