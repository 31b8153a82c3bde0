"""Figures of the results chapter, from evaluation dicts, ``predictions_test.npz``, the report's analysis
and the runs' ``metrics.jsonl`` (matplotlib).

Every function draws into a new figure (or the ``ax`` given) and returns the figure; the notebooks only call
them. Inputs are what :mod:`dark.experiment.evaluate` writes: an evaluation dict (``evaluation.json``), the
predictions of :func:`dark.experiment.evaluate.load_predictions` (coords in input px), the per-frame sums
(:class:`dark.analysis.report.RunRecord`) and the :class:`dark.analysis.report.Analysis` of the runs with
their seeds. The training curves (``curves.png``) are training's own: :mod:`dark.experiment.curves`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from dark import metrics
from dark.analysis import report
from dark.design import paper
from dark.experiment.runs import Run

#: the report's decoders first, in its order
DEFAULT_DECODERS: tuple[str, ...] = paper.PAPER_DECODERS


def _title(ev: Mapping) -> str:
    r = ev["run"]
    seed = f", seed {r['seed']}" if "seed" in r else ""
    return report.display_name(r["model"], r["encoding"]) + seed


def _decoders(available: Sequence[str], decoders: Sequence[str] | None) -> list[str]:
    return [d for d in (decoders or available) if d in available]


def per_joint(
    ev: Mapping, metric: str = "mean_error", decoders: Sequence[str] | None = DEFAULT_DECODERS, ax=None
):
    """Grouped bars: ``metric`` per joint (x) for each decoder, one run."""
    ds = _decoders(list(ev["decoders"]), decoders)
    joints = ev["joints"]
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(11, 3.6))
    width = 0.8 / max(len(ds), 1)
    x = np.arange(len(joints))
    for i, d in enumerate(ds):
        vals = np.array([np.nan if v is None else v for v in ev["decoders"][d]["per_joint"][metric]], float)
        ax.bar(x + (i - (len(ds) - 1) / 2) * width, vals, width, label=report.decoder_label(d))
    ax.set_xticks(x, joints, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(metrics.metric(metric).heading)
    ax.set_title(f"{_title(ev)}: {metrics.metric(metric).label} per joint")
    ax.legend(fontsize=8, ncol=len(ds))
    fig.tight_layout()
    return fig


def pckh_curves(evaluations: Sequence[Mapping], decoders: Sequence[str] | None = DEFAULT_DECODERS):
    """PCKh against alpha, one panel per run, one line per decoder."""
    n = max(len(evaluations), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False, sharey=True)
    for ax, ev in zip(axes[0], evaluations, strict=False):
        for d in _decoders(list(ev["decoders"]), decoders):
            ax.plot(ev["alphas"], ev["decoders"][d]["pckh_curve"], label=report.decoder_label(d))
        ax.set_title(_title(ev), fontsize=10)
        ax.set_xlabel("alpha (fraction of head size)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("PCKh (%)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def joint_errors(pred: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Errors of every visible joint per decoder, input px: ``{decoder: (V,)}``."""
    err = {}
    for i, d in enumerate(pred["decoders"].tolist()):
        err[d] = metrics.joint_errors(pred["coords"][i], pred["gt"])[pred["visible"]]
    return err


