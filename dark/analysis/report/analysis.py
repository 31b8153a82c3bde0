"""The analysis: every estimate the tables and verdicts show, computed once.

:func:`analyse` groups run records into cells ``(model, encoding)`` (:func:`dark.analysis.report.load.cells`)
and computes, with the two-level (seeds x test frames) intervals of :mod:`dark.metrics`
(:data:`dark.metrics.INTERVALS` states the method), each cell's mean per decoder, the ``DARK - reference``
differences within runs, the ``unbiased - q`` differences between cells (paired by seed where the cells
share seeds), the primary endpoints (:data:`dark.analysis.report.endpoints.ENDPOINTS`) and claim 2's endpoint
against every quantised cell (each reading of "w/ quant"). Everything else in
:mod:`dark.analysis.report` is a pure function of that :class:`Analysis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dark import metrics
from dark.design import paper
from dark.design.protocols import PROTOCOLS
from dark.metrics import Estimate, Interval, higher_is_better

from .endpoints import ENDPOINTS, claim2_endpoint, endpoint_estimate, shared_clusters
from .labels import display_name
from .load import RunRecord, cells, check_paired
from .regime import split_regimes


@dataclass(frozen=True)
class Analysis:
    """Every estimate the tables and verdicts show (see :func:`analyse`)."""

    cells: dict[tuple[str, str], list[RunRecord]]
    #: (model, encoding, decoder) -> {metric: Estimate}: the cell means over seeds
    values: dict[tuple[str, str, str], dict[str, Estimate]]
    #: (model, encoding, "dark - b") -> {metric: Estimate}: decoder differences within runs
    within: dict[tuple[str, str, str], dict[str, Estimate]]
    #: (model, "unbiased - q", decoder) -> {metric: Estimate}: cell differences, paired on frames (and by
    #: seed where the cells share seeds)
    between: dict[tuple[str, str, str], dict[str, Estimate]]
    settings: dict
    #: (claim, model, protocol, comparison) -> Estimate, or why there is none: the primary endpoints
    primary: dict[tuple[int, str, str, str], Estimate | str] = field(default_factory=dict)
    #: (model, protocol, quantiser) -> Estimate or why none: claim 2's endpoint against every quantised
    #: cell trained (each reading of "w/ quant"; ``ceil``'s is the primary endpoint)
    readings: dict[tuple[str, str, str], Estimate | str] = field(default_factory=dict)
    #: (model, protocol, quantiser) -> ceil's endpoint on the seeds that quantiser's cell shares with the
    #: unbiased cell (the primary reading on the same pairs as a secondary one)
    ceil_on_shared: dict[tuple[str, str, str], Estimate | str] = field(default_factory=dict)
    #: the primary endpoints with one placement of a clip as the resampling unit (sensitivity)
    primary_placements: dict[tuple[int, str, str, str], Estimate | str] = field(default_factory=dict)

    @property
    def records(self) -> list[RunRecord]:
        return [r for rs in self.cells.values() for r in rs]


def carries(columns: Sequence[str], metric: str) -> bool:
    """Whether frame-sum tables with ``columns`` hold every sum ``metric`` is a ratio of (runs evaluated
    before a metric existed lack its columns)."""
    try:
        return all(s.name in columns for s in metrics.metric(metric).sums)
    except ValueError:
        return False


def _metrics_of(columns: Sequence[str]) -> list[str]:
    """The metrics a cell is estimated on: every protocol's Table 2 metrics, the mean error and the
    signed bias, those the runs' tables carry."""
    protocol_metrics = [m for p in PROTOCOLS.values() for m in p.metrics]
    names = [*dict.fromkeys([*paper.TABLE_METRICS, *protocol_metrics]), "mean_error", *metrics.BIAS_METRICS]
    return [m for m in names if carries(columns, m)]


