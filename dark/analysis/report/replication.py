"""The replication row: every primary endpoint again on the validation motions.

The validation split holds motions that no test clip holds (its own activities of subject 4), so it is an
independent set of motions. The runs keep only their validation scores per decoder and epoch
(``metrics.jsonl``, :func:`dark.experiment.runs.load_history`), not per-frame sums, so the replication's
interval covers the seeds only: a t interval over the per-seed differences (DARK - reference within each
run; unbiased - ceil paired by seed), ``n - 1`` degrees of freedom, at the evaluated (last) epoch. A
disagreement with the test result is reported beside it, never hidden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from dark.experiment import runs

from .endpoints import Endpoint, run_pairs
from .load import RunRecord

__all__ = ["COVERS", "replicate", "validation_score"]

#: what a replication interval covers, for the pages
COVERS = "validation motions, last epoch; the interval covers the seeds only (no per-frame validation sums)"


def validation_score(record: RunRecord, decoder: str, metric: str) -> float | None:
    """``decoder``'s ``metric`` on the validation split at the run's last epoch (percent for PCKh), or
    ``None`` where the run's history lacks it."""
    try:
        history = runs.load_history(record.path)
    except (OSError, ValueError):
        return None
    if not history:
        return None
    value = history[-1].get("val_decoders", {}).get(decoder, {}).get(metric)
    return None if value is None else float(value)


def replicate(
    e: Endpoint, model: str, cells: Mapping[tuple[str, str], Sequence[RunRecord]], confidence: float = 0.95
) -> dict | None:
    """Endpoint ``e`` of ``model`` on the validation motions: ``{"estimate", "low", "high", "n", "p",
    "covers"}`` (``low``/``high``/``p`` ``None`` with one seed), or ``None`` without validation scores."""
    pairs = run_pairs(e, model, cells)
    if not pairs:
        return None
    da, db = e.decoders
    d = [(validation_score(a, da, e.metric), validation_score(b, db, e.metric)) for a, b in pairs]
    diffs = np.array([x - y for x, y in d if x is not None and y is not None])
    if len(diffs) == 0:
        return None
    n, mean = len(diffs), float(diffs.mean())
    out = {"estimate": mean, "low": None, "high": None, "n": n, "p": None, "covers": COVERS}
    if n >= 2:
        se = float(diffs.std(ddof=1)) / math.sqrt(n)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
        p = (
            1.0
            if se == 0 and mean == 0
            else (0.0 if se == 0 else 2 * float(stats.t.sf(abs(mean) / se, n - 1)))
        )
        out.update(low=mean - half, high=mean + half, p=p)
    return out
