"""The reproducibility summary page: its tables and sentences from what a build saved.

Inputs are what the other steps wrote: ``verdicts.json`` of :func:`dark.report.save`, the runs'
``evaluation.json`` and the pages' provenance records (:func:`dark.provenance.summarize`). Metric values
are taken as :mod:`dark.evaluate` stores them: PCKh in percent, RMSE in input px.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dark import metrics, paper, report

#: the decoders and metrics of the per-run table (the verdict table shows the claim metrics,
#: :data:`dark.paper.TABLE_METRICS`)
SCORE_DECODERS: tuple[str, ...] = ("dark", "standard")
SCORE_METRICS: tuple[str, ...] = ("pckh@0.1", "rmse")


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
    """One row per run: model, encoding, seed, configuration, best epoch of how many."""
    rows = []
    for ev in evaluations:
        r = ev.get("run", {})
        rows.append({
            "model": r.get("model", "?"), "encoding": r.get("encoding", "?"), "seed": r.get("seed", "?"),
            "configuration": r.get("config_name", "?"),
            "best epoch": f"{r.get('best_epoch', '?')} of {r.get('epochs', '?')}",
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
    """One row per claim: its verdict, the verdict per claim metric, and how many trainings per cell."""
    rows = []
    for k, v in found.items():
        by = v.get("by_metric", {})
        row = {"claim": f"{k}. {v.get('claim', '?')}", "verdict": f"**{v['verdict']}**"}
        row.update({metrics.metric(m).label: by.get(m, "–") for m in paper.TABLE_METRICS})
        row["trainings per cell"] = v.get("seeds", "?")
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()


def counts_text(found: Mapping[str, Mapping]) -> str:
    """One bullet per claim: how its paired comparisons went."""
    lines = []
    for k, v in found.items():
        c = v.get("counts", {})
        one = f", {c['one training']} with one training per cell" if c.get("one training") else ""
        lines.append(
            f"- **Claim {k}: {v['verdict']}.** Its {sum(c.values())} paired comparisons: "
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
    """:func:`dark.report.to_markdown`, with ``|`` escaped inside cells."""
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
