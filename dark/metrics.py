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

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Metric:
    """One metric: its name (the key everywhere), display label, direction and unit.

    ``higher_is_better`` is ``None`` for a signed bias, where neither direction is better (zero is).
    """

    name: str
    label: str
    higher_is_better: bool | None
    unit: str

    @property
    def heading(self) -> str:
        """The label with its unit, for table columns: ``"RMSE (px)"``."""
        return f"{self.label} ({self.unit})"


def _table(*rows: Metric) -> dict[str, Metric]:
    return {m.name: m for m in rows}


#: every metric the package knows: the ONE place for labels, units and directions
ALL_METRICS: dict[str, Metric] = _table(
    Metric("pckh@0.1", "PCKh@0.1", True, "%"),
    Metric("pckh@0.5", "PCKh@0.5", True, "%"),
    Metric("rmse", "RMSE", False, "px"),
    Metric("mean_error", "ME", False, "px"),
    Metric("bias_x", "bias x", None, "px"),
    Metric("bias_y", "bias y", None, "px"),
)

#: the report's metrics, in the order of its tables (the defaults; iterating gives the names)
METRICS: dict[str, Metric] = {k: ALL_METRICS[k] for k in ("pckh@0.1", "pckh@0.5", "rmse", "mean_error")}

#: every metric name, the bias probe included (what ``frame_sums.npz`` is computed with)
ALL_METRIC_NAMES: tuple[str, ...] = tuple(ALL_METRICS)

#: the signed-error metrics (mean of pred - gt per axis, input px)
BIAS_METRICS: tuple[str, ...] = ("bias_x", "bias_y")


def metric(name: str) -> Metric:
    """The :class:`Metric` of ``name``; any ``pckh@<alpha>`` is known even if not in the table.

    >>> metric("rmse").heading, metric("pckh@0.2").label
    ('RMSE (px)', 'PCKh@0.2')
    """
    if name in ALL_METRICS:
        return ALL_METRICS[name]
    if name.startswith("pckh@"):
        float(name[5:])  # raises on a malformed alpha
        return Metric(name, f"PCKh@{name[5:]}", True, "%")
    raise ValueError(f"unknown metric {name!r}: expected one of {ALL_METRIC_NAMES} or 'pckh@<alpha>'")


def higher_is_better(name: str) -> bool:
    """Whether a larger value of ``name`` is better (PCKh) or worse (RMSE, mean error).

    Raises ``ValueError`` for a signed bias, which has no better direction (zero is best).
    """
    m = metric(name)
    if m.higher_is_better is None:
        raise ValueError(f"{name!r} has no better direction: a signed bias is best at zero")
    return m.higher_is_better


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


def bias(pred, gt, visible) -> np.ndarray:
    """Signed mean error ``mean(pred - gt)`` over visible joints, x and y: ``-> (2,)`` input px (NaN if none).

    >>> bias(np.ones((2, 1, 2)), np.zeros((2, 1, 2)), np.ones((2, 1), bool)).tolist()
    [1.0, 1.0]
    """
    pred, gt, visible, _ = _check(pred, gt, visible)
    d = (pred - gt)[visible]  # (V, 2)
    return d.mean(0) if len(d) else np.full(2, np.nan)


def median_bias(pred, gt, visible) -> np.ndarray:
    """Signed median error per axis over visible joints: ``-> (2,)`` input px (robust to outliers)."""
    pred, gt, visible, _ = _check(pred, gt, visible)
    d = (pred - gt)[visible]
    return np.median(d, axis=0) if len(d) else np.full(2, np.nan)


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
    return [float(metric(m).name[5:]) for m in metrics if metric(m).name.startswith("pckh@")]


