"""Batch primitives shared by the decoders: the first maximum, sanitising, windows around the maximum.

Non-finite values (NaN, +-Inf) count as missing, i.e. as 0: a map's maximum is then its largest
finite value whenever that is > 0, and a map with no positive finite value is invalid anyway.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

__all__ = ["finite_maps", "first_max", "inside_window", "window", "window_np"]


def _argmax_rows(flat: Tensor) -> Tensor:
    """``(N, L) -> (N,)`` index of the first maximum of the sanitised rows (NaN and Inf as 0), in torch.

    The path off the CPU (a GPU reads the data fast): sanitising first leaves nothing depending on how
    the device's argmax treats NaN.
    """
    return torch.where(torch.isfinite(flat), flat, 0.0).argmax(dim=1)


def first_max(flat: Tensor) -> tuple[Tensor, Tensor]:
    """First maximum of each row, ignoring non-finite values.

    Args:
        flat: ``(N, L)`` float maps, flattened row-major.

    Returns:
        ``(index, value)``, both ``(N,)`` tensors on ``flat``'s device: the flat index (int64) of the
        first largest value (first in row-major order on ties) once non-finite values count as 0, and
        that value (so it is <= 0 exactly when no finite value is > 0).

    On the CPU (float32/float64) it runs in numpy: a CPU tensor is a numpy view for free, numpy's SIMD
    argmax is several times faster than torch's, and its small operations cost a fraction of torch's.
    One read of the data in the common case: numpy's argmax, which propagates NaN, lands on a NaN or
    +Inf whenever a row holds one, and only those rows are searched again, sanitised.
    """
    if flat.device.type == "cpu" and flat.dtype in (torch.float32, torch.float64):
        a = flat.detach().numpy()
        index = np.argmax(a, axis=1)
        value = a[np.arange(len(a)), index]
        dirty = np.flatnonzero(~np.isfinite(value))
        if dirty.size:
            rows = np.where(np.isfinite(a[dirty]), a[dirty], 0)
            index[dirty] = np.argmax(rows, axis=1)
            value[dirty] = rows[np.arange(len(rows)), index[dirty]]
        return torch.from_numpy(index), torch.from_numpy(value)
    index = _argmax_rows(flat)
    value = flat.gather(1, index[:, None])[:, 0]
    dirty = ~torch.isfinite(value)
    if bool(dirty.any()):  # a row with no finite value (its sanitised argmax is 0)
        rows = flat[dirty]
        rows = torch.where(torch.isfinite(rows), rows, torch.zeros((), dtype=rows.dtype, device=rows.device))
        index[dirty] = _argmax_rows(rows)
        value[dirty] = rows.gather(1, index[dirty][:, None])[:, 0]
    return index, value


def finite_maps(flat: Tensor) -> Tensor:
    """``(N, L)`` maps with every non-finite value replaced by 0; no copy when all are finite already.

    A row whose sum is finite holds no NaN or Inf (one fast read); only the other rows are rewritten.
    """
    dirty = ~torch.isfinite(flat.sum(dim=1))
    if not bool(dirty.any()):
        return flat
    rows = flat[dirty]
    out = flat.clone()
    out[dirty] = torch.where(
        torch.isfinite(rows), rows, torch.zeros((), dtype=rows.dtype, device=rows.device)
    )
    return out


def inside_window(peak: Tensor, size: tuple[int, int], radius: int) -> Tensor:
    """``(N, 2r+1, 2r+1)`` bool: which entries of :func:`window`'s windows lie in the ``(H, W)`` map."""
    h, w = size
    offsets = torch.arange(-radius, radius + 1, device=peak.device)
    ys, xs = (peak // w)[:, None] + offsets, (peak % w)[:, None] + offsets
    return ((ys >= 0) & (ys < h))[:, :, None] & ((xs >= 0) & (xs < w))[:, None, :]


def window(
    maps: Tensor, peak: Tensor, radius: int, dtype: torch.dtype | None = None, finite: bool = True
) -> Tensor:
    """The ``(2r+1)^2`` window centred on each map's peak, zero outside the map and at non-finite values.

    Args:
        maps: ``(N, H, W)`` maps.
        peak: ``(N,)`` flat index ``y * W + x`` of the window's centre.
        radius: ``r`` (px).
        dtype: dtype of the returned values (default: the maps' dtype).
        finite: zero NaN and Inf (else they are left in, for a caller that checks its own result,
            which saves a read of the windows).

    Returns:
        ``(N, 2r+1, 2r+1)``: ``[n, r + dy, r + dx]`` is ``maps[n, y + dy, x + dx]``, or 0 outside the
        map and where it is NaN or Inf (:func:`inside_window` tells which entries are in the map). Only
        ``N (2r+1)^2`` values are read: nothing is padded or copied map-wide, so a decoder that reads
        its maps through ``window`` needs no sanitised copy of them.
    """
    n, h, w = maps.shape
    s = 2 * radius + 1
    pixels = maps.contiguous().reshape(-1)  # the batch as one flat buffer
    y, x = peak // w, peak % w
    border = (y < radius) | (y >= h - radius) | (x < radius) | (x >= w - radius)
    start = torch.arange(n, device=maps.device) * (h * w) + peak - radius * (w + 1)  # top-left, flat
    # Every window as a strided (S, S) view of the buffer; windows inside their map are copied row by
    # row (those the border cuts get a clamped start here and are redone below).
    count = pixels.numel() - (s - 1) * (w + 1)
    if count > 0:
        views = pixels.as_strided((count, s, s), (1, w, 1))
        values = views.index_select(0, start.clamp(0, count - 1))
    else:  # the batch is smaller than one window: every window is cut by the border
        values = maps.new_zeros((n, s, s))
        border = torch.ones_like(border)
    if bool(border.any()):  # only the windows the border cuts pay for clamping and masking
        rows = border.nonzero()[:, 0]
        offsets = torch.arange(-radius, radius + 1, device=maps.device)
        ys, xs = y[rows, None] + offsets, x[rows, None] + offsets
        index = (
            (rows * (h * w))[:, None, None]
            + (ys.clamp(0, h - 1) * w)[:, :, None]
            + xs.clamp(0, w - 1)[:, None, :]
        )
        inside = ((ys >= 0) & (ys < h))[:, :, None] & ((xs >= 0) & (xs < w))[:, None, :]
        cut = torch.where(
            inside, pixels.take(index), torch.zeros((), dtype=values.dtype, device=values.device)
        )
        values.index_copy_(0, rows, cut)
    values = values.to(dtype or maps.dtype)
    if finite and not bool(
        torch.isfinite(values.sum(dim=(1, 2))).all()
    ):  # a finite sum: all finite (one cheap read)
        values = torch.where(
            torch.isfinite(values), values, torch.zeros((), dtype=values.dtype, device=values.device)
        )
    return values


def window_np(maps: np.ndarray, peak: np.ndarray, radius: int) -> np.ndarray:
    """:func:`window` for C-contiguous numpy maps on the CPU, non-finite values left in.

    Args:
        maps: ``(N, H, W)`` C-contiguous float32 or float64 array.
        peak: ``(N,)`` int64 flat index ``y * W + x`` of each window's centre.
        radius: ``r`` (px).

    Returns:
        ``(N, 2r+1, 2r+1)`` array of the maps' dtype: ``[n, r + dy, r + dx]`` is
        ``maps[n, y + dy, x + dx]``, 0 outside the map; NaN and Inf inside the map are left as they are
        (the caller checks its own result, as :func:`window` with ``finite=False``).

    Each row of a window is ``2r + 1`` consecutive values of the batch's buffer: the buffer is viewed
    as overlapping items of that many values (one at every value's offset), and one fancy index copies
    the ``N (2r + 1)`` rows, each as a single item (about twice as fast as indexing a strided ``(count,
    2r+1, 2r+1)`` view value by value, in numpy or torch). Only the windows the border cuts (a lookup
    in :func:`_cut_by_border`) pay for more: they read the neighbouring rows (or maps) of the buffer
    there, which are zeroed afterwards, and the rare one with a map row that would start before the
    buffer or end after it (the first map's top rows, the last map's bottom rows) is cut from a
    zero-padded copy of its map.
    """
    n, h, w = maps.shape
    s = 2 * radius + 1
    pixels = maps.reshape(-1)
    count = pixels.size - s + 1  # the rows that fit in the buffer start at 0 .. count - 1
    if n == 0:
        return np.zeros((0, s, s), dtype=maps.dtype)
    if count <= 0:  # the batch is smaller than one window row
        return _padded_windows(maps, *np.divmod(peak, w), radius)
    starts = (peak + _first_starts(n, h * w, radius))[:, None] + _row_steps(w, radius)  # (N, S), flat
    cut = np.flatnonzero(_cut_by_border(h, w, radius)[peak])  # the windows the border cuts
    redo = cut[:0]
    if cut.size:
        y, x = np.divmod(peak[cut], w)
        in_rows = _in_map(h, radius)[y]  # (C, S): which window rows lie in the map
        if starts[:, 0].min() < 0 or starts[:, -1].max() >= count:  # rows start in increasing order
            outside = starts[cut]
            outside = (outside < 0) | (outside >= count)  # rows that would start outside the buffer
            starts[cut] = np.clip(starts[cut], 0, count - 1)
            redo = cut[(outside & in_rows).any(axis=1)]  # a map row read misaligned
    item = pixels.itemsize
    rows = np.ndarray((count,), np.dtype((np.void, s * item)), buffer=pixels, strides=(item,))
    values = rows[starts].view(pixels.dtype).reshape(n, s, s)
    if cut.size:  # zero what the cut windows read outside their map (other rows, other maps)
        inside = in_rows[:, :, None] & _in_map(w, radius)[x][:, None, :]
        values[cut] = np.where(inside, values[cut], 0)
        if redo.size:
            values[redo] = _padded_windows(maps[redo], *np.divmod(peak[redo], w), radius)
    return values


@functools.lru_cache(maxsize=64)
def _first_starts(n: int, size: int, radius: int) -> np.ndarray:
    """``(N,)`` int64: ``n * size - radius``, what a window's top-left is offset by from its peak's flat
    index in map ``n`` of the buffer, before the rows' offsets (read-only)."""
    out = np.arange(n, dtype=np.int64) * size - radius
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _row_steps(w: int, radius: int) -> np.ndarray:
    """``(2r+1,)`` int64: the flat offset of each window row from the window's first row (read-only)."""
    out = np.arange(-radius, radius + 1, dtype=np.int64) * w
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _in_map(size: int, radius: int) -> np.ndarray:
    """``(size, 2r+1)`` bool: ``[c, i]``: whether ``c - r + i`` lies in ``0 .. size - 1`` (which rows, or
    columns, of a window centred on row, or column, ``c`` lie in the map; read-only)."""
    c = np.arange(size)[:, None] + np.arange(-radius, radius + 1)
    out = (c >= 0) & (c < size)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _cut_by_border(h: int, w: int, radius: int) -> np.ndarray:
    """``(H * W,)`` bool: whether the window of radius ``r`` centred on each flat index leaves the map."""
    y, x = np.divmod(np.arange(h * w), w)
    out = (y < radius) | (y >= h - radius) | (x < radius) | (x >= w - radius)
    out.flags.writeable = False
    return out


def _padded_windows(maps: np.ndarray, y: np.ndarray, x: np.ndarray, radius: int) -> np.ndarray:
    """:func:`window_np` of a few maps through a zero-padded copy of them (no window leaves it)."""
    padded = np.pad(maps, ((0, 0), (radius, radius), (radius, radius)))
    return window_np(padded, (y + radius) * padded.shape[2] + x + radius, radius)
