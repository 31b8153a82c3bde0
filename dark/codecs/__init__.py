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

The numerical contract (what each method computes, and how bad input is handled) is that of the
project's ``CODECS.md``; each decoder's docstring restates it. A new decoder is one vectorised
function and one line in :data:`dark.codecs.registry.REGISTRY` (its docstring gives the contract).
"""

from .decode import decode
from .encode import ENCODERS, centres, encode
from .mapping import to_heatmap, to_input
from .registry import DECODERS, REGISTRY, Decoder
from .taylor import blur_kernel, matched_kernel_size

__all__ = [
    "DECODERS",
    "ENCODERS",
    "REGISTRY",
    "Decoder",
    "blur_kernel",
    "centres",
    "decode",
    "encode",
    "matched_kernel_size",
    "to_heatmap",
    "to_input",
]
