"""``Codec``: a run's codec settings in one object (encoder + mapping + decoder), both directions.

mmpose keeps a codec's encoder and decoder on one object; this is the same pairing without a
registry. Training makes its targets with :meth:`Codec.targets`, validation and evaluation decode
heatmaps to input px with :meth:`Codec.decode` (the decoder, then the inverse of the mapping the
targets were made with), widgets and plots use :meth:`Codec.to_heatmap`. "Input px" means px
of the ORIGINAL input map (160 x 320), even when the network sees a downsampled one: ``stride`` is
original px per heatmap px. The formulas are in the book's "Heatmap codecs" page (``book/codecs.md``).

    >>> import torch
    >>> codec = Codec("ceil", sigma=2.0, stride=4, scaling="stride", input_size=(160, 320),
    ...               heatmap_size=(40, 80))
    >>> t, w = codec.targets(torch.tensor([[[41.2, 22.4]]]), torch.tensor([[True]]))
    >>> t.shape, w.tolist()
    (torch.Size([1, 1, 40, 80]), [[1.0]])
    >>> xy, confidence = codec.decode(t, "dark")
    >>> [round(v, 2) for v in xy[0, 0].tolist()]  # ceil on the input grid: (42, 23)
    [42.0, 23.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .decode import decode
from .encode import encode
from .encodings import ENCODINGS, Encoding
from .mapping import to_heatmap, to_input

__all__ = ["Codec"]

_SCALINGS = ("stride", "udp")


def _pair(v: Sequence[int], name: str) -> tuple[int, int]:
    if len(v) != 2 or min(v) < 1 or any(int(s) != s for s in v):
        raise ValueError(f"{name} must be (H, W) with positive integers, got {v!r}")
    return int(v[0]), int(v[1])


@dataclass(frozen=True)
class Codec:
    """Codec settings of one run.

    Attributes:
        encoding: a key of :data:`dark.codecs.ENCODINGS`.
        sigma: target Gaussian's standard deviation, heatmap px.
        stride: ORIGINAL input px per heatmap px (``heatmap_stride`` of the run's config).
        scaling: ``"stride"`` (``x_hm = x_img / stride``) or ``"udp"``
            (``x_hm = x_img (w - 1) / (W - 1)``).
        input_size: ``(H, W)`` of the original input grid (160, 320).
        heatmap_size: ``(h, w)`` of the heatmaps.
    """

    encoding: str
    sigma: float
    stride: float
    scaling: str
    input_size: tuple[int, int]
    heatmap_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {tuple(ENCODINGS)}, got {self.encoding!r}")
        if self.scaling not in _SCALINGS:
            raise ValueError(f"scaling must be one of {_SCALINGS}, got {self.scaling!r}")
        if not (math.isfinite(self.sigma) and self.sigma > 0 and self.stride > 0):
            raise ValueError(f"sigma and stride must be > 0, got {self.sigma!r}, {self.stride!r}")
        object.__setattr__(self, "input_size", _pair(self.input_size, "input_size"))
        object.__setattr__(self, "heatmap_size", _pair(self.heatmap_size, "heatmap_size"))

    @property
    def spec(self) -> Encoding:
        """The :class:`dark.codecs.Encoding` row of :attr:`encoding`."""
        return ENCODINGS[self.encoding]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Codec:
        """The codec of a mapping of a run's settings (e.g. a widget's state; a whole run's codec is
        :attr:`dark.experiment.runs.RunConfig.codec`, which also reads older ``config.json`` spellings).

        Reads ``"encoding"``, ``"sigma"``, ``"heatmap_stride"``, ``"scaling"`` (default ``"stride"``),
        ``"heatmap_size"`` and the original input size ``heatmap_size * heatmap_stride``.

        Example:
            >>> cfg = {"encoding": "quantized-heatmap", "sigma": 2.0, "heatmap_stride": 8,
            ...        "scaling": "stride", "heatmap_size": [20, 40]}
            >>> c = Codec.from_config(cfg)
            >>> c.encoding, c.input_size, c.heatmap_size
            ('quantized-heatmap', (160, 320), (20, 40))
        """
        stride = config["heatmap_stride"]
        heatmap_size = tuple(config["heatmap_size"])
        original = tuple(round(s * stride) for s in heatmap_size)
        scaling = config.get("scaling", "stride")
        return cls(config["encoding"], float(config["sigma"]), stride, scaling, original, heatmap_size)

    def _mapping(self) -> dict[str, Any]:
        return {
            "stride": self.stride,
            "scaling": self.scaling,
            "input_size": self.input_size,
            "heatmap_size": self.heatmap_size,
        }

    def to_heatmap(self, joints_input_px: Any) -> Any:
        """``(..., 2)`` original input px -> heatmap px (torch or numpy, same library and device)."""
        return to_heatmap(joints_input_px, **self._mapping())

    def to_input(self, coords_hm: Any) -> Any:
        """``(..., 2)`` heatmap px -> original input px: the exact inverse of :meth:`to_heatmap`."""
        return to_input(coords_hm, **self._mapping())

    def targets(
        self, joints_input_px: Any, visible: Any, generator: torch.Generator | None = None
    ) -> tuple[Any, Any]:
        """Training targets: ``(B, K, 2)`` input px, ``(B, K)`` bool -> ``(B, K, h, w)``, ``(B, K)``.

        On the joints' device and in their library. ``generator`` (``torch.Generator``) is needed by
        the ``random-heatmap`` encoding (each call draws afresh); the others ignore it.
        """
        e = self.spec
        return encode(
            self.to_heatmap(joints_input_px),
            size=self.heatmap_size,
            sigma=self.sigma,
            method=e.method,
            grid=e.grid,
            stride=self.stride,
            rounding=e.rounding,
            generator=generator,
            visible=visible,
            return_weights=True,
            grid_step=e.grid_step,
        )

    def decode(self, heatmaps: Any, decoder: str = "dark", **options: Any) -> tuple[Any, Any]:
        """Heatmaps -> joints in original input px: ``(..., K, h, w) -> (..., K, 2) float64, (..., K)``.

        :func:`dark.codecs.decode` with ``decoder`` (a name of :data:`dark.codecs.DECODERS`) at this
        codec's ``sigma`` (``options``: the decoder's own), then :meth:`to_input` in float64. Returns the
        coordinates and each map's confidence, in the heatmaps' library and on their device.
        """
        xy, confidence = decode(heatmaps, decoder, sigma=self.sigma, **options)
        xy = xy.double() if isinstance(xy, torch.Tensor) else xy.astype("float64")
        return self.to_input(xy), confidence
