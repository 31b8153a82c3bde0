"""Predicted heatmaps -> joints in input px: the one decoding path of validation and evaluation.

``decode_heatmaps(heatmaps, codec, decoders)`` decodes with each decoder of :data:`dark.codecs.DECODERS`
(or the ones named) at the run's ``sigma`` and maps heatmap px to input px of the original 160x320
map through the run's :class:`dark.codecs.Codec` (:meth:`dark.codecs.Codec.decode`, the codec that made
the training targets). Training's validation and :mod:`dark.experiment.evaluate` both call
it, so a validation score and a test score are computed the same way. :func:`decode_predictions` also
gives each decoder's predicted visibility under the report's rule (:func:`dark.codecs.report_visibility`)
and runs the report's Standard decoder (``standard_report``, whose norm runs over a batch) on batches of
the report's test size in the maps' order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Decoded:
    """Every decoder's joints on the same heatmaps, and the report's predicted visibility at each."""

    coords: dict[str, np.ndarray]  #: name -> ``(N, K, 2)`` float64, original input px
    pred_visible: dict[str, np.ndarray]  #: name -> ``(N, K)`` bool: :func:`dark.codecs.report_visibility`
    report_batch: int  #: the batch a batch decoder (``standard_report``) was run on, in the maps' order


def decode_predictions(
    heatmaps: np.ndarray | torch.Tensor,
    codec: codecs.Codec | Mapping[str, Any],
    decoders: Sequence[str] | None = None,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    report_batch: int = codecs.REPORT_TEST_BATCH,
    progress: bool = False,
) -> Decoded:
    """Every decoder on the same heatmaps, in input px, with the report's visibility rule at each.

    Args:
        heatmaps: ``(N, K, h, w)`` numpy (float16/32, e.g. a memory-mapped cache) or torch, any device.
        codec: the run's codec, or its configuration (see :func:`codec_of`).
        decoders: names of :data:`dark.codecs.DECODERS` (default: all, in the table's order).
        device: where the batches of ``batch_size`` samples are decoded (as float32).
        report_batch: a decoder that reads across a batch (``standard_report``, whose norm runs over it)
            is run on consecutive batches of this many samples in the order of ``heatmaps`` (the last one
            smaller), as the report's test loader fed it (:func:`dark.codecs.report_test_batch`).

    Returns:
        :class:`Decoded`: coordinates ``(N, K, 2)`` float64 input px and ``pred_visible`` ``(N, K)`` bool
        (the report's rule on the blurred map at the decoder's own heatmap coordinates).
    """
    from tqdm.auto import tqdm

    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, K, h, w), got {tuple(heatmaps.shape)}")
    if report_batch < 1:
        raise ValueError(f"report_batch must be >= 1, got {report_batch}")
    n, k, h, w = heatmaps.shape
    codec = codec_of(codec, (h, w))
    decoders = tuple(codecs.DECODERS if decoders is None else decoders)
    batch_size = max(1, batch_size // report_batch) * report_batch  # chunks start on report batches
    out = {d: np.empty((n, k, 2)) for d in decoders}
    vis = {d: np.empty((n, k), bool) for d in decoders}
    for i in tqdm(range(0, n, batch_size), desc="decode", disable=not progress):
        chunk = heatmaps[i : i + batch_size]
        if not isinstance(chunk, torch.Tensor):
            chunk = torch.from_numpy(np.array(chunk, dtype=np.float32))
        hm = chunk.to(device).float()
        for d in decoders:
            step = report_batch if codecs.REGISTRY[d].batch else len(hm)
            xy = torch.cat([codec.decode(hm[j : j + step], d)[0] for j in range(0, len(hm), step)])
            out[d][i : i + len(hm)] = xy.cpu().numpy()
            v = codecs.report_visibility(hm, codec.to_heatmap(xy), stride=codec.stride)
            vis[d][i : i + len(hm)] = v.cpu().numpy()
    return Decoded(out, vis, report_batch)


def decode_heatmaps(
    heatmaps: np.ndarray | torch.Tensor,
    codec: codecs.Codec | Mapping[str, Any],
    decoders: Sequence[str] | None = None,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    report_batch: int = codecs.REPORT_TEST_BATCH,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Every decoder on the same heatmaps, in input px: ``(N, K, h, w) -> {name: (N, K, 2) float64}``
    (the coordinates of :func:`decode_predictions`, same arguments)."""
    return decode_predictions(
        heatmaps, codec, decoders, device=device, batch_size=batch_size, report_batch=report_batch,
        progress=progress,
    ).coords  # fmt: skip
