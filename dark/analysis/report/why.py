"""Why the report saw what it saw: its effect sizes decomposed into contributions measured on our runs.

Claim 1 (DARK - Standard at PCKh@alpha): the standard protocol's gap moves, one instrument change at a
time in a fixed order (:data:`CHAIN`: the report's per-axis metric, its Standard decoder, its DARK
decoder), to the report protocol's gap; each step is a difference of within-run differences with the
two-level interval of :mod:`dark.metrics.intervals` (:func:`combination`), and what separates the last gap
from the report's value is *unexplained* (training length, data, models). **Batch size** (the report's SH
quant trained with 24, its cont twin with 16) is measured only when one cell has runs of both
(:func:`batch_contribution`). Claim 2 (unbiased - quantised) uses the shift-only counterfactual
(:mod:`dark.analysis.report.counterfactual`): the bias the quantised targets left (:func:`claim2_bias`),
the expected cost of that bias alone and the rest beyond it (:func:`claim2_shift`), beside the observed
difference and the report's (:func:`claim2_rows`). Every interval resamples seeds and test clips
(:func:`clips`); rows no run measures leave the tables for one sentence (:func:`unmeasured_text`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dark import metrics
from dark.design import paper
from dark.design.protocols import PROTOCOLS
from dark.metrics import Estimate

from .counterfactual import counterfactual
from .labels import interval_text
from .load import RunRecord

#: the instrument changes of claim 1's decomposition, in order: (name, metric family, Standard, DARK)
#: after the change; the first entry is the standard protocol, the last the report's code
CHAIN: tuple[tuple[str, str, str, str], ...] = (
    ("standard protocol", "pckh", "standard", "dark"),
    ("metric: per-axis PCKh with the report's visibility rule", "pckh_axis", "standard", "dark"),
    (
        "Standard decoder: the report's (its step normalised over the test batch)",
        "pckh_axis",
        "standard_report",
        "dark",
    ),
    ("DARK decoder: the report's (5 x 5 blur)", "pckh_axis", "standard_report", "dark_report"),
)

#: what a contribution no run measures says
NOT_MEASURED = "not measured"
#: the mean signed error (input px, per axis) that rounding a uniform sub-pixel fraction up adds
CEIL_BIAS = 0.5


@dataclass(frozen=True)
class Contribution:
    """One row of a decomposition: a named part with its estimate (``None``: not measured, ``why``
    says why) and the report's value where the report has one."""

    name: str
    estimate: Estimate | None
    report: float | None = None
    why: str = ""


