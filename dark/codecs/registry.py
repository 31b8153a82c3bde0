"""The decoders by name: adding one is one function and one line in ``REGISTRY``.

A decoder function has the signature::

    fn(maps: Tensor, sigma: float = 2.0, *, [peak: Tensor | None = None,] **options) -> Tensor

- ``maps``: ``(N, H, W)`` float32 or float64 tensor, on any device, already sanitised by
  :func:`dark.codecs.decode`: every value finite (NaN/Inf were replaced by 0) and every map valid
  (its maximum is > 0; invalid maps never reach the decoder, ``decode`` answers them itself).
- ``sigma``: the Gaussian's standard deviation of the training targets, heatmap px.
- ``peak`` (only if the entry says ``peak=True``): ``(N,)`` int64 flat index ``y * W + x`` of each
  map's first maximum, which ``decode`` has already found (saves the decoder a pass over the data).
- ``options``: the decoder's own keyword options (``decode(..., **method_options)``; ``kernel_size``
  is passed only to decoders that accept it).
- Returns ``(N, 2)`` float ``(x, y)`` in heatmap px (pixel index ``i`` has coordinate ``i``), finite;
  one vectorised computation over the batch (no Python loop over maps), never reading across maps,
  never modifying ``maps``.

``batch=True`` marks a decoder that reads ACROSS the maps of one call (the report's ``standard_report``,
whose norm runs over the batch): it gets every map of the call, invalid ones too (sanitised), in
``(..., K)`` row-major order and ``channels=K``, and ``decode`` replaces its result for invalid maps. Its
result depends on what else is in the call: callers choose the batch (``dark.experiment.decoding`` decodes it
in batches of the report's test batch).

``sanitise=False`` marks a decoder that reads nothing but ``peak`` and windows gathered with
:func:`dark.codecs._maps.window` (which zeroes non-finite values itself): ``decode`` then skips the
pass over the whole batch that sanitising costs (``argmax`` stays one read of the data). New decoders
keep the default and get finite maps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from . import local, mass, mle, report, taylor

__all__ = ["DECODERS", "DECODER_LABELS", "REGISTRY", "Decoder"]


@dataclass(frozen=True)
class Decoder:
    """A registry entry: the function and what ``decode`` must hand it."""

    fn: Callable[..., Tensor]
    peak: bool = False  #: ``fn`` accepts ``peak=`` (the ``(N,)`` flat argmax)
    sanitise: bool = True  #: False: ``fn`` reads only ``peak`` and ``window()``s, no sanitised copy needed
    batch: bool = False  #: True: ``fn`` reads across the maps of a call and accepts ``channels=K``
    label: str = ""  #: what a reader reads in prose, table headers and legends (the book's one label table)


REGISTRY: dict[str, Decoder] = {
    "argmax": Decoder(local.argmax, peak=True, sanitise=False, label="ArgMax"),
    "standard": Decoder(local.standard, peak=True, sanitise=False, label="Standard"),
    "standard_2nd": Decoder(
        local.standard_2nd, peak=True, sanitise=False, label="Standard (DARK paper's step)"
    ),
    "standard_top2": Decoder(local.standard_top2, peak=True, label="Standard (global top-2)"),
    "dark": Decoder(taylor.dark, peak=True, sanitise=False, label="DARK"),
    "dark_report": Decoder(taylor.dark_report, peak=True, sanitise=False, label="DARK (report's blur)"),
    "com": Decoder(mass.com, peak=True, label="CoM"),
    "local_com": Decoder(local.local_com, peak=True, sanitise=False, label="CoM (local window)"),
    "soft_argmax": Decoder(mass.soft_argmax, peak=True, label="Soft-argmax"),
    "soft_argmax_debiased": Decoder(mass.soft_argmax_debiased, peak=True, label="Soft-argmax (debiased)"),
    "mom": Decoder(mass.mom, peak=True, label="Median of mass"),
    "gaussian_fit": Decoder(local.gaussian_fit, peak=True, sanitise=False, label="Gaussian fit"),
    "dark_udp": Decoder(taylor.dark_udp, peak=True, sanitise=False, label="DARK-UDP"),
    "mle": Decoder(mle.decode_mle, label="Maximum likelihood"),
    "standard_report": Decoder(report.standard_report, batch=True, label="Standard (report's code)"),
}

#: the decoders' names, in the order of the study
DECODERS: tuple[str, ...] = tuple(REGISTRY)
#: the decoders whose estimate for a map depends on that map alone (not ``batch``): what a widget
#: that decodes one map, or a precomputed grid of maps, can show
PER_MAP_DECODERS: tuple[str, ...] = tuple(d for d in DECODERS if not REGISTRY[d].batch)
#: each decoder's label, for the book (:attr:`Decoder.label`)
DECODER_LABELS: dict[str, str] = {d: REGISTRY[d].label for d in DECODERS}
