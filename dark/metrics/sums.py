"""Per-frame sums: the ``(frames, columns)`` table every metric is a ratio of, and the metrics back from it.

Every metric is ``finish(numerator / denominator)`` of two :class:`~dark.metrics.table.Sum` s, so a
frame's contribution to any metric is a handful of sums, and summing the rows of any set of frames (a
bootstrap resample, one run's test frames) gives the metric on that set (:func:`from_sums`). This is what
``frame_sums.npz`` stores and what the intervals resample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dark.metrics.frames import Frames
from dark.metrics.table import DX, DY, ERROR, METRICS, SQ_ERROR, VISIBLE, Sum, metric

#: the columns every table has (``frame_sums.npz`` was always written with them)
BASE_SUMS: tuple[Sum, ...] = (VISIBLE, SQ_ERROR, ERROR)
#: the column order ``frame_sums.npz`` files were written with; other columns follow these, in the order
#: the metrics first need them
_ORDER: tuple[str, ...] = tuple(s.name for s in (*BASE_SUMS, DX, DY))


def _sums(metrics: Sequence[str]) -> list[Sum]:
    found = {s.name: s for s in BASE_SUMS}
    for m in metrics:
        for s in metric(m).sums:
            # the signed errors come as a pair, as frame_sums.npz always stored them (one bias metric alone
            # gives the same table, hence bitwise the same bootstrap, as before)
            for t in (DX, DY) if s in (DX, DY) else (s,):
                found.setdefault(t.name, t)
    return sorted(found.values(), key=lambda s: _ORDER.index(s.name) if s.name in _ORDER else len(_ORDER))


def frame_sum_columns(metrics: Sequence[str] = METRICS) -> list[str]:
    """The column names of :func:`frame_sums` for ``metrics``.

    Always ``n`` (visible joints), ``sq_error`` (sum of squared errors), ``error`` (sum of errors); then
    ``dx``, ``dy`` (sums of signed errors pred - gt) if a bias metric is asked for; then the other sums
    the metrics need in the order they first need them (``correct@<alpha>`` for each ``pckh@<alpha>``).

    >>> frame_sum_columns(["rmse", "pckh@0.5"]), frame_sum_columns(["pckh@0.1", "pckh@0.5", "bias_y"])[3:]
    (['n', 'sq_error', 'error', 'correct@0.5'], ['dx', 'dy', 'correct@0.1', 'correct@0.5'])
    """
    return [s.name for s in _sums(metrics)]


def frame_sums(
    pred, gt, visible, head_size, metrics: Sequence[str] = METRICS, groups=None, **extra
) -> np.ndarray:
    """Per-frame sums every metric is a ratio of: ``-> (F, C)`` float64, F frames (or groups).

    Inputs as :meth:`dark.metrics.Frames.of` (input px; ``extra``: further inputs a metric needs).
    Columns as :func:`frame_sum_columns` names them. ``groups`` ``(N,)`` (any hashable labels) merges the
    samples of a group into one bootstrap unit (sorted by label); default: one unit per sample.
    """
    f = Frames.of(pred, gt, visible, head_size, **extra)
    sums = np.stack([s.per_frame(f) for s in _sums(metrics)], axis=1).astype(np.float64)
    if groups is None:
        return sums
    groups = np.asarray(groups)
    if groups.shape != (len(sums),):
        raise ValueError(f"groups must have shape (N,) = ({len(sums)},), got {groups.shape}")
    _, inverse = np.unique(groups, return_inverse=True)
    out = np.zeros((inverse.max() + 1, sums.shape[1]))
    np.add.at(out, inverse, sums)
    return out


def from_sums(sums: np.ndarray, metrics: Sequence[str], columns: Sequence[str] | None = None) -> np.ndarray:
    """``(..., C) -> (..., M)``: metric values from (summed) frame-sum columns.

    ``columns``: the names of the last axis (``frame_sums.npz`` stores them); default
    :func:`frame_sum_columns` of ``metrics``. NaN where a denominator is 0.

    >>> from_sums(np.array([4.0, 16.0, 6.0, 2.0, -2.0]), ["rmse", "mean_error", "bias_x", "bias_y"],
    ...           ["n", "sq_error", "error", "dx", "dy"]).tolist()
    [2.0, 1.5, 0.5, -0.5]
    """
    pos = {c: i for i, c in enumerate(frame_sum_columns(metrics) if columns is None else columns)}
    sums = np.asarray(sums, dtype=np.float64)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in metrics:
            mt = metric(m)
            for s in mt.sums:
                if s.name not in pos:
                    raise ValueError(f"metric {mt.name!r} needs column {s.name!r}, not among {list(pos)}")
            out.append(mt.finish(sums[..., pos[mt.numerator.name]] / sums[..., pos[mt.denominator.name]]))
    return np.stack(out, axis=-1)
