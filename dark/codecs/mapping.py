"""Input image px <-> heatmap px: the ONE place where the stride (or UDP's scaling) is applied.

Pixel index ``i`` has coordinate ``i`` (its centre) on both grids.

- ``scaling="stride"`` (HRNet, DARK): ``x_hm = x_img / stride``.
- ``scaling="udp"`` (Huang et al. 2020): ``x_hm = x_img (W_hm - 1) / (W_img - 1)`` (likewise for y),
  so that the first and last pixel centres of both grids coincide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["to_heatmap", "to_input"]

_SCALINGS = ("stride", "udp")


def _sizes(
    stride: float, input_size: tuple[int, int] | None, heatmap_size: tuple[int, int] | None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(input (H, W), heatmap (h, w)); one of them may be derived from the other with the stride."""
    if input_size is None and heatmap_size is None:
        raise ValueError("scaling='udp' needs input_size=(H, W) or heatmap_size=(h, w)")
    if input_size is None:
        input_size = (heatmap_size[0] * stride, heatmap_size[1] * stride)
    if heatmap_size is None:
        heatmap_size = (input_size[0] / stride, input_size[1] / stride)
    if min(*input_size, *heatmap_size) <= 1:
        raise ValueError(f"UDP scaling needs sizes > 1, got input {input_size}, heatmap {heatmap_size}")
    return (float(input_size[0]), float(input_size[1])), (float(heatmap_size[0]), float(heatmap_size[1]))


def _scale(
    coords: Any,
    stride: float,
    scaling: str,
    input_size: tuple[int, int] | None,
    heatmap_size: tuple[int, int] | None,
    forward: bool,
) -> Any:
    if scaling not in _SCALINGS:
        raise ValueError(f"scaling must be one of {_SCALINGS}, got {scaling!r}")
    if not stride > 0:
        raise ValueError(f"stride must be > 0, got {stride}")
    if not isinstance(coords, (torch.Tensor, np.ndarray)) or coords.ndim < 1 or coords.shape[-1] != 2:
        shape = getattr(coords, "shape", type(coords).__name__)
        raise ValueError(f"coords must be a tensor or array of shape (..., 2) = (x, y), got {shape}")
    if scaling == "stride":  # x_hm = x_img * num / den, exact for a power-of-two stride
        num, den = (1.0, 1.0), (float(stride), float(stride))
    else:
        (hi, wi), (hh, wh) = _sizes(stride, input_size, heatmap_size)
        num, den = (wh - 1, hh - 1), (wi - 1, hi - 1)
    if not forward:
        num, den = den, num
    if isinstance(coords, torch.Tensor):
        if not coords.is_floating_point():
            coords = coords.float()
        return (
            coords
            * torch.tensor(num, dtype=coords.dtype, device=coords.device)
            / torch.tensor(den, dtype=coords.dtype, device=coords.device)
        )
    coords = coords if coords.dtype.kind == "f" else coords.astype(np.float64)
    return coords * np.array(num, dtype=coords.dtype) / np.array(den, dtype=coords.dtype)


def to_heatmap(
    coords: Any,
    stride: float = 4,
    scaling: str = "stride",
    input_size: tuple[int, int] | None = None,
    heatmap_size: tuple[int, int] | None = None,
) -> Any:
    """Input image px -> heatmap px.

    Args:
        coords: ``(..., 2)`` ``(x, y)`` in input image px (torch or numpy, float).
        stride: input px per heatmap px (``scaling="stride"``; also derives a missing size for UDP).
        scaling: ``"stride"`` or ``"udp"``.
        input_size: ``(H, W)`` of the input image (UDP only).
        heatmap_size: ``(h, w)`` of the heatmap (UDP only).

    Returns:
        ``(..., 2)`` in heatmap px, same library, device and dtype.

    Example:
        >>> import numpy as np
        >>> to_heatmap(np.array([[10.0, 6.0]]), stride=4)
        array([[2.5, 1.5]])
        >>> to_heatmap(np.array([[319.0, 159.0]]), scaling="udp", input_size=(160, 320))
        array([[79., 39.]])
    """
    return _scale(coords, stride, scaling, input_size, heatmap_size, forward=True)


def to_input(
    coords: Any,
    stride: float = 4,
    scaling: str = "stride",
    input_size: tuple[int, int] | None = None,
    heatmap_size: tuple[int, int] | None = None,
) -> Any:
    """Heatmap px -> input image px: the exact inverse of :func:`to_heatmap` (same arguments).

    Example:
        >>> import numpy as np
        >>> to_input(np.array([[2.5, 1.5]]), stride=4)
        array([[10.,  6.]])
    """
    return _scale(coords, stride, scaling, input_size, heatmap_size, forward=False)
