"""Two-level intervals: a cell's mean over seeds (trainings) with the test-set noise the runs share.

:data:`INTERVALS` states the method for the book; :func:`cell_estimates` has the maths,
:func:`paired_difference_estimates` the pairing by seed, :func:`mde` the minimum detectable effect.
Inputs are ``(G, C)`` :func:`~dark.metrics.frame_sums` tables, one per run, on the same sorted frame
groups, and optionally the ``(G,)`` cluster of each frame group (the bootstrap then resamples clusters).
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
    "degrees of freedom for one cell), combined in quadrature with the normal quantile times the "
    "test-frame standard error that all runs share. The runs are scored on the same test frames, so the "
    "seed-to-seed spread cannot show that part; a bootstrap that resamples the test set once for every "
    "run measures it (each run's own frame noise is already in the seed spread). The bootstrap resamples "
    "clusters, not frames: a cluster is one test clip (all its frames, views and placements: the "
    "placements of a clip replay one motion), and a drawn clip brings all its frames (a block "
    "bootstrap), because the frames of a clip are not independent; runs evaluated before the test "
    "split had clusters resample frames (each multi-view frame with its views), and say so. A "
    "difference of two decoders is taken "
    "within each run first. A difference of two cells trained with the same seeds (same initial weights "
    "and batch order, only the targets differ) is paired by seed: the per-seed differences form one cell "
    "(t with n - 1 degrees of freedom) plus the test-set part they share; cells without common seeds use "
    "Welch's degrees of freedom. With 2 to 5 seeds a bootstrap over seeds would under-cover badly (3 "
    "seeds give 10 distinct resampled means); the t interval is honest at those sizes, and wide, as it "
    "should be (the t quantile is 12.7 at 2 seeds, 4.3 at 3). Simulations in the test suite with a known "
    "truth (training variance several times the frame noise; clustered frame effects; seeds correlated "
    "across cells) require each interval to cover the truth within three binomial standard deviations of "
    "95%, and show what ignoring the seeds, the clusters or the pairing does (lower coverage, or wider "
    "intervals). The minimum detectable effect of a comparison is the true effect its interval would "
    "exclude zero for with 80% probability: the interval's quantile plus the 80% quantile, times each "
    "part of the standard error. With one seed per cell the interval covers the test set only and is "
    "marked: it says nothing about another training."
)


@dataclass(frozen=True)
class Estimate(Interval):
    """A cell's (or a difference's) mean over seeds with its two-level interval.

    ``seeds``: the per-run values (for a difference of cells: the per-run values of cell ``a``, and
    ``seeds_b`` those of ``b``); ``n_seeds``: runs per cell (``(n_a, n_b)`` for a difference);
    ``df``: the t interval's degrees of freedom (``inf``: frames only); ``se_seeds``/``se_frames``: the
    two parts of the standard error; ``training_variance``: False when some cell had one seed, so the
    interval covers the test frames only; ``paired``: the seed part is the spread of per-seed (or per-run)
    differences (t with n - 1 df), not Welch's two spreads; ``df_frames``: the degrees of freedom of the
    frame part (``inf`` when frames were resampled; the clusters' effective number less one when
    clusters were).
    """

    seeds: tuple[float, ...] = ()
    seeds_b: tuple[float, ...] = ()
    n_seeds: int | tuple[int, int] = 0
    df: float = math.inf
    se_seeds: float = 0.0
    se_frames: float = 0.0
    training_variance: bool = False
    paired: bool = False
    df_frames: float = math.inf

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
    """``(B, G)``: how often each frame (or cluster) is drawn in each resample (one draw shared by every
    run).

    Cached (read-only): every cell, decoder and difference of one analysis resamples the same frames."""
    idx = np.random.default_rng(seed).integers(0, G, (n_resamples, G))
    flat = (idx + (np.arange(n_resamples) * G)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_resamples * G).reshape(n_resamples, G).astype(np.float64)
    counts.flags.writeable = False
    return counts


def _members(clusters, G: int) -> np.ndarray | None:
    """``(K, G)`` 0/1 matrix: which of the ``G`` frame groups each of the ``K`` clusters holds (sorted
    labels), or ``None`` without clusters (every frame group is its own resampling unit)."""
    if clusters is None:
        return None
    c = np.asarray(clusters)
    if c.shape != (G,):
        raise ValueError(f"clusters must label each of the {G} frame groups, got shape {c.shape}")
    labels, inverse = np.unique(c, return_inverse=True)
    return (inverse[None, :] == np.arange(len(labels))[:, None]).astype(np.float64)


class _Resampler:
    """The shared resampling of one call: frame groups, or whole clusters (block bootstrap).

    With ``K`` clusters, the bootstrap variance is scaled by ``K / (K - 1)`` (a bootstrap of ``K`` units
    underestimates the variance of their mean by that factor) and the frame part of an interval takes
    the t quantile with ``K_eff - 1`` degrees of freedom, ``K_eff = (sum_c n_c)^2 / sum_c n_c^2`` the
    effective number of clusters (Kish; ``n_c`` frame groups in cluster ``c``): with uneven clusters the
    variance is estimated from few of them, and a normal quantile under-covers (the coverage test)."""

    def __init__(self, G: int, clusters, n_resamples: int, seed: int) -> None:
        self.members = _members(clusters, G)
        units = G if self.members is None else len(self.members)
        if self.members is None:
            self.inflation, self.df_frames = 1.0, math.inf
        elif units < 2:
            raise ValueError("a cluster bootstrap needs at least 2 clusters")
        else:
            n_c = self.members.sum(1)
            self.inflation = units / (units - 1)
            self.df_frames = max(float(n_c.sum() ** 2 / (n_c**2).sum()) - 1.0, 1.0)
        self.counts = _frame_counts(units, n_resamples, seed)

    def replicates(self, arr: np.ndarray, metrics, columns) -> tuple[np.ndarray, np.ndarray]:
        """Per-run values ``(n, M)`` on all frames and their bootstrap replicates ``(B, n, M)``.

        With clusters, a resample draws clusters with replacement and a drawn cluster brings the sums of
        all its frame groups (the rows are summed per cluster first: the metrics are ratios of sums)."""
        point = from_sums(arr.sum(1), metrics, columns)
        units = arr if self.members is None else self.members @ arr  # (n, G or K, C)
        boot = from_sums(np.moveaxis(self.counts @ units, 0, 1), metrics, columns)  # (n, B, C) -> (B, n, C)
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


def _interval(value, seeds_var, frame_var, df_terms, confidence, frames_only, df_frames) -> tuple[float, ...]:
    """``(low, high, df, se_seeds, se_frames)`` of a t interval; df from the seed terms only (Welch); the
    frame part at the normal quantile, or t with ``df_frames`` (clusters)."""
    se2 = seeds_var + frame_var
    df = math.inf if frames_only or df_terms <= 0 else seeds_var**2 / df_terms
    z = _quantile(0.5 + confidence / 2, df_frames)
    q = _quantile(0.5 + confidence / 2, df)
    if frames_only:
        half = z * math.sqrt(max(se2, 0.0))
    else:  # each part at its own quantile: t for the estimated seed variance, z (or t) for the frame part
        half = math.hypot(q * math.sqrt(max(seeds_var, 0.0)), z * math.sqrt(max(frame_var, 0.0)))
    return value - half, value + half, df, math.sqrt(max(seeds_var, 0.0)), math.sqrt(max(frame_var, 0.0))


def _quantile(p: float, df: float) -> float:
    """The ``p`` quantile of t with ``df`` degrees of freedom (normal where ``df`` is infinite)."""
    return float(stats.norm.ppf(p)) if math.isinf(df) else float(stats.t.ppf(p, df))


def _combine(
    parts, metrics, confidence, frames_only, design, paired=False, shown=None
) -> dict[str, Estimate]:
    """``sum_k sign_k * mean over the runs of part k``, per metric, with its two-level interval.

    ``parts``: ``[(sign, point (n_k, M), boot (B, n_k, M))]``. See :func:`cell_estimates`. ``shown``:
    the per-run values the estimates carry as ``seeds``/``seeds_b`` (default those of the parts);
    ``paired`` is stored on them; ``design``: the :class:`_Resampler` (variance scale, frame df).
    """
    ns = [len(p) for _, p, _ in parts]
    shown = [p for _, p, _ in parts] if shown is None else shown
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
    if design.members is not None:
        frame_var = frame_var * design.inflation
    out = {}
    for j, m in enumerate(metrics):
        low, high, df, se_s, se_f = _interval(
            float(value[j]), float(seeds_var[j]), float(frame_var[j]), float(df_terms[j]), confidence,
            only_frames, design.df_frames,
        )  # fmt: skip
        out[m] = Estimate(
            float(value[j]), low, high,
            seeds=tuple(float(x) for x in shown[0][:, j]),
            seeds_b=tuple(float(x) for x in shown[1][:, j]) if len(shown) > 1 else (),
            n_seeds=len(shown[0]) if len(shown) == 1 else (len(shown[0]), len(shown[1])),
            df=df, se_seeds=se_s, se_frames=se_f, training_variance=not only_frames,
            paired=paired and not only_frames, df_frames=design.df_frames,
        )  # fmt: skip
    return out


def cell_estimates(
    tables: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    clusters=None,
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
        clusters: ``(G,)`` the cluster of each frame group (``frame_sums.npz``'s ``clusters``: a placement
            of a test clip); the bootstrap then resamples whole clusters (block bootstrap). ``None``
            (records without clusters): frame groups are resampled independently.
        frames_only: ignore the seed level (the frame-only interval, for comparison).

    Method: the run values ``v_i`` (metric on all frames) have mean ``v``. With ``n >= 2`` seeds,
    ``se^2 = s^2 / n + c``: ``s^2`` the between-seed variance (it already holds each run's own frame
    noise) and ``c`` the frame variance the runs share, the mean bootstrap covariance of two different
    runs (frames, or clusters, resampled once for all runs); the interval is
    ``v +- sqrt((t(n - 1) s / sqrt(n))^2 + (z sqrt(c))^2)``: each part at its own quantile. In
    simulation (2 seeds, shared frame variance 1/7 of the seed part) one t quantile with Satterthwaite's
    df covered 87%, one t(n - 1) quantile for both parts 100%; this covers 95%. With one seed (or
    ``frames_only``): ``v +- z sd``, ``sd`` the bootstrap standard deviation of ``v``, and
    ``training_variance=False``.

    Example:
        >>> t = [np.array([[1.0, 1.0, v]] * 4) for v in (1.0, 2.0, 3.0)]  # 3 seeds, 4 frames each
        >>> e = cell_estimates(t, ["mean_error"], ["n", "sq_error", "error"])["mean_error"]
        >>> e.value, e.seeds, e.n_seeds, round(e.high - e.value, 3)  # t(2) * 1 / sqrt(3)
        (2.0, (1.0, 2.0, 3.0), 3, 2.484)
    """
    arr = _stack(tables, "tables")
    columns = frame_sum_columns(ALL_METRIC_NAMES) if columns is None else columns
    resampler = _Resampler(arr.shape[1], clusters, n_resamples, seed)
    point, boot = resampler.replicates(arr, metrics, columns)
    return _combine([(1, point, boot)], metrics, confidence, frames_only, resampler)


