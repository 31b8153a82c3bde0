"""The report's Tables 2 and 3 next to ours, the bias probe per cell, one run's decoders, and their
display for the book (strings, Markdown, a pandas Styler).

The numeric tables are DataFrames indexed by ``(model, encoding, decoder)`` with columns
``(metric, field)``; the display tables are strings indexed by display names
(:func:`dark.analysis.report.labels.display_name`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from dark import metrics
from dark.codecs import ENCODINGS
from dark.design import paper
from dark.design.protocols import PROTOCOLS
from dark.metrics import Estimate

from .analysis import Analysis
from .labels import decoder_label, display_name, encoding_label, heading, interval_text, seeds_text


def _row_order(a: Analysis, roles: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Rows ``(model, encoding, decoder)``: the report's row order, then the cells and decoders beyond it.

    ``roles``: decoder -> the report's row it fills (a protocol's decoders); with it, only those decoders
    (one row per role of the report, in its order), without it every evaluated decoder."""
    present = list(a.cells)
    models = list(paper.MODEL_NAMES) + sorted({m for m, _ in present} - set(paper.MODEL_NAMES))
    encodings = list(paper.TABLE_ENCODINGS) + [e for e in ENCODINGS if e not in paper.TABLE_ENCODINGS]
    encodings += sorted({e for _, e in present} - set(encodings))
    if roles is None:
        seen = dict.fromkeys(d for (_, _, d) in a.values)  # the evaluation's order
        decoders = [*paper.PAPER_DECODERS, *(d for d in seen if d not in paper.PAPER_DECODERS)]
    else:
        by_role = {r: d for d, r in roles.items()}
        decoders = [by_role[r] for r in paper.PAPER_DECODERS if r in by_role]
    rows = []
    for m in models:
        for d in decoders:
            role = (roles or {}).get(d, d)
            for e in encodings:
                # the report's rows, then ours
                if (m, e, role) in paper.TABLE2 or (m, e, d) in a.values or (roles and (m, e) in a.cells):
                    rows.append((m, e, d))
    return rows


def _fields(iv: Estimate | None, report_value: float, trained: bool = True) -> dict[str, object]:
    return {
        "ours": iv.value if iv else math.nan,
        "low": iv.low if iv else math.nan,
        "high": iv.high if iv else math.nan,
        "seeds": list(iv.seeds) if iv else [],
        "n_seeds": iv.n_seeds if iv else 0,
        "report": report_value,
        "measured": iv is not None or not trained,
    }


def _frame(records: list[dict], index: list[tuple]) -> pd.DataFrame:
    idx = pd.MultiIndex.from_tuples(index, names=["model", "encoding", "decoder"])
    cols = pd.MultiIndex.from_tuples(list(records[0])) if records else None
    return pd.DataFrame(records, index=idx, columns=cols)


def table2(
    a: Analysis, metrics_: Sequence[str] | None = None, *, protocol: str | None = None
) -> pd.DataFrame:
    """Table 2 of the report next to ours, under one scoring protocol
    (:data:`dark.design.protocols.PROTOCOLS`).

    A DataFrame indexed by ``(model, encoding, decoder)`` (internal names, the report's row order, then
    the decoders and encodings beyond the paper), with columns ``(metric, field)``, field one of ``ours``
    (the cell's mean over seeds), ``low``, ``high`` (its two-level 95% interval), ``seeds`` (the per-seed
    values), ``n_seeds`` (NaN / empty / 0 where we have no such cell), ``report`` (the published
    value, :func:`dark.design.paper.published`: the report's "w/ quant" beside both ``quantized`` and
    ``ceil``;
    NaN for rows the report does not have) and ``measured`` (False where the cell was trained but its
    runs lack the metric or the decoder: runs evaluated before the report's protocol existed).

    ``protocol=None`` (default): ``metrics_`` (default :data:`dark.design.paper.TABLE_METRICS`) over every
    evaluated decoder. ``protocol="standard"`` or ``"report"``: that protocol's ``metrics`` and one row
    per role of the report (ArgMax, Standard, CoM, DARK) filled by the protocol's decoder for that role
    (the report's code: ``standard_report``, ``dark_report``), beside the report's value of the role.
    """
    roles = None
    if protocol is not None:
        p = PROTOCOLS[protocol]
        metrics_ = p.metrics if metrics_ is None else metrics_
        roles = {d: r for r, d in p.decoders.items()}
    metrics_ = paper.TABLE_METRICS if metrics_ is None else metrics_
    index = _row_order(a, roles)
    records = []
    for m, e, d in index:
        ours = _values(a, (m, e, d), metrics_)
        rep = paper.published(m, e, (roles or {}).get(d, d))
        trained = (m, e) in a.cells
        records.append(
            {
                (mt, f): v
                for mt in metrics_
                for f, v in _fields(ours.get(mt), rep.get(_report_metric(mt), math.nan), trained).items()
            }
        )
    return _frame(records, index)


