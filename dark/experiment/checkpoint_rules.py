"""Which checkpoint is evaluated, and the epochs the other checkpoint rules would have picked.

The evaluated checkpoint is the last epoch (:data:`CHECKPOINT`): the cosine schedule ends at zero, and
picking the best validation epoch on a small validation split adds noise (issue 19: one seed taken at epoch 5
inflated its cell's seed SD from ~0.4 to 2.3 points). The best epochs by our rule (validation PCKh@0.5 of
DARK: ``best.pt``) and by the report's (validation per-axis PCKh@0.1 x PCKh@0.5 of its DARK) are reported
beside it (:func:`epochs_by_rule`), never chosen silently. Evaluations written before this
(:func:`evaluated_checkpoint`) scored ``best.pt``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dark.design import protocols
from dark.experiment import runs

__all__ = ["CHECKPOINT", "LAST_EPOCH_FORMAT", "checkpoint_file", "epochs_by_rule", "evaluated_checkpoint"]

#: the checkpoint the test split is predicted with: the last epoch (``last.pt``; the cosine schedule ends
#: at zero), not the best validation epoch, which would pick on a small validation split and add noise
#: (issue 19); the best epochs by our rule and by the report's are reported beside it
#: (:func:`dark.experiment.evaluate.epochs_by_rule`), never chosen silently
CHECKPOINT = "last"


def checkpoint_file(which: str = CHECKPOINT) -> str:
    """The file name of checkpoint ``which`` (``"last"`` or ``"best"``) in a run directory.

    >>> checkpoint_file(), checkpoint_file("best")
    ('last.pt', 'best.pt')
    """
    if which not in ("last", "best"):
        raise ValueError(f"checkpoint must be 'last' or 'best', got {which!r}")
    return runs.LAST if which == "last" else runs.BEST


#: the first ``evaluation.json`` format (:data:`dark.experiment.evaluate.FORMAT`) that scored the last epoch
LAST_EPOCH_FORMAT = 3


def _first_best(history: Sequence[Mapping], value) -> int | None:
    """The first epoch with the highest ``value(record)`` (``None`` where no record has a value)."""
    scored = [(v, r["epoch"]) for r in history if (v := value(r)) is not None]
    return max(scored, key=lambda ve: ve[0])[1] if scored else None


def _report_dark(record: Mapping) -> dict:
    """The report protocol's DARK decoder's validation scores of one epoch (``{}`` without them)."""
    return record.get("val_decoders", {}).get(protocols.PROTOCOLS["report"].decoders["dark"], {})


def _report_score(record: Mapping) -> float | None:
    """The report's checkpoint rule: per-axis PCKh@0.1 times per-axis PCKh@0.5 of its DARK."""
    d = _report_dark(record)
    a, b = d.get("pckh_axis@0.1"), d.get("pckh_axis@0.5")
    return None if a is None or b is None else a * b


def epochs_by_rule(history: Sequence[Mapping], last: int | None = None) -> tuple[dict, dict]:
    """The epoch each checkpoint rule picks and the validation values at it: ``(epochs, values)``.

    Rules: ``"last"`` (what is evaluated: ``last``, default the history's last epoch), ``"ours"`` (the
    first epoch of the best validation PCKh@0.5 of DARK: what ``best.pt`` holds), ``"report"`` (the best
    validation per-axis PCKh@0.1 x PCKh@0.5 of the report protocol's DARK decoder, ``None`` where
    ``metrics.jsonl`` lacks them, as in runs trained before they were recorded). ``values``: rule ->
    ``{"pckh@0.5": DARK's, "pckh_axis@0.1", "pckh_axis@0.5": the report protocol's DARK's,
    "report_score": their product}`` at that epoch (``None`` where unknown).

    >>> h = [{"epoch": 1, "val_pckh@0.5": 60.0}, {"epoch": 2, "val_pckh@0.5": 70.0},
    ...      {"epoch": 3, "val_pckh@0.5": 70.0}]
    >>> epochs_by_rule(h)[0]
    {'last': 3, 'ours': 2, 'report': None}
    """
    last = history[-1]["epoch"] if last is None and history else last
    epochs = {
        "last": last,
        "ours": _first_best(history, lambda r: r.get("val_pckh@0.5")),
        "report": _first_best(history, _report_score),
    }
    by_epoch = {r["epoch"]: r for r in history}
    values = {}
    for rule, e in epochs.items():
        r = by_epoch.get(e)
        values[rule] = None if r is None else {
            "pckh@0.5": r.get("val_pckh@0.5"),
            "pckh_axis@0.1": _report_dark(r).get("pckh_axis@0.1"),
            "pckh_axis@0.5": _report_dark(r).get("pckh_axis@0.5"),
            "report_score": _report_score(r),
        }  # fmt: skip
    return epochs, values


def evaluated_checkpoint(evaluation: Mapping) -> str:
    """Which checkpoint an ``evaluation.json`` scored: ``"last"``, or ``"best"`` for evaluations of an
    older format than 3 (:data:`dark.experiment.evaluate.FORMAT`; they predicted with ``best.pt``).

    >>> evaluated_checkpoint({"format": 2, "run": {}})
    'best'
    >>> evaluated_checkpoint({"format": 3, "run": {"checkpoint": "last"}})
    'last'

    """
    if evaluation.get("format", 0) < LAST_EPOCH_FORMAT:
        return "best"
    return evaluation.get("run", {}).get("checkpoint", CHECKPOINT)
