"""How models, encodings, decoders and numbers are shown: the one place for display names and formats.

Model and decoder names are the report's (:data:`dark.design.paper.MODEL_NAMES`,
:data:`dark.design.paper.DECODER_NAMES`);
encoding labels are the encodings table's (:data:`dark.codecs.ENCODINGS`); metric headings are the metric
table's (:func:`dark.metrics.metric`). Names beyond these tables are shown as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dark import metrics
from dark.codecs import DECODER_LABELS, ENCODINGS
from dark.design import paper


def encoding_label(encoding: str) -> str:
    """The label of an encoding (:data:`dark.codecs.ENCODINGS`), e.g. ``"w/o quant"``.

    >>> encoding_label("unbiased"), encoding_label("not-an-encoding")
    ('w/o quant', 'not-an-encoding')
    """
    return ENCODINGS[encoding].label if encoding in ENCODINGS else encoding


def decoder_label(decoder: str) -> str:
    """``"dark - com"`` -> ``"DARK - CoM"``: each decoder by its label (:data:`dark.codecs.DECODER_LABELS`,
    the report's names for its four), anything else unchanged.

    >>> decoder_label("dark_report - standard_report")
    "DARK (report's blur) - Standard (report's code)"
    """
    return " - ".join(paper.DECODER_NAMES.get(x, DECODER_LABELS.get(x, x)) for x in decoder.split(" - "))


def display_name(model: str, encoding: str | None = None, decoder: str | None = None) -> str:
    """The row name of a model, cell or cell + decoder, e.g. ``SH_4S (w/o quant) + DARK``.

    An empty ``decoder`` names the cell.

    >>> display_name("sh", "unbiased"), display_name("hrnet", "unbiased", "dark")
    ('SH_4S (w/o quant)', 'HRNet_4S (w/o quant) + DARK')
    """
    text = paper.MODEL_NAMES.get(model, model)
    if encoding is not None:
        text += f" ({encoding_label(encoding)})"
    if decoder:
        text += f" + {decoder_label(decoder)}"
    return text


def heading(metric: str) -> str:
    """A metric's column heading with its unit (:func:`dark.metrics.metric`), e.g. ``"RMSE (px)"``; a
    metric beyond the table keeps its name."""
    try:
        return metrics.metric(metric).heading
    except ValueError:
        return metric


def interval_text(value: float | None, low: float, high: float, digits: int) -> str:
    """``"43.10 [41.20, 45.00]"``; ``"–"`` for a missing (None or NaN) value.

    >>> interval_text(1.0, 0.5, 1.5, 2), interval_text(float("nan"), 0.0, 0.0, 2)
    ('1.00 [0.50, 1.50]', '–')
    """
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def seeds_text(values: Sequence[float], digits: int = 2) -> str:
    """Per-seed values, comma-separated: ``"42.10, 43.00"``."""
    return ", ".join(f"{v:.{digits}f}" for v in values)
