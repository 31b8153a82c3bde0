"""Batch primitives shared by the decoders: the first maximum, sanitising, windows around the maximum.

Non-finite values (NaN, +-Inf) count as missing, i.e. as 0: a map's maximum is then its largest
finite value whenever that is > 0, and a map with no positive finite value is invalid anyway.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["finite_maps", "first_max", "window"]


def _argmax_rows(flat: Tensor) -> Tensor:
    """``(N, L) -> (N,)`` index of the first maximum; NaN counts as the maximum, like numpy and torch.

    On the CPU numpy's SIMD argmax is several times faster than torch's, and a CPU tensor is a numpy
    view for free.
    """
    if flat.device.type == "cpu" and flat.dtype in (torch.float32, torch.float64):
        return torch.from_numpy(np.argmax(flat.numpy(), axis=1))
    return flat.argmax(dim=1)


def first_max(flat: Tensor) -> tuple[Tensor, Tensor]:
    """First maximum of each row, ignoring non-finite values.

    Args:
        flat: ``(N, L)`` float32/float64 maps, flattened row-major.

    Returns:
        ``(index, value)``, both ``(N,)``: the flat index of the first largest finite value (first in
        row-major order on ties) and that value; ``value`` is 0 (and the index that of the first 0)
        when no finite value is > 0.

    One read of the data in the common case: an argmax that propagates NaN (numpy's, torch's) lands
    on a NaN or +Inf whenever a row holds one, and only those rows are searched again, sanitised.
    """
    index = _argmax_rows(flat)
    value = flat.gather(1, index[:, None])[:, 0]
    dirty = ~torch.isfinite(value)
    if bool(dirty.any()):
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


def window(
    maps: Tensor, peak: Tensor, radius: int, dtype: torch.dtype | None = None
) -> tuple[Tensor, Tensor]:
    """The ``(2r+1)^2`` window centred on each map's peak, zero outside the map and at non-finite values.

    Args:
        maps: ``(N, H, W)`` maps.
        peak: ``(N,)`` flat index ``y * W + x`` of the window's centre.
        radius: ``r`` (px).
        dtype: dtype of the returned values (default: the maps' dtype).

    Returns:
        ``(values, inside)``, both ``(N, 2r+1, 2r+1)``; ``values[n, r + dy, r + dx]`` is
        ``maps[n, y + dy, x + dx]`` (0 outside the map, and where it is NaN or Inf), ``inside`` tells
        which entries are in the map. Only ``N (2r+1)^2`` values are read: nothing is padded or copied
        map-wide, so a decoder that reads its maps through ``window`` needs no sanitised copy of them.
    """
    n, h, w = maps.shape
    offsets = torch.arange(-radius, radius + 1, device=maps.device)
    ys, xs = (peak // w)[:, None] + offsets, (peak % w)[:, None] + offsets  # (N, S) each
    in_y, in_x = (ys >= 0) & (ys < h), (xs >= 0) & (xs < w)
    index = (ys.clamp(0, h - 1) * w)[:, :, None] + xs.clamp(0, w - 1)[:, None, :]
    values = (
        maps.reshape(n, h * w).gather(1, index.reshape(n, -1)).reshape(index.shape).to(dtype or maps.dtype)
    )
    inside = in_y[:, :, None] & in_x[:, None, :]
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    if not bool(in_y.all() & in_x.all()):  # windows cut by the border: zeros outside the map
        values = torch.where(inside, values, zero)
    if not bool(torch.isfinite(values.sum(dim=(1, 2))).all()):  # a finite sum: all finite (one cheap read)
        values = torch.where(torch.isfinite(values), values, zero)
    return values, inside
