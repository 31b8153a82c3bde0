"""Decoders that read a small window around the maximum.

argmax, standard, standard_2nd, local_com, gaussian_fit.

Each takes ``(N, H, W)`` maps whose largest finite value is > 0 (what :func:`dark.codecs.decode`
passes; they read the maps only through :func:`dark.codecs._maps.window`, which zeroes NaN and Inf,
so ``decode`` needs no sanitised copy for them) and returns ``(N, 2)`` float64 ``(x, y)`` in heatmap
px. ``peak`` is the flat index of each map's first maximum when the caller already has it
(``decode`` does); it is computed otherwise.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._maps import first_max, inside_window, window

__all__ = ["argmax", "gaussian_fit", "local_com", "standard", "standard_2nd", "standard_top2"]


def peak_of(maps: Tensor, peak: Tensor | None) -> Tensor:
    """``(N,)`` flat index of each map's first maximum (``peak`` itself when given)."""
    return first_max(maps.reshape(maps.shape[0], -1))[0] if peak is None else peak


def peak_xy(maps: Tensor, peak: Tensor) -> Tensor:
    """``(N,)`` flat indices -> ``(N, 2)`` float64 ``(x, y)``."""
    w = maps.shape[-1]
    return torch.stack([peak % w, peak // w], dim=1).to(torch.float64)


def argmax(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """Integer position of the maximum, first in row-major order on ties: ``(N, H, W) -> (N, 2)``."""
    return peak_xy(maps, peak_of(maps, peak))


def standard(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """HRNet's shift: argmax ``+ 0.25 sign(h[x+1] - h[x-1])`` per axis: ``(N, H, W) -> (N, 2)``.

    Applied only when ``1 < x < W-1`` and ``1 < y < H-1`` (both together, as HRNet's code); the integer
    argmax elsewhere.
    """
    _, h, w = maps.shape
    peak = peak_of(maps, peak)
    m = peak_xy(maps, peak)
    v = window(maps, peak, 1, torch.float64)  # (N, 3, 3), rows y-1..y+1
    step = torch.stack([torch.sign(v[:, 1, 2] - v[:, 1, 0]), torch.sign(v[:, 2, 1] - v[:, 0, 1])], dim=1)
    x, y = m[:, 0], m[:, 1]
    ok = (x > 1) & (x < w - 1) & (y > 1) & (y < h - 1)
    return m + 0.25 * step * ok[:, None]


def standard_2nd(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """The DARK paper's "Standard" shift: ``m + 0.25 (s - m) / ||s - m||``: ``(N, H, W) -> (N, 2)``
    (``book/codecs.md``).

    ``s`` is the largest of the (in-map) 8 neighbours of the argmax ``m``, the first in row-major order
    on ties; on the border only the neighbours inside the map compete. A 1 x 1 map keeps ``m``.
    """
    peak = peak_of(maps, peak)
    m = peak_xy(maps, peak)
    v = window(maps, peak, 1, torch.float64)
    inside = inside_window(peak, maps.shape[1:], 1)
    inside[:, 1, 1] = False
    v = torch.where(inside, v, torch.tensor(-torch.inf, dtype=v.dtype, device=v.device)).reshape(-1, 9)
    s = v.argmax(dim=1)
    d = torch.stack([s % 3 - 1, s // 3 - 1], dim=1).to(torch.float64)
    norm = d.norm(dim=1, keepdim=True)
    has = inside.reshape(-1, 9).any(dim=1, keepdim=True)
    return m + torch.where(has, 0.25 * d / norm.clamp_min(1.0), torch.zeros_like(d))


def standard_top2(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """Standard from the global top-2 pixels (the reproduced report's code): ``(N, H, W) -> (N, 2)``.

    ``m + 0.25 (s - m) / ||s - m||`` with ``m`` the argmax and ``s`` the second-highest pixel of the
    WHOLE map (the first in row-major order among the pixels other than ``m`` with the largest
    value), not of ``m``'s 8 neighbours as in :func:`standard_2nd`; on a smooth single-peaked map the
    two agree. A 1-pixel map keeps ``m``. Reads the whole map, so ``maps`` must be finite (sanitised).
    """
    n = maps.shape[0]
    peak = peak_of(maps, peak)
    m = peak_xy(maps, peak)
    flat = maps.reshape(n, -1)
    if flat.shape[1] < 2:
        return m
    others = flat.scatter(1, peak[:, None], torch.finfo(flat.dtype).min)  # a copy with m removed
    second = first_max(others)[0]
    d = peak_xy(maps, second) - m
    return m + 0.25 * d / d.norm(dim=1, keepdim=True)


def local_com(
    maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None, radius: int | None = None
) -> Tensor:
    """Centre of mass of ``max(h, 0)`` in the ``(2r+1)^2`` window around the argmax: ``(N, H, W) -> (N, 2)``.

    Args:
        radius: ``r`` in px, default ``ceil(3 sigma)``; the window is cut by the map's border.
    """
    r = math.ceil(3 * sigma) if radius is None else int(radius)
    if r < 0:
        raise ValueError(f"radius must be >= 0, got {r}")
    peak = peak_of(maps, peak)
    v = window(maps, peak, r, torch.float64).clamp_min(0.0)
    v = v / v.amax(dim=(1, 2), keepdim=True)  # the peak is > 0; keeps 1e-30-amplitude maps exact
    offsets = torch.arange(-r, r + 1, dtype=torch.float64, device=maps.device)
    mass = v.sum(dim=(1, 2))
    dx = (v.sum(dim=1) * offsets).sum(dim=1) / mass
    dy = (v.sum(dim=2) * offsets).sum(dim=1) / mass
    return peak_xy(maps, peak) + torch.stack([dx, dy], dim=1)


def gaussian_fit(
    maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None, radius: int | None = None
) -> Tensor:
    """Vertex of a weighted least-squares quadratic fit to ``log h``: ``(N, H, W) -> (N, 2)``.

    Fits ``log h = c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2`` over the in-map pixels of the
    ``(2r+1)^2`` window with ``h > 0``, weighted by ``h^2`` (Guo's weighting: the log of a small value
    is noisy), on the window normalised by its peak (scale-invariant). A Gaussian's log is exactly
    such a quadratic, so clean Gaussians are recovered exactly.

    Args:
        radius: ``r`` in px, default ``ceil(1.5 sigma)``.

    Falls back to the argmax when the fit is undetermined (the weighted design matrix has a singular
    value below ``1e-6`` times its largest, e.g. a window cut to two rows by the border), when it is
    not a maximum (the quadratic is not negative definite), or when its vertex leaves the window.
    """
    r = math.ceil(1.5 * sigma) if radius is None else int(radius)
    if r < 1:
        raise ValueError(f"radius must be >= 1, got {r}")
    peak = peak_of(maps, peak)
    m = peak_xy(maps, peak)
    v = window(maps, peak, r, torch.float64)
    inside = inside_window(peak, maps.shape[1:], r)
    v = v / v[:, r, r, None, None]  # the centre is the (positive) maximum
    use = inside & (v > 0)
    weight = torch.where(use, v * v, torch.zeros_like(v)).reshape(len(v), -1)  # (N, P)
    z = torch.log(torch.where(use, v, torch.ones_like(v))).reshape(len(v), -1)
    o = torch.arange(-r, r + 1, dtype=torch.float64, device=maps.device)
    oy, ox = torch.meshgrid(o, o, indexing="ij")
    ox, oy = ox.reshape(-1), oy.reshape(-1)
    design = torch.stack([torch.ones_like(ox), ox, oy, ox * ox, ox * oy, oy * oy], dim=1)  # (P, 6)
    normal = torch.einsum("np,pi,pj->nij", weight, design, design)
    rhs = (weight * z) @ design  # (N, 6)
    eig = torch.linalg.eigvalsh(normal)  # ascending; singular values of the weighted design, squared
    determined = eig[:, 0] > 1e-12 * eig[:, -1]
    c, info = torch.linalg.solve_ex(normal, rhs)
    a, b, e = 2 * c[:, 3], c[:, 4], 2 * c[:, 5]  # Hessian [[a, b], [b, e]]
    det = a * e - b * b
    safe = torch.where(det != 0, det, torch.ones_like(det))
    dx = -(e * c[:, 1] - b * c[:, 2]) / safe
    dy = -(a * c[:, 2] - b * c[:, 1]) / safe
    offset = torch.stack([dx, dy], dim=1)
    ok = determined & (info == 0) & (a < 0) & (det > 0) & torch.isfinite(offset).all(dim=1)
    ok &= (offset.abs() <= r).all(dim=1)
    return m + torch.where(ok[:, None], offset, torch.zeros_like(offset))
