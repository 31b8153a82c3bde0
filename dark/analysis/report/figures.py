"""Figures of the verdicts, drawn from one saved ``verdicts.json`` (matplotlib; each returns a new figure).

- :func:`forest`: every primary endpoint, its 95% interval over test clips and seeds (thick), the interval
  with placements as units (thin), the validation motions' estimate (open circle), the report's effect
  (cross), coloured by its verdict's first word.
- :func:`rounding_costs`: claim 2 against each rounding of the targets, the paired difference on the
  seeds the cell shares with the unbiased one, against the rounding's size and its mean shift.

The words of a verdict are the renderer's (:mod:`dark.analysis.report.render`); a figure shows the
verdict's class only, in its legend.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dark.codecs import ENCODINGS
from dark.design import paper

from .labels import encoding_label
from .render import claims_of
from .tables import endpoint_label, short_label

__all__ = [
    "ROUNDINGS",
    "VERDICT_COLOURS",
    "forest",
    "rounding_costs",
    "rounding_size",
    "table2_dots",
    "verdict_class",
    "waterfall",
]

#: a verdict's class (its first words) -> colour
VERDICT_COLOURS: dict[str, str] = {
    "reproduced": "#1b7837",
    "contradicted": "#b2182b",
    "not reproduced": "#d6604d",
    "inconclusive": "#878787",
}


def verdict_class(verdict: str) -> str:
    """``"reproduced, smaller than reported"`` -> ``"reproduced"``; the classes of :data:`VERDICT_COLOURS`.

    >>> verdict_class("not reproduced: the report's effect is excluded; sign undetermined")
    'not reproduced'
    """
    for k in ("not reproduced", "reproduced", "contradicted"):
        if verdict.startswith(k):
            return k
    return "inconclusive"


def forest(saved: Mapping) -> Figure:
    """One row per primary endpoint (claim, model, protocol), PCKh points on x: the 95% interval over test
    clips and seeds (thick bar, dot at the estimate), the interval with placements as units (thin bar), the
    validation estimate (open circle), the report's effect (black cross); colour = verdict class."""
    rows = [
        r for v in claims_of(saved).values() for r in v.get("primary", []) if r.get("estimate") is not None
    ]
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(rows) + 1.4), layout="constrained")
    labels = []
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        colour = VERDICT_COLOURS[verdict_class(r["verdict"])]
        pl = r.get("placements")
        if pl:
            ax.plot([pl["low"], pl["high"]], [y, y], color=colour, lw=1, alpha=0.6)
        ax.plot([r["low"], r["high"]], [y - 0.18, y - 0.18], color=colour, lw=3.5, solid_capstyle="butt")
        ax.plot(r["estimate"], y - 0.18, "o", color=colour, ms=5)
        rep = r.get("replication") or {}
        if rep.get("estimate") is not None:
            ax.plot(rep["estimate"], y + 0.18, "o", mfc="white", mec=colour, ms=5)
        if r.get("report_effect") is not None:
            ax.plot(r["report_effect"], y, "x", color="black", ms=7, mew=1.5)
        labels.append(
            f"{r['claim']}. {paper.MODEL_NAMES.get(r['model'], r['model'])}, {short_label(r['protocol'])}: "
            f"{endpoint_label(r).split(',')[0]}"
        )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows))[::-1], labels, fontsize=8)
    ax.set_xlabel("difference, PCKh@0.1 points (positive: the claimed direction)")
    handles = [Line2D([], [], color=c, lw=3.5, label=k) for k, c in VERDICT_COLOURS.items()]
    handles += [
        Line2D([], [], color="grey", lw=1, label="per placement (sensitivity)"),
        Line2D([], [], marker="o", mfc="white", mec="grey", ls="", label="validation motions"),
        Line2D([], [], marker="x", color="black", ls="", label="the report's effect"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="lower right", ncol=2)
    ax.grid(axis="x", alpha=0.3)
    return fig


#: the roundings the figure shows (the quantised encodings of dark.codecs.ENCODINGS a record trains)
ROUNDINGS: tuple[str, ...] = ("placebo", "quantized", "ceil", "quantized-heatmap", "random-heatmap")
#: RMS and mean displacement per axis of a uniform sub-pixel position, in units of the rounding's grid step
_SPREAD = {"nearest": (1 / np.sqrt(12), 0.0), "ceil": (1 / np.sqrt(3), 0.5), "random": (1 / np.sqrt(6), 0.0)}


def rounding_size(name: str, stride: float) -> tuple[float, float]:
    """``(RMS, mean)`` displacement of a target centre per axis, input px, by encoding ``name``'s rounding
    (:data:`dark.codecs.ENCODINGS`), for joints uniform within a pixel: nearest on a grid ``g`` moves a centre
    by U(-g/2, g/2) (RMS ``g / sqrt(12)``), ceil by U(0, g) (RMS ``g / sqrt(3)``, mean ``g / 2``), randomized
    rounding by a two-point draw (RMS ``g / sqrt(6)``). ``g`` is the grid step, times ``stride`` (input px
    per heatmap px) on the heatmap grid.

    >>> rounding_size("ceil", 8), round(rounding_size("random-heatmap", 8)[0], 3)
    ((0.5773502691896258, 0.5), 3.266)
    """
    e = ENCODINGS[name]
    g = e.grid_step * (stride if e.grid == "heatmap" else 1.0)
    rms, mean = _SPREAD[e.rounding or "nearest"]
    return float(rms * g), float(mean * g)


#: each rounding in a few words, for the figure's axis
ROUNDING_NAMES: dict[str, str] = {
    "placebo": "placebo: nearest, 1/64 px",
    "quantized": "nearest, input grid",
    "ceil": "ceil, input grid (report's code)",
    "quantized-heatmap": "nearest, heatmap grid (DARK)",
    "random-heatmap": "randomized, heatmap grid",
}


def rounding_costs(saved: Mapping, protocol: str = "standard", model: str = "sh") -> Figure:
    """Claim 2 against the rounding: for each quantised cell of ``model``, ``unbiased - cell`` on DARK's
    primary metric (points, 95% interval, paired on the seeds the cell shares with the unbiased one),
    one column per rounding in order of its RMS displacement (input px, in the tick label with its mean
    shift); ceil on all its pairs in black, ceil on the other cells' seeds in grey beside them; squares for
    a rounding that shifts targets on average, circles for a zero-mean one."""
    rows = [
        r
        for r in claims_of(saved).get(2, {}).get("by_reading", [])
        if r["protocol"] == protocol and r["model"] == model and r.get("estimate") is not None
        and r["quantiser"] in ROUNDINGS
    ]  # fmt: skip
    stride = float(saved.get("scope", {}).get("regime", {}).get("stride") or 4)
    size = {q: rounding_size(q, stride) for q in ROUNDINGS}
    order = sorted({r["quantiser"] for r in rows}, key=lambda q: size[q][0])
    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    for r in rows:
        q, same = r["quantiser"], bool(r.get("same_seeds_as"))
        x = order.index(q) + (0.2 if same else 0.0)
        colour = "grey" if same else ("black" if q == "ceil" else "#2166ac")
        marker = "s" if size[q][1] else "o"
        ax.errorbar(x, r["estimate"], yerr=[[r["estimate"] - r["low"]], [r["high"] - r["estimate"]]],
                    fmt=marker, color=colour, capsize=3, ms=6)  # fmt: skip
        n = r.get("n_pairs") or "?"
        ax.annotate(f"{n} pairs", (x, r["high"]), xytext=(0, 3), textcoords="offset points", fontsize=7,
                    ha="center")  # fmt: skip
    ax.axhline(0, color="black", lw=0.8)
    effect = paper.REPORT_EFFECTS.get((2, model, "unbiased - ceil"))
    if effect is not None:
        ax.axhline(effect, color="black", ls=":", lw=1, label="the report's effect (ceil)")
    labels = [
        f"{ROUNDING_NAMES.get(q, encoding_label(q))}\nRMS {size[q][0]:.2f} px, mean {size[q][1]:+.1f}"
        for q in order
    ]
    ax.set_xticks(range(len(order)), labels, fontsize=7)
    ax.set_xlim(-0.5, len(order) - 0.3)
    ax.set_ylabel("w/o quant - rounding,\nDARK PCKh@0.1 points")
    ax.legend(
        handles=[
            Line2D([], [], marker="s", color="black", ls="", label="ceil, all its pairs"),
            Line2D([], [], marker="s", color="grey", ls="", label="ceil on the other cells' seeds"),
            Line2D([], [], marker="o", color="#2166ac", ls="", label="zero-mean rounding"),
            Line2D([], [], color="black", ls=":", label="the report's effect"),
        ],
        fontsize=7,
        loc="upper left",
        ncol=2,
    )
    ax.grid(axis="y", alpha=0.3)
    return fig


def waterfall(rows, title: str = "") -> Figure:
    """Claim 1's decomposition (:func:`dark.analysis.report.why.decompose_claim1` rows) as a waterfall: the
    standard protocol's gap, each instrument step as a bar from the running total (its 95% interval as a
    whisker), the gap under the report's code, and the report's value; unmeasured steps are left out."""
    measured = [r for r in rows if r.estimate is not None]
    start, *steps = measured[:-2]  # the last two: the report protocol's gap and what remains
    total, rest = measured[-2], measured[-1]
    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    labels, x, level = [], 0, 0.0
    for r, kind in [(start, "total"), *[(s, "step") for s in steps], (total, "total")]:
        e = r.estimate
        bottom, height = (0.0, e.value) if kind == "total" else (level, e.value)
        colour = "#4d4d4d" if kind == "total" else ("#1b7837" if e.value >= 0 else "#b2182b")
        ax.bar(x, height, bottom=bottom, color=colour, width=0.6)
        top = bottom + height
        ax.errorbar(x, top, yerr=[[e.value - e.low], [e.high - e.value]], color="black", capsize=3, lw=1)
        level = top
        labels.append(r.name.split(":")[0])
        x += 1
    if total.report is not None:
        ax.bar(x, total.report, color="white", edgecolor="black", hatch="//", width=0.6)
        labels.append("the report")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=12)
    ax.set_ylabel("DARK - Standard, points")
    if title:
        ax.set_title(title, fontsize=9)
    ax.annotate(f"unexplained: {rest.estimate.value:+.1f}", (x, total.report or 0), xytext=(0, 4),
                textcoords="offset points", ha="center", fontsize=7)  # fmt: skip
    return fig


