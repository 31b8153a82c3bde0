"""The two ways the book scores a run: the standard protocol and the report's own code (issue 18).

A :class:`Protocol` names the metrics of Table 2 and, per row role of Table 2 (ArgMax, Standard, CoM,
DARK), the decoder whose coordinates fill that row. :data:`PROTOCOLS` holds both; analysis code reads
``PROTOCOLS[name].metrics`` and ``.decoders`` instead of spelling the names again.

- ``"standard"``: Euclidean PCKh over the visible joints (``pckh@<alpha>``, threshold ``alpha *
  head_size``), RMSE, and correct decoders (our ``standard`` is the quarter-pixel step towards the
  higher neighbour, per sample and per axis).
- ``"report"``: what the report's code (``moverseai/moai`` at 2f066bf, ``docs/report-code.md``)
  computed: per-axis PCKh (``pckh_axis@<alpha>``: ``|gt - pred| / |gt[neck] - gt[head]| < alpha`` per
  axis, ground-truth masks by the field of view, predicted masks by the heatmap visibility rule, XOR
  failures), its Standard decoder ``standard_report`` (moai's ``_argmax_sub``: global top-2, the norm
  over the whole test batch, axis-swapped scale), and its DARK ``dark_report`` (the Taylor step on the
  map blurred 5 x 5 with sigma 1, as the H4D configs wire ``gaussian2d`` before ``dark``). The report's
  configs wire only ArgMax -> DARK; how its ArgMax, Standard and CoM rows were produced is not in the
  source, so each row here is scored at its own decoder's coordinates: ArgMax is our ``argmax`` (moai's
  ``_argmax`` picks the same pixel), CoM our ``com`` (moai's ``CenterOfMass`` is not wired in the H4D
  configs). RMSE stays Euclidean over the visible joints, as the report's table gives it in px.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["PROTOCOLS", "Protocol"]


@dataclass(frozen=True)
class Protocol:
    """One scoring protocol: Table 2's metrics and, per row role, the decoder that fills the row.

    ``metrics``: metric names of :mod:`dark.metrics` (Table 2's columns, in order); ``decoders``: row role
    (``"argmax"``, ``"standard"``, ``"com"``, ``"dark"``, the keys of ``dark.design.paper.DECODER_NAMES``)
    -> decoder name in :data:`dark.codecs.DECODERS`; ``primary_metric``: the endpoints' metric.
    """

    name: str
    label: str
    metrics: tuple[str, ...]
    decoders: Mapping[str, str]
    primary_metric: str


PROTOCOLS: dict[str, Protocol] = {
    "standard": Protocol(
        name="standard",
        label="standard (Euclidean PCKh, visible joints, correct Standard)",
        metrics=("pckh@0.1", "pckh@0.5", "rmse"),
        decoders=MappingProxyType({"argmax": "argmax", "standard": "standard", "com": "com", "dark": "dark"}),
        primary_metric="pckh@0.1",
    ),
    "report": Protocol(
        name="report",
        label="the report's code (per-axis PCKh, heatmap visibility, its Standard and DARK)",
        metrics=("pckh_axis@0.1", "pckh_axis@0.5", "rmse"),
        decoders=MappingProxyType(
            {"argmax": "argmax", "standard": "standard_report", "com": "com", "dark": "dark_report"}
        ),
        primary_metric="pckh_axis@0.1",
    ),
}
