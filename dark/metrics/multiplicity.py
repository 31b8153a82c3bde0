"""Tests from intervals, and the family-wise correction of a claim's endpoints.

An :class:`~dark.metrics.Estimate`'s interval is ``value +- hypot(q_s se_seeds, q_f se_frames)``, each part
at its own quantile (t with ``df`` for the seed part, t with ``df_frames`` or normal for the frame part;
:func:`dark.metrics.cell_estimates`). :func:`interval_at` gives that interval at another confidence level,
:func:`p_value` the two-sided p-value that inverts it (the largest level whose interval still excludes
zero), and :func:`holm` Holm's step-down adjustment of a family of p-values, which controls the
probability of any false "excludes zero" in the family at ``alpha`` whatever their dependence
(Holm 1979).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats

from dark.metrics.intervals import Estimate

__all__ = ["holm", "holm_levels", "interval_at", "p_value"]


def _q(p: float, df: float) -> float:
    return float(stats.norm.ppf(p)) if math.isinf(df) else float(stats.t.ppf(p, df))


def _half(e: Estimate, confidence: float) -> float:
    p = 0.5 + confidence / 2
    return math.hypot(_q(p, e.df) * e.se_seeds, _q(p, e.df_frames) * e.se_frames)


def interval_at(e: Estimate, confidence: float) -> tuple[float, float]:
    """``(low, high)`` of ``e``'s interval at ``confidence`` (same standard errors and degrees of freedom).

    >>> e = Estimate(1.0, 1.0 - 1.96, 1.0 + 1.96, se_frames=1.0)  # normal, se 1
    >>> [round(x, 3) for x in interval_at(e, 0.99)]
    [-1.576, 3.576]
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    h = _half(e, confidence)
    return e.value - h, e.value + h


def p_value(e: Estimate) -> float:
    """Two-sided p-value of ``value = 0`` that inverts ``e``'s interval: the ``a`` at which the
    ``1 - a`` interval has zero on its edge (1 when the value is 0; 0 when there is no uncertainty).

    With one normal part it is ``2 (1 - Phi(|v| / se))``, with one t part ``2 (1 - T_df(|v| / se))``:

    >>> round(p_value(Estimate(1.96, 0.0, 3.92, se_frames=1.0)), 4)
    0.05
    """
    v = abs(e.value)
    if v == 0.0:
        return 1.0
    if e.se_seeds == 0.0 and e.se_frames == 0.0:
        return 0.0
    f = lambda a: _half(e, 1.0 - a) - v  # noqa: E731  (decreasing in a)
    lo = 1e-15
    if f(lo) < 0:
        return lo
    return float(optimize.brentq(f, lo, 1.0, xtol=1e-12, rtol=1e-10))


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values of one family: with ``p_(1) <= ... <= p_(m)``, the adjusted
    ``p~_(j) = max_{i <= j} min(1, (m - i + 1) p_(i))``; hypothesis ``j`` is rejected at ``alpha`` exactly
    when ``p~_j <= alpha``.

    >>> holm([0.016, 0.025, 0.3, 0.6]).round(3).tolist()
    [0.064, 0.075, 0.6, 0.6]
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"p-values must be a 1-D sequence in [0, 1], got {p}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(scaled)
    return out


def holm_levels(p: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """The confidence level of each endpoint's Holm step: ``1 - alpha / (m - rank + 1)`` (rank 1 = the
    smallest p). Its interval at that level excludes zero exactly when the endpoint's own step rejects;
    a later step rejects only when every earlier one did (:func:`holm`).

    >>> holm_levels([0.3, 0.01]).tolist()
    [0.95, 0.975]
    """
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    rank = np.empty(m, dtype=np.int64)
    rank[np.argsort(p, kind="stable")] = np.arange(1, m + 1)
    return 1.0 - alpha / (m - rank + 1)
