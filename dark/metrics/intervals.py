"""Two-level intervals: a cell's mean over seeds (trainings) with the test-frame noise the runs share.

:data:`INTERVALS` states the method for the book; :func:`cell_estimates` has the maths. Inputs are
``(G, C)`` :func:`~dark.metrics.frame_sums` tables, one per run, on the same sorted frame groups.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from dark.metrics.bootstrap import Interval
from dark.metrics.sums import frame_sum_columns, from_sums
from dark.metrics.table import ALL_METRIC_NAMES

#: the interval method in one paragraph, for the book (the docstring of :func:`cell_estimates` has the maths)
INTERVALS: str = (
    "A cell (model, encoding) is trained once per seed; its value is the mean over its seeds. Its 95% "
    "interval is t-based on the seed level: the between-seed standard error (the seeds' standard "
    "deviation over the square root of their number) times the t quantile of the seed level (n - 1 "
    "degrees of freedom for one cell, Welch's for a difference of two cells), combined in quadrature "
    "with the normal quantile times the test-frame standard error that all runs share. The runs are "
    "scored on the same test frames, so the seed-to-seed spread cannot show that part; a frame "
    "bootstrap that resamples the frames once for every run measures it (each run's own frame noise is "
    "already in the seed spread). A difference of two cells is paired on the frames; a difference of two "
    "decoders is taken within each run first. With 2 to 5 seeds a bootstrap over seeds would under-cover "
    "badly (3 seeds give 10 distinct resampled means); the t interval is honest at those sizes, and wide, "
    "as it should be (the t quantile is 12.7 at 2 seeds, 4.3 at 3). A simulation in the test suite "
    "(training variance about four times the frame noise, true effect zero, 400 repetitions at 2 and at "
    "3 seeds) requires the interval to cover zero within three binomial standard deviations of 95% "
    "(91.7-98.3% of the repetitions), and shows the frame-only interval covering it in fewer than 60%. "
    "With one seed per cell the interval covers the frames only and is marked: it says nothing about "
    "another training."
)


@dataclass(frozen=True)
class Estimate(Interval):
    """A cell's (or a difference's) mean over seeds with its two-level interval.

    ``seeds``: the per-run values (for a difference of cells: the per-run values of cell ``a``, and
    ``seeds_b`` those of ``b``); ``n_seeds``: runs per cell (``(n_a, n_b)`` for a difference);
    ``df``: the t interval's degrees of freedom (``inf``: frames only); ``se_seeds``/``se_frames``: the
    two parts of the standard error; ``training_variance``: False when some cell had one seed, so the
    interval covers the test frames only.
    """

    seeds: tuple[float, ...] = ()
    seeds_b: tuple[float, ...] = ()
    n_seeds: int | tuple[int, int] = 0
    df: float = math.inf
    se_seeds: float = 0.0
    se_frames: float = 0.0
    training_variance: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seeds"], d["seeds_b"] = list(self.seeds), list(self.seeds_b)
        return d


def _stack(tables: Sequence[np.ndarray], name: str) -> np.ndarray:
    if len(tables) == 0:
        raise ValueError(f"{name}: at least one run's frame-sum table is needed")
    arr = np.stack([np.asarray(t, dtype=np.float64) for t in tables])  # (n, G, C)
    if arr.ndim != 3:
        raise ValueError(f"{name}: each table must be (G, C), got {arr.shape[1:]}")
    return arr


@functools.lru_cache(maxsize=4)
def _frame_counts(G: int, n_resamples: int, seed: int) -> np.ndarray:
    """``(B, G)``: how often each frame is drawn in each resample (one draw shared by every run).

    Cached (read-only): every cell, decoder and difference of one analysis resamples the same frames."""
    idx = np.random.default_rng(seed).integers(0, G, (n_resamples, G))
    flat = (idx + (np.arange(n_resamples) * G)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_resamples * G).reshape(n_resamples, G).astype(np.float64)
    counts.flags.writeable = False
    return counts


def _replicates(arr: np.ndarray, counts: np.ndarray, metrics, columns) -> tuple[np.ndarray, np.ndarray]:
    """Per-run values ``(n, M)`` on all frames and their frame-bootstrap replicates ``(B, n, M)``."""
    point = from_sums(arr.sum(1), metrics, columns)
    boot = from_sums(np.moveaxis(counts @ arr, 0, 1), metrics, columns)  # (n, B, C) -> (B, n, C)
    return point, boot


def _shared_cov(x: np.ndarray, y: np.ndarray, same: bool) -> np.ndarray:
    """Mean frame covariance ``(M,)`` between the runs of ``x`` ``(B, n, M)`` and ``y`` ``(B, m, M)``,
    leaving out each run's covariance with itself when ``same`` (what a run's own noise contributes)."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    cov = np.einsum("bim,bjm->ijm", xc, yc) / (len(x) - 1)  # (n, m, M)
    if not same:
        return cov.mean((0, 1))
    n = x.shape[1]
    return (cov.sum((0, 1)) - np.einsum("iim->m", cov)) / (n * (n - 1))


