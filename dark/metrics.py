"""Keypoint metrics of the report (RMSE, mean error, PCKh) and their bootstrap confidence intervals.

Shapes and units, for every function here:

- ``pred``, ``gt``: ``(N, K, 2)`` joint positions ``(x, y)`` in input pixels (numpy or torch);
- ``visible``: ``(N, K)`` bool, only visible joints count (invisible ones are excluded everywhere);
- ``head_size``: ``(N,)`` the sample's head segment (neck to head end, Euclidean, input pixels).

Definitions (the report's, section 3.5):

- error ``e = ||pred - gt||_2`` per visible joint;
- ``rmse = sqrt(mean(e^2))`` and ``mean_error = mean(e)`` over all visible joints of all samples;
- ``pckh(alpha)`` = percent of visible joints with ``e <= alpha * head_size`` (a joint exactly on the
  threshold counts as correct).

Confidence intervals (:func:`summarize`) come from a **cluster bootstrap over test frames**
(``scipy.stats.bootstrap``, percentile method, seeded): a resample draws frames with replacement and
each drawn frame brings all its visible joints (and, when ``groups`` is given, all the samples of that
group, e.g. the 4 camera views of one multi-view frame). Joints of one frame are not independent (one
pose, one image), so resampling joints would give intervals that are too narrow. Every metric is a
ratio of per-frame sums (e.g. PCKh = sum of correct joints / sum of visible joints), so the bootstrap
only resamples a small ``(frames, sums)`` table, and one resample serves every decoder, metric and
paired difference at once: differences between two decoders on the same heatmaps, or between two
models on the same frames, are *paired* (the same resampled frames enter both terms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: the report's metrics, in the order of its tables
METRICS: tuple[str, ...] = ("pckh@0.1", "pckh@0.5", "rmse", "mean_error")

#: True where a larger value is better (used to orient paired differences as improvements)
HIGHER_IS_BETTER: dict[str, bool] = {"rmse": False, "mean_error": False}


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (PCKh) or worse (RMSE, mean error)."""
    return HIGHER_IS_BETTER.get(metric, True)


def _np(a, name: str, dtype=np.float64) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor, any device
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=dtype)


def _check(pred, gt, visible, head_size=None):
    pred, gt = _np(pred, "pred"), _np(gt, "gt")
    if pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred must have shape (N, K, 2), got {pred.shape}")
    if gt.shape != pred.shape:
        raise ValueError(f"gt must have the shape of pred {pred.shape}, got {gt.shape}")
    visible = _np(visible, "visible", dtype=bool)
    if visible.shape != pred.shape[:2]:
        raise ValueError(f"visible must have shape (N, K) = {pred.shape[:2]}, got {visible.shape}")
    if head_size is not None:
        head_size = _np(head_size, "head_size")
        if head_size.shape != pred.shape[:1]:
            raise ValueError(f"head_size must have shape (N,) = {pred.shape[:1]}, got {head_size.shape}")
    return pred, gt, visible, head_size


def joint_errors(pred, gt) -> np.ndarray:
    """Euclidean error per joint in input px: ``(N, K, 2), (N, K, 2) -> (N, K)`` float64."""
    pred, gt = _np(pred, "pred"), _np(gt, "gt")
    if pred.shape != gt.shape or pred.shape[-1:] != (2,):
        raise ValueError(f"pred and gt must both have shape (..., 2), got {pred.shape} and {gt.shape}")
    return np.sqrt(((pred - gt) ** 2).sum(-1))


