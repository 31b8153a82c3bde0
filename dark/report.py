"""The report's tables next to ours, and a verdict on each claim computed from our numbers.

Inputs are the dictionaries that :mod:`dark.evaluate` writes (``RUN_DIR/evaluation.json``, one per
trained run) and, for claim 2, the paired model-vs-model differences of
:func:`dark.evaluate.compare_encodings`. Everything here is a pure function of those dictionaries.

Decision rule (:func:`decide`), applied to the claim's paired differences, each oriented as an
*improvement* (positive = the direction the claim predicts: higher PCKh, lower RMSE) with its 95%
bootstrap interval over test frames:

- **reproduced**: every relevant improvement's interval lies entirely above 0;
- **not reproduced**: at least one relevant interval lies entirely below 0 (the claimed order is
  reversed with confidence somewhere the claim says it holds);
- **inconclusive at this sample size**: otherwise (some interval contains 0, none is below it).

"Every interval above 0" is an intersection-union test: it keeps the 5% error rate of one interval
without a multiplicity correction. "Some interval below 0" over many comparisons is more liberal (each
interval has a 2.5% chance of lying below 0 by chance when the true difference is 0); the evidence
tables list every comparison so a reader can judge. The relevant comparisons are:

- claim 1: ``DARK - ArgMax`` and ``DARK - Standard`` on the same heatmaps, for every evaluated run
  (model x encoding), on PCKh@0.1, PCKh@0.5 and RMSE (the report's three metrics);
- claim 2: ``w/o quant - w/ quant`` on the same test frames, for every one of the report's decoders
  (ArgMax, Standard, CoM, DARK) and every model evaluated with both encodings, on the same metrics.

Comparisons whose runs are missing are listed under ``missing`` and do not enter the verdict.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dark import paper
from dark.files import atomic_write
from dark.metrics import Interval, higher_is_better

#: the decision rule in one paragraph, for the book (the module docstring has the reasoning)
DECISION_RULE: str = (
    "Each claim is a set of paired comparisons (the same heatmaps for two decoders, the same test frames "
    "for two models), each with a 95% bootstrap interval of the improvement it predicts. A claim is "
    "**reproduced** when every interval lies above zero, **not reproduced** when at least one lies "
    "entirely below zero, and **inconclusive at this sample size** otherwise."
)

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive at this sample size"
NOT_EVALUATED = "not evaluated (no runs)"

#: metrics the verdicts use (the report's Table 2 columns)
CLAIM_METRICS: tuple[str, ...] = paper.TABLE_METRICS

_LABELS = {
    "pckh@0.1": "PCKh@0.1 (%)",
    "pckh@0.5": "PCKh@0.5 (%)",
    "rmse": "RMSE (px)",
    "mean_error": "ME (px)",
}


# ---------------------------------------------------------------------------------------------------------
# loading


def load_evaluations(runs: Iterable[str | os.PathLike]) -> list[dict]:
    """Read ``RUN/evaluation.json`` of every run directory (or the JSON file itself), in order."""
    out = []
    for r in runs:
        p = Path(r)
        p = p / "evaluation.json" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: run `dark evaluate --run {p.parent}` first")
        out.append(json.loads(p.read_text()))
    return out


def _by_run(evaluations: Sequence[Mapping]) -> dict[tuple[str, str], Mapping]:
    runs = {}
    for ev in evaluations:
        key = (ev["run"]["model"], ev["run"]["encoding"])
        if key in runs:
            raise ValueError(f"two evaluations for model {key[0]!r} with encoding {key[1]!r}")
        runs[key] = ev
    return runs


def _interval(d: Mapping | None) -> Interval | None:
    return None if d is None else Interval(float(d["value"]), float(d["low"]), float(d["high"]))


def _difference(ev: Mapping, a: str, b: str, metric: str) -> Interval | None:
    """``metric(a) - metric(b)`` of one run's evaluation (or minus the stored ``b - a``)."""
    diffs = ev.get("differences", {})
    if f"{a}-{b}" in diffs:
        return _interval(diffs[f"{a}-{b}"].get(metric))
    if f"{b}-{a}" in diffs and metric in diffs[f"{b}-{a}"]:
        iv = _interval(diffs[f"{b}-{a}"][metric])
        return Interval(-iv.value, -iv.high, -iv.low)
    return None


