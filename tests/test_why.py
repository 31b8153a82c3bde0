"""dark.analysis.report.why: the report's gaps decomposed into measured contributions, on runs whose every
metric
is known by construction (frame-sum tables written here)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dark import metrics
from dark.analysis.report import resolution, why
from dark.analysis.report.load import RunRecord
from dark.design import paper
from dark.metrics import Estimate

G, K = 16, 6  # frame groups, joints per frame
COLS = tuple(metrics.frame_sum_columns(["pckh@0.5", "pckh_axis@0.5", "pckh@0.1", "pckh_axis@0.1", "rmse"]))

#: the known values: decoder -> (pckh@0.5, per-axis pckh@0.5)
TRUTH = {
    "dark": (80.0, 60.0),
    "standard": (79.0, 58.0),  # standard protocol gap 1.0; per-axis gap 2.0: metric contributes +1.0
    "standard_report": (79.0, 57.5),  # per-axis gap 2.5: the report's Standard contributes +0.5
    "dark_report": (80.0, 59.5),  # the report protocol's gap 2.0: the report's DARK contributes -0.5
}


def _table(p05: float, a05: float, shift: float = 0.0) -> np.ndarray:
    """G frame groups with K joints (2K per-axis elements) each, every one at the given percentages."""
    t = np.zeros((G, len(COLS)))
    col = {c: i for i, c in enumerate(COLS)}
    t[:, col["n"]], t[:, col["n_axis"]] = K, 2 * K
    t[:, col["correct@0.5"]] = K * (p05 + shift) / 100
    t[:, col["correct_axis@0.5"]] = 2 * K * (a05 + shift) / 100
    t[:, col["correct@0.1"]] = K * 0.3
    t[:, col["correct_axis@0.1"]] = 2 * K * 0.2
    t[:, col["sq_error"]], t[:, col["error"]] = K * 4.0, K * 2.0
    return t


def run(seed: int, shifts: dict[str, float] | None = None, batch: int = 16, encoding="unbiased") -> RunRecord:
    """One run; ``shifts`` moves a decoder's scores (a training's luck, per decoder)."""
    shifts = shifts or {}
    tables = {d: _table(*v, shifts.get(d, 0.0)) for d, v in TRUTH.items()}
    return RunRecord(
        path=Path(f"/runs/sh-{encoding}-s{seed}"), model="sh", encoding=encoding, seed=seed,
        config={"batch_size": batch}, evaluation={}, groups=np.array([f"f{i:02d}" for i in range(G)]),
        columns=COLS, tables=tables,
    )  # fmt: skip


def test_combination_of_metrics_across_decoders_is_exact_on_known_tables():
    est = why.combination([run(1)], [(1.0, "dark", "pckh_axis@0.5"), (-1.0, "standard", "pckh@0.5")])
    assert est.value == pytest.approx(60.0 - 79.0)
    assert est.low == pytest.approx(est.value) and est.high == pytest.approx(est.value)  # no frame noise
    assert not est.training_variance and est.n_seeds == 1


def test_the_chain_adds_up_to_the_report_protocol_and_the_rest_is_unexplained():
    rows = why.decompose_claim1([run(1), run(2)], "sh", "0.5")
    by = {r.name: r for r in rows}
    assert [r.name for r in rows][:4] == [
        "standard protocol: DARK - Standard",
        *(step[0] for step in why.CHAIN[1:]),
    ]
    values = [r.estimate.value for r in rows[:4]]
    assert values == pytest.approx([1.0, 1.0, 0.5, -0.5])
    total = by["the report's code on our runs: DARK - Standard"]
    assert total.estimate.value == pytest.approx(2.0) == pytest.approx(sum(values))
    report = (
        paper.TABLE2[("sh", "unbiased", "dark")]["pckh@0.5"]
        - paper.TABLE2[("sh", "unbiased", "standard")]["pckh@0.5"]
    )
    assert total.report == pytest.approx(report) == pytest.approx(2.60)
    rest = by["unexplained (report - the report protocol on our runs)"]
    assert rest.estimate.value == pytest.approx(report - 2.0)
    assert by["batch size (24 vs 16)"].estimate is None


def test_seed_spread_gives_the_t_interval_of_the_per_run_contributions():
    # the report's Standard helps by 0.5 + d_i in run i: d = (-1, 0, +1), mean 0.5, sd 1 -> t(2) / sqrt(3)
    runs = [run(s, {"standard_report": -d}) for s, d in ((1, -1.0), (2, 0.0), (3, 1.0))]
    step = why.decompose_claim1(runs, "sh")[2]
    assert step.name.startswith("Standard decoder")
    half = 4.302652729911275 / math.sqrt(3)  # scipy.stats.t.ppf(0.975, 2)
    assert step.estimate.value == pytest.approx(0.5)
    assert (step.estimate.low, step.estimate.high) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-9)
    assert step.estimate.training_variance and step.estimate.n_seeds == 3


def test_runs_without_the_report_protocol_say_not_measured():
    new = run(1)
    keep = [i for i, c in enumerate(COLS) if "axis" not in c]  # evaluated before the per-axis PCKh
    old = RunRecord(**{
        **new.__dict__, "columns": tuple(COLS[i] for i in keep),
        "tables": {d: new.tables[d][:, keep] for d in ("dark", "standard")},
    })  # fmt: skip
    rows = why.decompose_claim1([old], "sh")
    assert rows[0].estimate.value == pytest.approx(1.0)
    assert all(r.estimate is None for r in rows[1:])
    shown = why.table(rows)  # the measured row only; one sentence names the others
    assert list(shown.index) == ["standard protocol: DARK - Standard"]
    said = why.unmeasured_text(rows)
    assert said.startswith("Not measured on these runs: metric: per-axis PCKh") and "batch size" in said
    assert why.unmeasured_text(rows[:1]) == ""


def test_batch_size_is_measured_only_with_runs_of_both_sizes():
    same = [run(1), run(2)]
    c = why.batch_contribution(same)
    assert c.estimate is None and c.why == "every run was trained with batch 16"
    both = [
        run(1, batch=16),
        run(2, batch=16),
        run(3, {"dark_report": 1.5}, 24),
        run(4, {"dark_report": 1.5}, 24),
    ]
    c = why.batch_contribution(both)
    assert c.estimate.value == pytest.approx(1.5)


def test_claim2_rows_split_the_report_gap_into_bias_and_the_rest():
    rep = (
        paper.TABLE2[("sh", "unbiased", "dark")]["pckh@0.1"]
        - paper.TABLE2[("sh", "quantized", "dark")]["pckh@0.1"]
    )
    obs = {"standard": Estimate(1.5, 0.5, 2.5, n_seeds=3, training_variance=True), "report": None}
    parts = {"expected": Estimate(1.2, 0.9, 1.5, n_seeds=3), "beyond": Estimate(0.3, -0.7, 1.3, n_seeds=3)}
    rows = {r.name: r for r in why.claim2_rows(obs, {"standard": parts, "report": None}, rep)}
    assert rows["standard: beyond the shift"].estimate is parts["beyond"]
    assert rows["standard: unexplained (report - observed)"].estimate.value == pytest.approx(rep - 1.5)
    assert rows["report: observed unbiased - ceil"].estimate is None
    shown = why.table(list(rows.values()))
    assert list(shown.index) == [n for n in rows if n.startswith("standard")]  # nothing of "report" measured
    assert shown.loc["standard: beyond the shift", "ours [95% CI]"] == "0.30 [-0.70, 1.30]"
    assert "report: beyond the shift (the runs carry no test predictions" in why.unmeasured_text(
        rows.values()
    )


def test_claim2_shift_reads_the_counterfactual_row_of_dark_on_the_primary_metric(monkeypatch):
    import pandas as pd

    from dark.design.protocols import PROTOCOLS

    rows = [
        {"model": "sh", "encoding": "ceil", "protocol": p, "role": role, "metric": m, "expected_cost": cost,
         "expected_low": cost - 1, "expected_high": cost + 1, "unexplained": 2 * cost,
         "unexplained_low": 0.0, "unexplained_high": 9.0, "paired": True, "n_unbiased": 8, "n_encoding": 8}
        for p, proto in PROTOCOLS.items()
        for role in ("dark", "standard")
        for m, cost in zip(proto.metrics, (1.25 if role == "dark" else 9.0, 7.0, 8.0), strict=True)
    ]  # fmt: skip
    rows[0]["expected_cost"] = 0.75  # the standard protocol's DARK PCKh@0.1
    monkeypatch.setattr(why, "counterfactual", lambda records: (pd.DataFrame(rows), []))
    got = why.claim2_shift([], "sh", "ceil")
    assert got["standard"]["expected"].value == 0.75 and got["standard"]["expected"].low == pytest.approx(
        0.25
    )
    assert got["report"]["beyond"].value == 2.5 and got["report"]["beyond"].high == 9.0
    assert got["report"]["expected"].training_variance and got["report"]["expected"].paired
    assert why.claim2_shift([], "hrnet", "ceil") == {"standard": None, "report": None}


def _bias_run(seed, encoding, dx, dy):
    """A run of G frame groups with K joints each whose signed errors sum to dx, dy per joint."""
    cols = tuple(metrics.frame_sum_columns(["bias_x", "bias_y"]))
    t = np.zeros((G, len(cols)))
    col = {c: i for i, c in enumerate(cols)}
    t[:, col["n"]], t[:, col["dx"]], t[:, col["dy"]] = K, K * dx, K * dy
    return RunRecord(
        path=Path(f"/runs/sh-{encoding}-s{seed}"), model="sh", encoding=encoding, seed=seed, config={},
        evaluation={}, groups=np.array([f"f{i:02d}" for i in range(G)]), columns=cols,
        tables={"dark": t, "dark_report": t}, clips=np.arange(G) % 4,
    )  # fmt: skip


def test_claim2_bias_is_the_paired_difference_of_mean_signed_errors():
    # ceil runs: +0.5 +- per seed in x, +0.4 in y; the unbiased runs 0.1 and -0.1 -> per seed 0.4, 0.6 (x)
    runs_ = [_bias_run(1, "unbiased", 0.1, 0.0), _bias_run(2, "unbiased", -0.1, 0.0)]
    runs_ += [_bias_run(2, "ceil", 0.5, 0.4), _bias_run(1, "ceil", 0.5, 0.4)]
    got = why.claim2_bias(runs_, "sh", "ceil")
    x, y = got["standard"]["x"], got["standard"]["y"]
    assert x.value == pytest.approx(0.5) and y.value == pytest.approx(0.4) and x.paired
    half = 12.706204736174707 * 0.1  # t(1) x sd of (0.4, 0.6) / sqrt 2 = 0.1; no test-set noise
    assert (x.low, x.high) == pytest.approx((0.5 - half, 0.5 + half))
    shown = why.bias_table(got)
    assert shown.loc[("report", "y"), "predicted"] == "+0.5" and len(shown) == 4
    assert why.claim2_bias(runs_, "hrnet", "ceil") == {"standard": None, "report": None}


def test_decoder_effects_give_dark_against_standard_and_argmax_at_both_radii():
    truth = {**TRUTH, "argmax": (70.0, 50.0)}
    runs_ = []
    for seed in (1, 2):
        r = run(seed)
        r.tables["argmax"] = _table(*truth["argmax"])
        runs_.append(r)
    t = resolution.decoder_effects(runs_, ["sh"], alphas=("0.5",))
    assert t.loc[("SH_4S", "standard", "DARK - Standard"), "PCKh@0.5"] == "1.00 [1.00, 1.00]"
    assert t.loc[("SH_4S", "standard", "DARK - ArgMax"), "PCKh@0.5"] == "10.00 [10.00, 10.00]"
    assert t.loc[("SH_4S", "report", "DARK - Standard"), "PCKh@0.5"] == "2.00 [2.00, 2.00]"  # per-axis
    rep = (
        paper.TABLE2[("sh", "unbiased", "dark")]["pckh@0.5"]
        - paper.TABLE2[("sh", "unbiased", "argmax")]["pckh@0.5"]
    )
    assert t.loc[("SH_4S", "report", "DARK - ArgMax"), "report @0.5"] == f"{rep:+.2f}"
    assert resolution.decoder_effects(runs_, ["hrnet"]).empty


def test_runs_text_names_every_cell_with_its_seeds_and_the_record_is_found():
    text = resolution.runs_text([run(2), run(1), run(1, encoding="ceil")])
    assert text.startswith("SH_4S (w/o quant): 2 trainings (seeds 1, 2)") and "1 training (seed 1)" in text
    assert resolution.recorded(["/nonexistent"]) is None


def test_table2_under_the_report_protocol_shows_the_analysis_per_axis_cells():
    from dark.analysis import report

    a = report.analyse([run(1), run(2, {"dark_report": 1.0})], n_resamples=50)
    assert "pckh_axis@0.5" in a.values[("sh", "unbiased", "dark_report")]  # estimated once, by the analysis
    t = report.table2(a, protocol="report")
    row = t.loc[("sh", "unbiased", "dark_report"), "pckh_axis@0.5"]
    assert row["ours"] == pytest.approx(60.0) and row["n_seeds"] == 2 and row["measured"]  # (59.5 + 60.5) / 2
    assert row["seeds"] == pytest.approx([59.5, 60.5]) and row["report"] == 71.65
    side = report.compare_protocols(a)["PCKh@0.5 (%)"].loc["SH_4S (w/o quant) + DARK"]
    assert side["report's code"].startswith("60.00 [") and side["standard"].startswith("80.00 [")


def test_resolution_reads_the_sizes_and_the_head_and_scores_the_floor(tmp_path):
    """Runs of input 80 x 160 and heatmaps 20 x 40 (stride 4) whose test heads have median 20 px: the
    PCKh@0.1 radius is 2 px at our size, 1 and 4 at half and twice; ArgMax's noiseless grid error is at
    most 2 input px per axis (half a heatmap px), its RMS 4 / sqrt(12)."""
    from dark.experiment import runs

    n = 5
    path = tmp_path / "sh-unbiased-s1"
    path.mkdir()
    runs.save_predictions(path, {
        "coords": np.zeros((1, n, 2, 2), np.float32), "decoders": np.array(["dark"]),
        "gt": np.zeros((n, 2, 2)), "visible": np.ones((n, 2), bool),
        "head_size": np.array([10.0, 18.0, 20.0, 25.0, 40.0]),
        "groups": np.array([f"f{i}" for i in range(n)]), "names": np.array([f"f{i}" for i in range(n)]),
    })  # fmt: skip
    sizes = {"input_size": [80, 160], "heatmap_size": [20, 40], "sigma": 2.0}
    r = RunRecord(path, "sh", "unbiased", 1, sizes, {}, np.array([]), (), {})
    res = resolution.resolution([r], trials=400, noise_levels=(0.0,))
    assert res["stride"] == 4.0 and res["head"] == 20.0 and res["radius"] == pytest.approx(2.0)
    assert res["sizes"] == [((10, 20), (40, 80)), ((20, 40), (80, 160)), ((40, 80), (160, 320))]
    f = res["floor"].set_index(["H", "decoder"])
    assert f.loc[(10, "argmax"), "radius"] == pytest.approx(1.0) and f.loc[(40, "dark"), "radius"] == 4.0
    assert f.loc[(20, "argmax"), "max_axis"] <= 2.0 and f.loc[(20, "argmax"), "rmse_axis"] == pytest.approx(
        4 / math.sqrt(12), rel=0.1
    )
    text = resolution.grid_text(res)
    assert "20 x 40 pixels for an input of 80 x 160" in text and "radius is 2.00 pixels" in text
    assert resolution.floor_table(res).shape == (3, 3)
    assert resolution.resolution([RunRecord(path, "sh", "unbiased", 1, {}, {}, np.array([]), (), {})]) is None
