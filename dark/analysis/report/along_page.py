"""The page of the claims along the regime, drawn from one saved ``verdicts.json``: the primary endpoints
of every regime laid out along one setting (:func:`points`), the figure against heatmap size
(:func:`resolution_figure`), the tables of the regimes' endpoints (:func:`points_table`, verdicts through
the one renderer's spans), of claim 2's null (:func:`null_table`) and of the report's batch confound
(:func:`crossed_table`), of claim 2 on matched seeds (:func:`seed_matched_table`), and what the
record still lacks of its plan (:func:`progress`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from dark.design import paper

from .labels import interval_text
from .render import _pairs, _table, claims_of, key, verdict_span
from .tables import endpoint_label, short_label

__all__ = [
    "crossed_table",
    "crossed_text",
    "null_table",
    "null_text",
    "points",
    "points_table",
    "progress",
    "resolution_figure",
    "seed_matched_table",
    "seed_matched_text",
]

#: the endpoints the resolution figure draws, one panel each: (claim, comparison)
PANELS: tuple[tuple[int, str], ...] = ((1, "dark - standard"), (1, "dark - argmax"), (2, "unbiased - ceil"))
_PROTOCOL_STYLE = {"standard": ("#2166ac", -0.07), "report": ("#b35806", 0.07)}


def _setting(reg: Mapping, axis: str) -> tuple[float, str]:
    """A regime's position and label along ``axis``: heatmap rows and ``"20 x 40"``, or the setting."""
    if axis == "resolution":
        h, w = reg["heatmap"]
        return float(h), f"{h} x {w}"
    value = reg.get(axis)
    return (float(value) if isinstance(value, (int, float)) else 0.0), str(value)


def points(saved: Mapping, axis: str = "resolution", model: str | None = "sh") -> pd.DataFrame:
    """The primary endpoints of the main regime and of every regime that differs from it in ``axis`` only
    (``verdicts.json``'s ``regimes`` with that ``axis``), of ``model`` (None: every model), one row each:
    ``position`` and ``setting`` (:func:`_setting`), ``regime`` (-1 for the main one, else its index in
    ``regimes``), ``claim``, ``model``, ``protocol``, ``comparison`` and the row itself (``row``: estimate,
    interval, pairs, verdict, report's effect). Sorted along the axis."""
    groups = [(-1, claims_of(saved), saved.get(1, saved.get("1", {})).get("regime", {}))]
    groups += [
        (i, claims_of(reg["claims"]), reg["regime"])
        for i, reg in enumerate(saved.get("regimes", []))
        if reg.get("axis") == axis
    ]
    out = []
    for i, claims, reg in groups:
        if not reg:
            continue
        position, setting = _setting(reg, axis)
        for c, v in claims.items():
            for r in v.get("primary", []):
                if model is None or r["model"] == model:
                    out.append({"position": position, "setting": setting, "regime": i, "claim": c,
                                "model": r["model"], "protocol": r["protocol"], "comparison": r["comparison"],
                                "row": r})  # fmt: skip
    cols = ["position", "setting", "regime", "claim", "model", "protocol", "comparison", "row"]
    return pd.DataFrame(out, columns=cols).sort_values(
        ["position", "claim"], kind="stable", ignore_index=True
    )


def _verdict_key(p: Mapping) -> str:
    k = key(p["claim"], p["model"], p["protocol"], p["comparison"])
    return k if p["regime"] < 0 else f"regime/{p['regime']}/{k}"


def points_table(
    pts: pd.DataFrame, setting: str = "heatmap", claim: int | None = None, digits: int = 2
) -> str:
    """:func:`points` as an HTML table: the setting, claim, model, protocol, endpoint, estimate [95% CI]
    over test clips and seeds, pairs or seeds, the report's effect and the verdict of that regime (the
    one renderer's span, :func:`dark.analysis.report.render.verdict_span`). ``claim``: only its rows."""
    rows = []
    for p in pts.to_dict("records"):
        r = p["row"]
        if (claim is not None and p["claim"] != claim) or r.get("estimate") is None:
            continue
        rep = r.get("report_effect")
        rows.append([p["setting"], str(p["claim"]), paper.MODEL_NAMES.get(p["model"], p["model"]),
                     short_label(p["protocol"]), endpoint_label(r),
                     interval_text(r["estimate"], r["low"], r["high"], digits), _pairs(r),
                     "–" if rep is None else f"{rep:+.{digits}f}",
                     verdict_span(r["verdict"], _verdict_key(p))])  # fmt: skip
    header = [setting.capitalize(), "Claim", "Model", "Protocol", "Endpoint", "Estimate [95% CI]", "n",
              "Report", "Verdict in that regime"]  # fmt: skip
    return _table(header, rows)


