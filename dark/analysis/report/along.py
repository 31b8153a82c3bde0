"""The claims along the regime: which one setting sets a regime apart from the record's main one, claim 2
against its null, and claim 2 paired across two regimes (the report's batch confound).

A record's runs fall into regimes (:func:`dark.analysis.report.regime.split_regimes`: heatmap and input
size, epochs, precision, batch). Each regime is analysed on its own with the same endpoints and rules
(:func:`dark.analysis.report.saving.regime_verdicts`); :func:`axis` names the one setting in which it
differs from the main regime, so that the pages can lay the regimes out along resolution, precision or batch.

Two comparisons need more than one cell of one regime:

- :func:`null_rows`: every quantiser against the A/A placebo (``placebo - q`` on DARK, paired by seed): how
  much a reading of "w/ quant" costs beyond what any retraining through the quantised path costs;
- :func:`crossed_rows`: a regime that trained only a quantised cell (the report's ``ceil`` at batch 24)
  paired with the main regime's unbiased cell on their shared seeds (claim 2 as the report ran it), beside
  claim 2 within the main regime on the same seeds and the quantised cell's own change between the two;
- :func:`seed_matched_rows`: claim 2 of the main regime on the seeds another regime trained (fp32 pairs
  on 4 of the 8 bf16 seeds), so that the two regimes' estimates stand on the same seeds.

Every row here is secondary: an estimate with its interval and no verdict word (the verdicts are the
primary endpoints', per regime).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dark.design.protocols import PROTOCOLS

from .analysis import Analysis
from .claims import endpoint_row
from .endpoints import PLACEBO, Endpoint, claim2_endpoint, endpoint_estimate, shared_clusters
from .load import RunRecord, cells, check_paired
from .regime import regime, split_regimes

__all__ = ["AXES", "axis", "crossed_rows", "null_rows", "seed_matched_rows"]

#: the settings a regime can differ in, as :func:`axis` names them: (name, the regime keys it covers)
AXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("resolution", ("heatmap", "input", "stride")),
    ("precision", ("precision",)),
    ("batch", ("batch",)),
    ("epochs", ("epochs",)),
)


def axis(main: Mapping, other: Mapping) -> str | None:
    """The one setting (:data:`AXES`) in which regime ``other`` differs from ``main`` (both as
    :func:`dark.analysis.report.regime.regime` writes them), or None when they differ in none or in more.

    >>> base = {"heatmap": [20, 40], "input": [80, 160], "stride": 8, "precision": "bf16", "batch": 16}
    >>> axis(base, base | {"batch": 24}), axis(base, base | {"heatmap": [10, 20], "input": [40, 80]})
    ('batch', 'resolution')
    >>> axis(base, base | {"batch": 24, "precision": "fp32"}) is None
    True
    """
    differ = [name for name, keys in AXES if any(main.get(k) != other.get(k) for k in keys)]
    return differ[0] if len(differ) == 1 else None


def _rows(e: Endpoint, model: str, by_cell: Mapping, seeds: Sequence[int] | None, a: Analysis, **kw) -> dict:
    """One secondary row (:func:`dark.analysis.report.claims.endpoint_row`) of endpoint ``e`` on
    ``by_cell``, on the runs of ``seeds`` (None: all)."""
    est = endpoint_estimate(e, model, by_cell, seeds=seeds, **kw)
    row = endpoint_row(e, model, est, a, primary=False)
    return row if seeds is None else {**row, "seeds": sorted(int(s) for s in seeds)}


def _analysis(by_cell: Mapping[tuple[str, str], list[RunRecord]], clusters) -> Analysis:
    """A bare :class:`Analysis` of ``by_cell`` (no estimates): what a row needs to describe its runs."""
    settings = {"clusters": clusters is not None, "unit": "clip" if clusters is not None else "frame"}
    return Analysis(dict(by_cell), {}, {}, {}, settings)


def null_rows(a: Analysis, **kw) -> list[dict]:
    """Every quantised cell of ``a`` against the placebo cell of its model: ``placebo - q`` on DARK, per
    protocol, paired on the seeds the two cells share (positive: the quantiser costs more than the null).
    ``kw``: ``confidence``, ``n_resamples``, ``seed`` of the intervals (the clips of ``a``'s runs are the
    resampling unit, as in the analysis). ``[]`` without a placebo cell."""
    clusters = shared_clusters(a.records, "clips")
    out = []
    for model, q in a.cells:
        if q in ("unbiased", PLACEBO) or (model, PLACEBO) not in a.cells:
            continue
        shared = sorted({r.seed for r in a.cells[model, q]} & {r.seed for r in a.cells[model, PLACEBO]})
        for p in PROTOCOLS:
            e = Endpoint(2, p, f"{PLACEBO} - {q}", ("dark", "dark"), (PLACEBO, q))
            row = _rows(e, model, a.cells, shared or None, a, clusters=clusters, **kw)
            out.append({**row, "quantiser": q})
    return out


def crossed_rows(records: Sequence[RunRecord], **kw) -> list[dict]:
    """Claim 2 across regimes: each regime that differs from the main one in one setting (:func:`axis`) and
    trained a quantised cell of a model without that model's unbiased cell, against the main regime's
    unbiased cell, per protocol, on their shared seeds. Three rows per quantised cell and protocol, each
    with ``"quantiser"``, ``"axis"``, ``"setting"`` (the other regime's value of that axis) and ``"role"``:

    - ``"as run"``: main unbiased - the other regime's ``q`` (the report's batch confound: unbiased at 16
      against ceil at 24);
    - ``"within"``: main unbiased - main ``q`` on the same seeds (claim 2 at equal settings);
    - ``"setting"``: main ``q`` - the other regime's ``q`` (what the setting alone moves; ``as run`` minus
      ``within``).

    ``kw``: ``confidence``, ``n_resamples``, ``seed``. Raises like the analysis when the runs were not
    evaluated on the same test frames."""
    out = []
    for main_cells, by_cell, ax, setting in _other_regimes(records):
        for (model, q), rq in by_cell.items():
            if q == "unbiased" or (model, "unbiased") in by_cell or (model, "unbiased") not in main_cells:
                continue
            other = f"{q} at {ax} {setting}"
            rows = _crossed(main_cells, model, q, other, rq, kw)
            out += [{**row, "axis": ax, "setting": setting} for row in rows]
    return out


def _other_regimes(records: Sequence[RunRecord]):
    """``(main cells, cells, axis, setting)`` of every regime of ``records`` but the main one that differs
    from it in one setting (:func:`axis`; ``setting``: its value there), in :func:`split_regimes`' order."""
    groups = list(split_regimes(records).values())
    if len(groups) < 2:
        return
    main, main_cells = regime(groups[0]), cells(groups[0])
    for rs in groups[1:]:
        reg = regime(rs)
        ax = axis(main, reg)
        if ax is not None:
            yield main_cells, cells(rs), ax, reg[dict(AXES)[ax][0]]


