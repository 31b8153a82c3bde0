"""The shift-only counterfactual: how much of ``unbiased - e`` a constant shift of the predictions explains.

Per model, encoding ``e != "unbiased"``, protocol (:data:`dark.analysis.protocols.PROTOCOLS`) and Table 2 row
(decoder): the unbiased runs' test predictions are shifted by ``mean bias of e - mean bias of unbiased``
(per axis, for that decoder, each cell's bias the mean over its runs of the signed error ``pred - gt``
over visible joints, input px) and re-scored. ``expected cost = metric(unbiased) - metric(shifted)``
(means over the unbiased runs) is what the bias alone would cost; beside it the ``observed`` difference
``metric(unbiased) - metric(e)`` (means over each cell's runs). A per-axis prediction mask
(``pred_visible``, the report's heatmap visibility rule) is kept as predicted: the shift moves the
coordinates, not the heatmaps the mask was read from. Runs without ``predictions_test.npz`` cannot
enter; :func:`counterfactual` names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dark import metrics
from dark.analysis.protocols import PROTOCOLS, Protocol
from dark.experiment import runs

from .load import RunRecord, cells

__all__ = [
    "COUNTERFACTUAL_COLUMNS",
    "counterfactual",
    "counterfactual_display",
    "decoder_predictions",
    "mean_bias",
    "scores",
]

COUNTERFACTUAL_COLUMNS = [
    "model", "encoding", "protocol", "role", "decoder", "metric", "shift_x", "shift_y", "unbiased",
    "shifted", "expected_cost", "observed", "n_unbiased", "n_encoding",
]  # fmt: skip


def decoder_predictions(pred: Mapping[str, np.ndarray], decoder: str) -> dict[str, np.ndarray] | None:
    """One decoder's coordinates ``(N, K, 2)`` and its per-decoder extras from a predictions file."""
    names = [str(d) for d in pred["decoders"].tolist()]
    if decoder not in names:
        return None
    i = names.index(decoder)
    out = {"pred": np.asarray(pred["coords"][i], dtype=np.float64)}
    if "pred_visible" in pred:
        out["pred_visible"] = np.asarray(pred["pred_visible"][i])
    return out


def mean_bias(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``(2,)`` mean signed error ``pred - gt`` (x, y) over visible joints, input px.

    >>> mean_bias(np.ones((1, 2, 2)), np.zeros((1, 2, 2)), np.array([[True, False]])).tolist()
    [1.0, 1.0]
    """
    return np.asarray(metrics.bias(pred, gt, visible), dtype=np.float64)


def scores(pred: Mapping[str, np.ndarray], decoder: str, metric_names: Sequence[str], shift=(0.0, 0.0)):
    """``{metric: value}`` of one decoder's predictions shifted by ``shift`` (x, y input px), or ``None``
    where the file lacks the decoder; a metric whose inputs the file lacks is NaN."""
    d = decoder_predictions(pred, decoder)
    if d is None:
        return None
    shifted = d.pop("pred") + np.asarray(shift, dtype=np.float64)
    out = {}
    for m in metric_names:
        try:
            frames = metrics.Frames.of(shifted, pred["gt"], pred["visible"], pred["head_size"], **d)
            out[m] = metrics.score(m, frames)
        except (KeyError, ValueError, TypeError):  # a metric this file (or the table) cannot score
            out[m] = float("nan")
    return out


def _cell_rows(model, encoding, unbiased, other, protocol: Protocol) -> list[dict]:
    """The counterfactual rows of one (model, encoding) against the unbiased cell under ``protocol``."""
    rows = []
    for role, decoder in protocol.decoders.items():
        parts_u = [(p, decoder_predictions(p, decoder)) for p in unbiased]
        parts_e = [(p, decoder_predictions(p, decoder)) for p in other]
        if any(d is None for _, d in parts_u + parts_e):
            continue
        bias_u = np.mean([mean_bias(d["pred"], p["gt"], p["visible"]) for p, d in parts_u], axis=0)
        bias_e = np.mean([mean_bias(d["pred"], p["gt"], p["visible"]) for p, d in parts_e], axis=0)
        shift = bias_e - bias_u
        base = [scores(p, decoder, protocol.metrics) for p in unbiased]
        moved = [scores(p, decoder, protocol.metrics, shift) for p in unbiased]
        seen = [scores(p, decoder, protocol.metrics) for p in other]
        for m in protocol.metrics:
            u, s, o = (float(np.mean([x[m] for x in xs])) for xs in (base, moved, seen))
            rows.append({
                "model": model, "encoding": encoding, "protocol": protocol.name, "role": role,
                "decoder": decoder, "metric": m, "shift_x": float(shift[0]), "shift_y": float(shift[1]),
                "unbiased": u, "shifted": s, "expected_cost": u - s, "observed": u - o,
                "n_unbiased": len(unbiased), "n_encoding": len(other),
            })  # fmt: skip
    return rows


def counterfactual(
    records: Sequence[RunRecord], protocols: Mapping[str, Protocol] = PROTOCOLS
) -> tuple[pd.DataFrame, list[str]]:
    """The shift-only counterfactual of every encoding against unbiased, per model, protocol and Table 2
    row: ``(rows, missing)``, rows with :data:`COUNTERFACTUAL_COLUMNS` (metrics in the protocol's units;
    a metric the predictions cannot score is NaN), ``missing`` the runs without a predictions file."""
    missing, loaded = [], {}
    for r in records:
        try:
            loaded[r.path] = runs.load_predictions(r.path)
        except FileNotFoundError:
            missing.append(str(r.path))
    by_cell = {k: [loaded[r.path] for r in rs if r.path in loaded] for k, rs in cells(records).items()}
    rows = []
    for (model, encoding), other in by_cell.items():
        unbiased = by_cell.get((model, "unbiased"), [])
        if encoding == "unbiased" or not unbiased or not other:
            continue
        for protocol in protocols.values():
            rows += _cell_rows(model, encoding, unbiased, other, protocol)
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS), missing


def counterfactual_display(cf: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The rows of :func:`counterfactual` a page shows: each protocol's primary metric, with the shift
    (input px), the expected cost and the observed difference (points), indexed by model, encoding and
    protocol."""
    primary = [p.primary_metric for p in PROTOCOLS.values()]
    shown = cf[cf.metric.isin(primary)]
    columns = ["model", "encoding", "protocol", "decoder", "shift_x", "shift_y", "expected_cost", "observed"]
    return shown[columns].round(digits).set_index(["model", "encoding", "protocol"])
