"""Metric values of one set of predictions: the direct functions, per joint, and per epoch.

Every value here comes from the metric table (:mod:`dark.metrics.table`): ``finish(numerator /
denominator)`` summed over the counted elements. Inputs: ``pred``, ``gt`` ``(N, K, 2)`` input px (numpy
or torch), ``visible`` ``(N, K)`` bool, ``head_size`` ``(N,)`` input px. Definitions (the report's,
section 3.5): error ``e = ||pred - gt||_2`` per visible joint; ``rmse = sqrt(mean(e^2))`` and
``mean_error = mean(e)`` over all visible joints of all samples; ``pckh(alpha)`` = percent of visible
joints with ``e <= alpha * head_size`` (a joint exactly on the threshold counts as correct).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dark.metrics.frames import Frames
from dark.metrics.table import METRICS, PER_EPOCH_METRICS, metric


def score(name: str, frames: Frames) -> float:
    """The value of metric ``name`` on ``frames`` (NaN if nothing is counted, e.g. no visible joint).

    >>> f = Frames.of(np.ones((2, 1, 2)), np.zeros((2, 1, 2)), np.ones((2, 1), bool), np.full(2, 10.0))
    >>> score("mean_error", f) == 2**0.5, score("pckh@0.1", f), score("bias_y", f)
    (True, 0.0, 1.0)
    """
    m = metric(name)
    num, den = m.numerator.total(frames), m.denominator.total(frames)
    return float(m.finish(num / den)) if den > 0 else float("nan")


def scores(frames: Frames, metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """``{metric: value}`` of every metric of ``metrics`` on ``frames`` (as :func:`score`)."""
    return {m: score(m, frames) for m in metrics}


def rmse(pred, gt, visible) -> float:
    """Root of the mean squared Euclidean error over visible joints, input px (NaN if none visible)."""
    return score("rmse", Frames.of(pred, gt, visible))


def mean_error(pred, gt, visible) -> float:
    """Mean Euclidean error over visible joints, input px (NaN if none visible)."""
    return score("mean_error", Frames.of(pred, gt, visible))


def pckh(pred, gt, visible, head_size, alpha: float = 0.5) -> float:
    """PCKh@alpha in percent: visible joints with error ``<= alpha * head_size`` (NaN if none visible)."""
    return score(f"pckh@{float(alpha)!r}", Frames.of(pred, gt, visible, head_size))


def bias(pred, gt, visible) -> np.ndarray:
    """Signed mean error ``mean(pred - gt)`` over visible joints, x and y: ``-> (2,)`` input px (NaN if none).

    >>> bias(np.ones((2, 1, 2)), np.zeros((2, 1, 2)), np.ones((2, 1), bool)).tolist()
    [1.0, 1.0]
    """
    f = Frames.of(pred, gt, visible)
    return np.array([score("bias_x", f), score("bias_y", f)])


def median_bias(pred, gt, visible) -> np.ndarray:
    """Signed median error per axis over visible joints: ``-> (2,)`` input px (robust to outliers)."""
    f = Frames.of(pred, gt, visible)
    d = f.signed[f.visible]
    return np.median(d, axis=0) if len(d) else np.full(2, np.nan)


def pckh_curve(pred, gt, visible, head_size, alphas: Sequence[float]) -> np.ndarray:
    """PCKh in percent for every alpha: ``-> (A,)`` float64."""
    f = Frames.of(pred, gt, visible, head_size)
    e = f.errors[f.visible]  # (V,)
    thr = (np.broadcast_to(f.head_size[:, None], f.visible.shape))[f.visible]  # (V,)
    a = np.asarray(alphas, dtype=np.float64)
    if e.size == 0:
        return np.full(a.shape, np.nan)
    return 100.0 * (e[None, :] <= a[:, None] * thr[None, :]).mean(axis=1)


def per_joint(
    pred, gt, visible, head_size, metrics: Sequence[str] = METRICS, **extra
) -> dict[str, np.ndarray]:
    """Every metric of ``metrics`` per joint, over all frames: ``{metric: (K,)}`` (NaN: never visible).

    ``extra``: further inputs a metric needs (:meth:`Frames.of`)."""
    f = Frames.of(pred, gt, visible, head_size, **extra)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in metrics:
            m = metric(name)
            out[name] = m.finish(m.numerator.per_joint(f) / m.denominator.per_joint(f))
    return out


def decoder_scores(pred, split: Mapping[str, object], **extra) -> dict[str, float]:
    """The per-epoch validation scores (:data:`~dark.metrics.table.PER_EPOCH_METRICS`: PCKh@0.1, PCKh@0.5
    in percent, RMSE and signed bias x, y in input px, the report's per-axis PCKh@0.1, @0.5 in percent) of
    ``(N, K, 2)`` predictions in input px.

    ``split``: the validation split's ``"joints"`` ``(N, K, 2)`` input px, ``"visible"`` ``(N, K)`` and
    ``"head_size"`` ``(N,)`` (numpy or torch); ``extra``: further inputs a metric needs (``pred_visible``
    ``(N, K)`` bool for the per-axis PCKh: :func:`dark.codecs.report_visibility`).
    """
    f = Frames.of(pred, split["joints"], split["visible"], split["head_size"], **extra)
    return scores(f, PER_EPOCH_METRICS)
