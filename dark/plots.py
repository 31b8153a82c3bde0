"""Figures of the results chapter, from evaluation dicts and ``predictions_test.npz`` (matplotlib).

Every function draws into a new figure (or the ``ax`` given) and returns the figure; the notebooks
only call them. Inputs are what :mod:`dark.evaluate` writes: an evaluation dict (``evaluation.json``)
and the predictions of :func:`dark.evaluate.load_predictions` (coords in input px).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dark import metrics, paper

#: the report's decoders first, in its order
DEFAULT_DECODERS: tuple[str, ...] = paper.PAPER_DECODERS


def _title(ev: Mapping) -> str:
    r = ev["run"]
    m = paper.MODEL_NAMES.get(r["model"], r["model"])
    e = paper.ENCODING_NAMES.get(r["encoding"], r["encoding"])
    return f"{m} ({e})"


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
        ax.bar(x + (i - (len(ds) - 1) / 2) * width, vals, width, label=paper.DECODER_NAMES.get(d, d))
    ax.set_xticks(x, joints, rotation=60, ha="right", fontsize=8)
    unit = "%" if metric.startswith("pckh") else "input px"
    ax.set_ylabel(f"{metric} ({unit})")
    ax.set_title(f"{_title(ev)}: {metric} per joint")
    ax.legend(fontsize=8, ncol=len(ds))
    fig.tight_layout()
    return fig


def pckh_curves(evaluations: Sequence[Mapping], decoders: Sequence[str] | None = DEFAULT_DECODERS):
    """PCKh against alpha, one panel per run, one line per decoder."""
    n = max(len(evaluations), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False, sharey=True)
    for ax, ev in zip(axes[0], evaluations, strict=False):
        for d in _decoders(list(ev["decoders"]), decoders):
            ax.plot(ev["alphas"], ev["decoders"][d]["pckh_curve"], label=paper.DECODER_NAMES.get(d, d))
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