def analyse(
    records: Sequence[RunRecord],
    *,
    references: Sequence[str] = ("argmax", "standard", "com"),
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Analysis:
    """Cell values, ``DARK - reference`` within runs and ``unbiased - q`` between cells, with intervals.

    Every interval is :func:`dark.metrics.cell_estimates` and friends (one resampling of the test clusters,
    or of the frames for runs without cluster labels, seeded, shared by every run: paired). The
    differences are on the claim metrics (:data:`dark.design.paper.TABLE_METRICS`); the primary endpoints on
    their protocol's primary metric. Raises if the runs were not evaluated on the same test frames.
    """
    regimes = split_regimes(records)
    records = next(iter(regimes.values()), [])
    left_out = [r.path.name for rs in list(regimes.values())[1:] for r in rs]
    by_cell = cells(records)
    if records:
        check_paired(records)
    claim_metrics = paper.TABLE_METRICS
    clusters = shared_clusters(records, "clips")
    placements = shared_clusters(records, "clusters")
    kw = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    ckw = {**kw, "clusters": clusters}
    values, within, between = {}, {}, {}
    for (m, e), rs in by_cell.items():
        cols = rs[0].columns
        names = _metrics_of(cols)
        decoders = [d for d in rs[0].tables if all(d in r.tables for r in rs)]
        for d in decoders:
            values[(m, e, d)] = metrics.cell_estimates([r.tables[d] for r in rs], names, cols, **ckw)
        for b in references:
            if "dark" in decoders and b in decoders:
                within[(m, e, f"dark - {b}")] = metrics.within_run_difference_estimates(
                    [r.tables["dark"] for r in rs], [r.tables[b] for r in rs], claim_metrics, cols, **ckw
                )
    for (m, q), rq in by_cell.items():
        ru = by_cell.get((m, "unbiased"))
        if q == "unbiased" or ru is None:
            continue
        for d in [d for d in ru[0].tables if all(d in r.tables for r in (*ru, *rq))]:
            between[(m, f"unbiased - {q}", d)] = metrics.cell_difference_estimates(
                [r.tables[d] for r in ru], [r.tables[d] for r in rq], claim_metrics, ru[0].columns,
                seeds_a=[r.seed for r in ru], seeds_b=[r.seed for r in rq], **ckw,
            )  # fmt: skip
    models = [*paper.MODEL_NAMES, *sorted({m for m, _ in by_cell} - set(paper.MODEL_NAMES))]
    primary = {
        (e.claim, m, e.protocol, e.comparison): endpoint_estimate(e, m, by_cell, **ckw)
        for e in ENDPOINTS
        for m in models
    }
    primary_placements = (
        {
            (e.claim, m, e.protocol, e.comparison): endpoint_estimate(
                e, m, by_cell, **kw, clusters=placements
            )
            for e in ENDPOINTS
            for m in models
        }
        if placements is not None and clusters is not None
        else {}
    )
    readings, ceil_on_shared = _readings(by_cell, primary, ckw)
    settings = dict(
        kw, method=metrics.INTERVALS, clusters=clusters is not None, unit="clip" if clusters is not None
        else "frame", left_out=left_out,
    )  # fmt: skip
    return Analysis(
        by_cell, values, within, between, settings, primary, readings, ceil_on_shared, primary_placements
    )


def _readings(by_cell, primary, ckw) -> tuple[dict, dict]:
    """Claim 2's endpoint against every quantised cell (``ceil``'s is the primary endpoint; the A/A placebo's,
    :data:`~dark.analysis.report.endpoints.PLACEBO`, is the null every other reading is set against), and
    ceil's endpoint on each secondary reading's shared seeds: ``(readings, ceil_on_shared)`` of
    :class:`Analysis`."""
    readings, ceil_on_shared = {}, {}
    for m, q in by_cell:
        if q == "unbiased" or (m, "unbiased") not in by_cell:
            continue
        shared = sorted({r.seed for r in by_cell[m, q]} & {r.seed for r in by_cell[m, "unbiased"]})
        for p in PROTOCOLS:
            e = claim2_endpoint(p, q)
            key = (2, m, p, e.comparison)  # ceil: the primary endpoint, estimated above
            if key in primary:
                readings[(m, p, q)] = primary[key]
                continue
            # a secondary reading is paired on the seeds it shares with the unbiased cell, and ceil's
            # endpoint on those same seeds stands beside it
            readings[(m, p, q)] = endpoint_estimate(e, m, by_cell, seeds=shared or None, **ckw)
            ceil_on_shared[(m, p, q)] = endpoint_estimate(claim2_endpoint(p), m, by_cell, seeds=shared, **ckw)
    return readings, ceil_on_shared


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
            paired=difference.paired, df_frames=difference.df_frames,
        )  # fmt: skip
    return Interval(-difference.value, -difference.high, -difference.low)


def extra_decoders(a: Analysis) -> list[str]:
    """The decoders evaluated beyond the report's four, in the evaluation's order."""
    return [d for d in dict.fromkeys(d for (_, _, d) in a.values) if d not in paper.PAPER_DECODERS]


def seeds_per_cell(a: Analysis) -> str:
    """How many trainings each cell has: ``"2 in each of the 4 cells"``, or per cell where they differ."""
    n = {k: len(rs) for k, rs in a.cells.items()}
    if not n:
        return "none"
    if len(set(n.values())) == 1:
        return f"{next(iter(n.values()))} in each of the {len(n)} cells"
    return "; ".join(f"{display_name(m, e)} {k}" for (m, e), k in n.items())
