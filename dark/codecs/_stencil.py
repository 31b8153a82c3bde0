"""The blur of each map around its argmax, at the 13 points DARK's Taylor steps read (issue 30).

Both DARK and DARK-UDP blur the map with a ``(k, k)`` Gaussian after padding it with zeros, then
take finite differences of its log at most 2 px from the argmax ``m``; each blurred value reads the
map at most ``(k - 1) / 2`` px further. So only the ``(4 + k)^2`` window around ``m`` matters: it is
gathered (zeros outside the map: exactly the zero padding) and blurred at the :data:`STENCIL` points
by one ``(13, (4 + k)^2) @ ((4 + k)^2, N)`` matrix product in float64 (float32 rounding in the sums
would move the log-derivatives, and so the coordinates, by up to 1e-5 px on wide maps); the rest of
the map is never touched (``tests/test_codecs_patch_blur.py`` checks the result against a blur of
the whole map, borders included).

On CPU float32/float64 maps the window is gathered in numpy (:func:`dark.codecs._maps.window_np`,
a CPU tensor is a numpy view for free) and the product runs in torch (on torch's threads, like every
other operation of the decoders; numpy's BLAS would start threads of its own); on any other device
everything stays in torch. Both compute the same numbers.

Per-pixel tables (:func:`at`): what the steps need to know about a peak's position (its ``(x, y)``,
whether a step applies there, which stencil points lie in the map) is looked up by its flat index,
one indexing instead of a handful of element-wise operations per call.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._maps import window, window_np

__all__ = ["STENCIL", "at", "blurred_stencil", "pixel_table", "stencil_weights"]

#: the points of the blurred map the Taylor steps read, as (dy, dx) from the argmax: dark's 5-point
#: crosses of step 1 and 2 and the four diagonal neighbours (which also make up DARK-UDP's 3 x 3)
STENCIL: tuple[tuple[int, int], ...] = (
    (0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0),
    (1, 1), (-1, 1), (1, -1), (-1, -1),
)  # fmt: skip


@lru_cache(maxsize=32)
def stencil_weights(g: tuple[float, ...]) -> np.ndarray:
    """``(len(STENCIL), (4 + k)^2)`` float64: the blur with the 1-D kernel ``g`` (``k`` values, odd) of
    the ``(4 + k)^2`` window around the argmax at each stencil point (read-only)."""
    k = len(g)
    s = 4 + k  # the window has radius 2 + (k - 1) / 2 around the argmax
    weights = np.zeros((s, s, len(STENCIL)))
    for i, (dy, dx) in enumerate(STENCIL):
        weights[2 + dy : 2 + dy + k, 2 + dx : 2 + dx + k, i] = np.outer(g, g)
    out = np.ascontiguousarray(weights.reshape(s * s, len(STENCIL)).T)  # row-major (13, S^2): 2x faster
    out.flags.writeable = False
    return out


@lru_cache(maxsize=32)
def _cpu_weights(g: tuple[float, ...]) -> Tensor:
    """:func:`stencil_weights` as a CPU tensor (made once, not per call)."""
    return torch.tensor(stencil_weights(g))


def blurred_stencil(maps: Tensor, peak: Any, g: tuple[float, ...]) -> Any:
    """The zero-padded ``(k, k)`` blur (1-D kernel ``g``) of each map at the ``STENCIL`` points around
    its peak.

    Args:
        maps: ``(N, H, W)`` maps (NaN and Inf count as 0).
        peak: ``(N,)`` int64 flat index of each map's maximum: a numpy array to gather in numpy (CPU
            float32/float64 maps only), or a tensor on the maps' device.
        g: the blur's 1-D kernel (``k`` values, ``k`` odd).

    Returns:
        ``(len(STENCIL), N)`` float64, in the maps' units (row ``i``: stencil point ``STENCIL[i]`` of
        every map), of ``peak``'s kind (its values at points outside the map are meaningless;
        :func:`pixel_table` ``"inside"`` tells which those are).
    """
    if isinstance(peak, np.ndarray):
        return _blurred_numpy(maps.detach().contiguous().numpy(), peak, g)
    return _blurred_torch(maps, peak, g)


def _blurred_numpy(maps: np.ndarray, peak: np.ndarray, g: tuple[float, ...]) -> np.ndarray:
    """:func:`blurred_stencil` of ``(N, H, W)`` C-contiguous float32/float64 numpy maps: ``(13, N)``."""
    weights = _cpu_weights(g)  # (13, S^2)
    v = window_np(maps, peak, 2 + (len(g) - 1) // 2).reshape(len(maps), -1)  # (N, S^2), zero-padded
    blurred = (weights @ torch.from_numpy(v.astype(np.float64, copy=False)).T).numpy()
    # Any NaN or Inf in a window reaches the 13 values (through every weight it meets, and 0 * Inf =
    # NaN); where it does not, it met only zero weights and zeroing it changes nothing. Checking the
    # result (one sum, finite in the common case) is cheaper than checking the window, and only the
    # windows whose values are not all finite are redone, sanitised.
    with np.errstate(invalid="ignore", over="ignore"):  # Inf + -Inf: a NaN sum, which is the signal
        clean = np.isfinite(blurred.sum())
    if not clean:
        dirty = np.flatnonzero(~np.isfinite(blurred).all(axis=0))
        v = v[dirty].astype(np.float64)
        v[~np.isfinite(v)] = 0.0
        blurred[:, dirty] = (weights @ torch.from_numpy(v).T).numpy()
    return blurred


def _blurred_torch(maps: Tensor, peak: Tensor, g: tuple[float, ...]) -> Tensor:
    """:func:`blurred_stencil` in torch, on the maps' device: ``(13, N)`` float64 tensor."""
    weights = torch.tensor(stencil_weights(g), device=maps.device)  # (13, S^2)
    r = 2 + (len(g) - 1) // 2
    v = window(maps, peak, r, torch.float64, finite=False)  # (N, S, S), zero-padded
    blurred = F.linear(v.reshape(len(v), -1), weights)  # one small matrix product does the whole blur
    dirty = ~torch.isfinite(blurred).all(dim=1)  # as in the numpy path
    if bool(dirty.any()):
        v = window(maps[dirty], peak[dirty], r, torch.float64)
        blurred[dirty] = F.linear(v.reshape(len(v), -1), weights)
    return blurred.T


