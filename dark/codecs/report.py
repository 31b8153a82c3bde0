"""The reproduced report's own decoding code (``moverseai/moai`` at 2f066bf; ``docs/report-code.md``).

- :func:`standard_report`: moai's ``_argmax_sub`` (its "standard" coordinate decoding), a decoder of
  :data:`dark.codecs.DECODERS` that reads across the maps of a batch;
- :func:`report_visibility`: moai's ``VisibilityHeatmap`` as the H4D configs wire it (the predicted
  masks of the report's per-axis PCKh, :func:`dark.metrics.pckh_per_axis`);
- :func:`report_test_batch`: the test batch the report's numbers were computed in (``_argmax_sub``'s
  norm runs over it).

Conventions. Ours: pixel ``i`` has coordinate ``i`` on both grids, ``x_in = stride * x_hm``. moai's:
input pixel ``j`` has its centre at ``j + 0.5``, and heatmap pixel ``i`` is the input grid's value at
``stride * i``, i.e. ``stride * i + 0.5`` input px; its heatmap coordinate is that times ``1 / stride``
(``DownscaleCoords_x4``), ``i + 0.5 / stride``. So moai's heatmap coordinate is ours plus half an input
pixel, ``0.5 / stride`` heatmap px (0.125 at the report's stride 4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._arrays import as_tensor, like_input
from .taylor import blur_kernel

__all__ = [
    "REPORT_BLUR",
    "REPORT_TEST_BATCH",
    "REPORT_TEST_BATCHES",
    "REPORT_VISIBILITY_THRESHOLD",
    "report_test_batch",
    "report_visibility",
    "standard_report",
]

#: the report's test batch (``experiment.batch_size``; its loaders use it at test time, ``drop_last``
#: false): 16 for SH without quantisation and for HRNet; see :data:`REPORT_TEST_BATCHES` for SH with it
REPORT_TEST_BATCH: int = 16
#: the cells whose batch differs: ``options_single_stackedhourglass_quant.yaml`` sets 24 (the ceil
#: quantiser is the report's "w/ quant"); every other (model, encoding): :data:`REPORT_TEST_BATCH`
REPORT_TEST_BATCHES: dict[tuple[str, str], int] = {("sh", "ceil"): 24}
#: ``VisibilityHeatmap``'s threshold (strict ``>``) on the blurred map
REPORT_VISIBILITY_THRESHOLD: float = 0.4
#: the blur the configs apply before DARK and the visibility test: kornia ``GaussianBlur2d``, 5 x 5,
#: sigma 1, reflect border, not rescaled afterwards: ``(kernel_size, sigma)``
REPORT_BLUR: tuple[int, float] = (5, 1.0)


def report_test_batch(model: str, encoding: str) -> int:
    """The report's test batch for a run of ``model`` (``"sh"``, ``"hrnet"``) trained with ``encoding``.

    >>> [report_test_batch(m, e) for m, e in (("sh", "ceil"), ("sh", "unbiased"), ("hrnet", "ceil"))]
    [24, 16, 16]
    """
    return REPORT_TEST_BATCHES.get((model, encoding), REPORT_TEST_BATCH)


def standard_report(maps: Tensor, sigma: float = 2.0, *, channels: int = 1, sub: float = 0.25) -> Tensor:
    """moai's ``_argmax_sub`` on the H4D grid: ``(N, H, W) -> (N, 2)`` heatmap px (ours).

    ``maps`` are ``B * channels`` maps in ``(batch, joint)`` row-major order (what ``decode`` hands a
    decoder of ``(B, K, H, W)`` heatmaps: ``channels = K``). Per map, ``m`` and ``s`` are the first and
    second of ``torch.topk(map, 2)`` over the whole map (``s`` need not touch ``m``); per joint ``k``,
    ``n_k = ||s - m||`` is ONE Frobenius norm over the whole batch and both axes; then

        ``x = m_x + sub * (s_x - m_x) * (W - 1) / (n_k * H)``,
        ``y = m_y + sub * (s_y - m_y) * (H - 1) / (n_k * W)``

    (moai multiplies the grid's (x, y) range by ``dims`` = (H, W) in the other order; the grid's stride
    cancels, so these hold in heatmap px at any stride). One sample whose second pixel is far from its
    peak shrinks every other sample's shift of that joint; at batch 1 an x-neighbour shifts
    ``0.25 (W-1)/H`` px (0.494 heatmap px on 80 x 40 maps) and a y-neighbour ``0.25 (H-1)/W`` (0.122).
    Ties at the top value: ``torch.topk``'s order, as moai.
    """
    n, h, w = maps.shape
    if channels < 1 or n % channels:
        raise ValueError(f"{n} maps are not a whole batch of {channels} channels")
    if h * w < 2:  # no second pixel (moai's topk would raise): the pixel itself
        return torch.zeros((n, 2), dtype=torch.float64, device=maps.device)
    top = torch.topk(maps.reshape(n, -1), 2, dim=1).indices  # (N, 2)
    xy = torch.stack([top % w, top // w], dim=-1).to(torch.float64)  # (N, 2 [m, s], 2 [x, y])
    m, d = xy[:, 0], xy[:, 1] - xy[:, 0]
    norm = d.reshape(-1, channels, 2).square().sum(dim=(0, 2)).sqrt()  # (channels,): over batch and axes
    scale = torch.tensor([(w - 1) / h, (h - 1) / w], dtype=torch.float64, device=maps.device)
    return m + sub * d * scale / norm.repeat(n // channels)[:, None]


def _reflect(i: Tensor, size: int) -> Tensor:
    """Indices up to 2 outside ``[0, size)`` reflected without repeating the edge (torch's "reflect")."""
    i = torch.where(i < 0, -i, i)
    return torch.where(i >= size, 2 * (size - 1) - i, i)


def report_visibility(
    heatmaps: Any, coords_hm: Any, *, stride: float = 4.0, threshold: float = REPORT_VISIBILITY_THRESHOLD
) -> Any:
    """The report's predicted visibility: ``(N, K, h, w)``, ``(N, K, 2)`` heatmap px ``-> (N, K)`` bool.

    moai's ``VisibilityHeatmap`` as the configs wire it: the network's map blurred by :data:`REPORT_BLUR`
    (reflect border, not rescaled), read at ``(trunc(y'), trunc(x'))`` with ``x' = x + 0.5 / stride`` the
    coordinate in moai's convention (module docstring), visible when the value is ``> threshold``. The
    integer part truncates toward zero (``.long()``), so ``x'`` in ``(-1, 0)`` reads column 0; indices
    outside the map are invisible (no clamping). The report applies the same mask to both axes.

    Args:
        heatmaps: the network's (unblurred) maps, torch (any device) or numpy; ``h, w >= 3``.
        coords_hm: a decoder's coordinates in heatmap px (ours: pixel ``i`` at ``i``).
        stride: original input px per heatmap px (the report: 4).

    Returns:
        ``(N, K)`` bool, numpy for numpy ``heatmaps``, else a tensor on their device.
    """
    hm, was_numpy = as_tensor(heatmaps, "heatmaps", "(N, K, h, w)")
    n, k, h, w = hm.shape if hm.ndim == 4 else (None, None, 0, 0)
    if hm.ndim != 4 or min(h, w) < 3:
        raise ValueError(f"heatmaps must have shape (N, K, h, w) with h, w >= 3, got {tuple(hm.shape)}")
    xy = torch.as_tensor(np.asarray(coords_hm) if not isinstance(coords_hm, Tensor) else coords_hm)
    if tuple(xy.shape) != (n, k, 2):
        raise ValueError(f"coords_hm must have shape (N, K, 2) = {(n, k, 2)}, got {tuple(xy.shape)}")
    xy = torch.trunc(xy.to(hm.device, torch.float64) + 0.5 / stride).long()  # toward zero, as .long()
    ix, iy = xy[..., 0], xy[..., 1]
    inside = (ix > -1) & (iy > -1) & (ix < w) & (iy < h)
    ix, iy = ix.clamp(0, w - 1), iy.clamp(0, h - 1)  # looked up only where inside
    size, blur_sigma = REPORT_BLUR
    r = size // 2
    d = torch.arange(-r, r + 1, device=hm.device)
    rows = _reflect(iy[..., None] + d, h)  # (N, K, 5)
    cols = _reflect(ix[..., None] + d, w)
    flat = hm.reshape(n, k, h * w)
    idx = (rows[..., :, None] * w + cols[..., None, :]).reshape(n, k, size * size)
    window = flat.gather(2, idx).to(torch.float64).reshape(n, k, size, size)
    g = torch.as_tensor(blur_kernel(size, blur_sigma), device=hm.device)
    value = torch.einsum("nkij,i,j->nk", window, g, g)  # the blurred map at (iy, ix)
    return like_input(inside & (value > threshold), was_numpy)
