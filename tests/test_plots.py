"""dark.analysis.plots: figures drawn from evaluations, predictions, fabricated runs with seeds and
metrics.jsonl."""

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from test_report import build, make_run, scorer  # tests/ is on sys.path: the fabricated runs

from dark import metrics
from dark.analysis import plots, report
from dark.experiment import runs


def test_plots_draw_from_evaluations_and_predictions():
    ev = {
        "run": {"model": "sh", "encoding": "unbiased", "seed": 2},
        "decoders": {
            d: {"per_joint": {"mean_error": [1.0, None, 2.0]}, "pckh_curve": [0.0, 50.0, 100.0]}
            for d in ("argmax", "standard", "com", "dark")
        },
        "joints": ["a", "b", "c"],
        "alphas": [0.0, 0.25, 0.5],
    }
    fig = plots.per_joint(ev)
    assert (
        len(fig.axes[0].patches) == 4 * 3
        and fig.axes[0].get_title() == "SH_4S (w/o quant), seed 2: ME per joint"
    )
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


def test_seed_strip_shows_every_seed_and_the_interval(tmp_path):
    a = report.analyse(report.load_runs(build(tmp_path, {1314: 0.0, 2: 1.0, 3: -1.0})), n_resamples=50)
    fig = plots.seed_strip(a)
    ax = fig.axes[0]
    dots = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert len(dots) == 4 and all(len(ln.get_xdata()) == 3 for ln in dots)  # 4 cells x 3 seeds
    est = a.values[("sh", "unbiased", "dark")]["pckh@0.1"]
    bars = [
        ln
        for ln in ax.lines
        if ln.get_marker() in ("None", "") and list(ln.get_xdata()) == [est.low, est.high]
    ]
    assert bars and ax.get_yticklabels()[0].get_text() == "SH_4S (w/o quant)"


def test_error_decomposition_adds_up_to_the_mean_squared_error(tmp_path):
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 100, (40, 6, 2))
    vis = rng.random((40, 6)) > 0.1
    pred = gt + rng.normal(0, 1.0, gt.shape) + [0.5, 0.5]  # a ceil-like shift of +0.5 px per axis
    table = metrics.frame_sums(pred, gt, vis, np.full(40, 20.0), metrics.ALL_METRIC_NAMES)
    cols = tuple(metrics.frame_sum_columns(metrics.ALL_METRIC_NAMES))
    rec = report.RunRecord(tmp_path, "sh", "ceil", 1314, {}, {}, np.arange(40), cols, {"dark": table})
    p = plots.error_decomposition(rec)
    d = (pred - gt)[vis]
    assert p["mse"] == pytest.approx(metrics.rmse(pred, gt, vis) ** 2)
    assert p["bias_x2"] == pytest.approx(d[:, 0].mean() ** 2) and p["variance"] == pytest.approx(
        d.var(0).sum()
    )
    assert p["bias_x2"] == pytest.approx(0.25, abs=0.05)  # (0.5 +- 1/sqrt(V))^2
    fig = plots.bias_variance([rec, rec.__class__(**{**rec.__dict__, "seed": 2})])
    top, bottom = fig.axes
    assert len(top.patches) == 3 * 2 and len(bottom.patches) == 2 * 2
    assert top.patches[0].get_height() == pytest.approx(p["bias_x2"])
    assert top.get_xticklabels()[1].get_text() == "ceil\ns2"


def test_decoders_along_training_reads_val_decoders_and_tolerates_old_runs(tmp_path):
    d = make_run(tmp_path, "sh", "unbiased", 1314, scorer(0))
    scores = {"dark": (10.0, 5.0), "argmax": (8.0, 6.0)}
    lines = [
        {"epoch": e, "val_decoders": {k: {"pckh@0.1": p * e, "rmse": r / e} for k, (p, r) in scores.items()}}
        for e in (1, 2, 3)
    ]
    (d / runs.METRICS).write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    old = make_run(tmp_path, "hrnet", "unbiased", 1314, scorer(0))
    (old / runs.METRICS).write_text(json.dumps({"epoch": 1, "val_loss": 1.0}) + "\n")
    fig = plots.decoders_along_training([d, old])
    sh, _, hr, _ = fig.axes
    bold = [ln for ln in sh.lines if ln.get_label() == "DARK"]
    assert list(bold[0].get_xdata()) == [1, 2, 3] and list(bold[0].get_ydata()) == [10.0, 20.0, 30.0]
    assert "no per-decoder validation scores" in hr.texts[0].get_text()
    text = report.claim1_along_training([d, old], baseline="argmax")
    assert text == (
        "SH_4S: DARK - ArgMax on validation PCKh@0.1 goes from +2.00 % after the first epoch to +6.00 % "
        "after the last (3 epochs, mean over 1 training)."
    )