@lru_cache(maxsize=64)
def pixel_table(name: str, h: int, w: int) -> np.ndarray:
    """A per-pixel table of an ``(H, W)`` map, indexed by flat index ``y * W + x`` (read-only):

    - ``"xy"``: ``(2, H * W)`` float64, the pixel's ``x`` and ``y``;
    - ``"dark"``: ``(H * W,)`` bool, whether DARK takes its step there (``1 < x < W-2``, ``1 < y < H-2``);
    - ``"inside"``: ``(13, H * W)`` bool, which stencil points around the pixel lie in the map;
    - ``"udp"``: ``(9, H * W)`` int64, DARK-UDP's 3 x 3 neighbours, row-major, as rows of ``STENCIL``
      after edge padding: a neighbour outside the map reads the nearest map pixel, i.e. its offset
      along the axis where it leaves the map becomes 0, which is again a stencil point.
    """
    y, x = np.divmod(np.arange(h * w), w)
    if name == "xy":
        out = np.stack([x, y]).astype(np.float64)
    elif name == "dark":
        out = (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2)
    elif name == "inside":
        dy, dx = (np.array(d)[:, None] for d in zip(*STENCIL, strict=True))
        out = (y + dy >= 0) & (y + dy < h) & (x + dx >= 0) & (x + dx < w)
    elif name == "udp":
        d = np.array([-1, 0, 1])[:, None]
        ey, ex = np.where((y + d >= 0) & (y + d < h), d, 0), np.where((x + d >= 0) & (x + d < w), d, 0)
        rows = {p: i for i, p in enumerate(STENCIL)}
        out = np.array([[rows[a, b] for a, b in zip(ay, bx, strict=True)] for ay in ey for bx in ex])
    else:
        raise ValueError(f"unknown pixel table {name!r}")
    out.flags.writeable = False
    return out


def at(table: np.ndarray, peak: Any) -> Any:
    """``table[..., peak]``: a :func:`pixel_table` at each peak (``(N,)`` int64 numpy array or tensor;
    the result is of its kind, on its device)."""
    if isinstance(peak, np.ndarray):
        return table[..., peak]
    return torch.tensor(table, device=peak.device)[..., peak]
