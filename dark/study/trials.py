"""What every table of the decoder study shares: a seed per setting, and every decoder on the same maps.

The decoders are always called through :func:`dark.codecs.decode`, so the study measures exactly what
the library computes. Every (setting, trial set) draws its centres and noise from a seed derived from the
study's ``seed`` and the setting itself (:func:`subseed`), so a setting's numbers do not depend on which
other settings are run, and all decoders see the same noisy maps (paired).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor

from dark import codecs


def subseed(seed: int, *keys: float) -> int:
    """A 63-bit seed derived from ``seed`` and the setting ``keys`` (floats rounded to 1e-6)."""
    ints = [int(seed)] + [round(float(k) * 1_000_000) % (2**32) for k in keys]
    return int(np.random.SeedSequence(ints).generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1, 2**31])


def decode_all(
    maps: Tensor,
    sigma: float,
    decoders: Sequence[str] | None = None,
    kernel_size: int | None = None,
    **options: dict,
) -> dict[str, Tensor]:
    """Decode ``(N, H, W)`` maps with each decoder: ``{name: (N, 2) float64 (x, y)}``.

    ``options`` maps a decoder name to its own keyword options (e.g. ``mle={"init": "argmax"}``).
    """
    names = codecs.DECODERS if decoders is None else tuple(decoders)
    out = {}
    for name in names:
        coords, _ = codecs.decode(
            maps[:, None], name, sigma=float(sigma), kernel_size=kernel_size, **options.get(name, {})
        )
        out[name] = coords[:, 0].double()
    return out