def improvement(difference: Interval, metric: str) -> Interval:
    """Orient ``metric(a) - metric(b)`` so that positive means ``a`` is better (lower RMSE, higher PCKh)."""
    if higher_is_better(metric):
        return difference
    return Interval(-difference.value, -difference.high, -difference.low)


# ---------------------------------------------------------------------------------------------------------
# tables


def _row_order(runs: Mapping[tuple[str, str], Mapping]) -> list[tuple[str, str, str]]:
    models = list(paper.MODEL_NAMES) + sorted({m for m, _ in runs} - set(paper.MODEL_NAMES))
    encodings = list(paper.ENCODING_NAMES) + sorted({e for _, e in runs} - set(paper.ENCODING_NAMES))
    seen = dict.fromkeys(d for ev in runs.values() for d in ev["decoders"])  # the evaluation's order
    extra = [d for d in seen if d not in paper.PAPER_DECODERS]
    rows = []
    for m in models:
        for d in (*paper.PAPER_DECODERS, *extra):
            for e in encodings:
                if (m, e, d) in paper.TABLE2 or (m, e) in runs:
                    rows.append((m, e, d))
    return rows


def table2(evaluations: Sequence[Mapping], metrics: Sequence[str] = CLAIM_METRICS) -> pd.DataFrame:
    """Table 2 of the report next to ours.

    Returns a DataFrame indexed by ``(model, encoding, decoder)`` (internal names, the report's row
    order, then the decoders beyond the paper), with columns ``(metric, field)``, field one of
    ``ours``, ``low``, ``high`` (our value and 95% CI; NaN where we have no such run) and ``report``
    (the published value; NaN for rows the report does not have).
    """
    runs = _by_run(evaluations)
    records = []
    for m, e, d in _row_order(runs):
        rec = {}
        ours = runs.get((m, e), {}).get("decoders", {}).get(d, {}).get("metrics", {})
        for metric in metrics:
            iv = _interval(ours.get(metric))
            rec[(metric, "ours")] = iv.value if iv else math.nan
            rec[(metric, "low")] = iv.low if iv else math.nan
            rec[(metric, "high")] = iv.high if iv else math.nan
            rec[(metric, "report")] = paper.TABLE2.get((m, e, d), {}).get(metric, math.nan)
        records.append(rec)
    index = pd.MultiIndex.from_tuples(_row_order(runs), names=["model", "encoding", "decoder"])
    return pd.DataFrame(records, index=index, columns=pd.MultiIndex.from_tuples(list(records[0])))


def table3(evaluations: Sequence[Mapping], metrics: Sequence[str] = CLAIM_METRICS) -> pd.DataFrame:
    """Table 3 of the report (SH w/o quant with CoM and DARK) next to ours, plus the row ``DARK - CoM``.

    Same columns as :func:`table2`; the last row's index is ``("sh", "unbiased", "dark - com")`` and
    holds our paired difference (same heatmaps) with its CI, and the difference of the report's values.
    """
    t = table2(evaluations, metrics)
    rows = [k for k in paper.TABLE3 if k in t.index]
    out = t.loc[rows].copy()
    ev = _by_run(evaluations).get(("sh", "unbiased"))
    diff = {}
    for metric in metrics:
        iv = _difference(ev, "dark", "com", metric) if ev else None
        diff[(metric, "ours")] = iv.value if iv else math.nan
        diff[(metric, "low")] = iv.low if iv else math.nan
        diff[(metric, "high")] = iv.high if iv else math.nan
        rep = paper.TABLE3
        diff[(metric, "report")] = (
            rep[("sh", "unbiased", "dark")][metric] - rep[("sh", "unbiased", "com")][metric]
        )
    out.loc[("sh", "unbiased", "dark - com"), :] = pd.Series(diff)
    return out


def run_table(ev: Mapping, digits: int = 2) -> pd.DataFrame:
    """One run, every decoder: each metric as ``value [low, high]`` and ``DARK - decoder`` likewise."""
    rows = {}
    for d, r in ev["decoders"].items():
        row = {}
        for metric, iv in r["metrics"].items():
            row[_LABELS.get(metric, metric)] = format(_interval(iv), f".{digits}f")
        for metric in CLAIM_METRICS:
            diff = _difference(ev, "dark", d, metric) if d != "dark" else None
            row[f"DARK - this, {_LABELS[metric]}"] = format(diff, f".{digits}f") if diff else "–"
        rows[d] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("decoder")


