"""The report's Tables 2 and 3 next to ours, the bias probe per cell, one run's decoders, and their
display for the book (strings, Markdown, a pandas Styler).

The numeric tables are DataFrames indexed by ``(model, encoding, decoder)`` with columns
``(metric, field)``; the display tables are strings indexed by display names
(:func:`dark.report.labels.display_name`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from dark import metrics, paper
from dark.codecs import ENCODINGS
from dark.metrics import Estimate

from .analysis import Analysis
from .labels import display_name, heading, interval_text, seeds_text


def _row_order(a: Analysis) -> list[tuple[str, str, str]]:
    present = list(a.cells)
    models = list(paper.MODEL_NAMES) + sorted({m for m, _ in present} - set(paper.MODEL_NAMES))
    encodings = list(paper.TABLE_ENCODINGS) + [e for e in ENCODINGS if e not in paper.TABLE_ENCODINGS]
    encodings += sorted({e for _, e in present} - set(encodings))
    seen = dict.fromkeys(d for (_, _, d) in a.values)  # the evaluation's order
    extra = [d for d in seen if d not in paper.PAPER_DECODERS]
    rows = []
    for m in models:
        for d in (*paper.PAPER_DECODERS, *extra):
            for e in encodings:
                if (m, e, d) in paper.TABLE2 or (m, e, d) in a.values:  # the report's rows, then ours
                    rows.append((m, e, d))
    return rows


def _fields(iv: Estimate | None, report_value: float) -> dict[str, object]:
    return {
        "ours": iv.value if iv else math.nan,
        "low": iv.low if iv else math.nan,
        "high": iv.high if iv else math.nan,
        "seeds": list(iv.seeds) if iv else [],
        "n_seeds": iv.n_seeds if iv else 0,
        "report": report_value,
    }


def _frame(records: list[dict], index: list[tuple]) -> pd.DataFrame:
    idx = pd.MultiIndex.from_tuples(index, names=["model", "encoding", "decoder"])
    cols = pd.MultiIndex.from_tuples(list(records[0])) if records else None
    return pd.DataFrame(records, index=idx, columns=cols)


def table2(a: Analysis, metrics_: Sequence[str] = paper.TABLE_METRICS) -> pd.DataFrame:
    """Table 2 of the report next to ours.

    A DataFrame indexed by ``(model, encoding, decoder)`` (internal names, the report's row order, then
    the decoders and encodings beyond the paper), with columns ``(metric, field)``, field one of ``ours``
    (the cell's mean over seeds), ``low``, ``high`` (its two-level 95% interval), ``seeds`` (the per-seed
    values), ``n_seeds`` (NaN / empty / 0 where we have no such cell) and ``report`` (the published
    value, :func:`dark.paper.published`: the report's "w/ quant" beside both ``quantized`` and ``ceil``;
    NaN for rows the report does not have).
    """
    index = _row_order(a)
    records = []
    for k in index:
        ours = a.values.get(k, {})
        rep = paper.published(*k)
        records.append(
            {(mt, f): v for mt in metrics_ for f, v in _fields(ours.get(mt), rep.get(mt, math.nan)).items()}
        )
    return _frame(records, index)


def table3(a: Analysis, metrics_: Sequence[str] = paper.TABLE_METRICS) -> pd.DataFrame:
    """Table 3 of the report (SH w/o quant with CoM and DARK) next to ours, plus the row ``DARK - CoM``.

    Same columns as :func:`table2`; the last row, ``("sh", "unbiased", "dark - com")``, holds our paired
    difference (same heatmaps, within each run, combined over seeds) and the difference of the report's.
    """
    t = table2(a, metrics_)
    out = t.loc[[k for k in paper.TABLE3 if k in t.index]].copy()
    diff = a.within.get(("sh", "unbiased", "dark - com"), {})
    rep = paper.TABLE3
    row = {}
    for mt in metrics_:
        r = rep[("sh", "unbiased", "dark")][mt] - rep[("sh", "unbiased", "com")][mt]
        row.update({(mt, f): v for f, v in _fields(diff.get(mt), r).items()})
    extra = _frame([row], [("sh", "unbiased", "dark - com")])
    return pd.concat([out, extra]) if len(out) else extra


def display_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Strings for the book: per row the number of trainings, and per metric ``ours [low, high]``, the
    per-seed values and the report's value."""
    out = {}
    mts = list(dict.fromkeys(table.columns.get_level_values(0)))
    out["trainings"] = [str(n) if n else "–" for n in table[(mts[0], "n_seeds")]] if mts else []
    for mt in mts:
        c = table[mt]
        h = heading(mt)
        out[f"{h} ours [95% CI]"] = [
            interval_text(*x, digits) for x in zip(c["ours"], c["low"], c["high"], strict=True)
        ]
        out[f"{h} per seed"] = [seeds_text(s, digits) if len(s) > 1 else "" for s in c["seeds"]]
        out[f"{h} report"] = ["–" if math.isnan(v) else f"{v:.{digits}f}" for v in c["report"]]
    index = pd.Index([display_name(*k) for k in table.index], name="model + decoding")
    return pd.DataFrame(out, index=index)


