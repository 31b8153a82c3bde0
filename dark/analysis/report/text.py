"""Sentences for the book's prose: a cell's value, the report's value, the verdict per quantiser, the
best decoder per cell, DARK's gap along training, and the provenance paragraph and caption under the
tables."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dark import metrics
from dark.design import paper
from dark.experiment.runs import Run
from dark.metrics import higher_is_better

from .analysis import Analysis, seeds_per_cell
from .labels import decoder_label, display_name, interval_text, seeds_text
from .load import RunRecord


def value_text(a: Analysis, model: str, encoding: str, decoder: str, metric: str, digits: int = 2) -> str:
    """A cell's value for prose: ``"43.10 [41.20, 45.00] (3 trainings: 42.1, 43.0, 44.2)"``, ``–`` if none."""
    iv = a.values.get((model, encoding, decoder), {}).get(metric)
    if iv is None:
        return "–"
    text = interval_text(iv.value, iv.low, iv.high, digits)
    n = len(iv.seeds)
    return text + (f" ({n} trainings: {seeds_text(iv.seeds, digits)})" if n > 1 else " (one training)")


def report_text(model: str, encoding: str, decoder: str, metric: str, digits: int = 2) -> str:
    """The report's published value of a Table 2 cell, ``–`` where it has none."""
    v = paper.published(model, encoding, decoder).get(metric, math.nan)
    return "–" if math.isnan(v) else f"{v:.{digits}f}"


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
        run = Run(d)
        hist = [e for e in run.history() if {"dark", baseline} <= set(e.get("val_decoders", {}))]
        if hist:
            gaps = [e["val_decoders"]["dark"][metric] - e["val_decoders"][baseline][metric] for e in hist]
            by_model.setdefault(run.config().model, []).append(gaps)
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


# ---------------------------------------------------------------------------------------------------------
# provenance: what stands behind the tables


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


def _evaluated_epoch(r: Mapping) -> str:
    """Which epoch a run was evaluated at: ``"last epoch 8"``, or ``"best epoch 5"`` for evaluations made
    before the last epoch became the evaluated checkpoint (they have no ``checkpoint``).

    >>> _evaluated_epoch({"checkpoint": "last", "epoch": 8}), _evaluated_epoch({"best_epoch": 5})
    ('last epoch 8', 'best epoch 5')
    """
    if r.get("checkpoint") == "last":
        return f"last epoch {_known(r.get('epoch'))}"
    return f"best epoch {_known(r.get('best_epoch'))}"


def _run_text(r: Mapping) -> str:
    seed = f", seed {r['seed']}" if "seed" in r else ""
    return (
        f"{display_name(r['model'], r['encoding'])}{seed}: profile {r.get('profile', '?')}, "
        f"input {r.get('input_size', '?')}, heatmaps {r.get('heatmap_size', '?')}, "
        f"sigma {r.get('sigma', '?')}, "
        f"{_evaluated_epoch(r)} of {_known(r.get('epochs'))} ({_shown(r.get('dir'))})"
    )


def provenance(runs_or_analysis: Analysis | Sequence[RunRecord] | Sequence[Mapping]) -> str:
    """One paragraph naming the profile, data, run configurations and interval method behind the tables.

    Takes an :class:`~dark.analysis.report.analysis.Analysis`, run records or evaluation dicts."""
    evaluations = _evaluations(runs_or_analysis)
    if not evaluations:
        return "No evaluated runs."
    data = evaluations[0].get("data", {})
    b = evaluations[0].get("bootstrap", {})
    intervals = (
        f"Intervals: {100 * b.get('confidence', 0.95):g}% over {b.get('unit', 'test frames')} "
        f"({b.get('method', 'percentile')} "
        f"bootstrap, {b.get('n_resamples', '?')} resamples, seed {b.get('seed', '?')}) within a run"
    )
    if isinstance(runs_or_analysis, Analysis):
        st = runs_or_analysis.settings
        intervals += (
            f"; over seeds and test {st.get('unit', 'frame')}s (t on the seed level, bootstrap of "
            f"{st['n_resamples']} "
            f"resamples, seed {st['seed']}) for cell means and claims. Trainings per cell: "
            f"{seeds_per_cell(runs_or_analysis)}"
        )
    return (
        f"Profile {data.get('profile', '?')}; test data {_shown(data.get('path'))} "
        f"(source {data.get('source', '?')}, manifest sha256 {str(data.get('manifest_sha256', '?'))[:12]}, "
        f"{data.get('samples', '?')} samples in {data.get('frames', '?')} bootstrap units). Runs: "
        + "; ".join(_run_text(ev["run"]) for ev in evaluations)
        + f". {intervals}. Report values: {paper.SOURCE}."
    )


def caption(runs_or_analysis: Analysis | Sequence[RunRecord] | Sequence[Mapping]) -> str:
    """One line for under a table: profile, data, test size, run configurations, interval method."""
    evaluations = _evaluations(runs_or_analysis)
    if not evaluations:
        return "No evaluated runs."
    data, b = evaluations[0].get("data", {}), evaluations[0].get("bootstrap", {})
    configs = sorted({str(ev["run"].get("profile")) for ev in evaluations})
    what = "bootstrap interval over test clusters"
    if isinstance(runs_or_analysis, Analysis):
        unit = runs_or_analysis.settings.get("unit", "frame")
        what = f"interval over training seeds and test {unit}s (one training: test {unit}s only)"
    return (
        f"Profile {data.get('profile', '?')}, data {_shown(data.get('path'))} "
        f"({data.get('samples', '?')} test samples, {data.get('frames', '?')} frames), "
        f"model configuration {', '.join(configs)}; "
        f"[low, high]: {100 * b.get('confidence', 0.95):g}% {what}. "
        f"Report: {paper.SOURCE}."
    )