def _floor(res: Mapping | None, comparison: str, noise: float) -> tuple[list[float], list[float]] | None:
    """Claim 1's comparison on perfect synthetic heatmaps (the decoder study's floor, no training) at each
    heatmap size of ``res`` (:func:`dark.analysis.report.resolution.resolution`): positions (heatmap
    rows) and PCKh points, or None."""
    if res is None:
        return None
    f = res["floor"][res["floor"].noise == noise]
    a, b = comparison.split(" - ")
    xs, ys = [], []
    for (h, w), _ in res["sizes"]:
        at = f[(f.H == h) & (f.W == w)].set_index("decoder").pckh
        if a in at and b in at:
            xs.append(float(h))
            ys.append(float(at[a] - at[b]))
    return (xs, ys) if xs else None


def _panel(ax, pts: pd.DataFrame, claim: int, comparison: str, sizes: Sequence[tuple[int, int]], res) -> None:
    """One panel of :func:`resolution_figure`."""
    for protocol, (colour, dx) in _PROTOCOL_STYLE.items():
        sel = pts[(pts.claim == claim) & (pts.comparison == comparison) & (pts.protocol == protocol)]
        for p in sel.to_dict("records"):
            r = p["row"]
            if r.get("estimate") is None:
                continue
            x = math.log2(p["position"]) + dx
            ax.plot([x, x], [r["low"], r["high"]], color=colour, lw=2.5, solid_capstyle="butt")
            ax.plot(x, r["estimate"], "o", color=colour, ms=4.5)
    for noise, style in ((0.0, "--"), (0.05, ":")):
        fl = _floor(res, comparison, noise) if claim == 1 else None
        if fl:
            ax.plot([math.log2(x) for x in fl[0]], fl[1], style, color="#666", lw=1.2)
    effect = paper.REPORT_EFFECTS.get((claim, "sh", comparison))
    if effect is not None:
        ax.plot(math.log2(paper.REPORT_REGIME["heatmap"][0]), effect, "*", color="black", ms=10)
    mine = pts[(pts.claim == claim) & (pts.comparison == comparison)].to_dict("records")
    trained = {p["position"] for p in mine if p["row"].get("estimate") is not None}
    for h, _ in sizes:
        if float(h) not in trained:
            ax.text(math.log2(h), 0.97, "not trained\nyet", ha="center", va="top", fontsize=7, color="#999",
                    transform=ax.get_xaxis_transform())  # fmt: skip
    ax.axhline(0, color="#bbb", lw=0.8)
    ax.set_xticks([math.log2(h) for h, _ in sizes], [f"{h} x {w}" for h, w in sizes])
    ax.set_title(f"claim {claim}: {endpoint_label({'claim': claim, 'comparison': comparison, 'metric': ''})}"
                 .rstrip(", "), fontsize=9)  # fmt: skip


