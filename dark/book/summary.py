"""The reproducibility summary page: its tables and sentences from what a build saved.

Inputs are what the other steps wrote: ``verdicts.json`` of :func:`dark.analysis.report.save`, the runs'
``evaluation.json`` and the pages' provenance records (:func:`dark.provenance.summarize`). Metric values
are taken as :mod:`dark.experiment.evaluate` stores them: PCKh in percent, RMSE in input px.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dark import metrics
from dark.analysis import report
from dark.analysis.report import why
from dark.analysis.report.regime import main_regime
from dark.design import paper
from dark.experiment.runs import Run
from dark.record import record

#: the decoders and metrics of the per-run table (the verdict table shows the claim metrics,
#: :data:`dark.design.paper.TABLE_METRICS`)
SCORE_DECODERS: tuple[str, ...] = ("dark", "standard")
SCORE_METRICS: tuple[str, ...] = ("pckh@0.1", "rmse")


def recorded_runs(folders: Sequence[str | Path]) -> list[tuple[str, dict, dict[str, dict]]]:
    """The recorded runs among ``folders`` (``results/cpu``, ...): ``(name, record, claims)`` each, ``name``
    the folder's last two parts (``results/cpu``: no machine's absolute path), the claims read from the
    record's ``results/verdicts.json`` (:func:`claims`; ``dark book`` saves them, with ``--max-trainings``
    too), or, for a record that has none (a build stopped after its trainings), computed from its runs
    here (:func:`dark.analysis.report.verdicts`, as the recorded chapter does); folders without a record
    are left out."""
    found = []
    for folder in folders:
        try:
            rec = record.load(folder)
        except (OSError, ValueError):
            rec = None
        if rec is not None:
            saved = claims(rec["results_dir"])
            if not saved and rec["run_dirs"]:
                computed = report.verdicts(report.analyse(report.load_runs(rec["run_dirs"])))
                saved = {str(k): v for k, v in computed.items()}  # keyed as verdicts.json is
            found.append(("/".join(Path(folder).parts[-2:]), rec, saved))
    return found


def main_record(folders: Sequence[str | Path] = ()) -> tuple[str, dict, dict] | None:
    """The record whose verdicts the book states (the first of ``folders``, or of the repository's records,
    that saved verdicts and is not superseded): ``(name, record, verdicts)`` as :func:`recorded_runs` gives
    them, the verdicts with every top-level key of its ``verdicts.json`` (scope, counterfactual); ``None``
    without one."""
    for name, rec, _ in recorded_runs(list(folders) or repository_records()):
        if rec.get("superseded_by"):  # kept as history: its verdicts are not the book's
            continue
        try:
            saved = json.loads((Path(rec["results_dir"]) / "verdicts.json").read_text())
        except (OSError, ValueError):
            continue
        return name, rec, saved
    return None


def seeds_text(run_dirs: Sequence[str | Path]) -> str:
    """The training seeds of ``run_dirs`` (their ``config.json``) and how many trainings each cell has:
    ``"seeds 7, 2, 3: 3 trainings in each of 3 cells"``."""
    by_cell: dict[tuple, list[int]] = {}
    for d in run_dirs:
        c = Run(d).config()
        by_cell.setdefault((c.model, c.encoding), []).append(c.seed)
    seeds = list(dict.fromkeys(s for v in by_cell.values() for s in v))
    n = sorted({len(v) for v in by_cell.values()})
    per = (
        f"{n[0]} training{'s' * (n[0] != 1)} in each of {len(by_cell)} cells"
        if len(n) == 1
        else (f"{n[0]} to {n[-1]} trainings per cell, {len(by_cell)} cells")
    )
    return f"seed{'s' * (len(seeds) != 1)} {', '.join(map(str, seeds))}: {per}" if seeds else "no runs"


def recorded_label(folder: str, rec: Mapping) -> str:
    """What stands behind a recorded run's verdicts, in one paragraph: its folder, profile, seeds, machine
    and provenance (:func:`dark.record.record.describe`)."""
    return f"`{folder}`: {record.describe(dict(rec))} Trainings: {seeds_text(rec['run_dirs'])}."


def primary_rows(found: Mapping[str, Mapping]) -> list[dict]:
    """Every claim's primary endpoints (``verdicts.json``'s ``"primary"`` lists), claim 1 first."""
    return [dict(r, claim=int(k)) for k, v in found.items() for r in v.get("primary", [])]


def protocol_tables(run_dirs: Sequence[str | Path], digits: int = 2) -> dict[str, pd.DataFrame]:
    """Table 2 under both protocols beside the report's numbers
    (:func:`dark.analysis.report.compare_protocols`),
    one narrow table per column of the report's table, from the build's runs; ``{}`` when the runs lack
    their frame sums (nothing to compute intervals from)."""
    try:
        records = report.load_runs(run_dirs)
    except FileNotFoundError:
        return {}
    return report.compare_protocols(report.analyse(records), digits) if records else {}


def deviation_effects(run_dirs: Sequence[str | Path]) -> dict[str, str]:
    """:func:`dark.analysis.report.why.deviation_effects` of the build's runs (``{}`` without frame sums)."""
    try:
        return why.deviation_effects(main_regime(report.load_runs(run_dirs)))
    except FileNotFoundError:
        return {}


def repository_records() -> list[str]:
    """The folders of the recorded runs kept in this package's repository (``results/<name>/record.json``):
    where the summary looks when the pipeline passes none."""
    root = Path(__file__).resolve().parents[2]
    return sorted(str(p.parent) for p in (root / "results").glob(f"*/{record.RECORD}"))