def styled(table: pd.DataFrame, digits: int = 2):
    """A pandas Styler of :func:`display_table` for the book (extra decoders in grey italics)."""
    shown = display_table(table, digits)
    extra = [d not in paper.PAPER_DECODERS and " - " not in d for _, _, d in table.index]

    def grey(row):
        return ["color: #777; font-style: italic" if extra[shown.index.get_loc(row.name)] else ""] * len(row)

    return shown.style.apply(grey, axis=1)


def expected_bias(encoding: str) -> float:
    """The per-axis shift (input px) an encoding's rounding puts into every target: +0.5 for ceil, -0.5
    for floor (a uniform U[0, 1) residual), 0 for nearest, random and unbiased targets."""
    rounding = ENCODINGS[encoding].rounding if encoding in ENCODINGS else None
    return {"ceil": 0.5, "floor": -0.5}.get(rounding, 0.0)


def bias_table(a: Analysis, decoder: str = "dark", digits: int = 2) -> pd.DataFrame:
    """The bias probe per cell: the targets' expected shift and the trained models' signed mean error
    (x, y; mean over seeds with its interval, and each seed's value), and each seed's median signed
    error (``evaluation.json``'s ``median_bias``: robust to the few far-off joints)."""
    rows = {}
    for (m, e), rs in a.cells.items():
        est = a.values.get((m, e, decoder), {})
        if "bias_x" not in est:
            continue
        row = {"trainings": len(rs), "expected from the targets (px, per axis)": f"{expected_bias(e):+.2f}"}
        for mt in metrics.BIAS_METRICS:
            iv = est[mt]
            row[f"{metrics.metric(mt).heading} [95% CI]"] = interval_text(iv.value, iv.low, iv.high, digits)
            row[f"{metrics.metric(mt).label} per seed"] = (
                seeds_text(iv.seeds, digits) if len(iv.seeds) > 1 else ""
            )
        med = [r.evaluation.get("decoders", {}).get(decoder, {}).get("median_bias") for r in rs]
        row["median bias (x, y) per seed"] = "; ".join(
            "–" if v is None else f"({v[0]:+.{digits}f}, {v[1]:+.{digits}f})" for v in med
        )
        rows[display_name(m, e, decoder)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("cell + decoding")


def run_table(ev: Mapping, digits: int = 2) -> pd.DataFrame:
    """One run's ``evaluation.json``, every decoder: each metric as ``value [low, high]`` (test frames)
    and ``DARK - decoder`` likewise."""
    rows = {}
    diffs = ev.get("differences", {})
    for d, r in ev["decoders"].items():
        row = {}
        for mt, iv in r["metrics"].items():
            row[heading(mt)] = interval_text(iv["value"], iv["low"], iv["high"], digits)
        for mt in paper.TABLE_METRICS:
            iv = diffs.get(f"dark-{d}", {}).get(mt) if d != "dark" else None
            row[f"DARK - this, {heading(mt)}"] = (
                interval_text(iv["value"], iv["low"], iv["high"], digits) if iv else "–"
            )
        rows[d] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("decoder")


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub/MyST Markdown table of a (string) DataFrame, its index as the first column."""
    cols = [df.index.name or "", *map(str, df.columns)]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)