def _values(a: Analysis, key: tuple[str, str, str], metrics_: Sequence[str]) -> dict[str, Estimate]:
    """The cell's estimates of ``metrics_`` for one decoder (none for a metric its runs do not carry)."""
    return {mt: iv for mt, iv in a.values.get(key, {}).items() if mt in metrics_}


def _report_metric(metric: str) -> str:
    """The report's column a metric stands beside: its Table 2 (PCKh@alpha, RMSE) whichever way the
    PCKh was computed (the report's own numbers are per-axis PCKh, :mod:`dark.design.protocols`)."""
    return metric.replace("pckh_axis@", "pckh@")


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


#: what a table cell shows where the cell was trained but its runs lack the metric or decoder
NOT_MEASURED = "not measured"


def _ours_text(c: pd.DataFrame, digits: int) -> list[str]:
    measured = c["measured"] if "measured" in c else [True] * len(c)
    return [
        interval_text(v, lo, hi, digits) if ok else NOT_MEASURED
        for v, lo, hi, ok in zip(c["ours"], c["low"], c["high"], measured, strict=True)
    ]


def _report_text(values, digits: int) -> list[str]:
    return ["–" if math.isnan(v) else f"{v:.{digits}f}" for v in values]


def display_table(table: pd.DataFrame, digits: int = 2, per_seed: bool = True) -> pd.DataFrame:
    """Strings for the book: per row the number of trainings, and per metric ``ours [low, high]``
    (``not measured`` where the runs lack it), the per-seed values (unless ``per_seed=False``) and the
    report's value."""
    out = {}
    mts = list(dict.fromkeys(table.columns.get_level_values(0)))
    out["trainings"] = [str(n) if n else "–" for n in table[(mts[0], "n_seeds")]] if mts else []
    for mt in mts:
        c = table[mt]
        h = heading(mt)
        out[f"{h} ours [95% CI]"] = _ours_text(c, digits)
        if per_seed:
            out[f"{h} per seed"] = [seeds_text(s, digits) if len(s) > 1 else "" for s in c["seeds"]]
        out[f"{h} report"] = _report_text(c["report"], digits)
    index = pd.Index([display_name(*k) for k in table.index], name="model + decoding")
    return pd.DataFrame(out, index=index)


def compare_protocols(a: Analysis, digits: int = 2) -> dict[str, pd.DataFrame]:
    """Table 2 under both protocols side by side with the report's numbers, one table per column of the
    report's Table 2 (PCKh@0.1, PCKh@0.5, RMSE), narrow enough for the page.

    Returns ``{report's column heading: DataFrame}``; each DataFrame is indexed by the report's rows
    (model, encoding, its decoder role, display names) with columns ``trainings``, one
    ``ours [95% CI]`` per protocol of :data:`dark.design.protocols.PROTOCOLS` (its label's short form: the
    protocol's own metric and its decoder for the role, ``not measured`` where the runs lack them) and
    ``report``. The protocols' metrics are matched by position (:attr:`Protocol.metrics`).
    """
    tables = {name: table2(a, protocol=name) for name in PROTOCOLS}
    first = next(iter(PROTOCOLS.values()))
    out = {}
    for j, base in enumerate(first.metrics):
        cols: dict[str, list[str]] = {}
        rows: list[str] = []
        for name, t in tables.items():
            p = PROTOCOLS[name]
            roles = {d: r for r, d in p.decoders.items()}
            c = t[p.metrics[j]]
            rows = [display_name(m, e, roles[d]) for m, e, d in t.index]
            cols.setdefault("trainings", [str(n) if n else "–" for n in c["n_seeds"]])
            cols[short_label(name)] = _ours_text(c, digits)
        cols["report"] = _report_text(c["report"], digits)
        out[heading(_report_metric(base))] = pd.DataFrame(cols, index=pd.Index(rows, name="model + decoding"))
    return out


def short_label(protocol: str) -> str:
    """A protocol's column label: ``"standard"`` or ``"report's code"``.

    >>> short_label("standard"), short_label("report")
    ('standard', "report's code")
    """
    return {"report": "report's code"}.get(protocol, protocol)


#: what a one-training verdict says in its own cell (issue 19: never a verdict without its limit)
ONE_TRAINING_LIMIT = "one training per cell: the interval covers the test set, not another training"


def _part_label(x: str) -> str:
    if x in paper.DECODER_NAMES:
        return paper.DECODER_NAMES[x]
    return {"unbiased": "w/o quant"}.get(x, x)


def endpoint_label(row: Mapping) -> str:
    """An endpoint in a few words: ``"DARK - Standard, PCKh@0.1"``, ``"w/o quant - ceil, DARK per-axis
    PCKh@0.1"`` (the comparison's parts by the report's names; claim 2 names the decoder it reads).

    >>> endpoint_label({"claim": 1, "comparison": "dark - standard", "metric": "pckh@0.1"})
    'DARK - Standard, PCKh@0.1'
    >>> endpoint_label({"claim": 2, "comparison": "unbiased - ceil", "metric": "pckh_axis@0.1"})
    'w/o quant - ceil, DARK per-axis PCKh@0.1'
    """
    comparison = " - ".join(_part_label(x) for x in str(row["comparison"]).split(" - "))
    of = f"{paper.DECODER_NAMES.get(str(row.get('decoder', 'dark')), row.get('decoder'))} " * (
        int(row["claim"]) == 2
    )
    return f"{comparison}, {of}{_metric_label(str(row['metric']))}"