def claims(results: str | Path) -> dict[str, dict]:
    """The claims of ``results/verdicts.json`` (``{}`` when the results step saved none)."""
    try:
        saved = json.loads((Path(results) / "verdicts.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in sorted(saved.items()) if isinstance(v, dict) and "verdict" in v}


def _value(ev: Mapping, decoder: str, metric: str) -> float | None:
    try:
        v = float(ev["decoders"][decoder]["metrics"][metric]["value"])
    except (KeyError, TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def runs_table(evaluations: Sequence[Mapping]) -> pd.DataFrame:
    """One row per run: model, encoding, seed, configuration, the evaluated epoch (the last, or the best for
    evaluations made before the last became the rule) of how many."""
    rows = []
    for ev in evaluations:
        r = ev.get("run", {})
        rows.append({
            "model": r.get("model", "?"), "encoding": r.get("encoding", "?"), "seed": r.get("seed", "?"),
            "configuration": r.get("profile", "?"),
            "evaluated epoch": (
                f"{r.get('epoch', '?')} (last) of {r.get('epochs', '?')}"
                if r.get("checkpoint") == "last"
                else f"{r.get('best_epoch', '?')} (best) of {r.get('epochs', '?')}"
            ),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def scores_table(evaluations: Sequence[Mapping], digits: int = 2) -> pd.DataFrame:
    """One row per run: each of :data:`SCORE_DECODERS` on each of :data:`SCORE_METRICS` (as stored)."""
    rows = []
    for ev in evaluations:
        r = ev.get("run", {})
        row = {"encoding": r.get("encoding", "?"), "seed": r.get("seed", "?")}
        for m in SCORE_METRICS:
            for d in SCORE_DECODERS:
                v = _value(ev, d, m)
                row[f"{report.decoder_label(d)} {metrics.metric(m).heading}"] = (
                    "–" if v is None else f"{v:.{digits}f}"
                )
        rows.append({"model": r.get("model", "?"), **row})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def verdicts_table(found: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per claim (its number): how its secondary comparisons went per claim metric, and how many
    trainings per cell. Verdicts saved before the primary endpoints existed also show their overall
    verdict (with its limit when every cell had one training)."""
    rows = []
    for k, v in found.items():
        by = v.get("by_metric", {})
        row: dict[str, str] = {"claim": str(k)}
        if not v.get("primary"):
            one = (
                str(v.get("covers", "")).startswith("test frames only") and "one training" not in v["verdict"]
            )
            limit = f" ({report.tables.ONE_TRAINING_LIMIT})" if one else ""
            row["verdict"] = f"**{v['verdict']}**{limit}"
        row.update({metrics.metric(m).label: by.get(m, "–") for m in paper.TABLE_METRICS})
        row["trainings per cell"] = v.get("seeds", "?")
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()


def counts_text(found: Mapping[str, Mapping]) -> str:
    """One bullet per claim: how its secondary (paired) comparisons went."""
    lines = []
    for k, v in found.items():
        c = v.get("counts", {})
        one = f", {c['one training']} with one training per cell" if c.get("one training") else ""
        head = f"**Claim {k}.**" if v.get("primary") else f"**Claim {k}: {v['verdict']}.**"
        lines.append(
            f"- {head} Its {sum(c.values())} secondary comparisons: "
            f"{c.get('better', 0)} the claimed way with confidence, "
            f"{c.get('worse', 0)} the other way with confidence, "
            f"{c.get('unclear', 0)} unclear{one}."
        )
    return "\n".join(lines) or "No verdicts: the results step saved none."


def training_text(records: Mapping) -> str:
    """How long the training pages took, and on what (from :func:`dark.provenance.summarize`)."""
    pages = records.get("pages", {})
    seconds = sum(float(r.get("wall_s") or 0) for p, r in pages.items() if p.startswith("03_train"))
    devices = sorted({str(r.get("device")) for r in pages.values() if r.get("device")})
    return f"Training took {seconds / 60:.1f} minutes of wall time in all" + (
        f", on {', '.join(devices)}." if devices else "."
    )


def commits_text(records: Mapping) -> str:
    """Which pages were executed at which commit (and which with uncommitted changes)."""
    if not records.get("pages"):
        return "No provenance records were found for this build."
    head = f"The {len(records['pages'])} pages executed so far were executed at " + (
        "**more than one commit**:" if records["mixed"] else "one commit:"
    )
    lines = [f"- `{c[:12]}`: {', '.join(sorted(p))}" for c, p in sorted(records["commits"].items())]
    text = head + "\n" + "\n".join(lines)
    if records.get("dirty"):
        text += "\n\nWith uncommitted changes: " + ", ".join(sorted(records["dirty"])) + "."
    return text


def markdown(df: pd.DataFrame) -> str:
    """:func:`dark.analysis.report.to_markdown`, with ``|`` escaped inside cells."""
    return report.to_markdown(df.map(lambda x: str(x).replace("|", "\\|"))) if len(df) else ""


def trainings_text(found: Mapping[str, Mapping]) -> str:
    """How many trainings stand behind the comparisons between trainings (claim 2), and what its
    intervals cover, as the verdicts recorded it."""
    c = found.get("2", {})
    if "seeds" not in c:
        return "The verdicts do not say how many trainings stand behind each cell."
    return (
        f"Trainings per cell for the comparisons between trainings: {c['seeds']}; "
        f"its intervals cover {c.get('covers', '?')}."
    )
