"""The report's tables next to ours, and a verdict on each claim computed from our runs and their seeds.

Inputs are run directories (one per ``(model, encoding, seed)`` training, :mod:`dark.runs`): their
``config.json``, ``evaluation.json`` and ``frame_sums.npz`` (per decoder and test frame, the sums every
metric is a ratio of). :func:`load_runs` reads them; :func:`analyse` groups them into *cells*
``(model, encoding)`` and computes every estimate once with the two-level (seeds x test frames)
intervals of :mod:`dark.metrics` (:data:`dark.metrics.INTERVALS` states the method). Everything else
here is a pure function of that analysis.

Decision rule (:func:`decide`), applied to the claim's differences, each oriented as an *improvement*
(positive = the direction the claim predicts: higher PCKh, lower RMSE) with its 95% interval:

- **reproduced**: every relevant improvement's interval lies entirely above 0;
- **not reproduced**: at least one relevant interval lies entirely below 0 (the claimed order is
  reversed with confidence somewhere the claim says it holds);
- **inconclusive at this sample size**: otherwise (some interval contains 0, none is below it).

"Every interval above 0" is an intersection-union test: it keeps the 5% error rate of one interval
without a multiplicity correction. "Some interval below 0" over many comparisons is more liberal (each
interval has a 2.5% chance of lying below 0 by chance when the true difference is 0); the evidence
tables list every comparison so a reader can judge. The relevant comparisons are:

- claim 1: ``DARK - ArgMax`` and ``DARK - Standard`` on the same heatmaps, within each run and combined
  over the cell's seeds, for every cell, on PCKh@0.1, PCKh@0.5 and RMSE (the report's three metrics);
- claim 2: ``unbiased - q`` for every quantised encoding ``q`` trained (the report's code's ``ceil``, our
  ``quantized``, the DARK paper's ``quantized-heatmap``, ``random-heatmap``), for every one of the
  report's decoders and every model with both cells, on the same metrics: a difference of cell means
  paired on the test frames. Claim 2 is about trainings: a comparison whose cells have one training each
  has no measured training variance and cannot decide anything (status ``one training``); when every
  comparison is such, the verdict is :data:`ONE_TRAINING`. Claim 2 also gets one verdict per ``q``.

Comparisons whose runs are missing are listed under ``missing`` and do not enter the verdict.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dark import metrics, paper, runs
from dark.files import atomic_write
from dark.metrics import Estimate, Interval, higher_is_better

#: the decision rule in one paragraph, for the book (the module docstring has the reasoning)
DECISION_RULE: str = (
    "Each claim is a set of comparisons (two decoders on the same heatmaps, within each training; two "
    "cells of trainings on the same test frames), each with a 95% interval of the improvement it "
    "predicts. A claim is **reproduced** when every interval lies above zero, **not reproduced** when at "
    "least one lies entirely below zero, and **inconclusive at this sample size** otherwise. A "
    "comparison between trainings with one training per cell decides nothing: its interval covers the "
    "test frames only."
)

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive at this sample size"
ONE_TRAINING = "inconclusive: one training per cell, training variance unmeasured"
NOT_EVALUATED = "not evaluated (no runs)"

#: metrics the verdicts use (the report's Table 2 columns)
CLAIM_METRICS: tuple[str, ...] = paper.TABLE_METRICS

#: statuses of one comparison
STATUSES: tuple[str, ...] = ("better", "unclear", "worse", "one training")

#: labels of the encodings while dark.codecs has no table (it has one: this is the fallback only)
_ENCODING_FALLBACK = {"unbiased": "w/o quant", "quantized": "w/ quant"}


# ---------------------------------------------------------------------------------------------------------
# display names: the one place


def encoding_label(encoding: str) -> str:
    """The label of an encoding (``dark.codecs.ENCODINGS``), e.g. ``"w/o quant"``."""
    try:
        from dark.codecs import ENCODINGS
    except ImportError:  # pragma: no cover - only before the encodings table existed
        ENCODINGS = {}
    if encoding in ENCODINGS:
        return ENCODINGS[encoding].label
    return _ENCODING_FALLBACK.get(encoding, encoding)


def decoder_label(decoder: str) -> str:
    """``"dark - com"`` -> ``"DARK - CoM"``; decoders beyond the report keep their names."""
    return " - ".join(paper.DECODER_NAMES.get(x, x) for x in decoder.split(" - "))


def display_name(model: str, encoding: str | None = None, decoder: str | None = None) -> str:
    """The row name of a model, cell or cell + decoder, e.g. ``SH_4S (w/o quant) + DARK``.

    >>> display_name("sh", "unbiased"), display_name("hrnet", "unbiased", "dark")
    ('SH_4S (w/o quant)', 'HRNet_4S (w/o quant) + DARK')
    """
    text = paper.MODEL_NAMES.get(model, model)
    if encoding is not None:
        text += f" ({encoding_label(encoding)})"
    if decoder:
        text += f" + {decoder_label(decoder)}"
    return text


def row_label(model: str, encoding: str, decoder: str) -> str:
    """The report's row name, e.g. ``SH_4S (w/o quant) + DARK`` (:func:`display_name`)."""
    return display_name(model, encoding, decoder or None)


