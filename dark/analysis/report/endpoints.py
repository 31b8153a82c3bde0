"""The primary endpoints, fixed in code before any result, their estimates and their verdict words.

Each claim has primary endpoints (:data:`ENDPOINTS`), one line per model and scoring protocol
(:data:`dark.design.protocols.PROTOCOLS`), on the protocol's primary metric (PCKh@0.1, Euclidean or per
axis):

- claim 1: DARK - Standard and DARK - ArgMax on the same heatmaps, within each run of the unbiased
  (w/o quant) cell, combined over its seeds (:func:`dark.metrics.within_run_difference_estimates`);
- claim 2: unbiased - ceil (w/o quant - the report's code's w/ quant) on DARK, two cells, paired by seed
  where they share seeds (:func:`dark.metrics.cell_difference_estimates`).

Every other comparison is secondary: an estimate with its interval, no verdict word. A primary endpoint's
verdict (:func:`endpoint_verdict`) reads its interval against zero and against the report's effect
(:data:`dark.design.paper.REPORT_EFFECTS`); beside it stands the design's minimum detectable effect at 80%
power (:func:`dark.metrics.mde`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dark import metrics
from dark.design.protocols import PROTOCOLS
from dark.metrics import Estimate

from .load import RunRecord

REPRODUCED = "reproduced"
CONTRADICTED = "contradicted"
NOT_REPRODUCED = "not reproduced: the report's effect is excluded"
SIGN_UNDETERMINED = "sign undetermined"
INCONCLUSIVE = "inconclusive"
SMALLER = "smaller than reported"
LARGER = "larger than reported"
#: the family-wise error rate of each claim's endpoints (Holm within the claim)
ALPHA = 0.05
#: appended to the verdict of an endpoint whose interval has no training variance in it
ONE_TRAINING_NOTE = " (test frames only: one training per cell)"
NOT_MEASURED = "not measured in these runs"
NO_RUNS = "not evaluated (no runs)"


@dataclass(frozen=True)
class Endpoint:
    """One primary endpoint (per model): ``a - b`` on ``protocol``'s primary metric.

    ``roles``: the Table 2 row roles of the two terms (``"dark"``, ``"standard"``, ``"argmax"``: the
    protocol maps them to decoders); ``encodings``: the cells of the two terms (the same cell for a
    comparison within runs).
    """

    claim: int
    protocol: str
    comparison: str
    roles: tuple[str, str]
    encodings: tuple[str, str]

    @property
    def metric(self) -> str:
        return PROTOCOLS[self.protocol].primary_metric

    @property
    def decoders(self) -> tuple[str, str]:
        d = PROTOCOLS[self.protocol].decoders
        return d[self.roles[0]], d[self.roles[1]]

    @property
    def within_run(self) -> bool:
        return self.encodings[0] == self.encodings[1]


def claim2_endpoint(protocol: str, quantiser: str = "ceil") -> Endpoint:
    """Claim 2 against one reading of "w/ quant": ``unbiased - quantiser`` on DARK, the protocol's primary
    metric. With ``"ceil"`` (the report's code) it is the primary endpoint; against the other quantised
    encodings (nearest on the input grid, the DARK paper's heatmap grid, randomised) the same estimate is
    secondary: an interval beside the primary, no verdict word."""
    return Endpoint(2, protocol, f"unbiased - {quantiser}", ("dark", "dark"), ("unbiased", quantiser))


#: the primary endpoints, per protocol (applied to every model): fixed before any result (issue 19)
ENDPOINTS: tuple[Endpoint, ...] = tuple(
    e
    for p in PROTOCOLS
    for e in (
        Endpoint(1, p, "dark - standard", ("dark", "standard"), ("unbiased", "unbiased")),
        Endpoint(1, p, "dark - argmax", ("dark", "argmax"), ("unbiased", "unbiased")),
        claim2_endpoint(p),
    )
)
#: the A/A placebo encoding (a rounding that changes nothing measurable): claim 2's null, never a reading of
#: "w/ quant"
PLACEBO = "placebo"
#: the verdict cell of claim 2 against a reading of "w/ quant" that is not the primary endpoint's
SECONDARY = "secondary: no verdict (the primary reading is ceil)"


def endpoint_verdict(
    estimate: Estimate,
    report_effect: float | None,
    *,
    p_adjusted: float | None = None,
    adjusted: tuple[float, float] | None = None,
    mde: float | None = None,
    comparable: bool = False,
    alpha: float = ALPHA,
) -> str:
    """The verdict of a primary endpoint (positive = the claimed direction), each word by its rule:

    - "reproduced": the Holm-adjusted p-value (``p_adjusted``) is below ``alpha`` and the estimate is
      positive (the adjusted interval excludes 0 in the claimed direction);
    - "contradicted": the same, the estimate negative;
    - "not reproduced: the report's effect is excluded; sign undetermined": 0 not excluded, and the
      adjusted interval (``adjusted``, at the endpoint's Holm level) lies below the report's effect;
    - "inconclusive (underpowered: MDE x > the report's effect y)": none of these, and the design's
      minimum detectable effect exceeds the report's effect; otherwise "inconclusive".

    Size words ("smaller / larger than reported", the adjusted interval against the report's effect) are
    added to "reproduced" only when ``comparable`` (the report's heatmap size: effects shrink with
    resolution). Without ``p_adjusted`` / ``adjusted`` the unadjusted p-value and 95% interval are used. An
    interval without training variance (one training per cell) says so (:data:`ONE_TRAINING_NOTE`).

    >>> e = Estimate(1.0, 0.2, 1.8, se_seeds=0.3, df=7, training_variance=True)
    >>> endpoint_verdict(e, 5.6, p_adjusted=0.01, adjusted=(0.1, 1.9))
    'reproduced'
    >>> endpoint_verdict(e, 5.6, p_adjusted=0.08, adjusted=(-0.1, 2.1))
    "not reproduced: the report's effect is excluded; sign undetermined"
    >>> endpoint_verdict(e, 5.6, p_adjusted=0.01, adjusted=(0.1, 1.9), comparable=True)
    'reproduced, smaller than reported'
    >>> print(endpoint_verdict(Estimate(4.0, -0.5, 8.5), 3.99, p_adjusted=0.3, mde=6.44))
    inconclusive (underpowered: MDE 6.4 > the report's effect 4.0) (test frames only: one training per cell)
    """
    p = metrics.p_value(estimate) if p_adjusted is None else p_adjusted
    low, high = (estimate.low, estimate.high) if adjusted is None else adjusted
    effect = report_effect if report_effect is not None and report_effect > 0 else None
    if p < alpha and estimate.value > 0:
        text = REPRODUCED
        if comparable and effect is not None:
            text += f", {SMALLER}" if high < effect else (f", {LARGER}" if low > effect else "")
    elif p < alpha and estimate.value < 0:
        text = CONTRADICTED
    elif effect is not None and high < effect:
        text = f"{NOT_REPRODUCED}; {SIGN_UNDETERMINED}"
    elif effect is not None and mde is not None and mde > effect:
        text = f"{INCONCLUSIVE} (underpowered: MDE {mde:.1f} > the report's effect {effect:.1f})"
    else:
        text = INCONCLUSIVE
    return text if estimate.training_variance else text + ONE_TRAINING_NOTE


def measured(record: RunRecord, decoders: Sequence[str], metric: str) -> bool:
    """Whether a run's frame sums hold ``metric`` for every one of ``decoders``."""
    try:
        sums = metrics.metric(metric).sums
    except (KeyError, ValueError):  # a metric the table does not have (yet)
        return False
    return all(d in record.tables for d in decoders) and all(s.name in record.columns for s in sums)


def shared_clusters(records: Sequence[RunRecord], unit: str = "clips") -> np.ndarray | None:
    """The frames' resampling units when every run has the same ones, else ``None`` (resample frames).

    ``unit``: ``"clips"`` (the test clip, the intervals' unit: its placements replay one motion) or
    ``"clusters"`` (one placement of a clip, the sensitivity analysis)."""
    first = getattr(records[0], unit) if records else None
    if first is None or any(
        getattr(r, unit) is None or not np.array_equal(getattr(r, unit), first) for r in records
    ):
        return None
    return first


def run_pairs(
    e: Endpoint, model: str, cells: Mapping[tuple[str, str], Sequence[RunRecord]]
) -> list[tuple[RunRecord, RunRecord]]:
    """The runs whose difference makes endpoint ``e`` of ``model``: each run with itself (claim 1, within
    runs), or each run of ``a``'s cell with the run of ``b``'s cell trained with the same seed (claim 2);
    ``[]`` without runs."""
    ra, rb = cells.get((model, e.encodings[0])), cells.get((model, e.encodings[1]))
    if not ra or not rb:
        return []
    if e.within_run:
        return [(r, r) for r in ra]
    by_seed = {r.seed: r for r in rb}
    return [(r, by_seed[r.seed]) for r in ra if r.seed in by_seed]


def endpoint_estimate(
    e: Endpoint,
    model: str,
    cells: Mapping[tuple[str, str], Sequence[RunRecord]],
    seeds: Sequence[int] | None = None,
    **kw,
) -> Estimate | str:
    """The estimate of endpoint ``e`` for ``model`` from the cells' runs, or why there is none
    (:data:`NO_RUNS`, :data:`NOT_MEASURED`). ``seeds``: only the runs of these seeds (a secondary reading
    paired on the seeds it shares with the unbiased cell). ``kw``: ``clusters``, ``confidence``,
    ``n_resamples``, ``seed`` of :mod:`dark.metrics`' interval functions."""
    ra, rb = cells.get((model, e.encodings[0])), cells.get((model, e.encodings[1]))
    if seeds is not None:
        keep = {int(s) for s in seeds}
        ra = [r for r in ra or [] if r.seed in keep]
        rb = [r for r in rb or [] if r.seed in keep]
    if not ra or not rb:
        return NO_RUNS
    da, db = e.decoders
    if not all(measured(r, [da], e.metric) for r in ra) or not all(measured(r, [db], e.metric) for r in rb):
        return NOT_MEASURED
    cols, m = ra[0].columns, [e.metric]
    if e.within_run:
        return metrics.within_run_difference_estimates(
            [r.tables[da] for r in ra], [r.tables[db] for r in ra], m, cols, **kw
        )[e.metric]
    return metrics.cell_difference_estimates(
        [r.tables[da] for r in ra], [r.tables[db] for r in rb], m, cols,
        seeds_a=[r.seed for r in ra], seeds_b=[r.seed for r in rb], **kw,
    )[e.metric]  # fmt: skip
