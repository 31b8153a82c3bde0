"""Heatmap codecs: every encoder and decoder of the study, batched, exact, fast and robust.

Coordinates are ``(x, y)`` = (column, row); pixel index ``i`` has coordinate ``i`` (its centre).
Heatmaps are ``(..., K, H, W)`` torch tensors on any device (float16/32/64) or numpy arrays; results
come back in the same library and on the same device.

    >>> from dark import codecs
    >>> import torch
    >>> targets = codecs.encode(torch.tensor([[[12.25, 20.5]]]), size=(64, 48), sigma=2.0)
    >>> coords, conf = codecs.decode(targets, "dark", sigma=2.0)
    >>> [round(v, 3) for v in coords[0, 0].tolist()], round(float(conf[0, 0]), 3)
    ([12.25, 20.5], 0.962)

The mathematics (what each encoder and decoder computes, the heatmap <-> input mapping, and how bad
input is handled) is the book's "Heatmap codecs" page, ``book/codecs.md``; each function's docstring
restates its part. A run's codec settings are one :class:`Codec`; its encoding is a row of
:data:`ENCODINGS`. A new decoder is one vectorised
function and one line in :data:`dark.codecs.registry.REGISTRY` (its docstring gives the contract).

The bottom room of the house (the rooms' order is :mod:`dark`'s docstring): it imports nothing else
of ``dark``; everything above reads it.
"""

from .codec import Codec
from .decode import decode
from .encode import ENCODERS, ROUNDINGS, centres, encode, round_coords
from .encodings import ENCODINGS, Encoding
from .mapping import to_heatmap, to_input
from .registry import DECODER_LABELS, DECODERS, PER_MAP_DECODERS, REGISTRY, Decoder
from .report import (
    REPORT_TEST_BATCH,
    REPORT_TEST_BATCHES,
    report_test_batch,
    report_visibility,
    standard_report,
)
from .taylor import blur_kernel, matched_kernel_size

__all__ = [
    "DECODERS",
    "DECODER_LABELS",
    "ENCODERS",
    "ENCODINGS",
    "PER_MAP_DECODERS",
    "REGISTRY",
    "REPORT_TEST_BATCH",
    "REPORT_TEST_BATCHES",
    "ROUNDINGS",
    "Codec",
    "Decoder",
    "Encoding",
    "blur_kernel",
    "centres",
    "decode",
    "encode",
    "matched_kernel_size",
    "report_test_batch",
    "report_visibility",
    "round_coords",
    "standard_report",
    "to_heatmap",
    "to_input",
]
