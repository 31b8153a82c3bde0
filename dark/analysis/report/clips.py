"""Clip by clip: in how many test clips an endpoint goes the claimed way (secondary evidence).

The intervals resample test clips, and with few clips of uneven length they are wide. Whether the effect
has the same sign in every clip is a different, distribution-free question: per clip ``c`` the endpoint's
difference ``d_c`` (the metric of the clip's summed frame sums, per run, then the mean over the runs: within
each run for claim 1, of the seed pairs for claim 2), and the exact two-sided sign test of ``P(d_c > 0) =
1/2`` over the clips. It is shown beside the verdict, never as one: its unit is the clip, not the population
of motions a verdict speaks of, and it ignores the clips' sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from dark import metrics

from .endpoints import Endpoint, run_pairs
from .load import RunRecord

__all__ = ["clip_differences", "clip_signs"]


def _per_clip(record: RunRecord, decoder: str, metric: str, clips: np.ndarray) -> np.ndarray:
    """``(K,)`` the metric of each clip (its frame groups' sums added) for one run and decoder."""
    t = record.tables[decoder]
    labels = np.unique(clips)
    sums = np.stack([t[clips == c].sum(0) for c in labels])  # (K, C)
    return metrics.from_sums(sums, [metric], record.columns)[:, 0]


def clip_differences(
    e: Endpoint, model: str, cells: Mapping[tuple[str, str], Sequence[RunRecord]]
) -> np.ndarray | None:
    """``(K,)`` endpoint ``e``'s difference per test clip, the mean over the runs (claim 1: within each
    run; claim 2: over the seed pairs); ``None`` without runs, clips or the metric."""
    pairs = run_pairs(e, model, cells)
    da, db = e.decoders
    if (
        not pairs
        or pairs[0][0].clips is None
        or any(da not in a.tables or db not in b.tables for a, b in pairs)
    ):
        return None
    try:
        d = [_per_clip(a, da, e.metric, a.clips) - _per_clip(b, db, e.metric, b.clips) for a, b in pairs]
    except ValueError:  # the runs' sums lack the metric's columns
        return None
    return np.mean(d, axis=0)


def clip_signs(d: np.ndarray | None) -> dict | None:
    """``{"favour", "clips", "p"}``: how many clips have ``d_c > 0``, of how many (ties left out), and the
    exact two-sided sign-test p-value.

    >>> clip_signs(np.array([1.0, 2.0, 0.5, 3.0, 1.0, 1.0, 2.0, 0.1]))["p"]
    0.0078125
    """
    if d is None:
        return None
    d = np.asarray(d)[np.isfinite(d) & (np.asarray(d) != 0)]
    n, k = len(d), int((d > 0).sum())
    p = float(stats.binomtest(k, n, 0.5).pvalue) if n else 1.0
    return {"favour": k, "clips": n, "p": p}
