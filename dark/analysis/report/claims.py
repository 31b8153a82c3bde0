"""A verdict on each claim of the report: its primary endpoints, fixed in code before any result, read
against zero and against the report's own effect; every other comparison is secondary evidence.

Primary endpoints (:data:`dark.analysis.report.endpoints.ENDPOINTS`), per model and scoring protocol, on the
protocol's primary metric (PCKh@0.1): claim 1, DARK - Standard and DARK - ArgMax within each unbiased run,
over the seeds; claim 2, unbiased - ceil on DARK, paired by seed. Each gets a verdict
(:func:`dark.analysis.report.endpoints.endpoint_verdict`): "reproduced" (95% interval above zero),
"contradicted"
(below zero), "smaller than reported" (below the report's effect), "larger than reported" (above it),
possibly combined ("reproduced, smaller than reported"), else "inconclusive"; beside it the report's
effect (:data:`dark.design.paper.REPORT_EFFECTS`) and the design's minimum detectable effect at 80% power
(:func:`dark.metrics.mde`). An endpoint with one training per cell says so in its verdict.

Why not "every comparison above zero": that intersection-union rule over 4 decoders x 3 metrics cannot
reach "reproduced" when some comparisons have an expected effect of about zero (a half-pixel shift moves
PCKh@0.5 by ~0), and it hides a finding such as an interval that rules out the report's effect. The
secondary comparisons (every decoder, metric and quantiser: ``evidence``) keep their estimates and
intervals, with a descriptive status (``better``/``unclear``/``worse``: where the interval lies, or ``one
training`` for a comparison between trainings with one training per cell) and no verdict word.
Comparisons whose runs are missing are listed under ``missing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from dark import metrics
from dark.design import paper
from dark.experiment.checkpoint_rules import evaluated_checkpoint
from dark.metrics import Estimate, Interval

from .analysis import Analysis, improvement, seeds_per_cell
from .clips import clip_differences, clip_signs
from .endpoints import (
    ENDPOINTS,
    NO_RUNS,
    SECONDARY,
    Endpoint,
    claim2_endpoint,
    endpoint_verdict,
)
from .labels import decoder_label, display_name, encoding_label, interval_text, seeds_text
from .regime import comparable, regime, regime_text
from .replication import replicate
from .rule import DECISION_RULE, FAMILY, NOT_EVALUATED, claim_verdict

#: statuses of one secondary comparison (where its interval lies; no verdict)
STATUSES: tuple[str, ...] = ("better", "unclear", "worse", "one training")


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


def _covers(a: Analysis) -> str:
    """What the intervals of the analysis include."""
    n = [len(rs) for rs in a.cells.values()]
    if not n or max(n) == 1:
        return "test frames only (one training per cell)"
    if min(n) > 1:
        return "test frames and training seeds"
    return "test frames and, for cells with several trainings, their seeds"


def _checkpoint(records) -> str:
    """The checkpoint the runs were evaluated at: ``"last"``, ``"best"`` or ``"mixed"``."""
    found = {evaluated_checkpoint(r.evaluation) for r in records}
    return found.pop() if len(found) == 1 else ("mixed" if found else "?")


def notes(a: Analysis) -> list[str]:
    """What limits every verdict of this analysis: the evaluated checkpoint, the resampling unit."""
    out = []
    if _checkpoint(a.records) in ("best", "mixed"):
        out.append(
            "runs evaluated at their best validation epoch (trained before the last epoch became the "
            "evaluated checkpoint)"
        )
    if a.records and not a.settings.get("clusters"):
        out.append("test frames resampled one by one: these runs carry no test-clip clusters")
    if a.settings.get("left_out"):
        out.append(
            f"{len(a.settings['left_out'])} runs of other regimes (resolution, precision or batch) are left "
            "out of these verdicts and analysed on their own"
        )
    return out


def _shared_seeds(a: Analysis, model: str, encodings: tuple[str, str]) -> list[int]:
    """The seeds both cells of a comparison were trained with (one cell: its seeds)."""
    seeds = [{r.seed for r in a.cells.get((model, enc), [])} for enc in encodings]
    return sorted(int(s) for s in seeds[0] & seeds[1])


def endpoint_row(
    e: Endpoint, model: str, est: Estimate | str, a: Analysis, primary: bool = True, test: dict | None = None
) -> dict:
    """One endpoint's row: estimate, 95% interval, pairs, the report's effect, the MDE (80% power), the
    resampling unit and, for a primary endpoint, its family test (``test``: ``p``, ``p_holm``, ``level``,
    ``family``), the interval at its Holm level, the verdict, the regime, the sensitivity to the
    placement as resampling unit and the replication on the validation motions; a secondary row's verdict
    is :data:`SECONDARY`; a row without an estimate carries the reason as its verdict."""
    # claim 2: every reading of "w/ quant" is set against the report's one w/o quant - w/ quant effect
    effect = paper.REPORT_EFFECTS.get((e.claim, model, "unbiased - ceil" if e.claim == 2 else e.comparison))
    reg = regime(a.records)
    row = {
        "claim": e.claim, "model": model, "protocol": e.protocol, "comparison": e.comparison,
        "metric": e.metric, "decoders": list(e.decoders), "report_effect": effect,
        "regime": reg, "regime_text": regime_text(reg), "comparable": comparable(reg),
    }  # fmt: skip
    if isinstance(est, str):
        return {**row, "estimate": None, "low": None, "high": None, "verdict": est}
    n = est.n_seeds if isinstance(est.n_seeds, tuple) else (est.n_seeds,)
    mde = metrics.mde(est)
    row |= {
        "estimate": est.value, "low": est.low, "high": est.high,
        "n_pairs": n[0] if est.paired or len(n) == 1 else None, "n_seeds": list(n), "paired": est.paired,
        "seeds": _shared_seeds(a, model, e.encodings),
        "mde": mde, "training_variance": est.training_variance, "se_seeds": est.se_seeds,
        "se_frames": est.se_frames, "df": None if math.isinf(est.df) else est.df,
        "checkpoint": _checkpoint(a.records),
        "resampled": "clips" if a.settings.get("clusters") else "frames",
        "cluster_unit": a.settings.get("unit", "frame"),
    }  # fmt: skip
    if not primary:
        return {**row, "verdict": SECONDARY}
    test = test or {"p": metrics.p_value(est), "p_holm": metrics.p_value(est), "level": 0.95, "family": ""}
    adj_low, adj_high = metrics.interval_at(est, test["level"])
    placed = a.primary_placements.get((e.claim, model, e.protocol, e.comparison))
    return {
        **row, **test, "adj_low": adj_low, "adj_high": adj_high,
        "verdict": endpoint_verdict(
            est, effect, p_adjusted=test["p_holm"], adjusted=(adj_low, adj_high), mde=mde,
            comparable=row["comparable"],
        ),
        "placements": None if not isinstance(placed, Estimate) else {"low": placed.low, "high": placed.high},
        "replication": replicate(e, model, a.cells),
        "clip_signs": clip_signs(clip_differences(e, model, a.cells)),
    }  # fmt: skip


def primary_rows(a: Analysis) -> list[dict]:
    """One row per primary endpoint, model and protocol (:func:`endpoint_row`), each claim's measured
    endpoints one family with Holm's adjustment (:func:`dark.metrics.holm`)."""
    items = []
    for (claim, model, protocol, comparison), est in a.primary.items():
        e = next(x for x in ENDPOINTS if (x.claim, x.protocol, x.comparison) == (claim, protocol, comparison))
        items.append((e, model, est))
    tests: dict[int, dict] = {}
    for claim in sorted({e.claim for e, _, _ in items}):
        fam = [i for i, (e, _, est) in enumerate(items) if e.claim == claim and isinstance(est, Estimate)]
        if not fam:
            continue
        p = [metrics.p_value(items[i][2]) for i in fam]
        adjusted, levels = metrics.holm(p), metrics.holm_levels(p)
        name = f"claim {claim}: {len(fam)} endpoints ({FAMILY[claim]}), Holm"
        for j, i in enumerate(fam):
            tests[i] = {"p": p[j], "p_holm": float(adjusted[j]), "level": float(levels[j]), "family": name}
    return [endpoint_row(e, m, est, a, test=tests.get(i)) for i, (e, m, est) in enumerate(items)]