def _heading(metric: str) -> str:
    try:
        return metrics.metric(metric).heading
    except ValueError:  # a metric beyond the table keeps its name
        return metric


# ---------------------------------------------------------------------------------------------------------
# loading


@dataclass(frozen=True)
class RunRecord:
    """One evaluated training: its directory, identity, evaluation and per-frame sums per decoder."""

    path: Path
    model: str
    encoding: str
    seed: int
    config: dict
    evaluation: dict
    groups: np.ndarray  #: (G,) sorted test frame labels
    columns: tuple[str, ...]  #: the frame-sum columns (:func:`dark.metrics.frame_sum_columns`)
    tables: dict[str, np.ndarray] = field(repr=False)  #: decoder -> (G, C) frame sums


def load_run(path: str | os.PathLike) -> RunRecord:
    """Read one run directory (``config.json``, ``evaluation.json``, ``frame_sums.npz``)."""
    p = Path(path)
    for name in (runs.CONFIG, runs.EVALUATION, runs.FRAME_SUMS):
        if not (p / name).is_file():
            raise FileNotFoundError(f"{p / name} not found: run `dark evaluate --run {p}` first")
    config, ev, sums = runs.load_config(p), runs.load_evaluation(p), runs.load_frame_sums(p)
    tables, groups, columns = sums["decoders"], sums["groups"], tuple(sums["columns"].tolist())
    r = ev.get("run", {})
    return RunRecord(
        path=p, model=config.get("model", r.get("model")), encoding=config.get("encoding", r.get("encoding")),
        seed=int(config.get("seed", r.get("seed", 0))), config=config, evaluation=ev, groups=groups,
        columns=columns, tables=tables,
    )  # fmt: skip


def load_runs(paths: Iterable[str | os.PathLike]) -> list[RunRecord]:
    """:func:`load_run` for every run directory, in order."""
    return [load_run(p) for p in paths]