def _nan_if_empty(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def rmse(pred, gt, visible) -> float:
    """Root of the mean squared Euclidean error over visible joints, input px (NaN if none visible)."""
    pred, gt, visible, _ = _check(pred, gt, visible)
    e = joint_errors(pred, gt)
    return float(np.sqrt(_nan_if_empty((e[visible] ** 2).sum(), visible.sum())))


def mean_error(pred, gt, visible) -> float:
    """Mean Euclidean error over visible joints, input px (NaN if none visible)."""
    pred, gt, visible, _ = _check(pred, gt, visible)
    return _nan_if_empty(joint_errors(pred, gt)[visible].sum(), visible.sum())


def pckh(pred, gt, visible, head_size, alpha: float = 0.5) -> float:
    """PCKh@alpha in percent: visible joints with error ``<= alpha * head_size`` (NaN if none visible)."""
    pred, gt, visible, head_size = _check(pred, gt, visible, head_size)
    correct = joint_errors(pred, gt) <= alpha * head_size[:, None]
    return 100.0 * _nan_if_empty((correct & visible).sum(), visible.sum())


def pckh_curve(pred, gt, visible, head_size, alphas: Sequence[float]) -> np.ndarray:
    """PCKh in percent for every alpha: ``-> (A,)`` float64."""
    pred, gt, visible, head_size = _check(pred, gt, visible, head_size)
    e = joint_errors(pred, gt)[visible]  # (V,)
    thr = (np.broadcast_to(head_size[:, None], visible.shape))[visible]  # (V,)
    a = np.asarray(alphas, dtype=np.float64)
    if e.size == 0:
        return np.full(a.shape, np.nan)
    return 100.0 * (e[None, :] <= a[:, None] * thr[None, :]).mean(axis=1)


def per_joint(pred, gt, visible, head_size, alphas: Sequence[float] = (0.1, 0.5)) -> dict[str, np.ndarray]:
    """Every metric per joint: ``{"rmse", "mean_error", "pckh@<alpha>"...: (K,)}`` (NaN: never visible)."""
    pred, gt, visible, head_size = _check(pred, gt, visible, head_size)
    e = joint_errors(pred, gt)
    n = visible.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "rmse": np.sqrt(np.where(visible, e**2, 0).sum(0) / n),
            "mean_error": np.where(visible, e, 0).sum(0) / n,
        }
        for a in alphas:
            correct = (e <= a * head_size[:, None]) & visible
            out[f"pckh@{a:g}"] = 100.0 * correct.sum(0) / n
    return out


# ---------------------------------------------------------------------------------------------------------
# bootstrap


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval ``[low, high]`` (same units as the metric)."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> int:
        """+1 if the whole interval is above 0, -1 if entirely below 0, else 0."""
        return 1 if self.low > 0 else (-1 if self.high < 0 else 0)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def _metric_alphas(metrics: Sequence[str]) -> list[float]:
    alphas = []
    for m in metrics:
        if m.startswith("pckh@"):
            alphas.append(float(m[5:]))
        elif m not in ("rmse", "mean_error"):
            raise ValueError(f"unknown metric {m!r}: expected 'rmse', 'mean_error' or 'pckh@<alpha>'")
    return alphas


def frame_sums(pred, gt, visible, head_size, metrics: Sequence[str] = METRICS, groups=None) -> np.ndarray:
    """Per-frame sums every metric is a ratio of: ``-> (F, 3 + A)`` float64, F frames (or groups).

    Columns: number of visible joints, sum of squared errors, sum of errors, then the number of correct
    joints for each ``pckh@alpha`` of ``metrics`` (in order). ``groups`` ``(N,)`` (any hashable labels)
    merges the samples of a group into one bootstrap unit (sorted by label); default: one unit per sample.
    """
    pred, gt, visible, head_size = _check(pred, gt, visible, head_size)
    e = joint_errors(pred, gt)
    cols = [visible.sum(1), np.where(visible, e**2, 0).sum(1), np.where(visible, e, 0).sum(1)]
    for a in _metric_alphas(metrics):
        cols.append(((e <= a * head_size[:, None]) & visible).sum(1))
    sums = np.stack(cols, axis=1).astype(np.float64)
    if groups is None:
        return sums
    groups = np.asarray(groups)
    if groups.shape != (len(sums),):
        raise ValueError(f"groups must have shape (N,) = ({len(sums)},), got {groups.shape}")
    _, inverse = np.unique(groups, return_inverse=True)
    out = np.zeros((inverse.max() + 1, sums.shape[1]))
    np.add.at(out, inverse, sums)
    return out


def _metrics_from_sums(sums: np.ndarray, metrics: Sequence[str]) -> np.ndarray:
    """``(..., 3 + A) -> (..., M)``: the metric values from summed columns (see :func:`frame_sums`)."""
    n = sums[..., 0]
    out, k = [], 3
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in metrics:
            if m == "rmse":
                out.append(np.sqrt(sums[..., 1] / n))
            elif m == "mean_error":
                out.append(sums[..., 2] / n)
            else:
                out.append(100.0 * sums[..., k] / n)
                k += 1
    return np.stack(out, axis=-1)