def _interval(value, seeds_var, frame_var, df_terms, confidence, frames_only) -> tuple[float, ...]:
    """``(low, high, df, se_seeds, se_frames)`` of a t interval; df from the seed terms only (Welch)."""
    se2 = seeds_var + frame_var
    df = math.inf if frames_only or df_terms <= 0 else seeds_var**2 / df_terms
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    q = z if math.isinf(df) else float(stats.t.ppf(0.5 + confidence / 2, df))
    if frames_only:
        half = z * math.sqrt(max(se2, 0.0))
    else:  # each part at its own quantile: t for the estimated seed variance, z for the frame part
        half = math.hypot(q * math.sqrt(max(seeds_var, 0.0)), z * math.sqrt(max(frame_var, 0.0)))
    return value - half, value + half, df, math.sqrt(max(seeds_var, 0.0)), math.sqrt(max(frame_var, 0.0))


def _combine(parts, metrics, confidence, frames_only) -> dict[str, Estimate]:
    """``sum_k sign_k * mean over the runs of part k``, per metric, with its two-level interval.

    ``parts``: ``[(sign, point (n_k, M), boot (B, n_k, M))]``. See :func:`cell_estimates`.
    """
    ns = [len(p) for _, p, _ in parts]
    only_frames = frames_only or min(ns) < 2
    value = sum(s * p.mean(0) for s, p, _ in parts)
    var = [p.var(0, ddof=1) / len(p) if len(p) > 1 else np.zeros(p.shape[1]) for _, p, _ in parts]
    if only_frames:  # the whole frame variance of the estimate, nothing from the seeds
        total = sum(s * b.mean(1) for s, _, b in parts)  # (B, M)
        frame_var, seeds_var, df_terms = total.var(0, ddof=1), np.zeros_like(value), np.zeros_like(value)
    else:  # only the frame variance the runs share: each run's own is already in the seed spread
        frame_var = sum(
            si * sj * _shared_cov(bi, bj, same=i == j)
            for i, (si, _, bi) in enumerate(parts)
            for j, (sj, _, bj) in enumerate(parts)
        )
        frame_var = np.maximum(frame_var, 0.0)
        seeds_var = sum(var)
        df_terms = sum(v**2 / (n - 1) for v, n in zip(var, ns, strict=True))
    out = {}
    for j, m in enumerate(metrics):
        low, high, df, se_s, se_f = _interval(
            float(value[j]), float(seeds_var[j]), float(frame_var[j]), float(df_terms[j]), confidence,
            only_frames,
        )  # fmt: skip
        out[m] = Estimate(
            float(value[j]), low, high,
            seeds=tuple(float(x) for x in parts[0][1][:, j]),
            seeds_b=tuple(float(x) for x in parts[1][1][:, j]) if len(parts) > 1 else (),
            n_seeds=ns[0] if len(ns) == 1 else (ns[0], ns[1]),
            df=df, se_seeds=se_s, se_frames=se_f, training_variance=not only_frames,
        )  # fmt: skip
    return out