def error_histograms(pred: Mapping[str, np.ndarray], decoders: Sequence[str] | None = None, title: str = ""):
    """One histogram of per-joint errors (input px, log-spaced bins) per decoder, with its median."""
    err = joint_errors(pred)
    ds = _decoders(list(err), decoders)
    cols = min(4, max(len(ds), 1))
    rows = -(-len(ds) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False, sharex=True)
    top = max(float(np.percentile(np.concatenate([err[d] for d in ds]), 99.5)), 1.0) if ds else 1.0
    bins = np.concatenate([[0], np.geomspace(0.05, top, 40)])
    for ax, d in zip(axes.ravel(), ds, strict=False):
        ax.hist(err[d], bins=bins, color="C0")
        med = float(np.median(err[d]))
        ax.axvline(med, color="C3", lw=1)
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_title(f"{d} (median {med:.2f} px)", fontsize=9)
    for ax in axes.ravel()[len(ds) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("error (input px)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def top_disagreements(pred: Mapping[str, np.ndarray], a: str = "dark", b: str = "com", n: int = 6):
    """The ``n`` visible joints where ``a`` and ``b`` differ most: ``[(sample, joint, distance px)]``."""
    names = pred["decoders"].tolist()
    if a not in names or b not in names:
        raise ValueError(f"decoders {a!r} and {b!r} must both be in the predictions {names}")
    gap = np.linalg.norm(pred["coords"][names.index(a)] - pred["coords"][names.index(b)], axis=-1)
    gap = np.where(pred["visible"], gap, -1.0)
    order = np.argsort(-gap, axis=None, kind="stable")[:n]
    out = []
    for flat in order:
        s, j = np.unravel_index(flat, gap.shape)
        if gap[s, j] >= 0:
            out.append((int(s), int(j), float(gap[s, j])))
    return out


def disagreements(
    pred: Mapping[str, np.ndarray],
    depth_of: Callable[[int], np.ndarray],
    joints: Sequence[str],
    a: str = "dark",
    b: str = "com",
    n: int = 6,
    window: int | None = None,
):
    """The joints where ``a`` and ``b`` disagree most, drawn on the depth map (whole, or ``window`` px
    around the joint).

    ``depth_of(i)`` returns the ``(160, 320)`` depth map (metres) of test sample ``i``. Ground truth
    is a white circle; ``a`` and ``b`` are crosses.
    """
    cases = top_disagreements(pred, a, b, n)
    names = pred["decoders"].tolist()
    cols = min(3, max(len(cases), 1))
    rows = max(-(-len(cases) // cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.5 * rows), squeeze=False)
    for ax, (s, j, dist) in zip(axes.ravel(), cases, strict=False):
        d = np.asarray(depth_of(s), dtype=float)
        gt = pred["gt"][s, j]
        x0, y0, x1, y1 = 0, 0, d.shape[1], d.shape[0]
        if window is not None:
            cx, cy = int(np.rint(gt[0])), int(np.rint(gt[1]))
            x0, y0 = max(cx - window, 0), max(cy - window, 0)
            x1, y1 = min(cx + window, d.shape[1]), min(cy + window, d.shape[0])
        shown = np.where(d > 0, d, np.nan)[y0:y1, x0:x1]
        ax.imshow(shown, cmap="gray_r", extent=(x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5))
        ax.plot(*gt, "o", mfc="none", mec="black", mew=1.5, ms=10, label="ground truth")
        for name, colour in ((a, "C3"), (b, "C0")):
            ax.plot(*pred["coords"][names.index(name), s, j], "x", color=colour, mew=2, ms=8, label=name)
        ax.set_title(f"sample {s}, {joints[j]}: {dist:.1f} px apart", fontsize=9)
        ax.set_xlim(x0 - 0.5, x1 - 0.5)
        ax.set_ylim(y1 - 0.5, y0 - 0.5)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(cases) :]:
        ax.set_visible(False)
    if cases:
        axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------
# seeds, bias, training


def seed_strip(
    analysis: report.Analysis, metrics_: Sequence[str] = report.CLAIM_METRICS, decoder: str = "dark"
):
    """Per cell (y), each seed's value (dots) beside the cell mean and its two-level 95% interval (bar),
    one panel per metric, for one decoder."""
    keys = [(m, e) for (m, e, d) in analysis.values if d == decoder]
    fig, axes = plt.subplots(1, len(metrics_), figsize=(3.8 * len(metrics_), 0.45 * len(keys) + 1.4),
                             squeeze=False, sharey=True)  # fmt: skip
    y = np.arange(len(keys))[::-1]
    for ax, mt in zip(axes[0], metrics_, strict=True):
        for yi, (m, e) in zip(y, keys, strict=True):
            est = analysis.values[(m, e, decoder)][mt]
            colour = "C0" if est.training_variance else "C7"
            ax.plot([est.low, est.high], [yi, yi], color=colour, lw=3, alpha=0.5, solid_capstyle="butt")
            ax.plot(est.value, yi, "|", color=colour, ms=14, mew=2)
            ax.plot(est.seeds, np.full(len(est.seeds), yi), "o", color="C3", ms=5, mfc="none")
        ax.set_xlabel(metrics.metric(mt).heading)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(y, [report.display_name(m, e) for m, e in keys], fontsize=8)
    fig.suptitle(f"{report.decoder_label(decoder)}: each seed (circles), mean and 95% interval (bar; grey: "
                 "one training, test frames only)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    return fig


def error_decomposition(record: report.RunRecord, decoder: str = "dark") -> dict[str, float]:
    """One run's mean squared error (input px^2) as ``bias_x^2 + bias_y^2 + variance`` from its frame sums.

    >>> import types
    >>> t = np.array([[2.0, 10.0, 0.0, 2.0, -2.0]])  # 2 joints: sum e^2 = 10, sum dx = 2, sum dy = -2
    >>> r = types.SimpleNamespace(tables={"dark": t}, columns=("n", "sq_error", "error", "dx", "dy"))
    >>> error_decomposition(r)
    {'mse': 5.0, 'bias_x2': 1.0, 'bias_y2': 1.0, 'variance': 3.0}
    """
    s = record.tables[decoder].sum(0)
    pos = {c: i for i, c in enumerate(record.columns)}
    n = s[pos["n"]]
    mse, bx, by = s[pos["sq_error"]] / n, s[pos["dx"]] / n, s[pos["dy"]] / n
    return {"mse": float(mse), "bias_x2": float(bx**2), "bias_y2": float(by**2),
            "variance": float(mse - bx**2 - by**2)}  # fmt: skip


def bias_variance(records: Sequence[report.RunRecord], decoder: str = "dark"):
    """Per model (columns), one bar per run grouped by encoding: its mean squared error as stacked
    bias_x^2, bias_y^2 and variance (top; the sum is RMSE^2), and the two squared biases alone on their
    own scale (bottom), where a systematic shift (the ceil quantiser's +0.5 px per axis: 0.25 px^2 each)
    shows even when the variance dwarfs it."""
    by_model: dict[str, list[report.RunRecord]] = {}
    for rs in report.cells(records).values():
        for r in rs:
            if "dx" in r.columns and decoder in r.tables:
                by_model.setdefault(r.model, []).append(r)
    models = list(by_model) or ["?"]
    width = max(3.0, max((len(v) for v in by_model.values()), default=1) * 0.45 + 1.0)
    fig, axes = plt.subplots(2, len(models), figsize=(width * len(models), 5.2), squeeze=False)
    parts = (("bias_x2", "bias x²", "C3"), ("bias_y2", "bias y²", "C1"), ("variance", "variance", "C0"))
    for col, model in enumerate(models):
        rs = by_model.get(model, [])
        dec = [error_decomposition(r, decoder) for r in rs]
        x = np.arange(len(rs))
        bottom = np.zeros(len(rs))
        for key, label, colour in parts:
            v = np.array([p[key] for p in dec])
            axes[0, col].bar(x, v, bottom=bottom, color=colour, label=label)
            bottom += v
        for k, (key, label, colour) in enumerate(parts[:2]):
            axes[1, col].bar(x + (k - 0.5) * 0.4, [p[key] for p in dec], 0.4, color=colour, label=label)
        for ax in axes[:, col]:
            ax.set_xticks(x, [f"{r.encoding}\ns{r.seed}" for r in rs], fontsize=7, rotation=90)
        axes[0, col].set_title(
            f"{paper.MODEL_NAMES.get(model, model)} + {report.decoder_label(decoder)}", fontsize=10
        )
    axes[0, 0].set_ylabel("mean squared error (px²)")
    axes[1, 0].set_ylabel("squared bias (px²)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def decoders_along_training(
    run_dirs: Sequence[str | os.PathLike], metrics_: Sequence[str] = ("pckh@0.1", "rmse"), decoders=None
):
    """Per model (rows) and metric (columns): every decoder's validation score against the epoch, from
    ``metrics.jsonl``'s ``"val_decoders"`` (mean over the model's runs, every seed and encoding, shown as
    a line; each run as a faint line). Runs trained before that key existed are left out, and a panel
    without any says so."""
    curves: dict[str, list[list[dict]]] = {}
    for d in run_dirs:
        run = Run(d)
        epochs = [e for e in run.history() if "val_decoders" in e]
        curves.setdefault(run.config().model if run.has() else run.name, []).append(epochs)
    models = list(curves) or ["?"]
    fig, axes = plt.subplots(len(models), len(metrics_), figsize=(4.2 * len(metrics_), 3.0 * len(models)),
                             squeeze=False)  # fmt: skip
    for row, model in zip(axes, models, strict=True):
        runs_ = [r for r in curves.get(model, []) if r]
        found = list(dict.fromkeys(k for r in runs_ for e in r for k in e["val_decoders"]))
        names = [n for n in (decoders or found) if n in found]
        for ax, mt in zip(row, metrics_, strict=True):
            for i, dec in enumerate(names):
                for r in runs_:
                    ep = [e["epoch"] for e in r if dec in e["val_decoders"]]
                    v = [e["val_decoders"][dec].get(mt, np.nan) for e in r if dec in e["val_decoders"]]
                    ax.plot(ep, v, color=f"C{i % 10}", alpha=0.25, lw=1)
                by_epoch: dict[int, list[float]] = {}
                for r in runs_:
                    for e in r:
                        if dec in e["val_decoders"]:
                            by_epoch.setdefault(e["epoch"], []).append(e["val_decoders"][dec].get(mt, np.nan))
                ep = sorted(by_epoch)
                ax.plot(ep, [np.mean(by_epoch[k]) for k in ep], "o-", color=f"C{i % 10}", lw=2, ms=3,
                        label=report.decoder_label(dec))  # fmt: skip
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            if not names:
                ax.text(0.5, 0.5, "no per-decoder validation scores\n(trained before val_decoders)",
                        ha="center", va="center", transform=ax.transAxes, fontsize=8)  # fmt: skip
            ax.set_title(f"{paper.MODEL_NAMES.get(model, model)}: {metrics.metric(mt).label}", fontsize=10)
            ax.set_xlabel("epoch")
            ax.set_ylabel(metrics.metric(mt).heading)
            ax.grid(alpha=0.3)
        if names:
            row[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def joint_bias(bias, decoder: str = "dark"):
    """Per model (rows) and axis (columns): each joint's signed mean error (input px) for every cell, from
    :func:`dark.analysis.report.joints.joint_bias` (one marker per cell at the mean over its runs, the bar
    one standard deviation over the runs). A quantiser's constant shift moves every joint alike; a trained
    model's systematic error differs from joint to joint."""
    models = list(dict.fromkeys(bias.model)) or ["?"]
    joints = list(dict.fromkeys(bias.joint))
    fig, axes = plt.subplots(
        len(models), 2, figsize=(10, 0.28 * len(joints) * len(models) + 1.2), squeeze=False
    )
    y = np.arange(len(joints))
    for row, model in enumerate(models):
        sub = bias[bias.model == model]
        encodings = list(dict.fromkeys(sub.encoding))
        for col, axis in enumerate("xy"):
            ax = axes[row, col]
            ax.axvline(0, color="0.6", lw=0.8)
            for i, enc in enumerate(encodings):
                e = sub[sub.encoding == enc].set_index("joint").reindex(joints)
                offset = (i - (len(encodings) - 1) / 2) * 0.18
                ax.errorbar(e[f"bias_{axis}"], y + offset, xerr=e[f"sd_{axis}"].fillna(0), fmt="o", ms=4,
                            capsize=2, label=report.encoding_label(enc))  # fmt: skip
            ax.set_yticks(y, joints if col == 0 else [], fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel(f"mean signed error in {axis} (input px)")
            ax.set_title(
                f"{paper.MODEL_NAMES.get(model, model)} + {report.decoder_label(decoder)}: {axis}",
                fontsize=10,
            )
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
