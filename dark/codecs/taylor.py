"""DARK (Zhang et al. 2020) and mmpose's DARK-UDP: a Newton step on the blurred log-heatmap.

Both blur the map with the kernel of ``cv2.GaussianBlur(map, (k, k), 0)`` after padding it with
zeros, then take finite differences of its log at the integer argmax ``m``. Those differences read
the blurred map at only 13 points within 2 px of ``m``, so only the window around ``m`` is gathered
and blurred there (:mod:`dark.codecs._stencil`); the rest of the map is never touched.

On CPU float32/float64 maps the steps run in numpy (a CPU tensor is a numpy view for free, and a
numpy operation on a thousand values costs a fraction of a torch one); on any other device in torch.
Both paths compute the same numbers. Where the time goes: ``benchmarks/README.md``.

One deliberate change from DarkPose (documented in the book): the blurred values are divided by
their maximum *before* the floor ``1e-10`` and the log. DarkPose floors at ``1e-10`` in absolute
terms, so on maps of tiny amplitude (below about 1e-10) its DARK silently does nothing; ours is
scale-invariant. Dividing by the maximum only adds a constant to the log, which no derivative sees,
so on maps of ordinary amplitude the two agree. The maximum used is that of the 13 blurred values the
steps read (the whole blurred map's in DarkPose, and in mmpose's DARK-UDP rescaling): the two differ
only when the blurred map peaks elsewhere, and even then the result changes only where the floor
(or DARK-UDP's clip) binds, i.e. on maps whose values 2 px from the peak are below 1e-10 (1e-3) of it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._stencil import at, blurred_stencil, pixel_table
from .local import peak_of

__all__ = ["blur_kernel", "dark", "dark_report", "dark_udp", "matched_kernel_size"]

#: OpenCV's fixed tables for sigma <= 0 and k <= 7 (``cv2.getGaussianKernel`` in OpenCV 2-4, which
#: DarkPose and mmpose ran on; OpenCV 5 added a k = 9 table, 2e-3 away from the formula used here)
_CV_TABLES = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}


def _opencv_sigma(k: int) -> float:
    return 0.3 * ((k - 1) * 0.5 - 1) + 0.8


@lru_cache(maxsize=32)
def _kernel_tuple(k: int, blur_sigma: float | None = None) -> tuple[float, ...]:
    if blur_sigma is None and k in _CV_TABLES:
        return _CV_TABLES[k]
    s = _opencv_sigma(k) if blur_sigma is None else float(blur_sigma)
    t = np.arange(k, dtype=np.float64) - (k - 1) / 2
    g = np.exp(-(t * t) / (2 * s * s))
    return tuple(g / g.sum())


def blur_kernel(k: int, blur_sigma: float | None = None) -> np.ndarray:
    """The 1-D kernel of ``cv2.GaussianBlur(..., (k, k), blur_sigma or 0)``: ``(k,)`` float64, sums to 1.

    ``blur_sigma=None`` (OpenCV's sigma 0): fixed tables for ``k <= 7``, else the normalised Gaussian of
    ``sigma_k = 0.3 ((k-1)/2 - 1) + 0.8``. A given ``blur_sigma > 0``: the normalised Gaussian of that
    sigma sampled at ``-(k-1)/2 .. (k-1)/2`` (what OpenCV computes for a positive sigma).

    Example:
        >>> blur_kernel(5).tolist()
        [0.0625, 0.25, 0.375, 0.25, 0.0625]
        >>> [round(v, 4) for v in blur_kernel(5, blur_sigma=1.0).tolist()]
        [0.0545, 0.2442, 0.4026, 0.2442, 0.0545]
    """
    if not (isinstance(k, (int, np.integer)) and k >= 1 and k % 2 == 1):
        raise ValueError(f"kernel_size must be an odd integer >= 1, got {k!r}")
    if blur_sigma is not None and not (math.isfinite(blur_sigma) and blur_sigma > 0):
        raise ValueError(f"blur_sigma must be a finite number > 0 or None, got {blur_sigma!r}")
    return np.array(_kernel_tuple(int(k), None if blur_sigma is None else float(blur_sigma)))


def matched_kernel_size(sigma: float) -> int:
    """The largest odd ``k >= 3`` whose OpenCV kernel sigma ``0.3 ((k-1)/2 - 1) + 0.8`` is <= ``sigma``.

    This gives the kernel sizes matched to the training sigma: 1 -> 3, 1.5 -> 7, 2 -> 11, 3 -> 17.

    Example:
        >>> [matched_kernel_size(s) for s in (1.0, 1.5, 2.0, 3.0)]
        [3, 7, 11, 17]
    """
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma}")
    return max(3, 2 * math.floor((sigma - 0.8) / 0.3 + 1 + 1e-9) + 1)


def _on_numpy(maps: Tensor) -> bool:
    """Whether the window, the blur's bookkeeping and the steps run in numpy: CPU float32/float64 maps.

    On the CPU a numpy operation on a few thousand values costs a fraction of a torch one (about a
    microsecond against several), and the steps are some forty element-wise operations on ``(N,)``
    vectors; a CPU tensor is a numpy view for free. Other devices and dtypes stay in torch, where the
    data are.
    """
    return maps.device.type == "cpu" and maps.dtype in (torch.float32, torch.float64)


def _kernel(kernel_size: int | None, sigma: float, blur_sigma: float | None = None) -> tuple[float, ...]:
    """The validated 1-D blur kernel (:func:`blur_kernel`, as a cached tuple): ``kernel_size`` (default
    :func:`matched_kernel_size` of ``sigma``) and ``blur_sigma``."""
    k = matched_kernel_size(sigma) if kernel_size is None else kernel_size
    blur_kernel(k, blur_sigma)  # validates
    return _kernel_tuple(int(k), None if blur_sigma is None else float(blur_sigma))


def dark(
    maps: Tensor,
    sigma: float = 2.0,
    *,
    peak: Tensor | None = None,
    kernel_size: int | None = None,
    blur_sigma: float | None = None,
) -> Tensor:
    """DARK: a Newton step on the blurred log-heatmap at the argmax: ``(N, H, W) -> (N, 2)``.

    Steps (DarkPose's ``get_final_preds``): ``m`` = argmax; blur with ``kernel_size`` (zero padding);
    ``L = log(max(blurred / max(blurred), 1e-10))``; where ``1 < x < W-2`` and ``1 < y < H-2``, the
    gradient by central differences, the Hessian with step 2 (``dxy`` with step 1), and
    ``mu = m - Hess^-1 grad`` if ``det(Hess) != 0``. Elsewhere, or if no blurred stencil value is
    positive, the integer argmax.

    Deviation from DarkPose (deliberate): the blurred values are divided by their maximum before the
    ``1e-10`` floor, so the decoder is scale-invariant (DarkPose's absolute floor silently turns its
    DARK into argmax on maps of amplitude below about 1e-10); on ordinary maps the two agree (see the
    module docstring).

    Args:
        kernel_size: odd blur size, default :func:`matched_kernel_size` of ``sigma`` (DarkPose: 11).
        blur_sigma: the blur's sigma (``None``: OpenCV's sigma 0, i.e. derived from ``kernel_size``,
            as DarkPose); see :func:`blur_kernel`.
    """
    g = _kernel(kernel_size, sigma, blur_sigma)
    _, h, w = maps.shape
    peak = peak_of(maps, peak)
    numpy = _on_numpy(maps)
    xp: Any = np if numpy else torch  # the same steps in numpy (CPU) or torch (any device)
    if numpy:
        peak = peak.numpy()
    blurred = blurred_stencil(maps, peak, g)  # (13, N) float64
    with np.errstate(all="ignore"):  # a NaN/Inf offset is caught by ``ok`` below
        top = xp.amax(blurred, axis=0)  # all 13 points are in the map wherever the step applies (below)
        positive = top > 0
        L = xp.log(_clip(blurred / xp.where(positive, top, 1.0), 1e-10))  # rows: STENCIL's points
        c = L[0]
        dx, dy = 0.5 * (L[1] - L[2]), 0.5 * (L[3] - L[4])  # (0, +-1), (+-1, 0)
        dxx = 0.25 * (L[5] - 2 * c + L[6])  # (0, +-2)
        dyy = 0.25 * (L[7] - 2 * c + L[8])  # (+-2, 0)
        dxy = 0.25 * (L[9] - L[10] - L[11] + L[12])  # (1, 1), (-1, 1), (1, -1), (-1, -1)
        offset, det = _newton(xp, dx, dy, dxx, dyy, dxy)
    ok = at(pixel_table("dark", h, w), peak) & positive & (det != 0)
    return _coords(xp, peak, (h, w), offset, ok)


def dark_report(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """DARK as the reproduced report's code runs it: :func:`dark` after a 5 x 5 Gaussian blur of sigma
    1 (``cv2.GaussianBlur(map, (5, 5), 1)``), whatever the training sigma: ``(N, H, W) -> (N, 2)``."""
    return dark(maps, sigma, peak=peak, kernel_size=5, blur_sigma=1.0)


def dark_udp(
    maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None, kernel_size: int | None = None
) -> Tensor:
    """mmpose's DARK-UDP refinement (``refine_keypoints_dark_udp``): ``(N, H, W) -> (N, 2)``.

    ``m`` = argmax; blur as :func:`dark`, rescaled so that its maximum equals the map's;
    ``L = log(clip(blurred, 1e-3, 50))`` padded by one pixel replicating its edge; step-1 central
    differences at ``m`` and ``mu = m - (Hess + eps I)^-1 grad`` with ``eps`` the float32 machine
    epsilon; no border test. Not scale-invariant, by design of the clip. Maps whose blurred stencil has
    no positive value keep the integer argmax.

    Args:
        kernel_size: odd blur size, default :func:`matched_kernel_size` of ``sigma`` (mmpose: 11).
    """
    g = _kernel(kernel_size, sigma)
    n, h, w = maps.shape
    peak = peak_of(maps, peak)
    numpy = _on_numpy(maps)
    xp: Any = np if numpy else torch  # the same steps in numpy (CPU) or torch (any device)
    if numpy:
        peak = peak.numpy()
    blurred = blurred_stencil(maps, peak, g)  # (13, N) float64
    top = xp.amax(xp.where(at(pixel_table("inside", h, w), peak), blurred, -xp.inf), axis=0)  # in-map
    positive = top > 0
    if numpy:
        origin_max = maps.detach().numpy().reshape(n, -1)[np.arange(n), peak]
    else:
        origin_max = maps.reshape(n, -1).gather(1, peak[:, None])[:, 0]
    with np.errstate(all="ignore"):  # a NaN/Inf offset is caught by ``ok`` below
        logs = xp.log(_clip(blurred * (origin_max / xp.where(positive, top, 1.0)), 1e-3, 50.0))
        index = at(pixel_table("udp", h, w), peak)  # (9, N): the edge-padded 3 x 3, as rows of ``logs``
        L = np.take_along_axis(logs, index, 0) if numpy else logs.gather(0, index)  # L[3 (1 + dy) + 1 + dx]
        c = L[4]
        dx, dy = 0.5 * (L[5] - L[3]), 0.5 * (L[7] - L[1])
        dxx, dyy = L[5] - 2 * c + L[3], L[7] - 2 * c + L[1]
        dxy = 0.5 * (L[8] - L[5] - L[7] + 2 * c - L[3] - L[1] + L[0])
        eps = float(np.finfo(np.float32).eps)
        offset, det = _newton(xp, dx, dy, dxx + eps, dyy + eps, dxy)
    return _coords(xp, peak, (h, w), offset, positive & (det != 0))


def _newton(xp: Any, dx: Any, dy: Any, dxx: Any, dyy: Any, dxy: Any) -> tuple[Any, Any]:
    """The Newton step ``-Hess^-1 grad`` from ``(N,)`` derivatives: ``(2, N)`` offsets ``(x, y)`` (NaN or
    Inf where the step fails) and ``det(Hess)`` ``(N,)`` (the offsets are meaningless where it is 0)."""
    det = dxx * dyy - dxy * dxy
    safe = xp.where(det != 0, det, 1.0)
    return xp.stack([-(dyy * dx - dxy * dy) / safe, -(dxx * dy - dxy * dx) / safe]), det


def _clip(a: Any, low: float, high: float | None = None) -> Any:
    """``a`` clipped to ``[low, high]`` (numpy array or tensor; numpy's ufuncs skip ``ndarray.clip``'s
    Python-level checks, half its cost on a few thousand values)."""
    if isinstance(a, np.ndarray):
        a = np.maximum(a, low)
        return a if high is None else np.minimum(a, high, out=a)
    return a.clamp(low, high)


def _coords(xp: Any, peak: Any, size: tuple[int, int], offset: Any, ok: Any) -> Tensor:
    """The ``(N, 2)`` float64 tensor ``m + offset`` where ``ok`` and the offset is finite, else the
    integer argmax ``m``: ``peak`` ``(N,)`` flat indices, ``offset`` ``(2, N)``, ``ok`` ``(N,)`` bool
    (numpy arrays, or tensors)."""
    ok = ok & xp.isfinite(offset[0]) & xp.isfinite(offset[1])
    coords = at(pixel_table("xy", *size), peak) + xp.where(ok, offset, 0.0)  # (2, N)
    return torch.from_numpy(coords.T) if xp is np else coords.T
