"""The published numbers we compare against, as data, with their source.

Source: A. Chatzitofis, G. Albanis, N. Zioulis, D. Zarpalas, P. Daras, "On Coordinate Decoding for
Keypoint Estimation Tasks", ML Reproducibility Challenge 2020 (book citation key
``chatzitofis2021reproduction``), a reproduction of DARK (Zhang et al., CVPR 2020, ``zhang2020dark``).
Transcribed from its Table 2 (section 4.1) and Table 3 (section 4.2.1); PCKh in percent, RMSE in
input pixels of the 320x160 depth maps, HUMAN4D test split (13,380 samples, unseen subject 4).
"""

from __future__ import annotations

#: where the numbers come from (printed under every table that shows them)
SOURCE: str = (
    "Chatzitofis et al., On Coordinate Decoding for Keypoint Estimation Tasks, "
    "ML Reproducibility Challenge 2020, Tables 2 and 3"
)

#: the metrics of the report's tables, in column order: the claim metrics, which every verdict, table and
#: summary of :mod:`dark.analysis.report` and :mod:`dark.book.summary` uses
TABLE_METRICS: tuple[str, ...] = ("pckh@0.1", "pckh@0.5", "rmse")

#: the report's two encodings (names of :data:`dark.codecs.ENCODINGS`, whose rows hold their labels), in
#: its Table 2 row order
TABLE_ENCODINGS: tuple[str, ...] = ("quantized", "unbiased")

#: display names used by the report
MODEL_NAMES: dict[str, str] = {"sh": "SH_4S", "hrnet": "HRNet_4S"}
DECODER_NAMES: dict[str, str] = {"argmax": "ArgMax", "standard": "Standard", "com": "CoM", "dark": "DARK"}

#: our encoding -> the report's Table 2 row it is shown beside. The report's text calls its quantised
#: targets "w/ quant"; its code rounds input-pixel coordinates up (``quantize_coords: mode: ceil``), so its
#: "w/ quant" values stand beside both our nearest-pixel quantiser and the report's own ``ceil``.
REPORT_ROWS: dict[str, str] = {"unbiased": "unbiased", "quantized": "quantized", "ceil": "quantized"}


def published(model: str, encoding: str, decoder: str) -> dict[str, float]:
    """The report's Table 2 values for our ``(model, encoding, decoder)`` (``{}`` where it has none).

    >>> published("sh", "ceil", "dark") == TABLE2[("sh", "quantized", "dark")]
    True
    >>> published("sh", "floor", "dark")
    {}
    """
    return TABLE2.get((model, REPORT_ROWS.get(encoding, ""), decoder), {})


#: the report's four decoders, in its row order
PAPER_DECODERS: tuple[str, ...] = ("argmax", "standard", "com", "dark")

_T2 = """
sh    quantized argmax   35.38 68.14 4.12
sh    unbiased  argmax   39.80 68.78 3.75
sh    quantized standard 36.37 68.36 4.07
sh    unbiased  standard 41.18 69.05 3.69
sh    quantized com      37.77 70.35 3.87
sh    unbiased  com      44.24 71.45 3.33
sh    quantized dark     39.54 70.75 3.87
sh    unbiased  dark     45.17 71.65 3.47
hrnet quantized argmax   37.29 68.10 3.93
hrnet unbiased  argmax   39.19 68.60 3.85
hrnet quantized standard 38.48 68.35 3.87
hrnet unbiased  standard 40.50 68.90 3.79
hrnet quantized com      33.95 68.38 3.94
hrnet unbiased  com      36.77 70.21 3.79
hrnet quantized dark     41.73 70.29 3.65
hrnet unbiased  dark     44.83 71.52 3.55
"""


def _parse(text: str) -> dict[tuple[str, str, str], dict[str, float]]:
    rows = {}
    for line in text.strip().splitlines():
        model, encoding, decoder, *values = line.split()
        rows[(model, encoding, decoder)] = dict(zip(TABLE_METRICS, map(float, values), strict=True))
    return rows


#: Table 2: (model, encoding, decoder) -> {"pckh@0.1", "pckh@0.5", "rmse"}, in the report's row order
TABLE2: dict[tuple[str, str, str], dict[str, float]] = _parse(_T2)

#: Table 3: the best model (SH_4S w/o quant) with CoM and DARK (the same numbers as in Table 2)
TABLE3: dict[tuple[str, str, str], dict[str, float]] = _parse(
    """
sh unbiased com  44.24 71.45 3.33
sh unbiased dark 45.17 71.65 3.47
"""
)

#: the claims under test (our paraphrase of the report's section 2 / 4.1)
CLAIMS: dict[int, str] = {
    1: "DARK (Taylor-expansion) decoding is more accurate than ArgMax and Standard decoding.",
    2: "Unbiased (w/o quant) target encoding gives better models than quantised (w/ quant) encoding, "
    "for every decoder and both architectures.",
}


def _report_effects() -> dict[tuple[int, str, str], float]:
    """The report's effect per primary endpoint (:data:`dark.analysis.report.ENDPOINTS`), from
    :data:`TABLE2`."""
    out = {}
    for model in MODEL_NAMES:
        dark = published(model, "unbiased", "dark")["pckh@0.1"]
        for ref in ("standard", "argmax"):
            out[(1, model, f"dark - {ref}")] = dark - published(model, "unbiased", ref)["pckh@0.1"]
        out[(2, model, "unbiased - ceil")] = dark - published(model, "ceil", "dark")["pckh@0.1"]
    return out


#: the report's effect per primary endpoint, ``(claim, model, comparison) -> PCKh@0.1 points``, computed from
#: Table 2 (never typed twice): claim 1, DARK - Standard and DARK - ArgMax of w/o quant; claim 2, w/o quant -
#: w/ quant (the report's code rounds up: our ``ceil``) on DARK. The report gives one PCKh, so both
#: protocols' endpoints stand beside the same number.
REPORT_EFFECTS: dict[tuple[int, str, str], float] = _report_effects()

#: the regime the report trained its models in (its text and configs, ``moverseai/moai`` at 2f066bf): what a
#: verdict's regime is set against (:mod:`dark.analysis.report.regime`). Heatmaps and inputs are H x W.
REPORT_REGIME: dict[str, object] = {
    "heatmap": (40, 80),
    "input": (160, 320),
    "epochs": 30,
    "precision": "fp32",
    "data": "HUMAN4D depth maps, 73,248 training views",
    "batch": 16,
    "hardware": "one RTX 2080 Ti",
    "hours_per_model": 20.0,
}

#: the report's models, in words (its text and the configs of its code)
REPORT_MODELS: dict[str, str] = {
    "sh": "Stacked Hourglass, 4 stacks, 128 features",
    "hrnet": "HRNet, width 32, 4 stages",
}
