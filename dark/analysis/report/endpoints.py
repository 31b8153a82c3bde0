"""The primary endpoints, fixed in code before any result, their estimates and their verdict words.

Each claim has primary endpoints (:data:`ENDPOINTS`), one line per model and scoring protocol
(:data:`dark.analysis.protocols.PROTOCOLS`), on the protocol's primary metric (PCKh@0.1, Euclidean or per
axis):

- claim 1: DARK - Standard and DARK - ArgMax on the same heatmaps, within each run of the unbiased
  (w/o quant) cell, combined over its seeds (:func:`dark.metrics.within_run_difference_estimates`);
- claim 2: unbiased - ceil (w/o quant - the report's code's w/ quant) on DARK, two cells, paired by seed
  where they share seeds (:func:`dark.metrics.cell_difference_estimates`).

Every other comparison is secondary: an estimate with its interval, no verdict word. A primary endpoint's
verdict (:func:`endpoint_verdict`) reads its interval against zero and against the report's effect
(:data:`dark.analysis.paper.REPORT_EFFECTS`); beside it stands the design's minimum detectable effect at 80%
power (:func:`dark.metrics.mde`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dark import metrics
from dark.analysis.protocols import PROTOCOLS
from dark.metrics import Estimate

from .load import RunRecord

REPRODUCED = "reproduced"
CONTRADICTED = "contradicted"
SMALLER = "smaller than reported"
LARGER = "larger than reported"
INCONCLUSIVE = "inconclusive"
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
#: the verdict cell of claim 2 against a reading of "w/ quant" that is not the primary endpoint's
SECONDARY = "secondary: no verdict (the primary reading is ceil)"


def endpoint_verdict(estimate: Estimate, report_effect: float | None) -> str:
    """The verdict of a primary endpoint from its 95% interval ``[low, high]`` (positive = the claimed
    direction) and the report's effect.

    "reproduced" when the interval lies above zero, "contradicted" when below; "smaller than reported" when
    it lies below the report's effect, "larger than reported" when above it; combined where both hold
    ("reproduced, smaller than reported"); "inconclusive" when none holds. An interval without training
    variance (one training per cell) says so: :data:`ONE_TRAINING_NOTE`.

    >>> endpoint_verdict(Estimate(1.0, 0.5, 1.5, training_variance=True), 3.99)
    'reproduced, smaller than reported'
    >>> endpoint_verdict(Estimate(1.0, -0.5, 2.5, training_variance=True), 3.99)
    'smaller than reported'
    >>> endpoint_verdict(Estimate(4.0, -0.5, 8.5, training_variance=True), 3.99)
    'inconclusive'
    >>> endpoint_verdict(Estimate(5.0, 4.5, 5.5), 3.99)
    'reproduced, larger than reported (test frames only: one training per cell)'
    """
    words = []
    if estimate.low > 0:
        words.append(REPRODUCED)
    elif estimate.high < 0:
        words.append(CONTRADICTED)
    if report_effect is not None and report_effect > 0 and not words == [CONTRADICTED]:
        if estimate.high < report_effect:
            words.append(SMALLER)
        elif estimate.low > report_effect:
            words.append(LARGER)
    text = ", ".join(words) or INCONCLUSIVE
    return text if estimate.training_variance else text + ONE_TRAINING_NOTE


def measured(record: RunRecord, decoders: Sequence[str], metric: str) -> bool:
    """Whether a run's frame sums hold ``metric`` for every one of ``decoders``."""
    try:
        sums = metrics.metric(metric).sums
    except (KeyError, ValueError):  # a metric the table does not have (yet)
        return False
    return all(d in record.tables for d in decoders) and all(s.name in record.columns for s in sums)


def shared_clusters(records: Sequence[RunRecord]) -> np.ndarray | None:
    """The frames' test clusters when every run has the same ones, else ``None`` (resample frames)."""
    first = records[0].clusters if records else None
    if first is None or any(r.clusters is None or not np.array_equal(r.clusters, first) for r in records):
        return None
    return first


def endpoint_estimate(
    e: Endpoint, model: str, cells: Mapping[tuple[str, str], Sequence[RunRecord]], **kw
) -> Estimate | str:
    """The estimate of endpoint ``e`` for ``model`` from the cells' runs, or why there is none
    (:data:`NO_RUNS`, :data:`NOT_MEASURED`). ``kw``: ``clusters``, ``confidence``, ``n_resamples``,
    ``seed`` of :mod:`dark.metrics`' interval functions."""
    ra, rb = cells.get((model, e.encodings[0])), cells.get((model, e.encodings[1]))
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