def frame_sum_columns(metrics: Sequence[str] = METRICS) -> list[str]:
    """The column names of :func:`frame_sums` for ``metrics``.

    Always ``n`` (visible joints), ``sq_error`` (sum of squared errors), ``error`` (sum of errors); then
    ``dx``, ``dy`` (sums of signed errors pred - gt) if a bias metric is asked for; then
    ``correct@<alpha>`` for each ``pckh@<alpha>``, in order.

    >>> frame_sum_columns(["rmse", "pckh@0.5"]), frame_sum_columns(ALL_METRIC_NAMES)[3:]
    (['n', 'sq_error', 'error', 'correct@0.5'], ['dx', 'dy', 'correct@0.1', 'correct@0.5'])
    """
    cols = ["n", "sq_error", "error"]
    if any(metric(m).name in BIAS_METRICS for m in metrics):
        cols += ["dx", "dy"]
    return cols + [f"correct@{a:g}" for a in _metric_alphas(metrics)]


def frame_sums(pred, gt, visible, head_size, metrics: Sequence[str] = METRICS, groups=None) -> np.ndarray:
    """Per-frame sums every metric is a ratio of: ``-> (F, C)`` float64, F frames (or groups).

    Columns as :func:`frame_sum_columns` names them (``n``, ``sq_error``, ``error``, ``dx``/``dy`` when
    a bias metric is asked for, then ``correct@<alpha>`` per PCKh). ``groups`` ``(N,)`` (any hashable
    labels) merges the samples of a group into one bootstrap unit (sorted by label); default: one unit
    per sample.
    """
    pred, gt, visible, head_size = _check(pred, gt, visible, head_size)
    e = joint_errors(pred, gt)
    cols = [visible.sum(1), np.where(visible, e**2, 0).sum(1), np.where(visible, e, 0).sum(1)]
    if "dx" in frame_sum_columns(metrics):
        d = np.where(visible[..., None], pred - gt, 0).sum(1)  # (N, 2)
        cols += [d[:, 0], d[:, 1]]
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


def from_sums(sums: np.ndarray, metrics: Sequence[str], columns: Sequence[str] | None = None) -> np.ndarray:
    """``(..., C) -> (..., M)``: metric values from (summed) frame-sum columns.

    ``columns``: the names of the last axis (``frame_sums.npz`` stores them); default
    :func:`frame_sum_columns` of ``metrics``.

    >>> from_sums(np.array([4.0, 16.0, 6.0, 2.0, -2.0]), ["rmse", "mean_error", "bias_x", "bias_y"],
    ...           ["n", "sq_error", "error", "dx", "dy"]).tolist()
    [2.0, 1.5, 0.5, -0.5]
    """
    pos = {c: i for i, c in enumerate(frame_sum_columns(metrics) if columns is None else columns)}
    sums = np.asarray(sums, dtype=np.float64)
    n = sums[..., pos["n"]]
    source = {"rmse": "sq_error", "mean_error": "error", "bias_x": "dx", "bias_y": "dy"}
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in metrics:
            name = metric(m).name
            col = source.get(name) or f"correct@{float(name[5:]):g}"
            if col not in pos:
                raise ValueError(f"metric {name!r} needs column {col!r}, not among {list(pos)}")
            v = sums[..., pos[col]] / n
            out.append(np.sqrt(v) if name == "rmse" else (100.0 * v if name.startswith("pckh@") else v))
    return np.stack(out, axis=-1)


def _metrics_from_sums(sums: np.ndarray, metrics: Sequence[str]) -> np.ndarray:
    return from_sums(sums, metrics)


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


# ---------------------------------------------------------------------------------------------------------
# two-level intervals: seeds (trainings) x test frames

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


def cell_estimate(tables, metric: str, columns=None, **kwargs) -> Estimate:
    """:func:`cell_estimates` for one metric."""
    return cell_estimates(tables, [metric], columns, **kwargs)[metric]


def cell_difference(tables_a, tables_b, metric: str, columns=None, **kwargs) -> Estimate:
    """:func:`cell_difference_estimates` for one metric."""
    return cell_difference_estimates(tables_a, tables_b, [metric], columns, **kwargs)[metric]


def within_run_difference(tables_a, tables_b, metric: str, columns=None, **kwargs) -> Estimate:
    """:func:`within_run_difference_estimates` for one metric."""
    return within_run_difference_estimates(tables_a, tables_b, [metric], columns, **kwargs)[metric]