def reading_rows(a: Analysis) -> list[dict]:
    """Claim 2 against every quantised cell trained, one row per model, reading of "w/ quant" and protocol
    (:attr:`Analysis.readings`), each with a ``"quantiser"``: ceil's row is the primary endpoint with its
    verdict; the others (nearest on the input grid, the DARK paper's heatmap grid, randomised) are
    secondary (no verdict word), paired on the seeds they share with the unbiased cell, and each is
    followed by ceil's endpoint on the same seeds (``"same_seeds_as"``: that quantiser), so that the two
    readings are compared on the same pairs."""
    primary = {(r["model"], r["protocol"], r["comparison"]): r for r in primary_rows(a)}
    out, seen = [], set()
    for (m, p, q), est in a.readings.items():
        e = claim2_endpoint(p, q)
        if q == "ceil" and (m, p, e.comparison) in primary:
            out.append({**primary[m, p, e.comparison], "quantiser": q})
            continue
        out.append({**endpoint_row(e, m, est, a, primary=False), "quantiser": q})
        same = a.ceil_on_shared.get((m, p, q))
        key = (m, p, tuple(out[-1].get("seeds", ())))
        if same is not None and key not in seen:
            seen.add(key)
            row = endpoint_row(claim2_endpoint(p), m, same, a, primary=False)
            out.append({**row, "quantiser": "ceil", "same_seeds_as": q, "seeds": out[-1].get("seeds", [])})
    return out


