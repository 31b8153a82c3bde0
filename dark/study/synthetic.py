"""Synthetic heatmaps with a known sub-pixel centre, and seeded noise to corrupt them.

The decoder study (``notebooks/01_decoders.md``), the decoder explorer widget and the tests all draw
their heatmaps from here, so that "the truth" is the same everywhere:

- :func:`gaussian_maps`: the unnormalised Gaussian ``A exp(-||p - c||^2 / (2 sigma^2))`` sampled at
  the pixel centres (pixel index ``i`` has coordinate ``i``), no background; the same model as the
  ``unbiased`` encoder of :mod:`dark.codecs`, written independently here.
- :func:`add_noise`: additive Gaussian noise, white or spatially correlated, from an explicit seed.
- :func:`random_centres`: uniformly random centres kept a margin away from the border.

Coordinates are ``(x, y)`` = (column, row) in heatmap pixels.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["add_noise", "gaussian_maps", "generator", "random_centres"]


def generator(seed: int | torch.Generator, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` from an integer seed (a generator passed in is returned as is)."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int or a torch.Generator, got {type(seed).__name__}")
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def _as_tensor(value, dtype: torch.dtype, device) -> Tensor:
    if isinstance(value, Tensor):
        return value.to(dtype=dtype, device=device)
    return torch.as_tensor(value, dtype=dtype, device=device)


def gaussian_maps(
    centres,
    size: tuple[int, int],
    sigma=2.0,
    amplitude=1.0,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Gaussian heatmaps centred at sub-pixel positions.

    Args:
        centres: ``(..., 2)`` centres ``(x, y)`` in heatmap pixels (tensor, array or nested list).
        size: ``(H, W)`` of each map.
        sigma: Gaussian standard deviation in heatmap pixels; a scalar or anything broadcasting
            against ``centres[..., 0]``.
        amplitude: peak value; a scalar or broadcasting against ``centres[..., 0]``.
        dtype, device: of the result (device defaults to that of ``centres`` if it is a tensor).

    Returns:
        ``(..., H, W)`` maps ``amplitude * exp(-((x - cx)^2 + (y - cy)^2) / (2 sigma^2))``.

    Example:
        >>> m = gaussian_maps([[3.0, 2.0]], size=(5, 7), sigma=1.0)
        >>> m.shape, float(m[0, 2, 3])
        (torch.Size([1, 5, 7]), 1.0)
    """
    if device is None:
        device = centres.device if isinstance(centres, Tensor) else "cpu"
    c = _as_tensor(centres, dtype, device)
    if c.ndim < 1 or c.shape[-1] != 2:
        raise ValueError(f"centres must have shape (..., 2) (x, y), got {tuple(c.shape)}")
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (H, W) with H, W >= 1, got {size}")
    h, w = (int(s) for s in size)
    s = _as_tensor(sigma, dtype, device)
    if bool((s <= 0).any()):
        raise ValueError("sigma must be > 0")
    a = _as_tensor(amplitude, dtype, device)
    xs = torch.arange(w, dtype=dtype, device=device)
    ys = torch.arange(h, dtype=dtype, device=device)
    two_s2 = (2 * s * s)[..., None]
    gx = torch.exp(-((xs - c[..., 0:1]) ** 2) / two_s2)  # (..., W)
    gy = torch.exp(-((ys - c[..., 1:2]) ** 2) / two_s2)  # (..., H)
    return a[..., None, None] * gy[..., :, None] * gx[..., None, :]


def _gaussian_kernel1d(std: float, dtype: torch.dtype, device) -> Tensor:
    radius = max(1, math.ceil(3 * std))
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    k = torch.exp(-(t**2) / (2 * std * std))
    return k / k.sum()


def add_noise(
    maps: Tensor,
    std,
    seed: int | torch.Generator,
    correlation: float | None = None,
) -> Tensor:
    """Add zero-mean Gaussian noise of per-pixel standard deviation ``std`` (a new tensor).

    Args:
        maps: ``(..., H, W)`` float tensor.
        std: per-pixel noise standard deviation; a scalar or a tensor broadcasting against
            ``maps.shape[:-2]`` (one level per map).
        seed: an int or a ``torch.Generator`` (on the device of ``maps``); the same seed gives the
            same noise.
        correlation: ``None`` for white noise. Otherwise the standard deviation, in pixels, of a
            Gaussian blur applied to white noise (zero padding outside the map, so that no map sees
            another's noise), after which the noise is **renormalised to the per-pixel std ``std``**:
            only its spatial correlation changes, not its level, so white and correlated results at the
            same ``std`` compare directly. (Near the border the zero padding makes the blurred noise
            slightly weaker before renormalisation; the factor is computed per pixel, so the level is
            exactly ``std`` everywhere.)

    Returns:
        ``maps + noise``, same shape, dtype and device.
    """
    if not isinstance(maps, Tensor) or maps.ndim < 2 or not maps.is_floating_point():
        raise ValueError("maps must be a floating-point torch tensor of shape (..., H, W)")
    gen = generator(seed, maps.device)
    noise = torch.randn(maps.shape, generator=gen, dtype=maps.dtype, device=maps.device)
    if correlation is not None and correlation > 0:
        h, w = maps.shape[-2:]
        k = _gaussian_kernel1d(float(correlation), maps.dtype, maps.device)
        r = k.numel() // 2

        def blur(x: Tensor) -> Tensor:
            x = x.reshape(-1, 1, h, w)
            x = torch.nn.functional.conv2d(x, k.view(1, 1, 1, -1), padding=(0, r))
            return torch.nn.functional.conv2d(x, k.view(1, 1, -1, 1), padding=(r, 0))

        # variance of the blurred white noise at each pixel = blur of squared kernel over the mask
        ones = torch.ones(1, 1, h, w, dtype=maps.dtype, device=maps.device)
        kk = k * k
        var = torch.nn.functional.conv2d(ones, kk.view(1, 1, 1, -1), padding=(0, r))
        var = torch.nn.functional.conv2d(var, kk.view(1, 1, -1, 1), padding=(r, 0))
        noise = (blur(noise) / var.sqrt()).reshape(maps.shape)
    level = _as_tensor(std, maps.dtype, maps.device)
    if bool((level < 0).any()):
        raise ValueError("std must be >= 0")
    return maps + level[..., None, None] * noise


def random_centres(
    n: int,
    size: tuple[int, int],
    margin: float,
    seed: int | torch.Generator,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> Tensor:
    """``(n, 2)`` centres ``(x, y)`` uniform in ``[margin, W - 1 - margin] x [margin, H - 1 - margin]``."""
    h, w = size
    if 2 * margin > min(h, w) - 1:
        raise ValueError(f"margin {margin} leaves no room in a map of size {size}")
    gen = generator(seed, device)
    u = torch.rand((n, 2), generator=gen, dtype=dtype, device=device)
    span = torch.tensor([w - 1 - 2 * margin, h - 1 - 2 * margin], dtype=dtype, device=device)
    return margin + u * span