def table2_dots(a, protocol: str = "report", metric: str | None = None) -> Figure:
    """Table 2 as a dot plot: per model, encoding (w/o quant, the report's w/ quant read as ceil) and
    decoder role, our cell mean with its 95% interval (filled) beside the report's value (open), under
    ``protocol`` (the report's code by default: its per-axis PCKh@0.1 and its decoders). ``a``: an
    :class:`~dark.analysis.report.analysis.Analysis`."""
    from dark.design.protocols import PROTOCOLS

    p = PROTOCOLS[protocol]
    metric = metric or p.primary_metric
    rows = [
        (m, e, role) for m in paper.MODEL_NAMES for e in ("unbiased", "ceil") for role in paper.PAPER_DECODERS
    ]
    rows = [r for r in rows if (r[0], r[1], p.decoders[r[2]]) in a.values]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.2), layout="constrained")
    for i, (m, e, role) in enumerate(rows):
        y = len(rows) - 1 - i
        est = a.values[(m, e, p.decoders[role])].get(metric)
        if est is not None:
            ax.errorbar(est.value, y, xerr=[[est.value - est.low], [est.high - est.value]], fmt="o",
                        color="#2166ac", ms=5, capsize=2)  # fmt: skip
        rep = paper.published(m, e, role).get("pckh@0.1")
        if rep is not None:
            ax.plot(rep, y, "o", mfc="white", mec="black", ms=6)
    labels = [f"{paper.MODEL_NAMES[m]} {encoding_label(e).split(' (')[0]} + {paper.DECODER_NAMES[r]}"
              for m, e, r in rows]  # fmt: skip
    ax.set_yticks(range(len(rows))[::-1], labels, fontsize=7)
    ax.set_xlabel(f"PCKh@0.1 (%), {p.label.split(' (')[0]}")
    ax.legend(handles=[
        Line2D([], [], marker="o", color="#2166ac", ls="", label="ours: mean over trainings, 95% interval"),
        Line2D([], [], marker="o", mfc="white", mec="black", ls="", label="the report (one training each)"),
    ], fontsize=7, loc="lower right")  # fmt: skip
    ax.grid(axis="x", alpha=0.3)
    return fig
