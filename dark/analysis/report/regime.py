"""The regime a verdict was obtained in: heatmap and input size, epochs, precision, batch and data.

Decoder and encoder effects shrink as heatmaps grow (the field measured 2-3x per doubling of heatmap size;
the method page cites the tables), so an effect's size is comparable with the report's only at the report's
heatmap size (:data:`dark.design.paper.REPORT_REGIME`). :func:`regime` reads a set of runs' regime from
their configurations and evaluations; :func:`comparable` says whether size words ("smaller / larger than
reported") may be used; :func:`regime_text` is the phrase every verdict carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dark.design import paper

from .load import RunRecord

__all__ = ["comparable", "main_regime", "regime", "regime_key", "regime_text", "split_regimes"]


def _size(v) -> tuple[int, int] | None:
    return (int(v[0]), int(v[1])) if v is not None and len(v) == 2 else None


def regime_key(r: RunRecord) -> tuple:
    """What makes two runs' effects comparable: ``(heatmap, input, epochs, precision, batch)``."""
    c = r.config
    return (
        _size(c.get("heatmap_size")), _size(c.get("input_size")), c.get("epochs"),
        c.get("precision"), c.get("batch_size"),
    )  # fmt: skip


def split_regimes(records: Sequence[RunRecord]) -> dict[tuple, list[RunRecord]]:
    """The runs grouped by :func:`regime_key`, the regime with the most runs first (a record's main
    regime; the others are analysed on their own)."""
    out: dict[tuple, list[RunRecord]] = {}
    for r in records:
        out.setdefault(regime_key(r), []).append(r)
    return dict(sorted(out.items(), key=lambda kv: -len(kv[1])))


def main_regime(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs of the record's main regime (the one with the most runs, :func:`split_regimes`): what the
    verdicts, and every page that reads a record's runs, rest on."""
    return next(iter(split_regimes(records).values()), [])


def regime(records: Sequence[RunRecord]) -> dict:
    """The regime of ``records`` as plain JSON: ``heatmap`` and ``input`` ``[H, W]``, ``epochs``,
    ``precision``, ``batch``, ``data`` (source and training views) and ``models`` (each model's
    configuration name). A value on which the runs differ is the list of their values."""

    def one(values):
        vals = list(dict.fromkeys(tuple(v) if isinstance(v, list) else v for v in values))
        vals = [list(v) if isinstance(v, tuple) else v for v in vals]
        return vals[0] if len(vals) == 1 else vals

    cfg = [r.config for r in records]
    data = [r.evaluation.get("data", {}) for r in records]
    source = one(
        "HUMAN4D" if "rendered" not in str(d.get("source", "rendered")) else "rendered" for d in data
    )
    views = one(c.get("n_train") for c in cfg)
    return {
        "heatmap": one(list(c.get("heatmap_size") or ()) for c in cfg),
        "input": one(list(c.get("input_size") or ()) for c in cfg),
        "epochs": one(c.get("epochs") for c in cfg),
        "precision": one(c.get("precision") for c in cfg),
        "batch": one(c.get("batch_size") for c in cfg),
        "stride": one(c.get("heatmap_stride") for c in cfg),
        "data": f"{source}, {views:,} training views" if isinstance(views, int) else source,
        "models": {m: one(c.get("model_config") for c in cfg if c.get("model") == m)
                   for m in dict.fromkeys(c.get("model") for c in cfg)},
    }  # fmt: skip


def comparable(reg: Mapping) -> bool:
    """Whether effect sizes of regime ``reg`` compare with the report's: the report's heatmap size."""
    h = reg.get("heatmap")
    return h is not None and tuple(h) == tuple(paper.REPORT_REGIME["heatmap"])


def _hw(v) -> str:
    return " x ".join(str(int(x)) for x in v) if v and not isinstance(v[0], (list, tuple)) else "mixed"


def regime_text(reg: Mapping) -> str:
    """``"heatmaps 20 x 40, 8 epochs, batch 16, bf16, rendered, 6,000 training views"`` (H x W)."""
    return (
        f"heatmaps {_hw(reg.get('heatmap'))}, {reg.get('epochs')} epochs, batch {reg.get('batch')}, "
        f"{reg.get('precision')}, {reg.get('data')}"
    )
