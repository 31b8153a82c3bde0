"""The results chapter of a set of runs, assembled once: what the results page shows for a build that is a
record, and the recorded chapter for each record.

:func:`sections` returns the chapter as ``(kind, text)`` items, ``kind`` ``"md"`` (Markdown: headings and
prose) or ``"html"`` (a captioned figure or a folded table), in reading order; a page displays them as
they come. The verdicts are not part of it: they are the one renderer's
(:mod:`dark.analysis.report.render`), stated by each page above the chapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dark.analysis import captioned, plots, report
from dark.analysis.report import figures
from dark.analysis.report.counterfactual import counterfactual, counterfactual_display
from dark.analysis.report.joints import joint_bias, joint_bias_text

__all__ = ["sections"]

Item = tuple[str, str]

#: what each figure of the chapter shows and what to read in it
CAPTIONS = {
    "dots": "Table 2 under the report's code (its per-axis PCKh@0.1 and its decoders): each cell's mean "
    "over its trainings with its 95% interval (filled) beside the report's one training (open). Read the "
    "order of the decoders within a cell, and how far our reduced models stay below the report's level.",
    "seeds": "DARK's accuracy for every training of every cell (one dot per seed). Read how far apart the "
    "seeds of one cell lie against the gap between cells: that spread is what claim 2's intervals carry.",
    "bias": "Each training's squared error of DARK's coordinates split into squared bias and variance. Read "
    "whether the quantised cells carry more bias than the unbiased ones, and how small bias is against "
    "variance.",
    "joints": "Each joint's signed mean error of DARK's coordinates per cell (marker: the mean over the "
    "cell's runs; bar: one standard deviation). A quantiser's constant shift moves every joint alike; a "
    "model's own systematic error does not.",
    "training": "Every decoder on the validation heatmaps after every epoch (thin: each training; thick: "
    "their mean). Read whether DARK's lead grows as training goes on.",
}
BIAS_TEXT = (
    "Rounding a target up on the input grid (the report's code) shifts it by half an input pixel per axis "
    "on average; a network trained on shifted targets learns the shift. The signed mean error of DARK per "
    "cell, and each training's squared error split into squared bias and variance:"
)


def _tables(analysis: report.Analysis, claims: dict, h: str) -> list[Item]:
    """Table 2 beside the report's: the dots, each protocol's table, every decoder, the secondary
    comparisons, and each training's value."""
    out: list[Item] = [
        ("md", f"{h} Table 2 beside the report's"),
        ("html", captioned.figure(figures.table2_dots(analysis), CAPTIONS["dots"])),
    ]
    for heading, t in report.compare_protocols(analysis).items():
        out.append(("html", captioned.folded(t, f"Table 2, {heading}")))
    every = report.styled(report.table2(analysis))
    out.append(("html", captioned.folded(every, "Every cell, decoder and seed")))
    for claim, verdict in claims.items():
        if len(verdict["evidence"]):
            shown = report.evidence_display(verdict["evidence"])
            out.append(("html", captioned.folded(shown, f"Claim {claim}: every secondary comparison")))
    out.append(("html", captioned.figure(plots.seed_strip(analysis, decoder="dark"), CAPTIONS["seeds"])))
    return out


def _bias(analysis: report.Analysis, records: Sequence[report.RunRecord], h: str) -> list[Item]:
    """The bias each encoding leaves: per cell, split from the variance, per joint, and what the shift alone
    costs (the counterfactual)."""
    out: list[Item] = [
        ("md", f"{h} The bias each encoding leaves\n\n{BIAS_TEXT}"),
        (
            "html",
            captioned.folded(report.bias_table(analysis, decoder="dark"), "The signed mean error per cell"),
        ),
        ("html", captioned.figure(plots.bias_variance(records, decoder="dark"), CAPTIONS["bias"])),
    ]
    by_joint = joint_bias(records, decoder="dark")
    if len(by_joint):
        out.append(("md", joint_bias_text(by_joint)))
        out.append(("html", captioned.figure(plots.joint_bias(by_joint, decoder="dark"), CAPTIONS["joints"])))
    cf, missing = counterfactual(records)
    if len(cf):
        summary = "How much of claim 2 the shift alone explains (the shift-only counterfactual)"
        out.append(("html", captioned.folded(counterfactual_display(cf), summary)))
    if missing:
        out.append(("md", f"Runs without test predictions, left out of the counterfactual: {len(missing)}."))
    return out


def sections(
    analysis: report.Analysis,
    records: Sequence[report.RunRecord],
    claims: dict,
    run_dirs: Sequence[str | Path] | None = None,
    level: int = 2,
) -> list[Item]:
    """The chapter of ``records`` (one regime's runs) and their ``analysis``: Table 2 beside the report's
    with every secondary comparison (``claims``: :func:`dark.analysis.report.verdicts`' or a saved
    ``verdicts.json``'s claims, with their ``evidence``), the bias each encoding leaves, and the decoders
    along training (``run_dirs``: the runs whose epochs are drawn; default ``records``'); headings at
    Markdown ``level``."""
    h = "#" * level
    dirs = [r.path for r in records] if run_dirs is None else list(run_dirs)
    along = plots.decoders_along_training(dirs, decoders=["argmax", "standard", "com", "dark"])
    return [
        *_tables(analysis, claims, h),
        *_bias(analysis, records, h),
        ("md", f"{h} The decoders along training"),
        ("html", captioned.figure(along, CAPTIONS["training"])),
    ]