def _resampled_sums(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sum ``table`` ``(F, C)`` over resampled frame indices ``idx`` ``(..., F)`` -> ``(..., C)``.

    Counts how often each frame was drawn (one bincount) and takes a matrix product, which is much
    faster than gathering the resampled rows.
    """
    F = table.shape[0]
    idx = idx.astype(np.int64)
    batch = idx.reshape(-1, idx.shape[-1])
    offsets = (np.arange(len(batch)) * F)[:, None]
    counts = np.bincount((batch + offsets).ravel(), minlength=len(batch) * F).reshape(len(batch), F)
    return (counts @ table).reshape(*idx.shape[:-1], table.shape[1])


def summarize(
    preds: Mapping[str, object],
    gt,
    visible,
    head_size,
    *,
    metrics: Sequence[str] = METRICS,
    pairs: Sequence[tuple[str, str]] = (),
    groups=None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """Every metric of every prediction and every paired difference, with bootstrap CIs.

    Args:
        preds: name -> ``(N, K, 2)`` predictions in input px, all for the same ``N`` frames (e.g. one
            entry per decoder on the same heatmaps, or per model on the same test frames).
        gt, visible, head_size: ``(N, K, 2)``, ``(N, K)``, ``(N,)``, shared by every prediction.
        metrics: subset of ``"rmse"``, ``"mean_error"``, ``"pckh@<alpha>"``.
        pairs: ``(a, b)`` names; the difference ``metric(a) - metric(b)`` is estimated paired.
        groups: ``(N,)`` cluster labels (e.g. one per multi-view frame); default one per sample.
        confidence, n_resamples, seed: the percentile bootstrap (``scipy.stats.bootstrap``, resampling
            frames with replacement, seeded with ``numpy.random.default_rng(seed)``).

    Returns:
        ``{"metrics": {name: {metric: Interval}}, "differences": {(a, b): {metric: Interval}}}``.
        A difference's ``value`` is ``metric(a) - metric(b)`` on all frames (positive = ``a`` larger).

    Example:
        >>> gt = np.zeros((50, 2, 2)); vis = np.ones((50, 2), bool); hs = np.full(50, 10.0)
        >>> r = summarize({"p": gt + 1.0}, gt, vis, hs, metrics=["mean_error"])
        >>> round(r["metrics"]["p"]["mean_error"].value, 6)
        1.414214
    """
    names = list(preds)
    if not names:
        raise ValueError("preds must hold at least one prediction")
    for a, b in pairs:
        if a not in preds or b not in preds:
            raise ValueError(f"pair {(a, b)} names a prediction not in preds {names}")
    tables = [frame_sums(preds[n], gt, visible, head_size, metrics, groups) for n in names]
    C = tables[0].shape[1]
    table = np.concatenate(tables, axis=1)  # (F, D * C)
    F = table.shape[0]
    pos = {n: i for i, n in enumerate(names)}
    ia = np.array([pos[a] for a, _ in pairs], dtype=np.int64)
    ib = np.array([pos[b] for _, b in pairs], dtype=np.int64)

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        s = _resampled_sums(table, np.moveaxis(idx, axis, -1))  # (..., D * C)
        m = _metrics_from_sums(s.reshape(*s.shape[:-1], len(names), C), metrics)  # (..., D, M)
        d = m[..., ia, :] - m[..., ib, :]  # (..., P, M)
        out = np.concatenate([m.reshape(*m.shape[:-2], -1), d.reshape(*d.shape[:-2], -1)], axis=-1)
        return np.moveaxis(out, -1, 0)  # scipy wants the statistics first

    point = statistic(np.arange(F)[None, :])[:, 0]
    if F >= 2:
        res = stats.bootstrap(
            (np.arange(F),),
            statistic,
            vectorized=True,
            n_resamples=n_resamples,
            batch=max(1, min(n_resamples, 2_000_000 // F)),
            confidence_level=confidence,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        low, high = np.atleast_1d(res.confidence_interval.low), np.atleast_1d(res.confidence_interval.high)
    else:
        low = high = point
    M = len(metrics)
    ivals = [Interval(float(v), float(lo), float(hi)) for v, lo, hi in zip(point, low, high, strict=True)]
    out_metrics = {n: {m: ivals[i * M + j] for j, m in enumerate(metrics)} for i, n in enumerate(names)}
    off = len(names) * M
    out_diff = {
        pair: {m: ivals[off + i * M + j] for j, m in enumerate(metrics)} for i, pair in enumerate(pairs)
    }
    return {"metrics": out_metrics, "differences": out_diff}


def confidence_intervals(pred, gt, visible, head_size, **kwargs) -> dict[str, Interval]:
    """Every metric of one prediction with its bootstrap CI (keywords as :func:`summarize`)."""
    return summarize({"pred": pred}, gt, visible, head_size, **kwargs)["metrics"]["pred"]


def paired_difference(pred_a, pred_b, gt, visible, head_size, **kwargs) -> dict[str, Interval]:
    """``metric(a) - metric(b)`` with a paired bootstrap CI (same frames resampled for both).

    ``pred_a`` and ``pred_b`` are two decoders on the same heatmaps, or two models on the same frames.
    """
    r = summarize({"a": pred_a, "b": pred_b}, gt, visible, head_size, pairs=[("a", "b")], **kwargs)
    return r["differences"][("a", "b")]
