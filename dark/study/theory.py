"""The Cramer-Rao lower bound on locating a sampled 2D Gaussian heatmap in white Gaussian noise.

Model (the ``unbiased`` encoder's, no background): pixel ``p = (x, y)`` of an ``H x W`` map holds

    h(p) = A exp(-((x - x0)^2 + (y - y0)^2) / (2 sigma^2)) + n(p),   n(p) ~ N(0, noise_std^2) i.i.d.

with unknown amplitude ``A`` and centre ``(x0, y0)`` (heatmap px; pixel index ``i`` has coordinate
``i``), and ``sigma`` known (or, with ``fit_sigma=True``, unknown as well). The Fisher information of
``theta = (A, x0, y0[, sigma])`` is ``I = J^T J / noise_std^2`` with ``J[p, j] = d h(p) / d theta_j``
summed over every pixel of the grid; the bound on any unbiased estimator is ``cov >= I^-1``
(Cramer 1946; Rao 1945). A constant background is *not* a parameter, matching the encoder.

Continuous limit (a large grid, the centre far from every border, sigma >~ 0.7 px so that sums of the
Gaussian equal its integrals to many digits): ``sum g^2 (x - x0)^2 / sigma^4 = pi / 2``, the cross
terms with ``A`` vanish by symmetry, hence

    var(x0) = var(y0) = 2 noise_std^2 / (pi A^2)      (pixel area 1),

independent of sigma: a wider Gaussian has flatter slopes but proportionally more pixels on them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crlb", "crlb_rmse"]


def _unit_information(sigma: np.ndarray, cx: np.ndarray, cy: np.ndarray, size, fit_sigma: bool):
    """Fisher information for A = 1, noise_std = 1: ``(..., P, P)`` with P = 3 (or 4 with sigma)."""
    h, w = size
    xs = np.arange(w, dtype=np.float64)
    ys = np.arange(h, dtype=np.float64)
    s2 = (sigma * sigma)[..., None]
    dx = xs - cx[..., None]  # (..., W)
    dy = ys - cy[..., None]  # (..., H)
    gx = np.exp(-(dx**2) / (2 * s2))
    gy = np.exp(-(dy**2) / (2 * s2))
    # The model separates: g = gx(x) gy(y), and every derivative is a product of 1-D factors, so each
    # Fisher entry is a product of 1-D sums (no (..., H, W) array is ever built).
    ux = dx / s2  # d/dx0 of log gx
    uy = dy / s2
    vx = dx**2 / (s2 * sigma[..., None])  # d/dsigma of log gx
    vy = dy**2 / (s2 * sigma[..., None])

    def sx(a, b):
        return np.sum(gx * gx * a * b, axis=-1)

    def sy(a, b):
        return np.sum(gy * gy * a * b, axis=-1)

    one_x, one_y = np.ones_like(dx), np.ones_like(dy)
    # Derivatives of h / g: A -> 1/A (=1), x0 -> ux, y0 -> uy, sigma -> vx + vy.
    # Sum over the grid of g^2 f(x) k(y) = sx(f) * sy(k); (vx + vy) terms expand into two products.
    fx = {"A": (one_x,), "x": (ux,), "y": (one_x,), "s": (vx, one_x)}
    fy = {"A": (one_y,), "x": (one_y,), "y": (uy,), "s": (one_y, vy)}
    names = ["A", "x", "y", "s"] if fit_sigma else ["A", "x", "y"]
    n = len(names)
    info = np.empty((*np.broadcast(sigma, cx, cy).shape, n, n))
    for i, a in enumerate(names):
        for j, b in enumerate(names[i:], start=i):
            total = 0.0
            for ax, ay in zip(fx[a], fy[a], strict=True):
                for bx, by in zip(fx[b], fy[b], strict=True):
                    total = total + sx(ax, bx) * sy(ay, by)
            info[..., i, j] = info[..., j, i] = total
    return info


def crlb(
    sigma,
    amplitude,
    noise_std,
    size: tuple[int, int],
    centre=None,
    *,
    fit_sigma: bool = False,
) -> np.ndarray:
    """Cramer-Rao lower bound on ``var(x0)`` and ``var(y0)`` of a Gaussian heatmap in white noise.

    Every argument but ``size`` broadcasts against the others (numpy rules; ``centre`` has a trailing
    axis of 2), so one call evaluates a whole grid of settings.

    Args:
        sigma: Gaussian standard deviation, heatmap px, ``> 0``.
        amplitude: peak value ``A`` (the heatmap's units).
        noise_std: per-pixel standard deviation of the white Gaussian noise (same units as ``A``).
        size: ``(H, W)`` of the map; the Fisher information is summed over all ``H x W`` pixels.
        centre: ``(..., 2)`` true centre ``(x0, y0)`` in heatmap px; ``None`` = the map's middle
            ``((W - 1) / 2, (H - 1) / 2)``.
        fit_sigma: also treat sigma as unknown (a 4-parameter bound; equal to the 3-parameter one
            in the continuous limit, where sigma decouples from the position by symmetry).

    Returns:
        ``(..., 2)`` float64 array: the lower bounds on ``var(x0)`` and ``var(y0)`` in heatmap px^2
        (``inf`` where ``amplitude == 0``, ``0`` where ``noise_std == 0`` and ``amplitude != 0``).

    Example:
        >>> v = crlb(2.0, 1.0, 0.1, size=(64, 64))
        >>> bool(np.allclose(v, 2 * 0.1**2 / np.pi))
        True
    """
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (H, W) with H, W >= 1, got {size}")
    sigma = np.asarray(sigma, dtype=np.float64)
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    amplitude = np.asarray(amplitude, dtype=np.float64)
    noise_std = np.asarray(noise_std, dtype=np.float64)
    if np.any(noise_std < 0):
        raise ValueError("noise_std must be >= 0")
    h, w = size
    if centre is None:
        centre = np.array([(w - 1) / 2, (h - 1) / 2])
    centre = np.asarray(centre, dtype=np.float64)
    if centre.ndim < 1 or centre.shape[-1] != 2:
        raise ValueError(f"centre must have shape (..., 2) (x, y), got {centre.shape}")
    info = _unit_information(sigma, centre[..., 0], centre[..., 1], size, fit_sigma)
    # For amplitude A and noise s: I = D J D / s^2 with D = diag(1, A, A[, A]), so
    # I^-1 = s^2 D^-1 J^-1 D^-1 and var(x0) = s^2 / A^2 [J^-1]_xx.
    inv = np.linalg.inv(info)
    unit = np.stack([inv[..., 1, 1], inv[..., 2, 2]], axis=-1)
    scale = noise_std**2 / np.where(amplitude == 0, 1.0, amplitude) ** 2
    scale = np.where(amplitude == 0, np.where(noise_std == 0, 0.0, np.inf), scale)
    return unit * scale[..., None]


def crlb_rmse(sigma, amplitude, noise_std, size: tuple[int, int], centre=None, **kw) -> np.ndarray:
    """The bound on the Euclidean RMSE ``sqrt(E ||c_hat - c||^2)``: ``sqrt(var(x0) + var(y0))`` (px)."""
    return np.sqrt(crlb(sigma, amplitude, noise_std, size, centre, **kw).sum(axis=-1))
