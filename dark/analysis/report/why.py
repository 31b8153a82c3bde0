"""Why the report saw what it saw: its effect sizes decomposed into contributions measured on our runs.

Claim 1 (DARK - Standard at PCKh@alpha, the report's +2.6 at 0.5): the standard protocol's gap is
moved one instrument change at a time to the report protocol's gap (:data:`CHAIN`, a fixed order):

1. **metric**: the same decoders (``dark``, ``standard``) scored with the report's per-axis PCKh
   (``pckh_axis@alpha``, which includes its visibility rule) instead of the Euclidean PCKh;
2. **Standard decoder**: ours replaced by the report's (``standard_report``, moai's ``_argmax_sub``);
3. **DARK decoder**: ours replaced by the report's (``dark_report``, the Taylor step on the 5 x 5 blur).

Each contribution is a difference of within-run differences (the same heatmaps, the same test frames),
with the two-level interval of :mod:`dark.metrics.intervals` (:func:`combination`); the steps add up to
the report protocol's gap, and what separates that from the report's value is *unexplained* (training
length, data, models: nothing here measures it). The decomposition of a sum into steps depends on
their order; :data:`CHAIN` states ours.

**Batch size** (the report's SH quant trained with 24, its cont twin with 16) is a contribution only
when runs of one cell were trained with two batch sizes (:func:`batch_contribution`), else *not
measured*. Claim 2 (unbiased - quantised) uses the shift-only counterfactual
(:mod:`dark.analysis.report.counterfactual`): the expected cost of the ceil bias alone beside the observed
difference and the report's (:func:`claim2_rows`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from dark import metrics
from dark.analysis import paper
from dark.analysis.protocols import PROTOCOLS
from dark.metrics import Estimate

from .counterfactual import counterfactual
from .labels import interval_text
from .load import RunRecord

#: the instrument changes of claim 1's decomposition, in order: (name, metric family, Standard, DARK)
#: after the change; the first entry is the standard protocol, the last the report's code
CHAIN: tuple[tuple[str, str, str, str], ...] = (
    ("standard protocol", "pckh", "standard", "dark"),
    ("metric: per-axis PCKh with the report's visibility rule", "pckh_axis", "standard", "dark"),
    ("Standard decoder: the report's (_argmax_sub)", "pckh_axis", "standard_report", "dark"),
    ("DARK decoder: the report's (5 x 5 blur)", "pckh_axis", "standard_report", "dark_report"),
)

#: what a contribution no run measures says
NOT_MEASURED = "not measured"


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
    cluster when the runs carry ``clusters``.
    """
    return metrics.within_run_combination(
        [(sign, [r.tables[decoder] for r in records], metric) for sign, decoder, metric in terms],
        records[0].columns,
        clusters=getattr(records[0], "clusters", None),
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
    """Batch 24 - batch 16 on ``decoder``'s ``metric``, from runs of one cell trained with both (their
    ``config.json``'s ``batch_size``); not measured when no cell has runs with two batch sizes."""
    name = "batch size (24 vs 16)"
    by: dict[tuple[str, str], dict[int, list[RunRecord]]] = {}
    for r in records:
        by.setdefault((r.model, r.encoding), {}).setdefault(int(r.config.get("batch_size", 0)), []).append(r)
    for sizes in by.values():
        if {24, 16} <= set(sizes) and all(decoder in r.tables for r in (*sizes[24], *sizes[16])):
            a, b = sizes[24], sizes[16]
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


def claim2_observed(
    records: Sequence[RunRecord], model: str, encoding: str = "ceil", **kw
) -> dict[str, Estimate | None]:
    """Our ``unbiased - encoding`` on each protocol's DARK and primary metric (:data:`PROTOCOLS`), paired
    by seed where the cells share seeds (:func:`dark.metrics.cell_difference_estimates`); ``None`` where
    a cell is missing or its runs lack the protocol's decoder or metric."""
    ru = [r for r in records if (r.model, r.encoding) == (model, "unbiased")]
    rq = [r for r in records if (r.model, r.encoding) == (model, encoding)]
    out: dict[str, Estimate | None] = {}
    for name, p in PROTOCOLS.items():
        d, m = p.decoders["dark"], p.primary_metric
        ok = ru and rq and _has([*ru, *rq], [(1.0, d, m)])
        out[name] = (
            metrics.cell_difference_estimates(
                [r.tables[d] for r in ru], [r.tables[d] for r in rq], [m], ru[0].columns,
                seeds_a=[r.seed for r in ru], seeds_b=[r.seed for r in rq], **kw,
            )[m]
            if ok
            else None
        )  # fmt: skip
    return out


def claim2_expected(
    records: Sequence[RunRecord], model: str, encoding: str = "ceil"
) -> dict[str, float | None]:
    """The shift-only counterfactual's expected cost of ``encoding``'s bias on each protocol's DARK and
    primary metric (:func:`dark.analysis.report.counterfactual.counterfactual`: a point value, mean over the
    unbiased runs); ``None`` where the runs lack predictions or the protocol's decoder."""
    rows, _ = counterfactual(records)
    out: dict[str, float | None] = {}
    for name, p in PROTOCOLS.items():
        hit = rows[
            (rows.model == model) & (rows.encoding == encoding) & (rows.protocol == name)
            & (rows.role == "dark") & (rows.metric == p.primary_metric)
        ]  # fmt: skip
        v = float(hit.expected_cost.iloc[0]) if len(hit) else math.nan
        out[name] = None if math.isnan(v) else v
    return out


def claim2_rows(
    observed: Mapping[str, Estimate | None], expected: Mapping[str, Estimate | float | None], report: float
) -> list[Contribution]:
    """Claim 2's gap (unbiased - quantised, DARK's primary metric) per protocol: the report's value, our
    observed difference, the part the ceil bias alone explains (the shift-only counterfactual's expected
    cost), what our runs show beyond the shift (observed - expected; its interval combines the two
    half-widths as if they were independent, which is conservative: the same unbiased runs enter both, so
    they are positively correlated), and the unexplained rest (report - observed). ``observed`` /
    ``expected``: protocol name -> estimate (``None``: not measured; a float: a point value).

    >>> rows = claim2_rows({"standard": Estimate(2.0, 1.0, 3.0)}, {"standard": 1.5}, 5.6)
    >>> [(r.name, round(r.estimate.value, 2)) for r in rows]
    [('standard: observed unbiased - ceil', 2.0), ('standard: the ceil bias alone (shift-only)', 1.5), \
('standard: beyond the shift', 0.5), ('standard: unexplained (report - observed)', 3.6)]
    """
    out = []
    for p, obs in observed.items():
        exp = expected.get(p)
        exp_e = Estimate(float(exp), float(exp), float(exp)) if isinstance(exp, int | float) else exp
        out.append(Contribution(f"{p}: observed unbiased - ceil", obs, report=report))
        out.append(Contribution(f"{p}: the ceil bias alone (shift-only)", exp_e))
        beyond = None
        if obs is not None and exp_e is not None:
            d = obs.value - exp_e.value
            half = math.hypot(obs.high - obs.value, exp_e.high - exp_e.value)
            beyond = Estimate(
                d, d - half, d + half, n_seeds=obs.n_seeds, training_variance=obs.training_variance
            )
        out.append(Contribution(f"{p}: beyond the shift", beyond))
        rest = None if obs is None else _minus(report, obs)
        out.append(Contribution(f"{p}: unexplained (report - observed)", rest, report=report))
    return out


def table(rows: Sequence[Contribution], digits: int = 2) -> pd.DataFrame:
    """A decomposition for the page: ``part``, ``ours [95% CI]`` (``not measured (why)`` where no run
    measures it), ``trainings`` and ``report`` (the report's value where it has one)."""
    out = []
    for r in rows:
        e = r.estimate
        if e is not None and e.low == e.high == e.value and not e.n_seeds:
            ours = f"{e.value:.{digits}f} (point value)"
        elif e is not None:
            ours = interval_text(e.value, e.low, e.high, digits)
        else:
            ours = f"{NOT_MEASURED} ({r.why})" if r.why else NOT_MEASURED
        n = "" if e is None else str(e.n_seeds) + ("" if e.training_variance else " (test set only)")
        rep = "" if r.report is None else f"{r.report:+.{digits}f}"
        out.append({"part": r.name, "ours [95% CI]": ours, "trainings": n, "report": rep})
    return pd.DataFrame(out).set_index("part")


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
