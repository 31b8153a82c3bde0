"""The per-frame inputs every metric is computed from, checked once: :class:`Frames`.

Shapes and units: ``pred``, ``gt`` ``(N, K, 2)`` joint positions ``(x, y)`` in input pixels (numpy or
torch); ``visible`` ``(N, K)`` bool (only visible joints count); ``head_size`` ``(N,)`` the sample's head
segment (neck to head end, Euclidean, input pixels). A metric that needs more (say a predicted visibility
``pred_visible`` ``(N, K)``) reads it from :attr:`Frames.extra` by name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


def as_numpy(a, dtype=np.float64) -> np.ndarray:
    """``a`` (numpy, torch on any device, or a sequence) as a numpy array of ``dtype`` (None: keep it)."""
    if hasattr(a, "detach"):  # torch tensor, any device
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=dtype)


def joint_errors(pred, gt) -> np.ndarray:
    """Euclidean error per joint in input px: ``(N, K, 2), (N, K, 2) -> (N, K)`` float64."""
    pred, gt = as_numpy(pred), as_numpy(gt)
    if pred.shape != gt.shape or pred.shape[-1:] != (2,):
        raise ValueError(f"pred and gt must both have shape (..., 2), got {pred.shape} and {gt.shape}")
    return np.sqrt(((pred - gt) ** 2).sum(-1))


@dataclass(frozen=True)
class Frames:
    """The inputs of N frames (samples): what a metric's per-element terms are computed from.

    Build it with :meth:`of` (which checks the shapes). ``extra``: further named ``(N, ...)`` inputs a
    metric may need, e.g. ``"pred_visible"`` ``(N, K)`` bool; :meth:`get` reads them.
    """

    pred: np.ndarray  #: (N, K, 2) float64, input px
    gt: np.ndarray  #: (N, K, 2) float64, input px
    visible: np.ndarray  #: (N, K) bool
    head_size: np.ndarray | None = None  #: (N,) float64, input px
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, pred, gt, visible, head_size=None, **extra) -> Frames:
        """Check and convert (numpy or torch) inputs; ``extra`` arrays must have ``N`` rows.

        >>> Frames.of(np.zeros((3, 2, 2)), np.ones((3, 2, 2)), np.ones((3, 2), bool)).errors.shape
        (3, 2)
        """
        pred, gt = as_numpy(pred), as_numpy(gt)
        if pred.ndim != 3 or pred.shape[-1] != 2:
            raise ValueError(f"pred must have shape (N, K, 2), got {pred.shape}")
        if gt.shape != pred.shape:
            raise ValueError(f"gt must have the shape of pred {pred.shape}, got {gt.shape}")
        visible = as_numpy(visible, dtype=bool)
        if visible.shape != pred.shape[:2]:
            raise ValueError(f"visible must have shape (N, K) = {pred.shape[:2]}, got {visible.shape}")
        if head_size is not None:
            head_size = as_numpy(head_size)
            if head_size.shape != pred.shape[:1]:
                raise ValueError(f"head_size must have shape (N,) = {pred.shape[:1]}, got {head_size.shape}")
        extra = {k: as_numpy(v, dtype=None) for k, v in extra.items()}
        for k, v in extra.items():
            if v.shape[:1] != pred.shape[:1]:
                raise ValueError(f"{k} must have N = {len(pred)} rows, got shape {v.shape}")
        return cls(pred, gt, visible, head_size, extra)

    def __len__(self) -> int:
        return len(self.pred)

    @functools.cached_property
    def errors(self) -> np.ndarray:
        """``(N, K)`` Euclidean error per joint, input px (computed once, shared by every metric)."""
        return joint_errors(self.pred, self.gt)

    @functools.cached_property
    def signed(self) -> np.ndarray:
        """``(N, K, 2)`` signed error ``pred - gt`` per joint and axis, input px."""
        return self.pred - self.gt

    def head(self) -> np.ndarray:
        """``(N,)`` the head segment, input px; an error if it was not given."""
        if self.head_size is None:
            raise ValueError("this metric needs head_size (N,)")
        return self.head_size

    def get(self, name: str) -> np.ndarray:
        """The extra input ``name`` (e.g. ``"pred_visible"``); an error naming it if it was not given."""
        if name not in self.extra:
            raise ValueError(f"this metric needs the input {name!r}; given: {sorted(self.extra)}")
        return self.extra[name]