def _crossed(
    main_cells: Mapping, model: str, q: str, other: str, rq: list[RunRecord], kw: dict
) -> list[dict]:
    """:func:`crossed_rows`' three rows per protocol for the quantised cell ``rq`` of another regime,
    named ``other`` in the comparisons (``"ceil at batch 24"``)."""
    both = {**main_cells, (model, other): rq}
    runs = [*main_cells.get((model, "unbiased"), []), *main_cells.get((model, q), []), *rq]
    check_paired(runs)
    clusters = shared_clusters(runs, "clips")
    seeds = sorted({r.seed for r in rq} & {r.seed for r in main_cells[model, "unbiased"]})
    if not seeds:
        return []
    a = _analysis(both, clusters)
    out = []
    for p in PROTOCOLS:
        for role, e in (
            ("as run", Endpoint(2, p, f"unbiased - {other}", ("dark", "dark"), ("unbiased", other))),
            ("within", claim2_endpoint(p, q)),
            ("setting", Endpoint(2, p, f"{q} - {other}", ("dark", "dark"), (q, other))),
        ):
            row = _rows(e, model, both, seeds, a, clusters=clusters, **kw)
            out.append({**row, "quantiser": q, "role": role})
    return out


def seed_matched_rows(records: Sequence[RunRecord], **kw) -> list[dict]:
    """Claim 2 of the main regime on the seeds of each other regime that trained its own claim-2 pairs:
    for every such regime (:func:`axis` not None) and model with an unbiased and a quantised cell there,
    the main regime's ``unbiased - q`` per protocol on the seeds both regimes' pairs share, with ``"axis"``,
    ``"setting"`` (the other regime's value) and ``"quantiser"``. The other regime's own estimate is its
    primary endpoint; this row is the main regime's beside it on the same seeds (secondary, no verdict).
    ``kw``: ``confidence``, ``n_resamples``, ``seed``."""
    out = []
    for main, by_cell, ax, setting in _other_regimes(records):
        for (model, q), rq in by_cell.items():
            if q in ("unbiased", PLACEBO) or (model, "unbiased") not in by_cell or (model, q) not in main:
                continue
            theirs = {r.seed for r in rq} & {r.seed for r in by_cell[model, "unbiased"]}
            mine = {r.seed for r in main[model, q]} & {r.seed for r in main.get((model, "unbiased"), [])}
            seeds = sorted(theirs & mine)
            if not seeds:
                continue
            runs = [r for c in ((model, "unbiased"), (model, q)) for r in main[c] if r.seed in seeds]
            check_paired(runs)
            clusters = shared_clusters(runs, "clips")
            a = _analysis(main, clusters)
            for p in PROTOCOLS:
                row = _rows(claim2_endpoint(p, q), model, main, seeds, a, clusters=clusters, **kw)
                out.append({**row, "quantiser": q, "axis": ax, "setting": setting})
    return out