def _pair_order(seeds_a, seeds_b) -> list[int] | None:
    """Indices that put cell ``b``'s runs in the order of ``a``'s seeds when both cells hold the same
    (distinct) seeds, else ``None`` (no pairing)."""
    if seeds_a is None or seeds_b is None:
        return None
    a, b = [int(x) for x in seeds_a], [int(x) for x in seeds_b]
    if len(set(a)) != len(a) or sorted(a) != sorted(b):
        return None
    return [b.index(x) for x in a]


def cell_difference_estimates(
    tables_a: Sequence[np.ndarray],
    tables_b: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    seeds_a: Sequence[int] | None = None,
    seeds_b: Sequence[int] | None = None,
    clusters=None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    frames_only: bool = False,
) -> dict[str, Estimate]:
    """``mean(a) - mean(b)`` of two cells (claim 2: between trainings), paired on the test frames.

    When ``seeds_a`` and ``seeds_b`` (the runs' training seeds, in table order) hold the same seeds, the
    runs are paired by seed (:func:`paired_difference_estimates`). Otherwise, as :func:`cell_estimates`
    with the seed part ``s_a^2 / n_a + s_b^2 / n_b`` at Welch's
    ``df = (sum s_k^2/n_k)^2 / sum((s_k^2/n_k)^2 / (n_k - 1))`` and ``c`` the shared frame variance of the
    difference (the same resampled frames enter every run of both cells, so what the two cells share
    cancels). A cell with one seed makes it the frame-only interval, ``training_variance=False``.
    """
    a, b = _stack(tables_a, "tables_a"), _stack(tables_b, "tables_b")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"the cells' tables differ in shape: {a.shape[1:]} and {b.shape[1:]}")
    kw = {"clusters": clusters, "confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    order = _pair_order(seeds_a, seeds_b)
    if order is not None and len(order) == len(a) == len(b):
        return paired_difference_estimates(a, b[order], metrics, columns, frames_only=frames_only, **kw)
    columns = frame_sum_columns(ALL_METRIC_NAMES) if columns is None else columns
    resampler = _Resampler(a.shape[1], clusters, n_resamples, seed)
    pa, ba = resampler.replicates(a, metrics, columns)
    pb, bb = resampler.replicates(b, metrics, columns)
    return _combine([(1, pa, ba), (-1, pb, bb)], metrics, confidence, frames_only, resampler)


def _differences(tables_a, tables_b, metrics, columns, clusters, n_resamples, seed):
    """Per-run values of ``a`` and ``b`` and the per-run differences with their bootstrap replicates."""
    a, b = _stack(tables_a, "tables_a"), _stack(tables_b, "tables_b")
    if a.shape != b.shape:
        raise ValueError(f"paired differences need matched runs on the same frames: {a.shape} vs {b.shape}")
    columns = frame_sum_columns(ALL_METRIC_NAMES) if columns is None else columns
    resampler = _Resampler(a.shape[1], clusters, n_resamples, seed)
    pa, ba = resampler.replicates(a, metrics, columns)
    pb, bb = resampler.replicates(b, metrics, columns)
    return pa, pb, (1, pa - pb, ba - bb), resampler


def paired_difference_estimates(
    tables_a: Sequence[np.ndarray],
    tables_b: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    clusters=None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    frames_only: bool = False,
) -> dict[str, Estimate]:
    """``mean(a) - mean(b)`` of two cells trained with the same seeds, paired by seed (claim 2).

    ``tables_a[i]`` and ``tables_b[i]`` are the runs of seed ``i`` of each cell (they share the initial
    weights and batch order; only the targets differ). The per-seed differences ``d_i = a_i - b_i`` form
    one cell (:func:`cell_estimates`): seed part ``s_d^2 / n`` at t with ``n - 1`` df, plus the frame
    variance the per-seed differences share. What the two runs of one seed have in common cancels in
    ``d_i``, so with correlated seeds the interval is narrower than Welch's. ``seeds``/``seeds_b`` of the
    estimates hold the per-seed values of ``a`` and ``b``; ``paired=True``.
    """
    pa, pb, part, design = _differences(tables_a, tables_b, metrics, columns, clusters, n_resamples, seed)
    return _combine([part], metrics, confidence, frames_only, design, paired=True, shown=[pa, pb])


def within_run_difference_estimates(
    tables_a: Sequence[np.ndarray],
    tables_b: Sequence[np.ndarray],
    metrics: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    clusters=None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    frames_only: bool = False,
) -> dict[str, Estimate]:
    """``metric(a) - metric(b)`` within each run (claim 1: two decoders on the same heatmaps), combined
    over the seeds as one cell of per-run differences (:func:`cell_estimates`; df = n - 1 when the
    seeds dominate; ``paired=True``). ``tables_a[i]`` and ``tables_b[i]`` are the same run."""
    _, _, part, design = _differences(tables_a, tables_b, metrics, columns, clusters, n_resamples, seed)
    return _combine([part], metrics, confidence, frames_only, design, paired=True)


def mde(estimate: Estimate, power: float = 0.8, confidence: float = 0.95) -> float:
    """The minimum detectable effect of the design behind ``estimate`` (same units as the metric).

    The true effect whose interval (at ``confidence``) excludes zero with probability ``power``:
    ``(q_{1-a/2} + q_{power}) * se``, each part of the standard error at its own quantile as the interval
    takes them: ``sqrt(((t_{1-a/2,df} + t_{power,df}) se_seeds)^2 + ((z_{1-a/2} + z_{power}) se_frames)^2)``
    (``z`` where ``df`` is infinite, e.g. frames only; the frame part at t with ``df_frames`` when
    clusters were resampled). With one part it is the textbook ``(t_{1-a/2,df} + t_{power,df}) * se``.

    >>> e = Estimate(0.0, -1.96, 1.96, se_frames=1.0)  # frames only (df inf)
    >>> round(mde(e), 3)  # (1.960 + 0.842) * 1
    2.802
    """

    def q(df: float) -> float:
        return _quantile(0.5 + confidence / 2, df) + _quantile(power, df)

    return math.hypot(q(estimate.df) * estimate.se_seeds, q(estimate.df_frames) * estimate.se_frames)
