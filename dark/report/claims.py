"""A verdict on each claim of the report, computed from the analysis of our runs and their seeds.

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
  over the cell's seeds, for every cell, on PCKh@0.1, PCKh@0.5 and RMSE (the report's three metrics,
  :data:`dark.paper.TABLE_METRICS`);
- claim 2: ``unbiased - q`` for every quantised encoding ``q`` trained (the report's code's ``ceil``, our
  ``quantized``, the DARK paper's ``quantized-heatmap``, ``random-heatmap``), for every one of the
  report's decoders and every model with both cells, on the same metrics: a difference of cell means
  paired on the test frames. Claim 2 is about trainings: a comparison whose cells have one training each
  has no measured training variance and cannot decide anything (status ``one training``); when every
  comparison is such, the verdict is :data:`ONE_TRAINING`. Claim 2 also gets one verdict per ``q``.

Comparisons whose runs are missing are listed under ``missing`` and do not enter the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from dark import metrics, paper
from dark.metrics import Estimate, Interval

from .analysis import Analysis, improvement, seeds_per_cell
from .labels import decoder_label, display_name, encoding_label, interval_text, seeds_text

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

#: statuses of one comparison
STATUSES: tuple[str, ...] = ("better", "unclear", "worse", "one training")


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
    a: Analysis,
    baselines: Sequence[str] = ("argmax", "standard"),
    metrics_: Sequence[str] = paper.TABLE_METRICS,
) -> tuple[pd.DataFrame, list[str]]:
    """``DARK - baseline`` within each run, combined over seeds, per cell: ``(evidence, missing)``."""
    rows, missing = [], []
    keys = [(m, e) for m in paper.MODEL_NAMES for e in paper.TABLE_ENCODINGS]
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
    a: Analysis,
    decoders: Sequence[str] = paper.PAPER_DECODERS,
    metrics_: Sequence[str] = paper.TABLE_METRICS,
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
    ``covers`` what the intervals include; ``by_metric`` has one verdict per claim metric
    (:data:`dark.paper.TABLE_METRICS`).
    """
    out = {}
    for claim, (ev, missing) in {1: claim1_evidence(a), 2: claim2_evidence(a)}.items():
        need = claim == 2
        by_metric = {mt: decide(_ivs(ev[ev.metric == mt]), need) for mt in paper.TABLE_METRICS}
        out[claim] = {
            "claim": paper.CLAIMS[claim],
            "verdict": decide(_ivs(ev), need),
            "by_metric": by_metric,
            "counts": {s: int((ev.status == s).sum()) for s in STATUSES},
            "seeds": seeds_per_cell(a),
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
            **{metrics.metric(m).heading: r["by_metric"][m] for m in paper.TABLE_METRICS},
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
        seeds = seeds_text(r["seeds"], digits) if len(r["seeds"]) > 1 else ""
        if r["claim"] == 2:
            seeds = f"{seeds_text(r['seeds'], digits)} vs {seeds_text(r['seeds_b'], digits)}"
        rows.append({
            "claim": r["claim"],
            "model": paper.MODEL_NAMES.get(r["model"], r["model"]),
            "encoding": " - ".join(encoding_label(e) for e in r["encoding"].split(" - ")),
            "decoder": decoder_label(r["decoder"]),
            "comparison": decoder_label(r["comparison"]),
            "metric": metrics.metric(r["metric"]).label,
            "difference [95% CI]": interval_text(r["difference"], r["diff_low"], r["diff_high"], digits),
            "improvement [95% CI]": interval_text(r["improvement"], r["imp_low"], r["imp_high"], digits),
            "trainings": r["n_seeds"],
            "per seed": seeds,
            "status": r["status"],
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()
