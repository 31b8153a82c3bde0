"""The metric table: every metric's name, label, unit, direction, and how it is computed.

Every metric is a ratio of two sums over counted elements (visible joints, or visible joints and axes),
finished by a function: ``value = finish(sum(numerator terms) / sum(denominator terms))``. A :class:`Sum`
says what is summed per element and which elements count; from that one description come the direct
values (:func:`dark.metrics.score`), the per-frame sums the bootstrap resamples
(:func:`dark.metrics.frame_sums`, :func:`dark.metrics.from_sums`), the per-joint values
(:func:`dark.metrics.per_joint`) and the per-epoch validation scores (:func:`dark.metrics.decoder_scores`).

Adding a metric is one :class:`Metric` entry in :data:`ALL_METRICS` (or one family in :data:`FAMILIES`
for a parametrised name like ``pckh@<alpha>``) plus the function of its terms. The report's per-axis
PCKh (``pckh_axis@<alpha>``, :mod:`dark.metrics.axis`) is such an entry over (joint, axis) elements; it
reads the extra input ``pred_visible`` (the report's heatmap visibility of the decoder's coordinates;
absent, the ground truth's masks are taken, i.e. no visibility failures) and ignores ``visible``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dark.metrics.axis import axis_elements, axis_mask, fov_mask
from dark.metrics.frames import Frames


def _visible(f: Frames) -> np.ndarray:
    return f.visible


@dataclass(frozen=True)
class Sum:
    """One per-frame sum (a column of :func:`dark.metrics.frame_sums`): ``terms`` summed where ``mask``.

    ``terms(frames)``: ``(N, K, ...)`` one value per element (a joint; or a joint and an axis);
    ``mask(frames)``: ``(N, K, ...)`` bool, the counted elements (default: the visible joints ``(N, K)``),
    the leading axes of ``terms``; ``component``: for ``terms`` with a vector per counted element (the
    signed error ``(N, K, 2)`` under an ``(N, K)`` mask), the entry of that vector this sum keeps.
    """

    name: str
    terms: Callable[[Frames], np.ndarray] = field(compare=False)
    mask: Callable[[Frames], np.ndarray] = field(default=_visible, compare=False)
    component: int | None = None

    def _masked(self, f: Frames) -> np.ndarray:
        t, m = self.terms(f), self.mask(f)
        return np.where(m.reshape(m.shape + (1,) * (t.ndim - m.ndim)), t, 0)

    def _finish_axes(self, a: np.ndarray, lead: int) -> np.ndarray:
        if self.component is not None:
            a = a[..., self.component]
        return a.reshape(lead, -1).sum(1) if a.ndim > 1 else a

    def per_frame(self, f: Frames) -> np.ndarray:
        """``(N,)`` the sum over each frame's counted elements."""
        return self._finish_axes(self._masked(f).sum(1), len(f))

    def per_joint(self, f: Frames) -> np.ndarray:
        """``(K,)`` the sum over each joint's counted elements (all frames)."""
        a = self._masked(f).sum(0)
        return self._finish_axes(a, len(a))

    def total(self, f: Frames) -> float:
        """The sum over every counted element of every frame (summed in the order the elements come)."""
        v = self.terms(f)[self.mask(f)]  # (V, ...)
        return v.sum(0)[self.component].sum() if self.component is not None else v.sum()


#: visible joints: the denominator of every metric of joints
VISIBLE = Sum("n", _visible)


def _identity(ratio: np.ndarray) -> np.ndarray:
    return ratio


def _root(ratio: np.ndarray) -> np.ndarray:
    return np.sqrt(ratio)


def _percent(ratio: np.ndarray) -> np.ndarray:
    return 100.0 * ratio


@dataclass(frozen=True)
class Metric:
    """One metric: its name (the key everywhere), display label, direction, unit, and computation.

    ``higher_is_better`` is ``None`` for a signed bias, where neither direction is better (zero is).
    The value is ``finish(numerator / denominator)``, both :class:`Sum` s over the same frames (NaN when
    nothing is counted). ``per_epoch``: scored on the validation split after every epoch
    (``metrics.jsonl``'s ``val_decoders``).
    """

    name: str
    label: str
    higher_is_better: bool | None
    unit: str
    numerator: Sum
    denominator: Sum = VISIBLE
    finish: Callable[[np.ndarray], np.ndarray] = field(default=_identity, compare=False)
    per_epoch: bool = True

    @property
    def heading(self) -> str:
        """The label with its unit, for table columns: ``"RMSE (px)"``."""
        return f"{self.label} ({self.unit})"

    @property
    def sums(self) -> tuple[Sum, Sum]:
        """``(numerator, denominator)``."""
        return self.numerator, self.denominator


# the per-element terms (input px): what the sums of the table add up
SQ_ERROR = Sum("sq_error", lambda f: f.errors**2)  #: squared Euclidean errors, px^2
ERROR = Sum("error", lambda f: f.errors)  #: Euclidean errors, px
DX = Sum("dx", lambda f: f.signed, component=0)  #: signed errors pred - gt along x, px
DY = Sum("dy", lambda f: f.signed, component=1)  #: signed errors pred - gt along y, px


def correct(alpha: float) -> Sum:
    """Joints with error ``<= alpha * head_size`` (a joint exactly on the threshold counts)."""
    return Sum(f"correct@{alpha:g}", lambda f: f.errors <= alpha * f.head()[:, None])


