"""``encode``: keypoints -> Gaussian target heatmaps, batched on the coordinates' device."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._arrays import compute_dtype
from .mapping import to_heatmap, to_input

__all__ = ["ENCODERS", "encode"]

#: the encoders' names
ENCODERS: tuple[str, ...] = ("unbiased", "quantized", "udp")
_GRIDS = ("heatmap", "input")


def centres(
    coords_hm: torch.Tensor, size: tuple[int, int], method: str, grid: str, stride: float
) -> torch.Tensor:
    """Where each encoder puts the Gaussian's centre: ``(..., 2) -> (..., 2)`` heatmap px.

    ``coords_hm`` are heatmap px under the codec's mapping (:func:`dark.codecs.to_heatmap`: UDP's
    scaling for ``udp``, ``x_img / stride`` for the others).

    - ``unbiased`` and ``udp``: the coordinates themselves (UDP's difference is in the mapping).
    - ``quantized``, ``grid="heatmap"``: ``floor(x_hm + 0.5)`` (HRNet's ``int(x / stride + 0.5)``).
    - ``quantized``, ``grid="input"``: ``floor(x_img + 0.5) / stride`` (rounded on the input grid).
    """
    if method != "quantized":
        return coords_hm
    if grid == "heatmap":
        return torch.floor(coords_hm + 0.5)
    return to_heatmap(torch.floor(to_input(coords_hm, stride) + 0.5), stride)


def encode(
    coords_hm: Any,
    size: tuple[int, int],
    sigma: float = 2.0,
    method: str = "unbiased",
    grid: str = "heatmap",
    stride: float = 4,
    visible: Any = None,
    return_weights: bool = False,
) -> Any:
    """Gaussian target heatmaps of peak 1: ``(..., K, 2) -> (..., K, H, W)``.

    ``target(p) = exp(-||p - c||^2 / (2 sigma^2))`` over the whole map, ``p`` the pixel's index
    ``(x, y)`` and ``c`` the centre the ``method`` defines (see :func:`centres`). Joints that are
    invisible, non-finite, or outside the map (``coords_hm`` not in the pixels' cells
    ``[-0.5, W - 0.5) x [-0.5, H - 0.5)``, judged before any rounding, so that every method drops
    the same joints) get an all-zero target and weight 0.

    Args:
        coords_hm: ``(..., K, 2)`` ``(x, y)`` in heatmap px, mapped from input px by
            :func:`dark.codecs.to_heatmap` with the codec's scaling (``scaling="udp"`` for
            ``method="udp"``, the stride otherwise); torch (any device) or numpy.
        size: ``(H, W)`` of the heatmaps.
        sigma: standard deviation in heatmap px.
        method: ``"unbiased"`` (DARK, no rounding), ``"quantized"`` (rounded on ``grid``) or ``"udp"``
            (unbiased, for coordinates mapped with UDP's ``(W - 1) / (W_img - 1)`` scaling).
        grid: ``"heatmap"`` or ``"input"``: the grid ``quantized`` rounds on (ignored otherwise).
        stride: input px per heatmap px (``quantized`` on the input grid).
        visible: optional ``(..., K)`` bool; False gives a zero target and weight 0.
        return_weights: also return the ``(..., K)`` weights (1 or 0).

    Returns:
        ``targets`` ``(..., K, H, W)`` (and ``weights`` ``(..., K)``) in the library and on the device
        of ``coords_hm``, with its float dtype promoted to at least float32 (float64 for integer numpy
        coordinates).

    Raises:
        ValueError: bad shapes, sizes, ``sigma``, ``method`` or ``grid``.

    Example:
        >>> import torch
        >>> t = encode(torch.tensor([[10.3, 5.6]]), size=(16, 24), sigma=2.0)
        >>> t.shape
        torch.Size([1, 16, 24])
        >>> round(float(t[0, 6, 10]), 4)  # exp(-(0.3^2 + 0.4^2) / 8)
        0.9692
        >>> float(encode(torch.tensor([[10.3, 5.6]]), size=(16, 24), method="quantized")[0, 6, 10])
        1.0
        >>> from dark.codecs import to_heatmap  # UDP: map with UDP's scaling, then encode
        >>> c = to_heatmap(torch.tensor([[95.0, 63.0]]), scaling="udp", input_size=(64, 96))
        >>> c.tolist(), float(encode(c, size=(16, 24), method="udp")[0, 15, 23])
        ([[23.0, 15.0]], 1.0)
    """
    if method not in ENCODERS:
        raise ValueError(f"method must be one of {ENCODERS}, got {method!r}")
    if grid not in _GRIDS:
        raise ValueError(f"grid must be one of {_GRIDS}, got {grid!r}")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    if not (isinstance(stride, (int, float)) and stride > 0):
        raise ValueError(f"stride must be a number > 0, got {stride!r}")
    if len(size) != 2 or min(size) < 1 or any(int(s) != s for s in size):
        raise ValueError(f"size must be (H, W) with positive integers, got {size!r}")
    h, w = int(size[0]), int(size[1])

    was_numpy = isinstance(coords_hm, np.ndarray)
    if was_numpy:
        coords = torch.from_numpy(
            np.asarray(coords_hm, dtype=coords_hm.dtype if coords_hm.dtype.kind == "f" else np.float64)
        )
    elif isinstance(coords_hm, torch.Tensor):
        coords = coords_hm if coords_hm.is_floating_point() else coords_hm.float()
    else:
        raise ValueError(
            "coords_hm must be a torch.Tensor or numpy.ndarray of shape (..., K, 2), "
            f"got {type(coords_hm).__name__}"
        )
    coords = coords.to(compute_dtype(coords.dtype))
    if coords.ndim < 2 or coords.shape[-1] != 2:
        raise ValueError(f"coords_hm must have shape (..., K, 2), got {tuple(coords.shape)}")
    lead = coords.shape[:-1]

    keep = torch.isfinite(coords).all(dim=-1)
    if visible is not None:
        vis = torch.as_tensor(visible, device=coords.device)
        if vis.shape != lead:
            raise ValueError(f"visible must have shape (..., K) = {tuple(lead)}, got {tuple(vis.shape)}")
        keep &= vis.to(torch.bool)
    x, y = coords[..., 0], coords[..., 1]
    keep &= (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
    c = centres(torch.where(keep[..., None], coords, 0.0), (h, w), method, grid, stride)

    # Separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) exp(-dy^2 / 2s^2): one product per pixel.
    dtype, device = coords.dtype, coords.device
    xs = torch.arange(w, dtype=dtype, device=device) - c[..., 0:1]  # (..., K, W)
    ys = torch.arange(h, dtype=dtype, device=device) - c[..., 1:2]  # (..., K, H)
    weights = keep.to(dtype)
    gx = torch.exp(-(xs * xs) / (2 * sigma * sigma)) * weights[..., None]
    gy = torch.exp(-(ys * ys) / (2 * sigma * sigma))
    targets = gy[..., :, None] * gx[..., None, :]
    if was_numpy:
        targets, weights = targets.numpy(), weights.numpy()
    return (targets, weights) if return_weights else targets