def row_label(model: str, encoding: str, decoder: str) -> str:
    """The report's row name, e.g. ``SH_4S (w/o quant) + DARK``."""
    m = paper.MODEL_NAMES.get(model, model)
    e = paper.ENCODING_NAMES.get(encoding, encoding)
    d = " - ".join(paper.DECODER_NAMES.get(x, x) for x in decoder.split(" - "))
    return f"{m} ({e}) + {d}"


def display_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Strings for the book: one row per table row, ``ours [low, high]`` and ``report`` per metric."""
    out = {}
    metrics = list(dict.fromkeys(table.columns.get_level_values(0)))
    for metric in metrics:
        c = table[metric]
        ours = [
            "–" if math.isnan(v) else f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
            for v, lo, hi in zip(c["ours"], c["low"], c["high"], strict=True)
        ]
        out[f"{_LABELS.get(metric, metric)} ours [95% CI]"] = ours
        out[f"{_LABELS.get(metric, metric)} report"] = [
            "–" if math.isnan(v) else f"{v:.{digits}f}" for v in c["report"]
        ]
    index = pd.Index([row_label(*k) for k in table.index], name="model + decoding")
    return pd.DataFrame(out, index=index)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub/MyST Markdown table of a (string) DataFrame, its index as the first column."""
    cols = [df.index.name or "", *map(str, df.columns)]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)


def styled(table: pd.DataFrame, digits: int = 2):
    """A pandas Styler of :func:`display_table` for the book (extra decoders in grey italics)."""
    shown = display_table(table, digits)
    extra = [d not in paper.PAPER_DECODERS and " - " not in d for _, _, d in table.index]

    def grey(row):
        return ["color: #777; font-style: italic" if extra[shown.index.get_loc(row.name)] else ""] * len(row)

    return shown.style.apply(grey, axis=1)


# ---------------------------------------------------------------------------------------------------------
# verdicts


def decide(improvements: Sequence[Interval]) -> str:
    """The verdict from the claim's oriented improvements (see the module docstring)."""
    if not improvements:
        return NOT_EVALUATED
    if all(iv.low > 0 for iv in improvements):
        return REPRODUCED
    if any(iv.high < 0 for iv in improvements):
        return NOT_REPRODUCED
    return INCONCLUSIVE


def _status(iv: Interval) -> str:
    return {1: "better", -1: "worse", 0: "unclear"}[iv.excludes_zero()]


def _evidence_row(claim, model, encoding, decoder, comparison, metric, diff: Interval) -> dict:
    imp = improvement(diff, metric)
    return {
        "claim": claim,
        "model": model,
        "encoding": encoding,
        "decoder": decoder,
        "comparison": comparison,
        "metric": metric,
        "difference": diff.value,
        "diff_low": diff.low,
        "diff_high": diff.high,
        "improvement": imp.value,
        "imp_low": imp.low,
        "imp_high": imp.high,
        "status": _status(imp),
    }


def claim1_evidence(
    evaluations: Sequence[Mapping],
    baselines: Sequence[str] = ("argmax", "standard"),
    metrics: Sequence[str] = CLAIM_METRICS,
) -> tuple[pd.DataFrame, list[str]]:
    """Paired ``DARK - baseline`` differences of every run: ``(evidence rows, missing comparisons)``."""
    runs = _by_run(evaluations)
    rows, missing = [], []
    for m in paper.MODEL_NAMES:
        for e in paper.ENCODING_NAMES:
            if (m, e) not in runs:
                missing.append(f"{row_label(m, e, 'dark')} (no run)")
                continue
            for b in baselines:
                for metric in metrics:
                    diff = _difference(runs[(m, e)], "dark", b, metric)
                    if diff is None:
                        missing.append(f"{row_label(m, e, 'dark - ' + b)} {metric}")
                    else:
                        rows.append(_evidence_row(1, m, e, "dark", f"dark - {b}", metric, diff))
    for (m, e), ev in runs.items():  # models or encodings beyond the report's
        if m not in paper.MODEL_NAMES or e not in paper.ENCODING_NAMES:
            for b in baselines:
                for metric in metrics:
                    diff = _difference(ev, "dark", b, metric)
                    if diff is not None:
                        rows.append(_evidence_row(1, m, e, "dark", f"dark - {b}", metric, diff))
    return pd.DataFrame(rows, columns=_EVIDENCE_COLUMNS), missing


