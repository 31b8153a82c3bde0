"""``encode``: keypoints -> Gaussian target heatmaps, batched on the coordinates' device."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._arrays import compute_dtype
from .mapping import to_heatmap, to_input

__all__ = ["ENCODERS", "ROUNDINGS", "centres", "encode", "round_coords"]

#: the encoders' names (the ``method`` of :func:`encode`)
ENCODERS: tuple[str, ...] = ("unbiased", "quantized")
#: the rounding rules of ``method="quantized"``
ROUNDINGS: tuple[str, ...] = ("nearest", "ceil", "floor", "random")
_GRIDS = ("heatmap", "input")


def round_coords(x: Any, rounding: str = "nearest", generator: torch.Generator | None = None) -> Any:
    """Round coordinates to the integer grid with one of :data:`ROUNDINGS`: same shape, library, dtype.

    - ``nearest``: ``floor(x + 0.5)`` (halves round up; the project's ONE rule for "round to nearest").
    - ``ceil`` / ``floor``: ``ceil(x)`` / ``floor(x)``.
    - ``random`` (randomized rounding, Yu & Tao 2021): ``floor(x) + 1`` with probability
      ``x - floor(x)``, else ``floor(x)``, independently per element, drawn from ``generator`` (a
      ``torch.Generator``; required), so ``E[round(x)] = x``.

    Example:
        >>> import numpy as np
        >>> round_coords(np.array([0.5, 1.5, 2.49, -0.5]))
        array([1., 2., 2., 0.])
        >>> round_coords(np.array([0.2, -1.2]), "ceil")
        array([ 1., -1.])
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    if isinstance(x, np.ndarray):
        return round_coords(torch.from_numpy(x), rounding, generator).numpy()
    if rounding == "nearest":
        return torch.floor(x + 0.5)
    if rounding == "ceil":
        return torch.ceil(x)
    if rounding == "floor":
        return torch.floor(x)
    if not isinstance(generator, torch.Generator):
        raise ValueError("rounding='random' needs generator=torch.Generator (deterministic draws)")
    low = torch.floor(x)
    u = torch.rand(x.shape, generator=generator, device=generator.device, dtype=x.dtype).to(x.device)
    return low + (u < x - low).to(x.dtype)


def centres(
    coords_hm: torch.Tensor,
    size: tuple[int, int],
    method: str,
    grid: str,
    stride: float,
    rounding: str = "nearest",
    generator: torch.Generator | None = None,
    grid_step: float = 1.0,
) -> torch.Tensor:
    """Where each encoder puts the Gaussian's centre: ``(..., 2) -> (..., 2)`` heatmap px.

    ``coords_hm`` are heatmap px under the codec's mapping (:func:`dark.codecs.to_heatmap`, ``x_img /
    stride`` or UDP's scaling). ``R`` is :func:`round_coords` with ``rounding`` on a grid of step
    ``d = grid_step`` px of ``grid``: ``R_d(x) = d R(x / d)`` (``d = 1``: the grid's pixels).

    - ``unbiased``: the coordinates themselves (UDP's unbiased encoding is this one under UDP's mapping).
    - ``quantized``, ``grid="heatmap"``: ``R_d(x_hm)`` (nearest, ``d = 1``: HRNet's
      ``int(x / stride + 0.5)``).
    - ``quantized``, ``grid="input"``: ``R_d(x_hm * stride) / stride`` (rounded on the input grid).

    Example (nearest on a grid of 1/64 input px: at most 1/128 input px away, on the grid):
        >>> c = centres(torch.tensor([[10.30001, 5.6]], dtype=torch.float64), (16, 24), "quantized", "input",
        ...             4, grid_step=1 / 64)
        >>> (c * 4 * 64).tolist()
        [[2637.0, 1434.0]]
    """
    if method != "quantized":
        return coords_hm
    step = float(grid_step)

    def on_grid(x: torch.Tensor) -> torch.Tensor:
        if step == 1.0:
            return round_coords(x, rounding, generator)
        return round_coords(x / step, rounding, generator) * step

    if grid == "heatmap":
        return on_grid(coords_hm)
    return to_heatmap(on_grid(to_input(coords_hm, stride)), stride)


def encode(
    coords_hm: Any,
    size: tuple[int, int],
    sigma: float = 2.0,
    method: str = "unbiased",
    grid: str = "heatmap",
    stride: float = 4,
    rounding: str = "nearest",
    generator: torch.Generator | None = None,
    visible: Any = None,
    return_weights: bool = False,
    grid_step: float = 1.0,
) -> Any:
    """Gaussian target heatmaps of peak 1: ``(..., K, 2) -> (..., K, H, W)``.

    ``target(p) = exp(-||p - c||^2 / (2 sigma^2))`` over the whole map, ``p`` the pixel's index
    ``(x, y)`` and ``c`` the centre the ``method`` defines (see :func:`centres`). Joints that are
    invisible, non-finite, or outside the map (``coords_hm`` not in the pixels' cells
    ``[-0.5, W - 0.5) x [-0.5, H - 0.5)``, judged before any rounding, so that every method drops
    the same joints) get an all-zero target and weight 0.

    Args:
        coords_hm: ``(..., K, 2)`` ``(x, y)`` in heatmap px, mapped from input px by
            :func:`dark.codecs.to_heatmap` with the codec's scaling (the stride, or UDP's); torch (any
            device) or numpy.
        size: ``(H, W)`` of the heatmaps.
        sigma: standard deviation in heatmap px.
        method: ``"unbiased"`` (DARK, no rounding; with UDP's ``(W - 1) / (W_img - 1)`` mapping, UDP's
            encoding) or ``"quantized"`` (rounded on ``grid``).
        grid: ``"heatmap"`` or ``"input"``: the grid ``quantized`` rounds on (ignored otherwise;
            ``None`` means ``"heatmap"``).
        stride: input px per heatmap px (``quantized`` on the input grid).
        rounding: ``quantized``'s rule, one of :data:`ROUNDINGS` (``None`` means ``"nearest"``);
            see :func:`round_coords`.
        generator: ``torch.Generator`` for ``rounding="random"`` (required there; each call draws
            afresh, so each epoch gets new roundings and a seeded generator makes training repeatable).
        visible: optional ``(..., K)`` bool; False gives a zero target and weight 0.
        return_weights: also return the ``(..., K)`` weights (1 or 0).
        grid_step: ``quantized``'s grid step in px of ``grid`` (1: its pixels; ``1 / 64``: 64 steps a
            pixel, the ``placebo`` encoding's, whose rounding moves no centre by more than 1/128 px);
            a power of two keeps the rounding exact in floating point.

    Returns:
        ``targets`` ``(..., K, H, W)`` (and ``weights`` ``(..., K)``) in the library and on the device
        of ``coords_hm``, with its float dtype promoted to at least float32 (float64 for integer numpy
        coordinates).

    Raises:
        ValueError: bad shapes, sizes, ``sigma``, ``method``, ``grid``, ``rounding`` or ``grid_step``;
            ``random`` without a generator.

    Example:
        >>> import torch
        >>> t = encode(torch.tensor([[10.3, 5.6]]), size=(16, 24), sigma=2.0)
        >>> t.shape
        torch.Size([1, 16, 24])
        >>> round(float(t[0, 6, 10]), 4)  # exp(-(0.3^2 + 0.4^2) / 8)
        0.9692
        >>> float(encode(torch.tensor([[10.3, 5.6]]), size=(16, 24), method="quantized")[0, 6, 10])
        1.0
        >>> q = encode(torch.tensor([[10.3, 5.6]]), size=(16, 24), method="quantized", rounding="ceil")
        >>> float(q[0, 6, 11])  # centre (11, 6)
        1.0
        >>> from dark.codecs import to_heatmap  # UDP: map with UDP's scaling, then encode
        >>> c = to_heatmap(torch.tensor([[95.0, 63.0]]), scaling="udp", input_size=(64, 96))
        >>> c.tolist(), float(encode(c, size=(16, 24), method="unbiased")[0, 15, 23])
        ([[23.0, 15.0]], 1.0)
    """
    grid = "heatmap" if grid is None else grid
    rounding = "nearest" if rounding is None else rounding
    _check(size, sigma, method, grid, stride, rounding, generator)
    if not (isinstance(grid_step, (int, float)) and math.isfinite(grid_step) and grid_step > 0):
        raise ValueError(f"grid_step must be a finite number > 0, got {grid_step!r}")
    h, w = int(size[0]), int(size[1])
    coords, was_numpy = _as_coords(coords_hm)
    lead = coords.shape[:-1]

    keep = torch.isfinite(coords).all(dim=-1)
    if visible is not None:
        vis = torch.as_tensor(visible, device=coords.device)
        if vis.shape != lead:
            raise ValueError(f"visible must have shape (..., K) = {tuple(lead)}, got {tuple(vis.shape)}")
        keep &= vis.to(torch.bool)
    x, y = coords[..., 0], coords[..., 1]
    keep &= (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
    kept = torch.where(keep[..., None], coords, 0.0)
    c = centres(kept, (h, w), method, grid, stride, rounding, generator, grid_step)

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


def _check(size, sigma, method, grid, stride, rounding, generator) -> None:
    """:func:`encode`'s argument checks (ValueError naming what was expected)."""
    if method not in ENCODERS:
        raise ValueError(f"method must be one of {ENCODERS}, got {method!r}")
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    if method == "quantized" and rounding == "random" and not isinstance(generator, torch.Generator):
        raise ValueError("rounding='random' needs generator=torch.Generator (deterministic draws)")
    if grid not in _GRIDS:
        raise ValueError(f"grid must be one of {_GRIDS}, got {grid!r}")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    if not (isinstance(stride, (int, float)) and stride > 0):
        raise ValueError(f"stride must be a number > 0, got {stride!r}")
    if len(size) != 2 or min(size) < 1 or any(int(s) != s for s in size):
        raise ValueError(f"size must be (H, W) with positive integers, got {size!r}")


def _as_coords(coords_hm: Any) -> tuple[torch.Tensor, bool]:
    """``(..., K, 2)`` coordinates as a float torch tensor (float32 at least) and whether they were numpy."""
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
    return coords, was_numpy