def _summary(rows: Sequence[Mapping]) -> str:
    """Each evaluated primary endpoint's verdict in one line."""
    shown = [r for r in rows if r["verdict"] != NO_RUNS]
    if not shown:
        return NOT_EVALUATED
    return "; ".join(
        f"{paper.MODEL_NAMES.get(r['model'], r['model'])} ({r['protocol']}), "
        f"{decoder_label(r['comparison'])}: {r['verdict']}"
        for r in shown
    )


def _tally(ev: pd.DataFrame) -> str:
    """Where the secondary comparisons' intervals lie, e.g. ``"10 better, 2 unclear, 0 worse"``."""
    c = {s: int((ev.status == s).sum()) for s in STATUSES}
    text = f"{c['better']} better, {c['unclear']} unclear, {c['worse']} worse"
    return text + (f", {c['one training']} one training" if c["one training"] else "")


def verdicts(a: Analysis) -> dict[int, dict]:
    """Claim -> ``{"claim", "verdict", "primary", "notes", "by_metric", "by_encoding" and "by_reading"
    (claim 2), "counts", "seeds", "covers", "evidence", "missing"}``.

    ``primary``: :func:`primary_rows` of the claim; ``verdict``: its endpoints' verdicts in one line;
    ``notes``: what limits them (:func:`notes`). The secondary comparisons: ``evidence`` (the DataFrame of
    every comparison, oriented improvement with its interval and status), ``counts`` (the statuses
    tallied), ``by_metric`` / ``by_encoding`` (the tally per claim metric / per quantiser: no verdict
    words); ``by_reading``: claim 2's endpoint against each quantised cell (:func:`reading_rows`);
    ``seeds``: trainings per cell; ``covers``: what the intervals include.
    """
    out = {}
    rows = primary_rows(a)
    for claim, (ev, missing) in {1: claim1_evidence(a), 2: claim2_evidence(a)}.items():
        primary = [r for r in rows if r["claim"] == claim]
        reg = regime(a.records)
        out[claim] = {
            "claim": paper.CLAIMS[claim],
            "verdict": claim_verdict(primary),
            "by_model": {
                m: claim_verdict([r for r in primary if r["model"] == m])
                for m in dict.fromkeys(r["model"] for r in primary)
            },
            "endpoints": _summary(primary),
            "family": next((r["family"] for r in primary if r.get("family")), ""),
            "regime": reg,
            "regime_text": regime_text(reg),
            "comparable": comparable(reg),
            "rule": DECISION_RULE,
            "primary": primary,
            "notes": notes(a),
            "by_metric": {mt: _tally(ev[ev.metric == mt]) for mt in paper.TABLE_METRICS},
            "counts": {s: int((ev.status == s).sum()) for s in STATUSES},
            "seeds": seeds_per_cell(a),
            "covers": _covers(a),
            "evidence": ev,
            "missing": missing,
        }
        if claim == 2:
            out[claim]["by_reading"] = reading_rows(a)
            out[claim]["by_encoding"] = {
                enc.split(" - ", 1)[1]: _tally(ev[ev.encoding == enc]) for enc in dict.fromkeys(ev.encoding)
            }
    return out


def primary_table(v: Mapping[int | str, Mapping], digits: int = 2) -> pd.DataFrame:
    """One row per evaluated primary endpoint: model, protocol, comparison, estimate [95% CI], the
    report's effect, the MDE at 80% power, trainings, verdict."""
    rows = []
    for claim, r in v.items():
        if not isinstance(r, Mapping) or "primary" not in r:
            continue
        for p in r["primary"]:
            if p["verdict"] == NO_RUNS:
                continue
            est = p.get("estimate")
            rows.append({
                "claim": claim,
                "model": paper.MODEL_NAMES.get(p["model"], p["model"]),
                "protocol": p["protocol"],
                "comparison": decoder_label(p["comparison"]),
                "estimate [95% CI]": "–" if est is None else interval_text(est, p["low"], p["high"], digits),
                "report": "–" if p.get("report_effect") is None else f"{p['report_effect']:+.{digits}f}",
                "MDE (80%)": f"{p['mde']:.{digits}f}" if p.get("mde") is not None else "–",
                "trainings": " vs ".join(map(str, p.get("n_seeds", []))) or "–",
                "verdict": p["verdict"],
            })  # fmt: skip
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()


def verdict_table(v: Mapping[int | str, Mapping]) -> pd.DataFrame:
    """One row per claim: the primary endpoints' verdicts, what limits them, trainings per cell, what the
    intervals cover, and where the secondary comparisons' intervals lie."""
    rows = []
    for claim, r in v.items():
        if not isinstance(r, Mapping) or "verdict" not in r:  # "provenance", "intervals" of verdicts.json
            continue
        c = r["counts"]
        rows.append({
            "claim": f"{claim}. {r['claim']}",
            "primary endpoints": r["verdict"],
            "limits": "; ".join(r.get("notes", [])) or "–",
            "trainings per cell": r.get("seeds", "?"),
            "intervals cover": r.get("covers", "test frames"),
            "secondary: better / unclear / worse / one training": " / ".join(
                str(c.get(s, 0)) for s in STATUSES
            ),
            "missing": len(r["missing"]),
        })  # fmt: skip
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
