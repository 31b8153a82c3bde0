"""Predicted heatmaps -> joints in input px: the one decoding path of validation and evaluation.

``decode_heatmaps(heatmaps, codec, decoders)`` decodes with each decoder of :data:`dark.codecs.DECODERS`
(or the ones named) at the run's ``sigma`` and maps heatmap px to input px of the original 160x320
map through the run's :class:`dark.codecs.Codec` (:meth:`dark.codecs.Codec.decode`, the codec that made
the training targets). Training's validation and :mod:`dark.evaluate` both call
it, so a validation score and a test score are computed the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from dark import codecs


def codec_of(config: Mapping[str, Any] | codecs.Codec, heatmap_size: Sequence[int]) -> codecs.Codec:
    """The :class:`dark.codecs.Codec` of a run's settings (a Codec is returned as it is).

    A partial configuration (``sigma``, ``heatmap_stride``, optionally ``scaling``; e.g. a widget's
    state) gets the heatmaps' size and the original input size ``heatmap_size * stride``; decoding
    does not depend on the encoding, so it is taken as ``"unbiased"`` when absent.
    """
    if isinstance(config, codecs.Codec):
        return config
    full = {"encoding": "unbiased", "scaling": "stride", "heatmap_size": list(heatmap_size), **config}
    return codecs.Codec.from_config(full)


def decode_heatmaps(
    heatmaps: np.ndarray | torch.Tensor,
    codec: codecs.Codec | Mapping[str, Any],
    decoders: Sequence[str] | None = None,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Every decoder on the same heatmaps, in input px: ``(N, K, h, w) -> {name: (N, K, 2) float64}``.

    Args:
        heatmaps: numpy (float16/32, e.g. a memory-mapped cache) or torch, any device.
        codec: the run's codec, or its configuration (see :func:`codec_of`).
        decoders: names of :data:`dark.codecs.DECODERS` (default: all, in the table's order).
        device: where the batches of ``batch_size`` samples are decoded (as float32).
    """
    from tqdm.auto import tqdm

    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, K, h, w), got {tuple(heatmaps.shape)}")
    n, k, h, w = heatmaps.shape
    codec = codec_of(codec, (h, w))
    decoders = tuple(codecs.DECODERS if decoders is None else decoders)
    out = {d: np.empty((n, k, 2)) for d in decoders}
    for i in tqdm(range(0, n, batch_size), desc="decode", disable=not progress):
        chunk = heatmaps[i : i + batch_size]
        if not isinstance(chunk, torch.Tensor):
            chunk = torch.from_numpy(np.array(chunk, dtype=np.float32))
        hm = chunk.to(device).float()
        for d in decoders:
            xy, _ = codec.decode(hm, d)
            out[d][i : i + len(hm)] = xy.cpu().numpy()
    return out