def load_evaluations(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Read ``RUN/evaluation.json`` of every run directory (or the JSON file itself), in order."""
    out = []
    for r in paths:
        p = Path(r)
        p = p / runs.EVALUATION if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: run `dark evaluate --run {p.parent}` first")
        out.append(json.loads(p.read_text()))
    return out


def _encoding_order() -> list[str]:
    try:
        from dark.codecs import ENCODINGS

        return list(ENCODINGS)
    except ImportError:  # pragma: no cover
        return list(_ENCODING_FALLBACK)


def cells(records: Sequence[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    """Runs grouped by ``(model, encoding)``: the report's models first, encodings in the table's order,
    each cell's runs by seed (1314, the report's seed, first). Duplicate seeds raise."""
    models = list(paper.MODEL_NAMES) + sorted({r.model for r in records} - set(paper.MODEL_NAMES))
    encs = _encoding_order()
    encs += sorted({r.encoding for r in records} - set(encs))
    out: dict[tuple[str, str], list[RunRecord]] = {}
    for m in models:
        for e in encs:
            sub = sorted(
                (r for r in records if (r.model, r.encoding) == (m, e)),
                key=lambda r: (r.seed != 1314, r.seed),
            )
            if len({r.seed for r in sub}) != len(sub):
                raise ValueError(f"two runs of {display_name(m, e)} with the same seed")
            if sub:
                out[(m, e)] = sub
    return out


def _paired(records: Sequence[RunRecord]) -> None:
    first = records[0]
    for r in records[1:]:
        if r.columns != first.columns or not np.array_equal(r.groups, first.groups):
            raise ValueError(f"{r.path} and {first.path} were not evaluated on the same test frames")


# ---------------------------------------------------------------------------------------------------------
# the analysis: every estimate, computed once


@dataclass(frozen=True)
class Analysis:
    """Every estimate the tables and verdicts show (see :func:`analyse`)."""

    cells: dict[tuple[str, str], list[RunRecord]]
    #: (model, encoding, decoder) -> {metric: Estimate}: the cell means over seeds
    values: dict[tuple[str, str, str], dict[str, Estimate]]
    #: (model, encoding, "dark - b") -> {metric: Estimate}: decoder differences within runs
    within: dict[tuple[str, str, str], dict[str, Estimate]]
    #: (model, "unbiased - q", decoder) -> {metric: Estimate}: cell differences, paired on frames
    between: dict[tuple[str, str, str], dict[str, Estimate]]
    settings: dict

    @property
    def records(self) -> list[RunRecord]:
        return [r for rs in self.cells.values() for r in rs]


def _metrics_of(columns: Sequence[str]) -> list[str]:
    names = [*CLAIM_METRICS, "mean_error"]
    return names + list(metrics.BIAS_METRICS) if "dx" in columns else names


def analyse(
    records: Sequence[RunRecord],
    *,
    references: Sequence[str] = ("argmax", "standard", "com"),
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Analysis:
    """Cell values, ``DARK - reference`` within runs and ``unbiased - q`` between cells, with intervals.

    Every interval is :func:`dark.metrics.cell_estimates` and friends (one frame resampling, seeded,
    shared by every run: paired). Raises if the runs were not evaluated on the same test frames.
    """
    by_cell = cells(records)
    if records:
        _paired(records)
    kw = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    values, within, between = {}, {}, {}
    for (m, e), rs in by_cell.items():
        cols = rs[0].columns
        names = _metrics_of(cols)
        decoders = [d for d in rs[0].tables if all(d in r.tables for r in rs)]
        for d in decoders:
            values[(m, e, d)] = metrics.cell_estimates([r.tables[d] for r in rs], names, cols, **kw)
        for b in references:
            if "dark" in decoders and b in decoders:
                within[(m, e, f"dark - {b}")] = metrics.within_run_difference_estimates(
                    [r.tables["dark"] for r in rs], [r.tables[b] for r in rs], CLAIM_METRICS, cols, **kw
                )
    for (m, q), rq in by_cell.items():
        ru = by_cell.get((m, "unbiased"))
        if q == "unbiased" or ru is None:
            continue
        for d in [d for d in ru[0].tables if all(d in r.tables for r in (*ru, *rq))]:
            between[(m, f"unbiased - {q}", d)] = metrics.cell_difference_estimates(
                [r.tables[d] for r in ru], [r.tables[d] for r in rq], CLAIM_METRICS, ru[0].columns, **kw
            )
    return Analysis(by_cell, values, within, between, dict(kw, method=metrics.INTERVALS))


def improvement(difference: Interval, metric: str) -> Interval:
    """Orient ``metric(a) - metric(b)`` so that positive means ``a`` is better (lower RMSE, higher PCKh).

    An :class:`~dark.metrics.Estimate` stays one (its per-seed values are negated too)."""
    if higher_is_better(metric):
        return difference
    if isinstance(difference, Estimate):
        return Estimate(
            -difference.value, -difference.high, -difference.low,
            seeds=tuple(-x for x in difference.seeds), seeds_b=tuple(-x for x in difference.seeds_b),
            n_seeds=difference.n_seeds, df=difference.df, se_seeds=difference.se_seeds,
            se_frames=difference.se_frames, training_variance=difference.training_variance,
        )  # fmt: skip
    return Interval(-difference.value, -difference.high, -difference.low)


def _seeds_text(values: Sequence[float], digits: int = 2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


# ---------------------------------------------------------------------------------------------------------
# tables


def _row_order(a: Analysis) -> list[tuple[str, str, str]]:
    present = list(a.cells)
    models = list(paper.MODEL_NAMES) + sorted({m for m, _ in present} - set(paper.MODEL_NAMES))
    encodings = list(paper.ENCODING_NAMES) + [e for e in _encoding_order() if e not in paper.ENCODING_NAMES]
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


def table2(a: Analysis, metrics_: Sequence[str] = CLAIM_METRICS) -> pd.DataFrame:
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


def table3(a: Analysis, metrics_: Sequence[str] = CLAIM_METRICS) -> pd.DataFrame:
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


def _ci(value: float, low: float, high: float, digits: int) -> str:
    return (
        "–"
        if value is None or math.isnan(value)
        else f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
    )


def display_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Strings for the book: per row the number of trainings, and per metric ``ours [low, high]``, the
    per-seed values and the report's value."""
    out = {}
    mts = list(dict.fromkeys(table.columns.get_level_values(0)))
    out["trainings"] = [str(n) if n else "–" for n in table[(mts[0], "n_seeds")]] if mts else []
    for mt in mts:
        c = table[mt]
        h = _heading(mt)
        out[f"{h} ours [95% CI]"] = [
            _ci(*x, digits) for x in zip(c["ours"], c["low"], c["high"], strict=True)
        ]
        out[f"{h} per seed"] = [_seeds_text(s, digits) if len(s) > 1 else "" for s in c["seeds"]]
        out[f"{h} report"] = ["–" if math.isnan(v) else f"{v:.{digits}f}" for v in c["report"]]
    index = pd.Index([row_label(*k) for k in table.index], name="model + decoding")
    return pd.DataFrame(out, index=index)