def pckh_metric(param: str) -> Metric:
    """``pckh@<param>``: percent of visible joints within ``alpha * head_size``, ``alpha = float(param)``."""
    return Metric(f"pckh@{param}", f"PCKh@{param}", True, "%", correct(float(param)), finish=_percent)


def _axis_masks(f: Frames) -> tuple[np.ndarray, np.ndarray]:
    """``(gt, pred)`` per-axis masks ``(N, K, 2)``: extra ``gt_axis_visible`` (default the report's field of
    view of ``gt``, :func:`dark.metrics.fov_mask`) and ``pred_visible`` ``(N, K)`` or ``(N, K, 2)`` (default:
    the ground truth's, i.e. no visibility failures)."""
    shape = f.gt.shape
    given = f.extra.get("gt_axis_visible")
    gm = fov_mask(f.gt) if given is None else axis_mask(given, shape, "gt_axis_visible")
    pred = f.extra.get("pred_visible")
    return gm, gm if pred is None else axis_mask(pred, shape, "pred_visible")


def _compared(f: Frames) -> np.ndarray:
    gm, pm = _axis_masks(f)
    return gm | pm


#: the (joint, axis) elements the report's per-axis PCKh compares (either mask set): its denominator
AXES_COMPARED = Sum("n_axis", lambda f: np.ones(f.gt.shape), mask=_compared)


def correct_axis(alpha: float) -> Sum:
    """Elements ``|gt - pred| / |gt[neck] - gt[head]| < alpha`` along their axis whose masks agree
    (moai's ``_calculate_pck``, :mod:`dark.metrics.axis`)."""

    def terms(f: Frames) -> np.ndarray:
        return axis_elements(f.pred, f.gt, alpha, *_axis_masks(f))[0]

    return Sum(f"correct_axis@{alpha:g}", terms, mask=_compared)


def pckh_axis_metric(param: str) -> Metric:
    """``pckh_axis@<param>``: the report's per-axis PCKh in percent (:func:`dark.metrics.pckh_per_axis`
    pooled over all frames; extra inputs ``pred_visible``, optionally ``gt_axis_visible``)."""
    return Metric(
        f"pckh_axis@{param}", f"per-axis PCKh@{param}", True, "%", correct_axis(float(param)), AXES_COMPARED,
        finish=_percent,
    )  # fmt: skip


#: parametrised metrics: ``"<family>@<param>"`` -> its :class:`Metric`, for any parameter
FAMILIES: dict[str, Callable[[str], Metric]] = {"pckh": pckh_metric, "pckh_axis": pckh_axis_metric}


def _table(*rows: Metric) -> dict[str, Metric]:
    return {m.name: m for m in rows}


#: every metric the package knows: the ONE place for labels, units, directions and computations
ALL_METRICS: dict[str, Metric] = _table(
    pckh_metric("0.1"),
    pckh_metric("0.5"),
    Metric("rmse", "RMSE", False, "px", SQ_ERROR, finish=_root),
    Metric("mean_error", "ME", False, "px", ERROR, per_epoch=False),
    Metric("bias_x", "bias x", None, "px", DX),
    Metric("bias_y", "bias y", None, "px", DY),
    pckh_axis_metric("0.1"),
    pckh_axis_metric("0.5"),
)

#: the report's metrics, in the order of its tables (the defaults; iterating gives the names)
METRICS: dict[str, Metric] = {k: ALL_METRICS[k] for k in ("pckh@0.1", "pckh@0.5", "rmse", "mean_error")}

#: every metric name, the bias probe included (what ``frame_sums.npz`` is computed with)
ALL_METRIC_NAMES: tuple[str, ...] = tuple(ALL_METRICS)

#: the signed-error metrics (mean of pred - gt per axis, input px): no better direction
BIAS_METRICS: tuple[str, ...] = tuple(m.name for m in ALL_METRICS.values() if m.higher_is_better is None)

#: the metrics scored on the validation split after every epoch, every decoder
PER_EPOCH_METRICS: tuple[str, ...] = tuple(m.name for m in ALL_METRICS.values() if m.per_epoch)


def metric(name: str) -> Metric:
    """The :class:`Metric` of ``name``; any ``<family>@<param>`` of :data:`FAMILIES` (``pckh@0.2``) too.

    >>> metric("rmse").heading, metric("pckh@0.2").label
    ('RMSE (px)', 'PCKh@0.2')
    """
    if name in ALL_METRICS:
        return ALL_METRICS[name]
    family, at, param = name.partition("@")
    if at and family in FAMILIES:
        return FAMILIES[family](param)  # raises on a malformed parameter
    families = [f"{f}@<param>" for f in FAMILIES]
    raise ValueError(f"unknown metric {name!r}: expected one of {ALL_METRIC_NAMES} or {families}")


def higher_is_better(name: str) -> bool:
    """Whether a larger value of ``name`` is better (PCKh) or worse (RMSE, mean error).

    Raises ``ValueError`` for a signed bias, which has no better direction (zero is best).
    """
    m = metric(name)
    if m.higher_is_better is None:
        raise ValueError(f"{name!r} has no better direction: a signed bias is best at zero")
    return m.higher_is_better
