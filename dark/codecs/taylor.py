"""DARK (Zhang et al. 2020) and mmpose's DARK-UDP: a Newton step on the blurred log-heatmap.

Both blur the map with the kernel of ``cv2.GaussianBlur(map, (k, k), 0)`` after padding it with
zeros, then take finite differences of its log at the integer argmax ``m``. Those differences read
the blurred map at most 2 px from ``m``, and each blurred value reads the map at most ``(k - 1) / 2``
px further: only a ``(5 + k - 1)^2`` window around ``m`` matters. So we gather that window (zeros
outside the map: exactly the zero padding) and blur it, at the 13 points the steps read, with one
``(13, (4 + k)^2) @ ((4 + k)^2, N)`` matrix product in float64 (it keeps float32 rounding out of the
log-derivatives); the rest of the map is never touched (``tests/test_codecs_patch_blur.py`` checks
the result against a blur of the whole map, borders included).

Where the time goes on the CPU (64 x 17 maps of 64 x 48, ``benchmarks/README.md``): numpy's argmax
over the batch, copying the windows out of memory, that matrix product, and the steps, about forty
element-wise operations on ``(N,)`` vectors. So on CPU float32/float64 maps the windows and the
steps run in numpy (a CPU tensor is a numpy view for free, and a numpy operation on a thousand values
costs a fraction of a torch one), the product in torch (on torch's threads, like every other
operation); on any other device everything stays in torch. Both paths compute the same numbers.

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
import torch.nn.functional as F
from torch import Tensor

from ._maps import window, window_np
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


#: the points of the blurred map the Taylor steps read, as (dy, dx) from the argmax: dark's 5-point
#: crosses of step 1 and 2 and the four diagonal neighbours (which also make up DARK-UDP's 3 x 3)
STENCIL: tuple[tuple[int, int], ...] = (
    (0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0),
    (1, 1), (-1, 1), (1, -1), (-1, -1),
)  # fmt: skip
#: DARK-UDP's 3 x 3 neighbourhood, row-major ((-1, -1), (-1, 0), ... (1, 1)), as columns of ``STENCIL``
_UDP_COLUMNS = tuple(STENCIL.index((a, b)) for a in (-1, 0, 1) for b in (-1, 0, 1))


@lru_cache(maxsize=32)
def _stencil_weights(k: int, blur_sigma: float | None = None) -> np.ndarray:
    """``(len(STENCIL), (4 + k)^2)``: the blur of the ``(4 + k)^2`` window at each stencil point."""
    g = blur_kernel(k, blur_sigma)
    s = 4 + k  # the window has radius 2 + (k - 1) / 2 around the argmax
    weights = np.zeros((s, s, len(STENCIL)))
    for i, (dy, dx) in enumerate(STENCIL):
        weights[2 + dy : 2 + dy + k, 2 + dx : 2 + dx + k, i] = np.outer(g, g)
    return np.ascontiguousarray(weights.reshape(s * s, len(STENCIL)).T)  # row-major (13, S^2): 2x faster


def _on_numpy(maps: Tensor) -> bool:
    """Whether :func:`_blurred_stencil` and the steps run in numpy: CPU float32/float64 maps.

    On the CPU a numpy operation on a few thousand values costs a fraction of a torch one (about a
    microsecond against several), and the steps are some forty element-wise operations on ``(N,)``
    vectors; a CPU tensor is a numpy view for free. Other devices and dtypes stay in torch, where the
    data are.
    """
    return maps.device.type == "cpu" and maps.dtype in (torch.float32, torch.float64)


def _blurred_stencil(maps: Tensor, peak: Tensor, k: int, blur_sigma: float | None = None) -> Any:
    """The zero-padded ``(k, k)`` blur of each map at the ``STENCIL`` points around its peak.

    Args:
        maps: ``(N, H, W)`` maps (NaN and Inf count as 0).
        peak: ``(N,)`` int64 flat index of each map's maximum.

    Returns:
        ``(len(STENCIL), N)`` float64, in the maps' units (row ``i``: stencil point ``STENCIL[i]`` of
        every map): a numpy array where :func:`_on_numpy`, else a tensor on the maps' device (its
        values at points outside the map are meaningless, see :func:`_inside`).

    The blur reads only the ``(4 + k)^2`` window around the peak (zeros outside the map: exactly the
    zero padding) and is one ``(13, (4 + k)^2) @ ((4 + k)^2, N)`` matrix product in float64, a torch
    one on both paths (it runs on torch's threads, as every other operation of the decoders).
    """
    r = (k - 1) // 2
    weights = torch.as_tensor(_stencil_weights(k, blur_sigma), device=maps.device)  # (13, S^2)
    if _on_numpy(maps):
        a = maps.detach().contiguous().numpy()
        v = window_np(a, peak.numpy(), 2 + r).reshape(len(a), -1)  # (N, (4 + k)^2), zero-padded
        blurred = (weights @ torch.from_numpy(v.astype(np.float64)).T).numpy()
        # Any NaN or Inf in a window reaches the 13 values (through every weight it meets, and
        # 0 * Inf = NaN); where it does not, it met only zero weights and zeroing it changes nothing.
        # Checking the result is cheaper than checking the window, and only such windows are redone.
        dirty = np.flatnonzero(~np.isfinite(blurred).all(axis=0))
        if dirty.size:
            v = v[dirty].astype(np.float64)
            v[~np.isfinite(v)] = 0.0
            blurred[:, dirty] = (weights @ torch.from_numpy(v).T).numpy()
        return blurred
    v = window(maps, peak, 2 + r, torch.float64, finite=False)  # (N, 4 + k, 4 + k), zero-padded
    blurred = F.linear(v.reshape(len(v), -1), weights)  # one small matrix product does the whole blur
    dirty = ~torch.isfinite(blurred).all(dim=1)  # as above
    if bool(dirty.any()):
        v = window(maps[dirty], peak[dirty], 2 + r, torch.float64)
        blurred[dirty] = F.linear(v.reshape(len(v), -1), weights)
    return blurred.T


def _inside(y: Any, x: Any, size: tuple[int, int]) -> Any:
    """``(len(STENCIL), N)`` bool: which stencil points around each ``(y, x)`` peak lie in the ``(H, W)``
    map (``y``, ``x``: ``(N,)`` int64 arrays or tensors; the result is of their kind)."""
    h, w = size
    dy, dx = (_like(y, d) for d in zip(*STENCIL, strict=True))
    ys, xs = y + dy[:, None], x + dx[:, None]
    return (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)


def _like(ref: Any, values: Any) -> Any:
    """``values`` as an array of ``ref``'s kind (numpy, or a tensor on ``ref``'s device)."""
    if isinstance(ref, np.ndarray):
        return np.asarray(values)
    return torch.as_tensor(values, device=ref.device)


def _peak_yx(peak: Tensor, w: int, numpy: bool) -> tuple[Any, Any]:
    """``(N,)`` flat indices -> ``(y, x)``, each ``(N,)`` int64, as numpy arrays if ``numpy``."""
    p = peak.numpy() if numpy else peak
    return p // w, p % w


def _kernel_size(kernel_size: int | None, sigma: float) -> int:
    k = matched_kernel_size(sigma) if kernel_size is None else kernel_size
    blur_kernel(k)  # validates
    return int(k)


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
    k = _kernel_size(kernel_size, sigma)
    blur_kernel(k, blur_sigma)  # validates blur_sigma
    _, h, w = maps.shape
    peak = peak_of(maps, peak)
    numpy = _on_numpy(maps)
    xp: Any = np if numpy else torch  # the same steps in numpy (CPU) or torch (any device)
    blurred = _blurred_stencil(maps, peak, k, blur_sigma)  # (13, N) float64
    y, x = _peak_yx(peak, w, numpy)
    with np.errstate(all="ignore"):  # a NaN/Inf offset is caught by ``ok`` below
        top = xp.amax(blurred, axis=0)  # all 13 points are in the map wherever the step applies (below)
        positive = top > 0
        logs = xp.log(_clip(blurred / xp.where(positive, top, 1.0), 1e-10))
        L = dict(zip(STENCIL, logs, strict=True))  # (dy, dx) -> (N,)

        c = L[0, 0]
        dx = 0.5 * (L[0, 1] - L[0, -1])
        dy = 0.5 * (L[1, 0] - L[-1, 0])
        dxx = 0.25 * (L[0, 2] - 2 * c + L[0, -2])
        dyy = 0.25 * (L[2, 0] - 2 * c + L[-2, 0])
        dxy = 0.25 * (L[1, 1] - L[-1, 1] - L[1, -1] + L[-1, -1])
        det = dxx * dyy - dxy * dxy
        safe = xp.where(det != 0, det, 1.0)
        ox, oy = -(dyy * dx - dxy * dy) / safe, -(dxx * dy - dxy * dx) / safe

    ok = (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2) & positive & (det != 0)
    ok &= xp.isfinite(ox) & xp.isfinite(oy)
    return _coords(xp, x + xp.where(ok, ox, 0.0), y + xp.where(ok, oy, 0.0))


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
    k = _kernel_size(kernel_size, sigma)
    n, h, w = maps.shape
    peak = peak_of(maps, peak)
    numpy = _on_numpy(maps)
    xp: Any = np if numpy else torch  # the same steps in numpy (CPU) or torch (any device)
    blurred = _blurred_stencil(maps, peak, k)  # (13, N) float64
    y, x = _peak_yx(peak, w, numpy)
    top = xp.amax(xp.where(_inside(y, x, (h, w)), blurred, -xp.inf), axis=0)  # in-map points only
    positive = top > 0
    if numpy:
        origin_max = maps.detach().numpy().reshape(n, -1)[np.arange(n), y * w + x]
    else:
        origin_max = maps.reshape(n, -1).gather(1, peak[:, None])[:, 0]
    with np.errstate(all="ignore"):  # a NaN/Inf offset is caught by ``ok`` below
        scale = origin_max / xp.where(positive, top, 1.0)
        logs = xp.log(_clip(blurred * scale, 1e-3, 50.0))
        # Edge padding of L: a neighbour outside the map reads the nearest map pixel, i.e. its offset
        # along the axis where it leaves the map becomes 0, which is again a stencil point.
        d = _like(y, (-1, 0, 1))[:, None]
        ys, xs = y + d, x + d  # (3, N) neighbour rows / columns
        ey = xp.where((ys >= 0) & (ys < h), d, 0)
        ex = xp.where((xs >= 0) & (xs < w), d, 0)
        index = _like(y, _UDP_COLUMNS)[(ey[:, None, :] + 1) * 3 + ex[None, :, :] + 1].reshape(9, n)
        L = np.take_along_axis(logs, index, 0) if numpy else logs.gather(0, index)  # L[3 (1 + dy) + 1 + dx]

        c = L[4]
        dx = 0.5 * (L[5] - L[3])
        dy = 0.5 * (L[7] - L[1])
        dxx = L[5] - 2 * c + L[3]
        dyy = L[7] - 2 * c + L[1]
        dxy = 0.5 * (L[8] - L[5] - L[7] + 2 * c - L[3] - L[1] + L[0])
        eps = float(np.finfo(np.float32).eps)
        a, e = dxx + eps, dyy + eps
        det = a * e - dxy * dxy
        safe = xp.where(det != 0, det, 1.0)
        ox, oy = -(e * dx - dxy * dy) / safe, -(a * dy - dxy * dx) / safe
    ok = positive & (det != 0) & xp.isfinite(ox) & xp.isfinite(oy)
    return _coords(xp, x + xp.where(ok, ox, 0.0), y + xp.where(ok, oy, 0.0))


def _clip(a: Any, low: float, high: float | None = None) -> Any:
    """``a`` clipped to ``[low, high]`` (numpy array or tensor; numpy's ufuncs skip ``ndarray.clip``'s
    Python-level checks, half its cost on a few thousand values)."""
    if isinstance(a, np.ndarray):
        a = np.maximum(a, low)
        return a if high is None else np.minimum(a, high, out=a)
    return a.clamp(low, high)


def _coords(xp: Any, x: Any, y: Any) -> Tensor:
    """``(N,)`` float64 ``x`` and ``y``, numpy arrays or tensors -> the ``(N, 2)`` float64 tensor."""
    if xp is np:
        return torch.from_numpy(np.stack([x, y], axis=1))
    return torch.stack([x, y], dim=1)