def resolution_figure(
    pts: pd.DataFrame, sizes: Sequence[tuple[int, int]], res: Mapping | None = None
) -> Figure:
    """Stacked Hourglass's primary endpoints against heatmap size (:func:`points` of axis ``resolution``):
    one panel per endpoint of :data:`PANELS`, each protocol's estimate with its 95% interval over test
    clips and seeds at every size trained, "not trained yet" at a planned size without runs, the report's
    effect at its own size (star), and for claim 1 the same comparison on perfect synthetic heatmaps (no
    training; dashed: noiseless, dotted: white noise of 0.05) from ``res``
    (:func:`dark.analysis.report.resolution.resolution`). ``sizes``: the heatmap sizes (H, W) of the axis."""
    fig, axes = plt.subplots(1, len(PANELS), figsize=(8.5, 2.9), layout="constrained", sharey=False)
    for ax, (claim, comparison) in zip(axes, PANELS, strict=True):
        _panel(ax, pts, claim, comparison, sizes, res)
    axes[0].set_ylabel("PCKh@0.1 points")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2.5, label=short_label(p))
               for p, (c, _) in _PROTOCOL_STYLE.items()]  # fmt: skip
    handles += [plt.Line2D([], [], color="black", marker="*", ls="", ms=9, label="the report"),
                plt.Line2D([], [], color="#666", ls="--", label="perfect heatmaps"),
                plt.Line2D([], [], color="#666", ls=":", label="noisy heatmaps")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    axes[len(axes) // 2].set_xlabel("heatmap size (H x W)", fontsize=9)
    return fig


def _secondary(rows: Iterable[Mapping], label, digits: int) -> list[list[str]]:
    """Secondary rows' cells: ``label(row)``, protocol, endpoint, estimate [95% CI], pairs, seeds."""
    return [
        [label(r), short_label(r["protocol"]), endpoint_label(r),
         interval_text(r["estimate"], r["low"], r["high"], digits), _pairs(r),
         ", ".join(map(str, r.get("seeds", [])))]
        for r in rows if r.get("estimate") is not None
    ]  # fmt: skip


def null_table(saved: Mapping, digits: int = 2) -> str:
    """Claim 2's null: the placebo's own reading (w/o quant - placebo, from ``by_reading``) and every
    quantiser against the placebo (``against_null``: placebo - q, paired by seed; positive: the quantiser
    costs more than retraining through the quantised path). Secondary estimates, no verdict."""
    v = claims_of(saved).get(2, {})
    placebo = [r for r in v.get("by_reading", []) if r.get("quantiser") == "placebo"]
    rows = [*placebo, *v.get("against_null", [])]
    body = _secondary(rows, lambda r: paper.MODEL_NAMES.get(r["model"], r["model"]), digits)
    return _table(["Model", "Protocol", "Comparison", "Estimate [95% CI]", "n", "Seeds"], body)


def crossed_table(saved: Mapping, digits: int = 2) -> str:
    """Claim 2 across regimes (``regimes[i]["crossed"]``): as the report ran it (w/o quant at the main
    regime's setting against the quantised cell at the other's), within the main regime on the same seeds,
    and what the setting alone moves. Secondary estimates, no verdict."""
    rows = [r for reg in saved.get("regimes", []) for r in reg.get("crossed", [])]
    body = _secondary(rows, lambda r: r["role"], digits)
    return _table(["Role", "Protocol", "Comparison", "Estimate [95% CI]", "n", "Seeds"], body)


def progress(planned: Sequence[str], recorded: Iterable[str]) -> pd.DataFrame:
    """How much of a plan a record holds, per cell: ``planned`` run names (in the plan's order, e.g.
    ``sh-ceil-b24-s3``), ``recorded`` names. Columns ``cell`` (the name without its seed), ``trained``,
    ``planned``, in the plan's order.

    >>> progress(["sh-ceil-s1", "sh-ceil-s2", "sh-ceil-x4-s1"], ["sh-ceil-s1"]).values.tolist()
    [['sh-ceil', 1, 2], ['sh-ceil-x4', 0, 1]]
    """
    done = set(recorded)
    cells: dict[str, list[int]] = {}
    for name in planned:
        c = cells.setdefault(name.rsplit("-s", 1)[0], [0, 0])
        c[0] += name in done
        c[1] += 1
    return pd.DataFrame([[k, *v] for k, v in cells.items()], columns=["cell", "trained", "planned"])


def _said(r: Mapping, digits: int) -> str:
    n = r.get("n_pairs")
    if n is None:  # unpaired: the trainings per cell, or one training per cell (test frames only)
        many = _pairs(r)
        return f"{_est(r, digits)} ({'one training per cell' if many == '1 vs 1' else many + ' trainings'})"
    return f"{_est(r, digits)} ({n} pair{'s' * (n != 1)})"


def null_text(saved: Mapping, protocol: str = "standard", digits: int = 2) -> str:
    """Claim 2's null in one sentence (``protocol``'s rows of :func:`null_table`): the placebo's own
    difference, then each quantiser's cost beyond it; empty without a placebo."""
    v = claims_of(saved).get(2, {})
    own = [
        r for r in v.get("by_reading", []) if r.get("quantiser") == "placebo" and r["protocol"] == protocol
    ]
    rows = [
        r for r in v.get("against_null", []) if r["protocol"] == protocol and r.get("estimate") is not None
    ]
    if not own or own[0].get("estimate") is None:
        return ""
    beyond = "; ".join(f"`{r['quantiser']}` {_said(r, digits)}" for r in rows)
    return (
        f"Under the {short_label(protocol)} protocol, w/o quant - placebo is {_said(own[0], digits)}, and "
        f"placebo - each quantiser is: {beyond}."
        if beyond
        else ""
    )


def crossed_text(saved: Mapping, protocol: str = "standard", digits: int = 2) -> str:
    """Claim 2 as run and at equal settings in one sentence (``protocol``'s rows of :func:`crossed_table`)."""
    rows = [r for g in saved.get("regimes", []) for r in g.get("crossed", []) if r["protocol"] == protocol]
    by = {r["role"]: r for r in rows if r.get("estimate") is not None}
    if not {"as run", "within", "setting"} <= set(by):
        return ""
    return (
        f"Under the {short_label(protocol)} protocol, on seeds {', '.join(map(str, by['as run']['seeds']))}: "
        f"{by['as run']['comparison'].replace('unbiased', 'w/o quant')} is {_said(by['as run'], digits)}, "
        f"w/o quant - ceil at equal batches {_said(by['within'], digits)}, and the batch's own change to "
        f"ceil {_said(by['setting'], digits)}."
    )


def _matched(saved: Mapping, axis: str) -> list[tuple[Mapping, Mapping]]:
    """``(regime, row)`` of every seed-matched row (``regimes[i]["seed_matched"]``) of the regimes along
    ``axis``."""
    return [
        (reg, r)
        for reg in saved.get("regimes", [])
        if reg.get("axis") == axis
        for r in reg.get("seed_matched", [])
        if r.get("estimate") is not None
    ]


def _primary_row(claims: Mapping, like: Mapping) -> Mapping | None:
    """The claim-2 primary row of ``claims`` (a verdicts dict) for ``like``'s model, protocol and
    comparison (None without an estimate)."""
    what = ("model", "protocol", "comparison")
    for r in claims_of(claims).get(2, {}).get("primary", []):
        if all(r[k] == like[k] for k in what):
            return r if r.get("estimate") is not None else None
    return None


def _regime_span(saved: Mapping, reg: Mapping, r: Mapping) -> str:
    """The verdict of ``r``'s claim-2 endpoint in regime ``reg`` (one of ``saved``'s ``regimes``, or
    ``saved`` itself for the main one), as the one renderer's span; "" without that endpoint there."""
    main = reg is saved
    own = _primary_row(saved if main else reg["claims"], r)
    if own is None:
        return ""
    at = {"claim": 2, "model": r["model"], "protocol": r["protocol"], "comparison": r["comparison"]}
    index = -1 if main else saved["regimes"].index(reg)
    return verdict_span(own["verdict"], _verdict_key({**at, "regime": index}))


def _main_setting(saved: Mapping, axis: str) -> str:
    """The main regime's value of ``axis`` (e.g. ``"bf16"``), as its verdicts record it; "main" without it."""
    return claims_of(saved).get(1, {}).get("regime", {}).get(axis, "main")


def seed_matched_table(saved: Mapping, axis: str = "precision", digits: int = 2) -> str:
    """Claim 2 on matched seeds along ``axis``, three rows per model and protocol: the other regime's
    primary ``unbiased - q`` on its own pairs (with that regime's verdict), the main regime's on the same
    seeds (:func:`dark.analysis.report.along.seed_matched_rows`, secondary) and the main regime's on all
    its pairs (with the main verdict). Both verdicts are the one renderer's spans."""
    main = _main_setting(saved, axis)
    rows = []
    for reg, r in _matched(saved, axis):
        label = f"{paper.MODEL_NAMES.get(r['model'], r['model'])}, {short_label(r['protocol'])}"
        seeds = ", ".join(map(str, r.get("seeds", [])))
        own, whole = _primary_row(reg["claims"], r), _primary_row(saved, r)
        if own is not None:
            setting = f"{reg['regime'].get(axis)}, its pairs"
            rows.append([label, setting, _est(own, digits), _pairs(own), seeds, _regime_span(saved, reg, r)])
        rows.append([label, f"{main}, same seeds", _est(r, digits), _pairs(r), seeds, "secondary"])
        if whole is not None:
            span = _regime_span(saved, saved, r)
            rows.append([label, f"{main}, all its pairs", _est(whole, digits), _pairs(whole), "all", span])
    header = ["Model, protocol", "Trainings", "W/o quant - ceil [95% CI]", "n", "Seeds", "Verdict"]
    return _table(header, rows)


def _est(r: Mapping, digits: int) -> str:
    return interval_text(r["estimate"], r["low"], r["high"], digits)


def seed_matched_text(
    saved: Mapping, axis: str = "precision", protocol: str = "standard", digits: int = 2
) -> str:
    """The first model's rows of :func:`seed_matched_table` under ``protocol`` in one sentence; empty
    without them."""
    main = _main_setting(saved, axis)
    for reg, r in _matched(saved, axis):
        own = _primary_row(reg["claims"], r)
        whole = _primary_row(saved, r)
        if r["protocol"] != protocol or own is None or whole is None:
            continue
        span = _regime_span(saved, reg, r)
        return (
            f"Under the {short_label(protocol)} protocol, {paper.MODEL_NAMES.get(r['model'], r['model'])} "
            f"w/o quant - ceil is {_said(own, digits)} in {reg['regime'].get(axis)}, against "
            f"{_said(r, digits)} in {main} on the same seeds ({', '.join(map(str, r.get('seeds', [])))}) and "
            f"{_said(whole, digits)} in {main} on all its pairs. In {reg['regime'].get(axis)} this endpoint "
            f"reads {span}."
        )
    return ""
