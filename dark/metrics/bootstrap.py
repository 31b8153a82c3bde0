"""Bootstrap confidence intervals over test frames for the metrics of one set of runs' predictions.

Confidence intervals (:func:`summarize`) come from a **cluster bootstrap over test frames**
(``scipy.stats.bootstrap``, percentile method, seeded): a resample draws frames with replacement and
each drawn frame brings all its visible joints (and, when ``groups`` is given, all the samples of that
group, e.g. the 4 camera views of one multi-view frame; when ``clusters`` is given, all the samples of
that cluster, e.g. every frame and view of one placement of a test clip: a block bootstrap, since
adjacent frames of a clip are not independent). Joints of one frame are not independent (one
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

from dark.metrics.sums import frame_sums, from_sums
from dark.metrics.table import METRICS


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
    clusters=None,
    extra: Mapping[str, Mapping[str, object]] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """Every metric of every prediction and every paired difference, with bootstrap CIs.

    Args:
        preds: name -> ``(N, K, 2)`` predictions in input px, all for the same ``N`` frames (e.g. one
            entry per decoder on the same heatmaps, or per model on the same test frames).
        gt, visible, head_size: ``(N, K, 2)``, ``(N, K)``, ``(N,)``, shared by every prediction.
        metrics: names of the metric table (:func:`dark.metrics.metric`), e.g. ``"rmse"``, ``"pckh@0.1"``.
        pairs: ``(a, b)`` names; the difference ``metric(a) - metric(b)`` is estimated paired.
        groups: ``(N,)`` labels of the resampling units (e.g. one per multi-view frame); default one
            per sample.
        clusters: ``(N,)`` cluster labels (e.g. :func:`dark.data.synth.clusters`); when given they are
            the resampling units instead of ``groups`` (a drawn cluster brings all its samples).
        extra: name -> the further inputs that prediction's metrics need (:meth:`dark.metrics.Frames.of`),
            e.g. ``{"dark": {"pred_visible": (N, K)}}`` for the per-axis PCKh.
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
    units = groups if clusters is None else clusters
    extra = extra or {}
    tables = [frame_sums(preds[n], gt, visible, head_size, metrics, units, **extra.get(n, {})) for n in names]
    C = tables[0].shape[1]
    table = np.concatenate(tables, axis=1)  # (F, D * C)
    F = table.shape[0]
    pos = {n: i for i, n in enumerate(names)}
    ia = np.array([pos[a] for a, _ in pairs], dtype=np.int64)
    ib = np.array([pos[b] for _, b in pairs], dtype=np.int64)

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        s = _resampled_sums(table, np.moveaxis(idx, axis, -1))  # (..., D * C)
        m = from_sums(s.reshape(*s.shape[:-1], len(names), C), metrics)  # (..., D, M)
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