def expected_bias(encoding: str) -> float:
    """The per-axis shift (input px) an encoding's rounding puts into every target: +0.5 for ceil, -0.5
    for floor (a uniform U[0, 1) residual), 0 for nearest, random and unbiased targets."""
    try:
        from dark.codecs import ENCODINGS

        rounding = ENCODINGS[encoding].rounding if encoding in ENCODINGS else None
    except ImportError:  # pragma: no cover
        rounding = None
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
            row[f"{metrics.metric(mt).heading} [95% CI]"] = _ci(iv.value, iv.low, iv.high, digits)
            row[f"{metrics.metric(mt).label} per seed"] = (
                _seeds_text(iv.seeds, digits) if len(iv.seeds) > 1 else ""
            )
        med = [r.evaluation.get("decoders", {}).get(decoder, {}).get("median_bias") for r in rs]
        row["median bias (x, y) per seed"] = "; ".join(
            "–" if v is None else f"({v[0]:+.{digits}f}, {v[1]:+.{digits}f})" for v in med
        )
        rows[display_name(m, e, decoder)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("cell + decoding")


def focus(records: Sequence[RunRecord]) -> RunRecord:
    """The run the book looks at closely: the report's best model (SH w/o quant) at its first seed, else
    the first run."""
    c = cells(records)
    return c.get(("sh", "unbiased"), next(iter(c.values()), [None]))[0] or records[0]


def value_text(a: Analysis, model: str, encoding: str, decoder: str, metric: str, digits: int = 2) -> str:
    """A cell's value for prose: ``"43.10 [41.20, 45.00] (3 trainings: 42.1, 43.0, 44.2)"``, ``–`` if none."""
    iv = a.values.get((model, encoding, decoder), {}).get(metric)
    if iv is None:
        return "–"
    text = _ci(iv.value, iv.low, iv.high, digits)
    n = len(iv.seeds)
    return text + (f" ({n} trainings: {_seeds_text(iv.seeds, digits)})" if n > 1 else " (one training)")


def report_text(model: str, encoding: str, decoder: str, metric: str, digits: int = 2) -> str:
    """The report's published value of a Table 2 cell, ``–`` where it has none."""
    v = paper.published(model, encoding, decoder).get(metric, math.nan)
    return "–" if math.isnan(v) else f"{v:.{digits}f}"


def claim2_lines(v: Mapping[int, Mapping]) -> list[str]:
    """One Markdown line per quantised encoding: which reading of "w/ quant" the verdict is about, the
    verdict, and the trainings and seed-to-seed spread behind it."""
    r = v[2]
    ev = pd.DataFrame(list(r["evidence"])) if not isinstance(r["evidence"], pd.DataFrame) else r["evidence"]
    lines = []
    for q, verdict in r.get("by_encoding", {}).items():
        sub = ev[ev.encoding == f"unbiased - {q}"]
        n = ", ".join(dict.fromkeys(sub.n_seeds))
        spread = f"{sub.se_seeds.median():.2f}" if len(sub) else "–"
        lines.append(
            f"- against **{encoding_label(q)}**: {verdict} ({len(sub)} comparisons; trainings per cell {n}; "
            f"median seed-level standard error of a difference {spread})"
        )
    return lines


def extra_decoders(a: Analysis) -> list[str]:
    """The decoders evaluated beyond the report's four, in the evaluation's order."""
    return [d for d in dict.fromkeys(d for (_, _, d) in a.values) if d not in paper.PAPER_DECODERS]


def claim1_along_training(
    run_dirs: Sequence[str | os.PathLike],
    baseline: str = "standard",
    metric: str = "pckh@0.1",
    digits: int = 2,
) -> str:
    """One sentence per model: ``DARK - baseline`` on the validation heatmaps at the first and the last
    epoch (``metrics.jsonl``'s ``val_decoders``), mean over the model's runs; "" when no run has them."""
    by_model: dict[str, list[list[float]]] = {}
    for d in run_dirs:
        hist = [e for e in runs.load_history(d) if {"dark", baseline} <= set(e.get("val_decoders", {}))]
        if hist:
            gaps = [e["val_decoders"]["dark"][metric] - e["val_decoders"][baseline][metric] for e in hist]
            by_model.setdefault(runs.load_config(d).get("model", "?"), []).append(gaps)
    mt, b = metrics.metric(metric), decoder_label(baseline)
    out = []
    for m, gaps in by_model.items():
        first = float(np.mean([g[0] for g in gaps]))
        last = float(np.mean([g[-1] for g in gaps]))
        n = len(gaps[0])
        runs_text = f"mean over {len(gaps)} training{'s' if len(gaps) > 1 else ''}"
        name = paper.MODEL_NAMES.get(m, m)
        if n == 1:
            out.append(f"{name}: DARK - {b} on validation {mt.label} is {first:+.{digits}f} {mt.unit} after "
                       f"its one epoch ({runs_text}).")  # fmt: skip
            continue
        out.append(
            f"{name}: DARK - {b} on validation {mt.label} goes from {first:+.{digits}f} {mt.unit} after the "
            f"first epoch to {last:+.{digits}f} {mt.unit} after the last ({n} epochs, {runs_text})."
        )
    return " ".join(out)


def best_decoders(a: Analysis, metric: str = "rmse", digits: int = 2) -> list[str]:
    """One Markdown line per cell: the decoder with the best mean ``metric`` and its value."""
    lines = []
    for m, e in a.cells:
        vals = {d: est[metric].value for (mm, ee, d), est in a.values.items() if (mm, ee) == (m, e)}
        vals = {d: x for d, x in vals.items() if not math.isnan(x)}
        if not vals:
            continue
        pick = (max if higher_is_better(metric) else min)(vals, key=vals.get)
        mt = metrics.metric(metric)
        lines.append(
            f"- {display_name(m, e, pick)}: {mt.label} {value_text(a, m, e, pick, metric, digits)} {mt.unit}"
        )
    return lines


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


def run_table(ev: Mapping, digits: int = 2) -> pd.DataFrame:
    """One run's ``evaluation.json``, every decoder: each metric as ``value [low, high]`` (test frames)
    and ``DARK - decoder`` likewise."""
    rows = {}
    diffs = ev.get("differences", {})
    for d, r in ev["decoders"].items():
        row = {}
        for mt, iv in r["metrics"].items():
            row[_heading(mt)] = _ci(iv["value"], iv["low"], iv["high"], digits)
        for mt in CLAIM_METRICS:
            iv = diffs.get(f"dark-{d}", {}).get(mt) if d != "dark" else None
            row[f"DARK - this, {_heading(mt)}"] = (
                _ci(iv["value"], iv["low"], iv["high"], digits) if iv else "–"
            )
        rows[d] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("decoder")


# ---------------------------------------------------------------------------------------------------------
# verdicts


def decide(improvements: Sequence[Interval], needs_training_variance: bool = False) -> str:
    """The verdict from the claim's oriented improvements (see the module docstring).

    With ``needs_training_variance`` (claim 2), an :class:`~dark.metrics.Estimate` without measured
    training variance can neither reproduce nor refute: it counts as unclear, and if every one is such
    the verdict is :data:`ONE_TRAINING`.
    """
    if not improvements:
        return NOT_EVALUATED
    if needs_training_variance:
        measured = [iv for iv in improvements if getattr(iv, "training_variance", True)]
        if not measured:
            return ONE_TRAINING
        if len(measured) < len(improvements):
            return NOT_REPRODUCED if any(iv.high < 0 for iv in measured) else INCONCLUSIVE
    if all(iv.low > 0 for iv in improvements):
        return REPRODUCED
    if any(iv.high < 0 for iv in improvements):
        return NOT_REPRODUCED
    return INCONCLUSIVE


def _status(iv: Interval, needs_training_variance: bool) -> str:
    if needs_training_variance and not getattr(iv, "training_variance", True):
        return "one training"
    return {1: "better", -1: "worse", 0: "unclear"}[iv.excludes_zero()]


_EVIDENCE_COLUMNS = [
    "claim", "model", "encoding", "decoder", "comparison", "metric", "difference", "diff_low", "diff_high",
    "improvement", "imp_low", "imp_high", "n_seeds", "seeds", "seeds_b", "se_seeds", "se_frames",
    "training_variance", "status",
]  # fmt: skip


def _evidence_row(claim, model, encoding, decoder, comparison, metric, diff: Estimate) -> dict:
    imp = improvement(diff, metric)
    n = diff.n_seeds
    return {
        "claim": claim, "model": model, "encoding": encoding, "decoder": decoder, "comparison": comparison,
        "metric": metric, "difference": diff.value, "diff_low": diff.low, "diff_high": diff.high,
        "improvement": imp.value, "imp_low": imp.low, "imp_high": imp.high,
        "n_seeds": f"{n[0]} vs {n[1]}" if isinstance(n, tuple) else str(n),
        "seeds": list(diff.seeds), "seeds_b": list(diff.seeds_b), "se_seeds": diff.se_seeds,
        "se_frames": diff.se_frames, "training_variance": diff.training_variance,
        "status": _status(imp, claim == 2),
    }  # fmt: skip


def claim1_evidence(
    a: Analysis, baselines: Sequence[str] = ("argmax", "standard"), metrics_: Sequence[str] = CLAIM_METRICS
) -> tuple[pd.DataFrame, list[str]]:
    """``DARK - baseline`` within each run, combined over seeds, per cell: ``(evidence, missing)``."""
    rows, missing = [], []
    keys = [(m, e) for m in paper.MODEL_NAMES for e in paper.ENCODING_NAMES]
    keys += [k for k in a.cells if k not in keys]
    for m, e in keys:
        if (m, e) not in a.cells:
            missing.append(f"{display_name(m, e)} (no run)")
            continue
        for b in baselines:
            diff = a.within.get((m, e, f"dark - {b}"), {})
            for mt in metrics_:
                if mt in diff:
                    rows.append(_evidence_row(1, m, e, "dark", f"dark - {b}", mt, diff[mt]))
                else:
                    missing.append(f"{display_name(m, e, 'dark - ' + b)} {mt}")
    return pd.DataFrame(rows, columns=_EVIDENCE_COLUMNS), missing


def claim2_evidence(
    a: Analysis, decoders: Sequence[str] = paper.PAPER_DECODERS, metrics_: Sequence[str] = CLAIM_METRICS
) -> tuple[pd.DataFrame, list[str]]:
    """``unbiased - q`` (difference of cell means, paired on frames) per model, ``q`` and decoder."""
    rows, missing = [], []
    models = [*paper.MODEL_NAMES, *sorted({m for m, _ in a.cells} - set(paper.MODEL_NAMES))]
    for m in models:
        qs = [e for mm, e in a.cells if mm == m and e != "unbiased"]
        if (m, "unbiased") not in a.cells or not qs:
            if m in paper.MODEL_NAMES:
                missing.append(f"{paper.MODEL_NAMES[m]}: w/o quant vs w/ quant (needs both cells)")
            continue
        for q in qs:
            comparison = f"{encoding_label('unbiased')} - {encoding_label(q)}"
            for d in decoders:
                diff = a.between.get((m, f"unbiased - {q}", d), {})
                for mt in metrics_:
                    if mt in diff:
                        rows.append(_evidence_row(2, m, f"unbiased - {q}", d, comparison, mt, diff[mt]))
                    else:
                        missing.append(f"{display_name(m)} + {decoder_label(d)} unbiased - {q} {mt}")
    return pd.DataFrame(rows, columns=_EVIDENCE_COLUMNS), missing


def _ivs(ev: pd.DataFrame) -> list[Estimate]:
    return [
        Estimate(r.improvement, r.imp_low, r.imp_high, training_variance=bool(r.training_variance))
        for r in ev.itertuples()
    ]


def _seeds_per_cell(a: Analysis) -> str:
    """``"2 in each of the 4 cells"``, or per cell where they differ."""
    n = {k: len(rs) for k, rs in a.cells.items()}
    if not n:
        return "none"
    if len(set(n.values())) == 1:
        return f"{next(iter(n.values()))} in each of the {len(n)} cells"
    return "; ".join(f"{display_name(m, e)} {k}" for (m, e), k in n.items())


def _covers(a: Analysis) -> str:
    """What the intervals of the analysis include."""
    n = [len(rs) for rs in a.cells.values()]
    if not n or max(n) == 1:
        return "test frames only (one training per cell)"
    if min(n) > 1:
        return "test frames and training seeds"
    return "test frames and, for cells with several trainings, their seeds"


def verdicts(a: Analysis) -> dict[int, dict]:
    """Claim -> ``{"claim", "verdict", "by_metric", "by_encoding" (claim 2), "counts", "seeds",
    "covers", "evidence", "missing"}``.

    ``evidence`` is the DataFrame of every comparison used (oriented improvement with its interval and its
    status); ``counts`` tallies the statuses; ``seeds`` says how many trainings each cell had and
    ``covers`` what the intervals include.
    """
    out = {}
    for claim, (ev, missing) in {1: claim1_evidence(a), 2: claim2_evidence(a)}.items():
        need = claim == 2
        by_metric = {mt: decide(_ivs(ev[ev.metric == mt]), need) for mt in CLAIM_METRICS}
        out[claim] = {
            "claim": paper.CLAIMS[claim],
            "verdict": decide(_ivs(ev), need),
            "by_metric": by_metric,
            "counts": {s: int((ev.status == s).sum()) for s in STATUSES},
            "seeds": _seeds_per_cell(a),
            "covers": _covers(a),
            "evidence": ev,
            "missing": missing,
        }
        if claim == 2:
            out[claim]["by_encoding"] = {
                enc.split(" - ", 1)[1]: decide(_ivs(ev[ev.encoding == enc]), True)
                for enc in dict.fromkeys(ev.encoding)
            }
    return out


def verdict_table(v: Mapping[int | str, Mapping]) -> pd.DataFrame:
    """One row per claim: verdict, per-metric verdicts, trainings per cell, what the intervals cover,
    and how many comparisons went which way."""
    rows = []
    for claim, r in v.items():
        if not isinstance(r, Mapping) or "verdict" not in r:  # "provenance", "intervals" of verdicts.json
            continue
        c = r["counts"]
        row = {
            "claim": f"{claim}. {r['claim']}",
            "verdict": r["verdict"],
            **{metrics.metric(m).heading: r["by_metric"][m] for m in CLAIM_METRICS},
            "trainings per cell": r.get("seeds", "?"),
            "intervals cover": r.get("covers", "test frames"),
            "comparisons better / unclear / worse / one training": " / ".join(
                str(c.get(s, 0)) for s in STATUSES
            ),
            "missing": len(r["missing"]),
        }
        row["verdict per quantiser"] = (
            "; ".join(f"{encoding_label(q)}: {x}" for q, x in r["by_encoding"].items())
            if r.get("by_encoding")
            else "–"
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim")


def evidence_display(evidence: pd.DataFrame | Sequence[Mapping], digits: int = 2) -> pd.DataFrame:
    """The evidence rows for the book: display names, ``value [low, high]`` strings, the trainings
    behind each comparison and each seed's value beside the mean (claim 2: both cells')."""
    df = pd.DataFrame(list(evidence) if not isinstance(evidence, pd.DataFrame) else evidence)
    rows = []
    for r in df.to_dict("records"):
        seeds = _seeds_text(r["seeds"], digits) if len(r["seeds"]) > 1 else ""
        if r["claim"] == 2:
            seeds = f"{_seeds_text(r['seeds'], digits)} vs {_seeds_text(r['seeds_b'], digits)}"
        rows.append({
            "claim": r["claim"],
            "model": paper.MODEL_NAMES.get(r["model"], r["model"]),
            "encoding": " - ".join(encoding_label(e) for e in r["encoding"].split(" - ")),
            "decoder": decoder_label(r["decoder"]),
            "comparison": decoder_label(r["comparison"]),
            "metric": metrics.metric(r["metric"]).label,
            "difference [95% CI]": _ci(r["difference"], r["diff_low"], r["diff_high"], digits),
            "improvement [95% CI]": _ci(r["improvement"], r["imp_low"], r["imp_high"], digits),
            "trainings": r["n_seeds"],
            "per seed": seeds,
            "status": r["status"],
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()


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


def _evaluations(x: Analysis | Sequence[Mapping] | Sequence[RunRecord]) -> list[Mapping]:
    if isinstance(x, Analysis):
        return [r.evaluation for r in x.records]
    return [r.evaluation if isinstance(r, RunRecord) else r for r in x]


def _run_text(r: Mapping) -> str:
    seed = f", seed {r['seed']}" if "seed" in r else ""
    return (
        f"{display_name(r['model'], r['encoding'])}{seed}: config {r.get('config_name', '?')}, "
        f"input {r.get('input_size', '?')}, heatmaps {r.get('heatmap_size', '?')}, "
        f"sigma {r.get('sigma', '?')}, "
        f"best epoch {_known(r.get('best_epoch'))} of {_known(r.get('epochs'))} ({_shown(r.get('dir'))})"
    )


def provenance(runs_or_analysis) -> str:
    """One paragraph naming the profile, data, run configurations and interval method behind the tables.

    Takes an :class:`Analysis`, run records or evaluation dicts."""
    evaluations = _evaluations(runs_or_analysis)
    if not evaluations:
        return "No evaluated runs."
    data = evaluations[0].get("data", {})
    b = evaluations[0].get("bootstrap", {})
    intervals = (
        f"Intervals: {100 * b.get('confidence', 0.95):g}% over test frames ({b.get('method', 'percentile')} "
        f"bootstrap, {b.get('n_resamples', '?')} resamples, seed {b.get('seed', '?')}) within a run"
    )
    if isinstance(runs_or_analysis, Analysis):
        st = runs_or_analysis.settings
        intervals += (
            f"; over seeds and test frames (t on the seed level, frame bootstrap of {st['n_resamples']} "
            f"resamples, seed {st['seed']}) for cell means and claims. Trainings per cell: "
            f"{_seeds_per_cell(runs_or_analysis)}"
        )
    return (
        f"Profile {data.get('profile', '?')}; test data {_shown(data.get('path'))} "
        f"(source {data.get('source', '?')}, manifest sha256 {str(data.get('manifest_sha256', '?'))[:12]}, "
        f"{data.get('samples', '?')} samples in {data.get('frames', '?')} bootstrap units). Runs: "
        + "; ".join(_run_text(ev["run"]) for ev in evaluations)
        + f". {intervals}. Report values: {paper.SOURCE}."
    )


def caption(runs_or_analysis) -> str:
    """One line for under a table: profile, data, test size, run configurations, interval method."""
    evaluations = _evaluations(runs_or_analysis)
    if not evaluations:
        return "No evaluated runs."
    data, b = evaluations[0].get("data", {}), evaluations[0].get("bootstrap", {})
    configs = sorted({str(ev["run"].get("config_name")) for ev in evaluations})
    what = "bootstrap interval over test frames"
    if isinstance(runs_or_analysis, Analysis):
        what = "interval over training seeds and test frames (one training: test frames only)"
    return (
        f"Profile {data.get('profile', '?')}, data {_shown(data.get('path'))} "
        f"({data.get('samples', '?')} test samples, {data.get('frames', '?')} frames), "
        f"model configuration {', '.join(configs)}; "
        f"[low, high]: {100 * b.get('confidence', 0.95):g}% {what}. "
        f"Report: {paper.SOURCE}."
    )


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Interval):
        return o.to_dict()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def _flat(t: pd.DataFrame) -> pd.DataFrame:
    flat = t.copy()
    flat.columns = [f"{m}_{f}" for m, f in flat.columns]
    return flat.reset_index()


def save(out: str | os.PathLike, a: Analysis) -> dict[str, Path]:
    """Write ``table2``/``table3`` (CSV + JSON), ``verdicts.json`` and ``evidence.csv`` into ``out``.

    ``verdicts.json``: ``{"1": verdict dict, "2": ..., "provenance": str, "intervals": str}``, each
    verdict dict as :func:`verdicts` with ``evidence`` as a list of records (what the intro and the
    discussion pages read)."""
    out = Path(out)
    written = {}
    for name, t in {"table2": table2(a), "table3": table3(a)}.items():
        flat = _flat(t)
        atomic_write(out / f"{name}.csv", flat.to_csv(index=False))
        records = json.loads(flat.to_json(orient="records"))
        atomic_write(out / f"{name}.json", json.dumps({"source": paper.SOURCE, "rows": records}, indent=1))
        written[f"{name}.csv"], written[f"{name}.json"] = out / f"{name}.csv", out / f"{name}.json"
    v = verdicts(a)
    payload: dict = {
        str(k): {
            **{kk: vv for kk, vv in r.items() if kk != "evidence"},
            "evidence": r["evidence"].to_dict("records"),
        }
        for k, r in v.items()
    }
    payload["provenance"] = provenance(a)
    payload["intervals"] = metrics.INTERVALS
    atomic_write(out / "verdicts.json", json.dumps(payload, indent=1, default=_json_default))
    ev = pd.concat([r["evidence"] for r in v.values()], ignore_index=True)
    atomic_write(out / "evidence.csv", ev.to_csv(index=False))
    written["verdicts.json"], written["evidence.csv"] = out / "verdicts.json", out / "evidence.csv"
    return written


def load_saved(results: str | os.PathLike) -> dict:
    """``verdicts.json`` as :func:`save` wrote it, the claims keyed ``1`` and ``2`` (ints)."""
    raw = json.loads((Path(results) / "verdicts.json").read_text())
    return {int(k) if k.isdigit() else k: v for k, v in raw.items()}
