"""A linear combination of metrics within each run, combined over the runs, with its two-level interval.

:func:`within_run_combination` generalises :func:`dark.metrics.within_run_difference_estimates` (two
terms, signs +1 and -1) to any ``sum_k sign_k * metric_k(tables_k)`` on the same runs: e.g. how much of
a gap one change of instrument explains (the difference of two differences).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dark.metrics.intervals import Estimate, _combine, _Resampler


def within_run_combination(
    terms: Sequence[tuple[float, Sequence[np.ndarray], str]],
    columns: Sequence[str],
    *,
    clusters=None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """``sum_k sign_k * metric_k`` within each run, combined over the runs as one cell.

    Args:
        terms: ``(sign, tables, metric)``: ``tables`` one ``(G, C)`` frame-sum table per run (the same
            runs, in the same order, in every term; e.g. one decoder's tables), ``metric`` a name of the
            metric table.
        columns: the tables' column names (``frame_sums.npz`` stores them).
        clusters: ``(G,)`` cluster label of each frame group (block bootstrap), or None (frame groups).

    The per-run values form one cell: t with n - 1 df on the seed level plus the test-set part the runs
    share, every term and run resampled with the same draws (:data:`dark.metrics.INTERVALS`); one run
    gives the test-set-only interval with ``training_variance`` False.

    >>> t = [np.array([[1.0, 1.0, v]] * 4) for v in (1.0, 2.0, 3.0)]  # 3 runs, 4 frames, mean error v
    >>> cols = ["n", "sq_error", "error"]
    >>> e = within_run_combination([(2.0, t, "mean_error"), (-1.0, t, "mean_error")], cols)
    >>> e.value, e.seeds  # 2v - v = v per run
    (2.0, (1.0, 2.0, 3.0))
    """
    if not terms:
        raise ValueError("within_run_combination: at least one term is needed")
    return cells_combination([terms], columns, paired=True, clusters=clusters, confidence=confidence,
                             n_resamples=n_resamples, seed=seed)  # fmt: skip


def _terms(design: _Resampler, terms, columns, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """``sum_k sign_k * metric_k`` of one set of runs: per-run values ``(n, 1)``, replicates ``(B, n, 1)``."""
    point, boot = 0.0, 0.0
    for sign, tables, metric in terms:
        arr = np.stack([np.asarray(t, dtype=np.float64) for t in tables])  # (n, G, C)
        if arr.shape[1] != n_groups:
            raise ValueError(f"every term's tables need {n_groups} frame groups, got {arr.shape[1]}")
        p, b = design.replicates(arr, [metric], columns)  # (n, 1), (B, n, 1)
        point, boot = point + sign * p, boot + sign * b
    return point, boot


def cells_combination(
    cells: Sequence[Sequence[tuple[float, Sequence[np.ndarray], str]]],
    columns: Sequence[str],
    *,
    paired: bool = False,
    clusters=None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """``sum_c mean over the runs of cell c of (sum_k sign_k * metric_k)``: a linear combination of metrics
    within each run, over one or two cells of runs, with its two-level interval.

    Args:
        cells: per cell, its terms ``(sign, tables, metric)`` as :func:`within_run_combination` takes
            them (each term's ``tables``: one ``(G, C)`` frame-sum table per run of that cell, the cell's
            runs in the same order in every term). Every cell is on the same ``G`` frame groups.
        columns: the tables' column names; ``clusters``: ``(G,)`` cluster (clip) labels, or None.
        paired: the cells hold the same number of runs and run ``i`` of every cell shares seed ``i``
            (:func:`dark.metrics.paired_difference_estimates`): the per-seed sums over the cells form one
            cell (t with n - 1 df). Otherwise each cell is a part of the seed level, Welch's df, as
            :func:`dark.metrics.cell_difference_estimates` does for two cells.

    The test set is resampled once for every cell, term and run (clusters when given), so what the runs
    share enters once (:data:`dark.metrics.INTERVALS`). ``seeds``/``seeds_b`` hold the first two cells'
    per-run values.

    >>> t = [np.array([[1.0, 1.0, v]] * 4) for v in (1.0, 2.0, 3.0)]  # 3 runs, 4 frames, mean error v
    >>> u = [np.array([[1.0, 1.0, v]] * 4) for v in (0.0, 2.0, 1.0)]
    >>> cols = ["n", "sq_error", "error"]
    >>> e = cells_combination([[(1.0, t, "mean_error")], [(-1.0, u, "mean_error")]], cols, paired=True)
    >>> e.value, e.seeds, e.n_seeds  # per seed (1 - 0, 2 - 2, 3 - 1)
    (1.0, (1.0, 0.0, 2.0), 3)
    """
    if not cells or not all(cells):
        raise ValueError("cells_combination: every cell needs at least one term")
    n_groups = np.asarray(cells[0][0][1][0]).shape[0]
    design = _Resampler(n_groups, clusters, n_resamples, seed)
    parts = [_terms(design, terms, columns, n_groups) for terms in cells]
    if paired:
        if len({len(p) for p, _ in parts}) != 1:
            raise ValueError("paired cells need the same number of runs (one per seed)")
        point = sum(p for p, _ in parts)
        boot = sum(b for _, b in parts)
        return _combine([(1, point, boot)], ["c"], confidence, False, design, paired=True)["c"]
    return _combine([(1, p, b) for p, b in parts], ["c"], confidence, False, design)["c"]
