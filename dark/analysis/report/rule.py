"""The decision rule: the words of a claim's verdict, from its primary endpoints' verdicts.

Each endpoint's word has its own rule (:func:`dark.analysis.report.endpoints.endpoint_verdict`); a claim's
verdict is derived from its endpoints' words by :func:`claim_verdict`. :data:`DECISION_RULE` states both
for the book, :data:`FAMILY` what each claim's family of endpoints (corrected together, Holm) holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .endpoints import CONTRADICTED, INCONCLUSIVE, NOT_REPRODUCED, ONE_TRAINING_NOTE, REPRODUCED

__all__ = ["DECISION_RULE", "FAMILY", "NOT_EVALUATED", "claim_verdict"]

#: the decision rule in one paragraph, for the book (the module docstring has the reasoning)
DECISION_RULE: str = (
    "Each claim is judged on its primary endpoints, fixed in the code before the record's runs: claim 1, "
    "DARK - Standard and DARK - ArgMax on PCKh@0.1 within each training with unbiased targets, over the "
    "seeds; claim 2, unbiased - ceil (the report's code's w/ quant) on DARK's PCKh@0.1, paired by seed; one "
    "line per model and scoring protocol (the standard one and the report's code). Each claim's endpoints, "
    "both models and both protocols, form one family, and Holm's step-down correction keeps the chance of "
    "any false finding in the family at 5%. An endpoint is **reproduced** when its Holm-adjusted p-value is "
    "below 0.05 with the estimate in the claimed direction (its interval at its Holm level excludes 0), "
    "**contradicted** when the same holds in the other direction, **not reproduced: the report's effect is "
    "excluded; sign undetermined** when 0 is not excluded but that adjusted interval lies below the "
    "report's effect, **inconclusive (underpowered)** when none holds and the smallest effect the design "
    "detects with 80% power (MDE) exceeds the report's effect, and **inconclusive** otherwise. Words about "
    "size (smaller or larger than reported) are used only at the report's heatmap size: effects shrink "
    "as heatmaps grow, so elsewhere the verdict names its regime and leaves sizes uncompared. A claim is "
    "**reproduced** when all its endpoints are, **partly reproduced** when some are, **contradicted** when "
    "some endpoint is contradicted and none reproduced, **not reproduced** when none is reproduced or "
    "contradicted and some excludes the report's effect, and **inconclusive** otherwise; a verdict that "
    "rests on one training per cell says so. Intervals "
    "resample test clips and seeds; every other comparison is secondary: an estimate with its interval, "
    "no verdict."
)

NOT_EVALUATED = "not evaluated (no runs)"
#: what each claim's family of primary endpoints holds
FAMILY: dict[int, str] = {
    1: "DARK - Standard and DARK - ArgMax, both models, both protocols",
    2: "unbiased - ceil, both models, both protocols",
}


def claim_verdict(rows: Sequence[Mapping]) -> str:
    """One verdict for a claim from its endpoints' verdicts (the rule of :data:`DECISION_RULE`); it carries
    the one-training limit (:data:`~dark.analysis.report.endpoints.ONE_TRAINING_NOTE`) when an endpoint
    it counts rests on one training per cell.

    >>> claim_verdict([{"estimate": 1.0, "verdict": "reproduced" + ONE_TRAINING_NOTE}, {"estimate": 0.1,
    ...                 "verdict": "inconclusive" + ONE_TRAINING_NOTE}])
    'partly reproduced (1 of 2 endpoints) (test frames only: one training per cell)'
    """
    words = [str(r["verdict"]) for r in rows if r.get("estimate") is not None]
    if not words:
        return NOT_EVALUATED
    limit = ONE_TRAINING_NOTE if any(w.endswith(ONE_TRAINING_NOTE) for w in words) else ""
    return _words(words) + limit


def _words(words: Sequence[str]) -> str:
    """The claim's words from its endpoints' words, by :data:`DECISION_RULE` (without the limit)."""
    n = len(words)
    rep = sum(w.startswith(REPRODUCED) for w in words)
    con = sum(w.startswith(CONTRADICTED) for w in words)
    out = sum(w.startswith(NOT_REPRODUCED) for w in words)
    if rep == n:
        return REPRODUCED
    if rep:
        return f"partly reproduced ({rep} of {n} endpoints)" + (f"; {con} contradicted" if con else "")
    if con:
        return CONTRADICTED
    if out:
        return "not reproduced"
    return INCONCLUSIVE