_EVIDENCE_COLUMNS = [
    "claim", "model", "encoding", "decoder", "comparison", "metric", "difference", "diff_low", "diff_high",
    "improvement", "imp_low", "imp_high", "status",
]  # fmt: skip


def claim2_evidence(
    comparisons: Sequence[Mapping],
    decoders: Sequence[str] = paper.PAPER_DECODERS,
    metrics: Sequence[str] = CLAIM_METRICS,
) -> tuple[pd.DataFrame, list[str]]:
    """Paired ``w/o quant - w/ quant`` differences per model and decoder.

    ``comparisons``: one dict per model, as :func:`dark.evaluate.compare_encodings` returns:
    ``{"model": "sh", "a": "unbiased", "b": "quantized", "differences": {decoder: {metric:
    {"value", "low", "high"}}}}`` with differences ``metric(a) - metric(b)`` on the same test frames.
    """
    by_model = {c["model"]: c for c in comparisons}
    rows, missing = [], []
    for m in [*paper.MODEL_NAMES, *sorted(set(by_model) - set(paper.MODEL_NAMES))]:
        c = by_model.get(m)
        if c is None:
            if m in paper.MODEL_NAMES:
                missing.append(f"{paper.MODEL_NAMES[m]}: w/o quant vs w/ quant (needs both runs)")
            continue
        if (c["a"], c["b"]) != ("unbiased", "quantized"):
            raise ValueError(f"comparison for {m!r} must be unbiased - quantized, got {c['a']} - {c['b']}")
        for d in decoders:
            for metric in metrics:
                iv = _interval(c["differences"].get(d, {}).get(metric))
                if iv is None:
                    missing.append(f"{paper.MODEL_NAMES.get(m, m)} + {d} {metric}")
                else:
                    rows.append(
                        _evidence_row(2, m, "unbiased - quantized", d, "w/o quant - w/ quant", metric, iv)
                    )
    return pd.DataFrame(rows, columns=_EVIDENCE_COLUMNS), missing


def verdicts(evaluations: Sequence[Mapping], comparisons: Sequence[Mapping] = ()) -> dict[int, dict]:
    """Claim -> ``{"claim", "verdict", "by_metric": {metric: verdict}, "counts", "evidence", "missing"}``.

    ``evidence`` is the DataFrame of every paired difference used (oriented improvement with its CI and
    its status better/worse/unclear); ``counts`` tallies the statuses.
    """
    out = {}
    for claim, (ev, missing) in {
        1: claim1_evidence(evaluations),
        2: claim2_evidence(comparisons),
    }.items():
        ivs = [Interval(r.improvement, r.imp_low, r.imp_high) for r in ev.itertuples()]
        by_metric = {}
        for metric in CLAIM_METRICS:
            sub = ev[ev.metric == metric]
            by_metric[metric] = decide(
                [Interval(r.improvement, r.imp_low, r.imp_high) for r in sub.itertuples()]
            )
        out[claim] = {
            "claim": paper.CLAIMS[claim],
            "verdict": decide(ivs),
            "by_metric": by_metric,
            "counts": {s: int((ev.status == s).sum()) for s in ("better", "unclear", "worse")},
            "evidence": ev,
            "missing": missing,
        }
    return out


def verdict_table(v: Mapping[int, Mapping]) -> pd.DataFrame:
    """One row per claim: the verdict, per-metric verdicts, and how many comparisons went which way."""
    rows = []
    for claim, r in v.items():
        c = r["counts"]
        rows.append(
            {
                "claim": f"{claim}. {r['claim']}",
                "verdict": r["verdict"],
                **{_LABELS[m]: r["by_metric"][m] for m in CLAIM_METRICS},
                "comparisons better / unclear / worse": f"{c['better']} / {c['unclear']} / {c['worse']}",
                "missing": len(r["missing"]),
            }
        )
    return pd.DataFrame(rows).set_index("claim")


