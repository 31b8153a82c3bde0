"""The target encodings by name: one row per encoding a run can be trained with.

A run's ``config.json`` names its encoding (a key of :data:`ENCODINGS`); the row says how
:func:`dark.codecs.encode` builds its targets (``method``, ``grid``, ``rounding``) and how tables and
figures label it. The mathematics of each row is in the book's "Heatmap codecs" page (``book/codecs.md``).

    >>> from dark.codecs import ENCODINGS
    >>> e = ENCODINGS["ceil"]
    >>> e.method, e.grid, e.rounding
    ('quantized', 'input', 'ceil')
    >>> list(ENCODINGS)
    ['unbiased', 'quantized', 'ceil', 'floor', 'quantized-heatmap', 'random-heatmap', 'placebo']
    >>> ENCODINGS["placebo"].grid_step  # nearest on a grid of 1/64 input px: claim 2's A/A placebo
    0.015625
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENCODINGS", "Encoding"]


@dataclass(frozen=True)
class Encoding:
    """One target encoding: what :func:`dark.codecs.encode` is called with, and how it is shown.

    ``grid`` and ``rounding`` are ``None`` for an encoding that does not round (``method="unbiased"``).
    """

    name: str
    method: str  #: :data:`dark.codecs.ENCODERS` name: "unbiased" or "quantized"
    grid: str | None  #: "input" or "heatmap": the grid the centre is rounded on
    rounding: str | None  #: :data:`dark.codecs.ROUNDINGS` name
    label: str  #: short label for tables and legends
    description: str  #: one sentence for the book
    #: the rounding grid's step in px of ``grid`` (1: its pixels), :func:`dark.codecs.encode`'s ``grid_step``
    grid_step: float = 1.0


def _row(name, method, grid, rounding, label, description, grid_step=1.0) -> tuple[str, Encoding]:
    return name, Encoding(name, method, grid, rounding, label, description, grid_step)


ENCODINGS: dict[str, Encoding] = dict(
    [
        _row(
            "unbiased",
            "unbiased",
            None,
            None,
            "w/o quant",
            "The Gaussian is centred on the exact joint (DARK's unbiased encoding).",
        ),
        _row(
            "quantized",
            "quantized",
            "input",
            "nearest",
            "w/ quant (nearest, input grid)",
            "The joint is rounded to the nearest input pixel, floor(x + 0.5), before the Gaussian is drawn.",
        ),
        _row(
            "ceil",
            "quantized",
            "input",
            "ceil",
            "w/ quant (ceil, input grid; the report's code)",
            "The joint is rounded up on the input grid (the report's quantize_coords mode ceil): "
            "+0.5 input px per axis on average.",
        ),
        _row(
            "floor",
            "quantized",
            "input",
            "floor",
            "w/ quant (floor, input grid)",
            "The joint is rounded down on the input grid: -0.5 input px per axis on average.",
        ),
        _row(
            "quantized-heatmap",
            "quantized",
            "heatmap",
            "nearest",
            "w/ quant (nearest, heatmap grid; DARK paper)",
            "The joint is rounded to the nearest heatmap pixel (HRNet's int(x / stride + 0.5), "
            "the DARK paper's biased case).",
        ),
        _row(
            "random-heatmap",
            "quantized",
            "heatmap",
            "random",
            "randomized rounding (heatmap grid; Yu & Tao)",
            "The joint is rounded up or down on the heatmap grid at random, up with probability equal to "
            "its fractional part, so the centre is unbiased in expectation (Yu & Tao, TPAMI 2021).",
        ),
        _row(
            "placebo",
            "quantized",
            "input",
            "nearest",
            "placebo (nearest, 1/64 input px grid)",
            "An A/A placebo for claim 2: the joint goes through the quantised path but is rounded to the "
            "nearest 1/64 input px, so the centre moves by at most 1/128 px (RMS 0.0045 px per axis), "
            "nothing a training can measure; its runs against the unbiased ones show the paired "
            "comparison's false-positive rate.",
            1 / 64,
        ),
    ]
)