def cell_estimates(
    tables: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    frames_only: bool = False,
) -> dict[str, Estimate]:
    """One cell (the runs of one model and encoding, one per seed): mean over seeds, two-level interval.

    Args:
        tables: one ``(G, C)`` :func:`frame_sums` table per run, all on the SAME sorted frame groups
            (row ``g`` is the same test frame in every run).
        metrics: metric names; ``columns``: the tables' column names (default: those of
            ``ALL_METRIC_NAMES``, as ``frame_sums.npz`` stores them).
        frames_only: ignore the seed level (the frame-only interval, for comparison).

    Method: the run values ``v_i`` (metric on all frames) have mean ``v``. With ``n >= 2`` seeds,
    ``se^2 = s^2 / n + c``: ``s^2`` the between-seed variance (it already holds each run's own frame
    noise) and ``c`` the frame variance the runs share, the mean frame-bootstrap covariance of two
    different runs (frames resampled once for all runs); the interval is
    ``v +- sqrt((t(n - 1) s / sqrt(n))^2 + (z sqrt(c))^2)``: each part at its own quantile. In
    simulation (2 seeds, shared frame variance 1/7 of the seed part) one t quantile with Satterthwaite's
    df covered 87%, one t(n - 1) quantile for both parts 100%; this covers 95%. With one seed (or
    ``frames_only``): ``v +- z sd``, ``sd`` the frame-bootstrap standard deviation of ``v``, and
    ``training_variance=False``.

    Example:
        >>> t = [np.array([[1.0, 1.0, v]] * 4) for v in (1.0, 2.0, 3.0)]  # 3 seeds, 4 frames each
        >>> e = cell_estimates(t, ["mean_error"], ["n", "sq_error", "error"])["mean_error"]
        >>> e.value, e.seeds, e.n_seeds, round(e.high - e.value, 3)  # t(2) * 1 / sqrt(3)
        (2.0, (1.0, 2.0, 3.0), 3, 2.484)
    """
    arr = _stack(tables, "tables")
    columns = frame_sum_columns(ALL_METRIC_NAMES) if columns is None else columns
    counts = _frame_counts(arr.shape[1], n_resamples, seed)
    point, boot = _replicates(arr, counts, metrics, columns)
    return _combine([(1, point, boot)], metrics, confidence, frames_only)


def cell_difference_estimates(
    tables_a: Sequence[np.ndarray],
    tables_b: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    frames_only: bool = False,
) -> dict[str, Estimate]:
    """``mean(a) - mean(b)`` of two cells (claim 2: between trainings), paired on the test frames.

    As :func:`cell_estimates`, with the seed part ``s_a^2 / n_a + s_b^2 / n_b`` at Welch's
    ``df = (sum s_k^2/n_k)^2 / sum((s_k^2/n_k)^2 / (n_k - 1))`` and ``c`` the shared frame variance of the
    difference (the same resampled frames enter every run of both cells, so what the two cells share
    cancels). A cell with one seed makes it the frame-only interval, ``training_variance=False``.
    """
    a, b = _stack(tables_a, "tables_a"), _stack(tables_b, "tables_b")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"the cells' tables differ in shape: {a.shape[1:]} and {b.shape[1:]}")
    columns = frame_sum_columns(ALL_METRIC_NAMES) if columns is None else columns
    counts = _frame_counts(a.shape[1], n_resamples, seed)
    pa, ba = _replicates(a, counts, metrics, columns)
    pb, bb = _replicates(b, counts, metrics, columns)
    return _combine([(1, pa, ba), (-1, pb, bb)], metrics, confidence, frames_only)


def within_run_difference_estimates(
    tables_a: Sequence[np.ndarray],
    tables_b: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    frames_only: bool = False,
) -> dict[str, Estimate]:
    """``metric(a) - metric(b)`` within each run (claim 1: two decoders on the same heatmaps), combined
    over the seeds as one cell of per-run differences (:func:`cell_estimates`; df = n - 1 when the
    seeds dominate). ``tables_a[i]`` and ``tables_b[i]`` are the same run."""
    a, b = _stack(tables_a, "tables_a"), _stack(tables_b, "tables_b")
    if a.shape != b.shape:
        raise ValueError(f"within-run differences need the same runs and frames: {a.shape} vs {b.shape}")
    columns = frame_sum_columns(ALL_METRIC_NAMES) if columns is None else columns
    counts = _frame_counts(a.shape[1], n_resamples, seed)
    pa, ba = _replicates(a, counts, metrics, columns)
    pb, bb = _replicates(b, counts, metrics, columns)
    return _combine([(1, pa - pb, ba - bb)], metrics, confidence, frames_only)