def evidence_display(evidence: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The evidence rows with ``value [low, high]`` strings, for the book."""
    df = evidence.copy()
    f = f"{{:.{digits}f}} [{{:.{digits}f}}, {{:.{digits}f}}]"
    df["difference [95% CI]"] = [
        f.format(*x) for x in zip(df.difference, df.diff_low, df.diff_high, strict=True)
    ]
    df["improvement [95% CI]"] = [
        f.format(*x) for x in zip(df.improvement, df.imp_low, df.imp_high, strict=True)
    ]
    keep = [c for c in df.columns if c not in _EVIDENCE_COLUMNS[6:12] and c != "claim"]
    return df[keep]


# ---------------------------------------------------------------------------------------------------------
# provenance and saving


def _known(v) -> str:
    return "?" if v is None else str(v)


def _shown(path: object) -> str:
    """A path as the book shows it: relative to the working directory (the repository, when the
    pipeline runs the notebooks) if it lies inside it, so no machine's absolute paths are published."""
    if not isinstance(path, str | os.PathLike):
        return "?"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def provenance(evaluations: Sequence[Mapping]) -> str:
    """One paragraph naming the profile, data, run configurations and bootstrap behind the tables."""
    if not evaluations:
        return "No evaluated runs."
    data = evaluations[0].get("data", {})
    b = evaluations[0].get("bootstrap", {})
    runs = []
    for ev in evaluations:
        r = ev["run"]
        runs.append(
            f"{row_label(r['model'], r['encoding'], '').rstrip(' +')}: config {r.get('config_name', '?')}, "
            f"input {r.get('input_size', '?')}, heatmaps {r.get('heatmap_size', '?')}, "
            f"sigma {r.get('sigma', '?')}, "
            f"best epoch {_known(r.get('best_epoch'))} of {_known(r.get('epochs'))} ({_shown(r.get('dir'))})"
        )
    return (
        f"Profile {data.get('profile', '?')}; test data {_shown(data.get('path'))} "
        f"(source {data.get('source', '?')}, manifest sha256 {str(data.get('manifest_sha256', '?'))[:12]}, "
        f"{data.get('samples', '?')} samples in {data.get('frames', '?')} bootstrap units). Runs: "
        + "; ".join(runs)
        + f". Intervals: {100 * b.get('confidence', 0.95):g}% {b.get('method', 'percentile')} bootstrap over "
        f"{b.get('unit', 'test frames')}, {b.get('n_resamples', '?')} resamples, seed {b.get('seed', '?')}. "
        f"Report values: {paper.SOURCE}."
    )


def caption(evaluations: Sequence[Mapping]) -> str:
    """One line for under a table: profile, data, test size, run configurations, interval method."""
    if not evaluations:
        return "No evaluated runs."
    data, b = evaluations[0].get("data", {}), evaluations[0].get("bootstrap", {})
    configs = sorted({str(ev["run"].get("config_name")) for ev in evaluations})
    return (
        f"Profile {data.get('profile', '?')}, data {_shown(data.get('path'))} "
        f"({data.get('samples', '?')} test samples, {data.get('frames', '?')} frames), "
        f"model configuration {', '.join(configs)}; "
        f"[low, high]: {100 * b.get('confidence', 0.95):g}% bootstrap interval over test frames. "
        f"Report: {paper.SOURCE}."
    )


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Interval):
        return o.to_dict()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def save(
    out: str | os.PathLike,
    evaluations: Sequence[Mapping],
    comparisons: Sequence[Mapping] = (),
) -> dict[str, Path]:
    """Write ``table2``/``table3`` (CSV + JSON), ``verdicts.json`` and ``evidence.csv`` into ``out``."""
    out = Path(out)
    written = {}
    for name, t in {"table2": table2(evaluations), "table3": table3(evaluations)}.items():
        flat = t.copy()
        flat.columns = [f"{m}_{f}" for m, f in flat.columns]
        flat = flat.reset_index()
        atomic_write(out / f"{name}.csv", flat.to_csv(index=False))
        records = json.loads(flat.to_json(orient="records"))
        atomic_write(out / f"{name}.json", json.dumps({"source": paper.SOURCE, "rows": records}, indent=1))
        written[f"{name}.csv"], written[f"{name}.json"] = out / f"{name}.csv", out / f"{name}.json"
    v = verdicts(evaluations, comparisons)
    payload = {
        str(k): {
            **{kk: vv for kk, vv in r.items() if kk != "evidence"},
            "evidence": r["evidence"].to_dict("records"),
        }
        for k, r in v.items()
    }
    payload["provenance"] = provenance(evaluations)
    atomic_write(out / "verdicts.json", json.dumps(payload, indent=1, default=_json_default))
    ev = pd.concat([r["evidence"] for r in v.values()], ignore_index=True)
    atomic_write(out / "evidence.csv", ev.to_csv(index=False))
    written["verdicts.json"], written["evidence.csv"] = out / "verdicts.json", out / "evidence.csv"
    return written