def _metric_label(name: str) -> str:
    try:
        return metrics.metric(name).label
    except ValueError:
        return name


def _n_text(row: Mapping) -> str:
    if row.get("estimate") is None:
        return "–"
    n = row.get("n_pairs") if row.get("paired") else None
    if n is None:
        n = row.get("n_seeds")
    if isinstance(n, list | tuple):
        n = n[0] if len(set(n)) == 1 and row.get("paired") else " vs ".join(map(str, n))
    if n is None:
        return "?"
    if not row.get("training_variance", True):
        return "1 training" if str(n) in ("1", "1 vs 1") else f"{n} (test set only)"
    return f"{n} {'pairs' if row.get('paired') else 'seeds'}"


def verdict_text(row: Mapping) -> str:
    """The verdict of one primary endpoint, with its limit in the same cell when it rests on one training
    per cell (``training_variance`` False) and the verdict does not say so already.

    >>> verdict_text({"verdict": "reproduced", "estimate": 1.0, "training_variance": False})
    'reproduced (one training per cell: the interval covers the test set, not another training)'
    """
    v = str(row.get("verdict", "?"))
    one = row.get("estimate") is not None and not row.get("training_variance", True)
    return f"{v} ({ONE_TRAINING_LIMIT})" if one and "one training" not in v else v


def _number(x, digits: int, sign: str = "") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:{sign}.{digits}f}"


def primary_display(rows, digits: int = 2, claim: int | None = None) -> pd.DataFrame:
    """The primary endpoints (``verdicts.json``'s ``"primary"`` rows, a list of dicts or a DataFrame) for
    the page, one row per (model, protocol, endpoint), short columns so that it fits the page:
    ``model``, ``protocol``, ``endpoint``, ``estimate [95% CI]`` (points, or px for RMSE), ``n`` (pairs or
    seeds), ``report`` (the report's effect), ``MDE`` (the design's minimum detectable effect at 80%
    power) and ``verdict`` (with its limit when it rests on one training; the reason where a row has no
    estimate). ``claim``: only that claim's rows. Indexed by ``claim``.
    """
    recs = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
    if claim is not None:
        recs = [r for r in recs if int(r["claim"]) == int(claim)]
    out = []
    for r in recs:
        est = r.get("estimate")
        out.append({
            "claim": int(r["claim"]),
            "model": paper.MODEL_NAMES.get(r["model"], r["model"]),
            "protocol": short_label(str(r.get("protocol", "standard"))),
            "endpoint": endpoint_label(r),
            "estimate [95% CI]": "–" if est is None else interval_text(est, r["low"], r["high"], digits),
            "n": _n_text(r),
            "report": _number(r.get("report_effect"), digits, "+"),
            "MDE": _number(r.get("mde"), digits),
            "verdict": verdict_text(r),
        })  # fmt: skip
    cols = ["model", "protocol", "endpoint", "estimate [95% CI]", "n", "report", "MDE", "verdict"]
    return pd.DataFrame(out, columns=["claim", *cols]).set_index("claim")


def readings_display(rows, digits: int = 2, primary: bool = True) -> pd.DataFrame:
    """Claim 2 against each reading of "w/ quant" (``verdicts.json``'s ``"by_reading"`` rows: DARK's
    PCKh@0.1 of w/o quant minus that cell, per axis under the report's code) for the page, as
    :func:`primary_display` with the reading (``w/ quant``: the cell's encoding label, and for ceil's
    endpoint on a secondary reading's seeds, which seeds) in place of the endpoint's name. The primary
    endpoint's verdict is not repeated here (the verdict renderer, :mod:`dark.analysis.report.render`,
    states it): its row says "primary endpoint". ``primary=False`` leaves out the primary endpoint's own
    row (ceil's on all its seeds). Indexed by ``model``."""
    recs = [dict(r) for r in rows if primary or r["quantiser"] != "ceil" or r.get("same_seeds_as")]
    t = primary_display(recs, digits).reset_index(drop=True)
    labels = [
        encoding_label(r["quantiser"])
        + (f", on the seeds of {encoding_label(r['same_seeds_as'])}" if r.get("same_seeds_as") else "")
        for r in recs
    ]
    t.insert(1, "w/ quant", labels)
    t["verdict"] = [
        "primary endpoint (its verdict: above)" if r["quantiser"] == "ceil" and not r.get("same_seeds_as")
        else "secondary: no verdict" for r in recs
    ]  # fmt: skip
    return t.drop(columns="endpoint").set_index("model")


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
        rows[decoder_label(d)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("decoder")


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub/MyST Markdown table of a (string) DataFrame, its index as the first column."""
    cols = [df.index.name or "", *map(str, df.columns)]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)