def combination(
    records: Sequence[RunRecord],
    terms: Sequence[tuple[float, str, str]],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """``sum_k sign_k * metric_k(decoder_k)`` within each run, combined over the runs (seeds).

    ``terms``: ``(sign, decoder, metric)``; every run needs every decoder and the columns of every metric.
    The interval is that of :func:`dark.metrics.within_run_difference_estimates`
    (:data:`dark.metrics.INTERVALS`) for the combination: the per-run values form one cell (t with
    n - 1 df on the seed level, plus the test-set part the runs share; frames only, with
    ``training_variance`` False, for one run), the test set resampled once for every term and run, by
    test clip when the runs carry them (:func:`clips`).
    """
    return metrics.within_run_combination(
        [(sign, [r.tables[decoder] for r in records], metric) for sign, decoder, metric in terms],
        records[0].columns,
        clusters=clips(records),
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )


def _gap_terms(step: tuple[str, str, str, str], alpha: str) -> list[tuple[float, str, str]]:
    _, family, standard, dark = step
    return [(1.0, dark, f"{family}@{alpha}"), (-1.0, standard, f"{family}@{alpha}")]


def _has(records: Sequence[RunRecord], terms: Sequence[tuple[float, str, str]]) -> bool:
    needed = {d for _, d, _ in terms}
    cols = {c for _, _, m in terms for c in metrics.frame_sum_columns([m])}
    return all(needed <= set(r.tables) and cols <= set(r.columns) for r in records)


def claim1_gaps(records: Sequence[RunRecord], alpha: str = "0.5", **kw) -> list[Contribution]:
    """The DARK - Standard gap at PCKh@``alpha`` at every step of :data:`CHAIN` (one cell's runs).

    Each row's estimate is the gap itself (``None`` where the runs lack the step's decoders or metric:
    runs evaluated before the report's protocol existed)."""
    out = []
    for step in CHAIN:
        terms = _gap_terms(step, alpha)
        est = combination(records, terms, **kw) if records and _has(records, terms) else None
        out.append(Contribution(step[0], est, why="" if est else "the runs lack this step's scores"))
    return out


def decompose_claim1(
    records: Sequence[RunRecord], model: str, alpha: str = "0.5", batch: Contribution | None = None, **kw
) -> list[Contribution]:
    """The report's DARK - Standard gap at PCKh@``alpha`` (``model`` w/o quant) decomposed on ``records``
    (that cell's runs): the standard protocol's gap, one contribution per instrument change of
    :data:`CHAIN` (the change in the gap, with its interval), batch size (``batch``, default not
    measured), the report protocol's gap, the report's value, and the unexplained rest (report - ours
    under the report's code, its interval that of our gap).

    >>> decompose_claim1([], "sh")[-1].name
    'unexplained (report - the report protocol on our runs)'
    """
    rep = paper.TABLE2[(model, "unbiased", "dark")][f"pckh@{alpha}"]
    rep -= paper.TABLE2[(model, "unbiased", "standard")][f"pckh@{alpha}"]
    rows = [Contribution(f"{CHAIN[0][0]}: DARK - Standard", _first(records, alpha, kw))]
    for prev, step in itertools.pairwise(CHAIN):
        terms = _gap_terms(step, alpha) + [(-s, d, m) for s, d, m in _gap_terms(prev, alpha)]
        est = combination(records, terms, **kw) if records and _has(records, terms) else None
        rows.append(Contribution(step[0], est, why="" if est else "the runs lack its scores"))
    rows.append(batch or Contribution("batch size (24 vs 16)", None, why="no runs with two batch sizes"))
    last = _gap_terms(CHAIN[-1], alpha)
    total = combination(records, last, **kw) if records and _has(records, last) else None
    rows.append(Contribution("the report's code on our runs: DARK - Standard", total, report=rep))
    rest = None if total is None else _minus(rep, total)
    rows.append(Contribution("unexplained (report - the report protocol on our runs)", rest, report=rep,
                             why="" if rest else "the report protocol was not measured"))  # fmt: skip
    return rows


def _first(records, alpha, kw) -> Estimate | None:
    terms = _gap_terms(CHAIN[0], alpha)
    return combination(records, terms, **kw) if records and _has(records, terms) else None


def _minus(value: float, e: Estimate) -> Estimate:
    """``value - e`` for a fixed ``value`` (the report's number): the interval is ``e``'s, mirrored."""
    return Estimate(
        value - e.value, value - e.high, value - e.low, seeds=tuple(value - x for x in e.seeds),
        n_seeds=e.n_seeds, df=e.df, se_seeds=e.se_seeds, se_frames=e.se_frames,
        training_variance=e.training_variance,
    )  # fmt: skip


def batch_contribution(
    records: Sequence[RunRecord], metric: str = "pckh_axis@0.5", decoder: str = "dark_report", **kw
) -> Contribution:
    """Batch 24 - batch 16 on ``decoder``'s ``metric`` from one cell's runs at both (``batch_size``; a
    record keeps the 24 as another regime), paired by seed, test clips resampled; else not measured."""
    name, by = "batch size (24 vs 16)", {}  # by (model, encoding): {batch size: runs}
    for r in records:
        by.setdefault((r.model, r.encoding), {}).setdefault(int(r.config.get("batch_size", 0)), []).append(r)
    for sizes in by.values():
        if {24, 16} <= set(sizes) and all(decoder in r.tables for r in (*sizes[24], *sizes[16])):
            a, b = sizes[24], sizes[16]
            kw = {"seeds_a": [r.seed for r in a], "seeds_b": [r.seed for r in b], "clusters": clips(a), **kw}
            est = metrics.cell_difference_estimates(
                [r.tables[decoder] for r in a], [r.tables[decoder] for r in b], [metric], a[0].columns, **kw
            )[metric]
            return Contribution(name, est)
    found = sorted({s for sizes in by.values() for s in sizes})
    return Contribution(name, None, why=f"every run was trained with batch {', '.join(map(str, found))}")


def report_claim2(model: str, alpha: str = "0.1") -> float:
    """The report's claim-2 gap: w/o quant - w/ quant of DARK at PCKh@``alpha`` (its Table 2).

    >>> round(report_claim2("sh"), 2), round(report_claim2("hrnet"), 2)
    (5.63, 3.1)
    """
    t = paper.TABLE2
    return t[(model, "unbiased", "dark")][f"pckh@{alpha}"] - t[(model, "quantized", "dark")][f"pckh@{alpha}"]


def clips(records: Sequence[RunRecord]) -> np.ndarray | None:
    """``(G,)`` the test clip of each frame group of ``records`` (the first run's; every run of a record is
    evaluated on the same frames): the intervals' resampling unit. None for runs evaluated without
    clusters (frame groups are resampled)."""
    return getattr(records[0], "clips", None) if records else None


def _cells(
    records: Sequence[RunRecord], model: str, encoding: str
) -> tuple[list[RunRecord], list[RunRecord]]:
    return (
        [r for r in records if (r.model, r.encoding) == (model, "unbiased")],
        [r for r in records if (r.model, r.encoding) == (model, encoding)],
    )


def claim2_observed(
    records: Sequence[RunRecord], model: str, encoding: str = "ceil", **kw
) -> dict[str, Estimate | None]:
    """Our ``unbiased - encoding`` on each protocol's DARK and primary metric (:data:`PROTOCOLS`), paired
    by seed where the cells share seeds (:func:`dark.metrics.cell_difference_estimates`), test clips
    resampled; ``None`` where a cell is missing or its runs lack the protocol's decoder or metric."""
    ru, rq = _cells(records, model, encoding)
    out: dict[str, Estimate | None] = {}
    for name, p in PROTOCOLS.items():
        d, m = p.decoders["dark"], p.primary_metric
        ok = ru and rq and _has([*ru, *rq], [(1.0, d, m)])
        out[name] = (
            metrics.cell_difference_estimates(
                [r.tables[d] for r in ru], [r.tables[d] for r in rq], [m], ru[0].columns,
                seeds_a=[r.seed for r in ru], seeds_b=[r.seed for r in rq], clusters=clips(ru), **kw,
            )[m]
            if ok
            else None
        )  # fmt: skip
    return out


def claim2_bias(
    records: Sequence[RunRecord], model: str, encoding: str = "ceil", **kw
) -> dict[str, dict[str, Estimate] | None]:
    """The bias ``encoding``'s targets left in DARK's predictions: per protocol (its DARK decoder), per
    axis (``"x"``, ``"y"``), the mean signed error of the ``encoding`` runs minus that of the unbiased runs
    (input px; ceil's rounding predicts +0.5), paired by seed where the cells share seeds, test clips
    resampled; ``None`` where a cell or the signed-error sums are missing."""
    ru, rq = _cells(records, model, encoding)
    out: dict[str, dict[str, Estimate] | None] = {}
    for name, p in PROTOCOLS.items():
        d = p.decoders["dark"]
        ok = ru and rq and _has([*ru, *rq], [(1.0, d, "bias_x"), (1.0, d, "bias_y")])
        est = (
            metrics.cell_difference_estimates(
                [r.tables[d] for r in rq], [r.tables[d] for r in ru], ["bias_x", "bias_y"], ru[0].columns,
                seeds_a=[r.seed for r in rq], seeds_b=[r.seed for r in ru], clusters=clips(ru), **kw,
            )
            if ok
            else None
        )  # fmt: skip
        out[name] = None if est is None else {"x": est["bias_x"], "y": est["bias_y"]}
    return out


def claim2_shift(
    records: Sequence[RunRecord], model: str, encoding: str = "ceil", rows: pd.DataFrame | None = None
) -> dict[str, dict[str, Estimate] | None]:
    """The shift-only counterfactual on each protocol's DARK and primary metric: per protocol
    ``{"expected": the cost of the bias alone, "beyond": observed - expected}`` with their 95% intervals
    (:func:`dark.analysis.report.counterfactual.counterfactual`'s ``expected_*`` and ``unexplained_*``
    columns), or ``None`` where the runs lack predictions or the protocol's decoder. ``rows``: that
    function's table when the caller has it (it re-scores every run's predictions)."""
    rows = counterfactual(records)[0] if rows is None else rows
    out: dict[str, dict[str, Estimate] | None] = {}
    for name, p in PROTOCOLS.items():
        hit = rows[
            (rows.model == model) & (rows.encoding == encoding) & (rows.protocol == name)
            & (rows.role == "dark") & (rows.metric == p.primary_metric)
        ]  # fmt: skip
        if not len(hit) or math.isnan(float(hit.expected_cost.iloc[0])):
            out[name] = None
            continue
        r = hit.iloc[0]
        paired = bool(r.get("paired", False))
        n = (int(r.n_unbiased), int(r.n_encoding))  # as the observed difference's estimate counts them
        kw = {
            "n_seeds": n,
            "training_variance": min(int(r.n_unbiased), int(r.n_encoding)) > 1,
            "paired": paired,
        }
        out[name] = {
            "expected": Estimate(float(r.expected_cost), float(r.expected_low), float(r.expected_high), **kw),
            "beyond": Estimate(
                float(r.unexplained), float(r.unexplained_low), float(r.unexplained_high), **kw
            ),
        }
    return out


def claim2_rows(
    observed: Mapping[str, Estimate | None], shift: Mapping[str, Mapping[str, Estimate] | None], report: float
) -> list[Contribution]:
    """Claim 2's gap (unbiased - quantised, DARK's primary metric) per protocol: our observed difference
    beside the report's, the part the bias alone explains (the shift-only counterfactual's expected cost),
    what our runs show beyond the shift (observed - expected), each with its interval
    (:func:`claim2_shift`), and the rest of the report's gap (report - observed). ``observed``: protocol
    name -> estimate; ``shift``: protocol name -> :func:`claim2_shift`'s entry (``None``: not measured,
    and the two shift rows say why).

    >>> e = Estimate(1.5, 1.0, 2.0)
    >>> shift = {"standard": {"expected": e, "beyond": e}}
    >>> rows = claim2_rows({"standard": Estimate(2.0, 1.0, 3.0)}, shift, 5.6)
    >>> [(r.name, round(r.estimate.value, 2)) for r in rows]
    [('standard: observed unbiased - ceil', 2.0), ('standard: the ceil bias alone (shift-only)', 1.5), \
('standard: beyond the shift', 1.5), ('standard: unexplained (report - observed)', 3.6)]
    """
    why = "the runs carry no test predictions to shift"
    out = []
    for p, obs in observed.items():
        parts = shift.get(p) or {}
        out.append(Contribution(f"{p}: observed unbiased - ceil", obs, report=report,
                                why="" if obs else "a cell or its scores are missing"))  # fmt: skip
        out.append(Contribution(f"{p}: the ceil bias alone (shift-only)", parts.get("expected"), why=why))
        out.append(Contribution(f"{p}: beyond the shift", parts.get("beyond"), why=why))
        rest = None if obs is None else _minus(report, obs)
        out.append(Contribution(f"{p}: unexplained (report - observed)", rest, report=report,
                                why="" if rest else "our difference was not measured"))  # fmt: skip
    return out


def bias_table(bias: Mapping[str, Mapping[str, Estimate] | None], digits: int = 2) -> pd.DataFrame:
    """:func:`claim2_bias` for the page: per protocol and axis, ours with its interval (input px), the
    trainings behind it, and what ceil's rounding predicts (+0.5 px: a uniform fraction rounded up)."""
    out = []
    for p, axes in bias.items():
        for axis, e in (axes or {}).items():
            n = str(e.n_seeds) + ("" if e.training_variance else " (test set only)")
            out.append({"protocol": p, "axis": axis, "ours [95% CI], input px": interval_text(e.value, e.low,
                        e.high, digits), "trainings": n, "predicted": f"{CEIL_BIAS:+.1f}"})  # fmt: skip
    return pd.DataFrame(out).set_index(["protocol", "axis"]) if out else pd.DataFrame()


def table(rows: Sequence[Contribution], digits: int = 2) -> pd.DataFrame:
    """The measured rows of a decomposition for the page: ``part``, ``ours [95% CI]`` (``(point value)``
    for a value without an interval), ``trainings`` and ``report`` (the report's value where it has one).
    Rows no run measures are left out: :func:`unmeasured_text` says which and why."""
    out = []
    for r in rows:
        e = r.estimate
        if e is None:
            continue
        if e.low == e.high == e.value and not e.n_seeds:
            ours = f"{e.value:.{digits}f} (point value)"
        else:
            ours = interval_text(e.value, e.low, e.high, digits)
        n = str(e.n_seeds) + ("" if e.training_variance else " (test set only)")
        rep = "" if r.report is None else f"{r.report:+.{digits}f}"
        out.append({"part": r.name, "ours [95% CI]": ours, "trainings": n, "report": rep})
    return pd.DataFrame(out, columns=["part", "ours [95% CI]", "trainings", "report"]).set_index("part")


def unmeasured_text(rows: Sequence[Contribution]) -> str:
    """One sentence naming the rows of a decomposition no run measures, each with why (``""`` if none).

    >>> unmeasured_text([Contribution("batch size", None, why="every run had batch 16")])
    'Not measured on these runs: batch size (every run had batch 16).'
    """
    gone = [f"{r.name} ({r.why})" if r.why else r.name for r in rows if r.estimate is None]
    return f"Not measured on these runs: {'; '.join(gone)}." if gone else ""


def deviation_effects(records: Sequence[RunRecord], digits: int = 2) -> dict[str, str]:
    """Effects for :func:`dark.analysis.deviations.table`'s ``measured`` that need the runs' configurations:
    the batch size (:func:`batch_contribution`), only where runs measure it."""
    c = batch_contribution(records) if records else None
    if c is None or c.estimate is None:
        return {}
    e = c.estimate
    text = interval_text(e.value, e.low, e.high, digits)
    return {"batch_size": f"{text} pts (batch 24 - 16, DARK per-axis PCKh@0.5)"}


def remains_text(records: Sequence[RunRecord], models: Sequence[str], digits: int = 2) -> str:
    """One sentence per model: the report's DARK - Standard at PCKh@0.5, ours under the report's code and
    under the standard protocol, and the unexplained rest with its interval (or that the report's
    protocol was not measured)."""
    out = []
    for model in models:
        cell = [r for r in records if (r.model, r.encoding) == (model, "unbiased")]
        if not cell:
            continue
        rows = {r.name: r for r in decompose_claim1(cell, model, "0.5")}
        first = rows[f"{CHAIN[0][0]}: DARK - Standard"].estimate
        total = rows["the report's code on our runs: DARK - Standard"]
        rest = rows["unexplained (report - the report protocol on our runs)"].estimate
        name = paper.MODEL_NAMES.get(model, model)
        std = "" if first is None else f"; under the standard protocol {_iv(first, digits)}"
        if total.estimate is None or rest is None:
            out.append(f"{name}: the report's DARK - Standard at PCKh@0.5 is {total.report:+.{digits}f}"
                       f"{std}; the report's protocol was not measured on these runs, so nothing of the gap "
                       "is attributed.")  # fmt: skip
            continue
        out.append(
            f"{name}: the report's DARK - Standard at PCKh@0.5 is {total.report:+.{digits}f}; the report's "
            f"code on our runs gives {_iv(total.estimate, digits)}{std}. Unexplained: "
            f"{_iv(rest, digits)} points, which nothing measured here accounts for (training length, "
            "data, model size and the report's single training are candidates, none measured)."
        )
    return " ".join(out) or "No runs of the w/o quant cells: nothing to decompose."


def _iv(e: Estimate, digits: int) -> str:
    return f"{e.value:+.{digits}f} [{e.low:+.{digits}f}, {e.high:+.{digits}f}]"
