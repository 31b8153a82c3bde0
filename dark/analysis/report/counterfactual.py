"""The shift-only counterfactual: how much of ``unbiased - e`` a constant shift of the predictions explains.

Per model, encoding ``e != "unbiased"``, protocol (:data:`dark.design.protocols.PROTOCOLS`) and Table 2 row
(decoder): the unbiased runs' test predictions are shifted by ``mean bias of e - mean bias of unbiased``
(per axis, for that decoder, each cell's bias the mean over its runs of the signed error ``pred - gt``
over visible joints, input px) and re-scored. ``expected cost = metric(unbiased) - metric(shifted)``
(means over the unbiased runs) is what the bias alone would cost; beside it the ``observed`` difference
``metric(unbiased) - metric(e)`` (means over each cell's runs), and what the shift leaves ``unexplained``
(observed - expected), both with 95% intervals over seeds and test clips (:func:`shift_estimates`). A
per-axis prediction mask (``pred_visible``, the report's heatmap visibility rule) is kept as predicted:
the shift moves the coordinates, not the heatmaps the mask was read from. Runs without
``predictions_test.npz`` cannot enter; :func:`counterfactual` names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from dark import metrics
from dark.design.protocols import PROTOCOLS, Protocol
from dark.experiment import runs

from .labels import decoder_label, interval_text
from .load import RunRecord, cells
from .load import test_clips as clips_of  # (not "test_": pytest would collect it)

__all__ = [
    "COUNTERFACTUAL_COLUMNS",
    "counterfactual",
    "counterfactual_display",
    "decoder_predictions",
    "mean_bias",
    "scores",
    "shift_estimates",
]

COUNTERFACTUAL_COLUMNS = [
    "model", "encoding", "protocol", "role", "decoder", "metric", "shift_x", "shift_y", "unbiased",
    "shifted", "expected_cost", "expected_low", "expected_high", "observed", "unexplained", "unexplained_low",
    "unexplained_high", "paired", "clips", "n_unbiased", "n_encoding",
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


#: the step (input px) of the central difference that linearises the expected cost in the shift
GRADIENT_STEP = 0.1
_BIAS = ("bias_x", "bias_y")


def _sums(pred: Mapping[str, np.ndarray], decoder: str, names: Sequence[str], shift=(0.0, 0.0)) -> np.ndarray:
    """``(G, C)`` frame sums (:func:`dark.metrics.frame_sums`, columns of ``names``) of one decoder's
    predictions shifted by ``shift`` (x, y input px), merged per frame group (``groups`` of the file)."""
    d = decoder_predictions(pred, decoder)
    moved = d.pop("pred") + np.asarray(shift, dtype=np.float64)
    groups = pred["groups"] if "groups" in pred else None
    return metrics.frame_sums(moved, pred["gt"], pred["visible"], pred["head_size"], list(names), groups, **d)


def _scorable(pred: Mapping[str, np.ndarray], decoder: str, names: Sequence[str]) -> list[str]:
    """The metrics of ``names`` the file can score (a per-axis PCKh needs ``pred_visible``, ...)."""
    ok = []
    for m in names:
        try:
            _sums(pred, decoder, [m])
            ok.append(m)
        except (KeyError, ValueError, TypeError):
            pass
    return ok


def shift_estimates(
    unbiased: Sequence[Mapping[str, np.ndarray]],
    other: Sequence[Mapping[str, np.ndarray]],
    decoder: str,
    metric_names: Sequence[str],
    *,
    paired: bool = False,
    clusters=None,
    step: float = GRADIENT_STEP,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, dict]]:
    """The shift-only counterfactual of one decoder with two-level intervals: ``(shift, {metric: row})``.

    Args:
        unbiased, other: the predictions files (:func:`dark.experiment.runs.load_predictions`) of the
            unbiased cell's runs and of the quantised cell's, all on the same test frames; with
            ``paired``, run ``i`` of both cells shares seed ``i``.
        clusters: ``(G,)`` the test clip of each frame group (sorted ``groups`` labels): the bootstrap
            resamples clips; None resamples frame groups.
        step: the central difference's step (input px) for the expected cost's slope in the shift.

    ``shift`` ``(2,)``: mean bias (x, y, input px) of ``other`` minus that of ``unbiased`` (each cell's
    mean over its runs). Each row: ``unbiased``, ``shifted``, ``observed`` (``mean(unbiased) -
    mean(other)``), ``expected`` and ``unexplained`` (:class:`dark.metrics.Estimate`, the metric's units).

    ``expected = C(s) = mean_i [m(u_i) - m(u_i + s)]`` is a smooth function of the estimated shift ``s``,
    which is itself a difference of the cells' mean biases, so its interval linearises it in ``s``:
    ``C(s) + g . (b_other - b_unbiased - s)`` with ``g`` the slope of ``C`` at ``s`` (central difference,
    per axis), a linear combination of metrics within each run, over the two cells
    (:func:`dark.metrics.cells_combination`: paired by seed, or Welch, and the clips resampled once for
    every run). The seed level thus sees the runs' spread in both the cost and the bias, the test set
    its clips. ``unexplained = observed - expected`` is the same linear combination, per run
    ``m(u_i + s) - m(o_i) + g . (b_unbiased - b_other + s)``.
    """
    if not unbiased or not other:
        raise ValueError("shift_estimates needs runs of both cells")
    names = _scorable(unbiased[0], decoder, metric_names)
    every = [*names, *_BIAS]
    columns = metrics.frame_sum_columns(every)
    su = [_sums(p, decoder, every) for p in unbiased]
    so = [_sums(p, decoder, every) for p in other]

    def mean_of(tables, m):
        return float(np.mean([metrics.from_sums(t.sum(0), [m], columns)[0] for t in tables]))

    shift = np.array([mean_of(so, b) - mean_of(su, b) for b in _BIAS])
    ss = [_sums(p, decoder, every, shift) for p in unbiased]
    moved = {
        (axis, sign): [_sums(p, decoder, names, shift + sign * step * np.eye(2)[axis]) for p in unbiased]
        for axis in (0, 1)
        for sign in (1, -1)
    }
    kw = {"paired": paired, "clusters": clusters, "n_resamples": n_resamples, "seed": seed}
    names_cols = metrics.frame_sum_columns(names)
    rows = {}
    for m in names:
        u, s, o = mean_of(su, m), mean_of(ss, m), mean_of(so, m)
        # the slope of C(s) = u - m(u + s): minus that of the shifted score, per axis
        at = {
            k: np.mean([metrics.from_sums(t.sum(0), [m], names_cols)[0] for t in v]) for k, v in moved.items()
        }
        g = [-(at[(a, 1)] - at[(a, -1)]) / (2 * step) for a in (0, 1)]
        gs = float(np.dot(g, shift))
        expected = metrics.cells_combination(
            [
                [(1.0, su, m), (-1.0, ss, m), (-g[0], su, "bias_x"), (-g[1], su, "bias_y")],
                [(g[0], so, "bias_x"), (g[1], so, "bias_y")],
            ],
            columns,
            **kw,
        )
        unexplained = metrics.cells_combination(
            [
                [(1.0, ss, m), (g[0], su, "bias_x"), (g[1], su, "bias_y")],
                [(-1.0, so, m), (-g[0], so, "bias_x"), (-g[1], so, "bias_y")],
            ],
            columns,
            **kw,
        )
        rows[m] = {
            "unbiased": u, "shifted": s, "observed": u - o, "slope": (float(g[0]), float(g[1])),
            "expected": _offset(expected, -gs), "unexplained": _offset(unexplained, gs),
        }  # fmt: skip
    return shift, rows


def _offset(e: metrics.Estimate, c: float) -> metrics.Estimate:
    """``e + c`` for a constant ``c``: the value, the interval and the per-run values moved together."""
    return replace(
        e, value=e.value + c, low=e.low + c, high=e.high + c, seeds=tuple(x + c for x in e.seeds)
    )  # fmt: skip


def _test_clips(record: RunRecord, pred: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """``(G,)`` the test clip of each frame group of a predictions file (its sorted ``groups``): the
    record's clips where its frame groups are the file's, else from the file's placement clusters; None
    without either (frame groups are resampled)."""
    labels = np.unique(pred["groups"]) if "groups" in pred else None
    clips = getattr(record, "clips", None)
    if labels is not None and clips is not None and np.array_equal(record.groups, labels):
        return np.asarray(clips)
    if labels is None or "clusters" not in pred:
        return None
    _, first = np.unique(pred["groups"], return_index=True)
    return clips_of(np.asarray(pred["clusters"])[first], record.evaluation)


def _cell_rows(model, encoding, unbiased, other, protocol: Protocol, n_resamples: int = 2000) -> list[dict]:
    """The counterfactual rows of one (model, encoding) against the unbiased cell under ``protocol``:
    ``unbiased``/``other`` are ``[(record, predictions)]``."""
    pu, po = [p for _, p in unbiased], [p for _, p in other]
    groups = [np.unique(p["groups"]) if "groups" in p else None for p in pu + po]
    if any(g is None for g in groups) or any(not np.array_equal(g, groups[0]) for g in groups):
        if any(g is not None for g in groups):
            raise ValueError(f"the runs of {model} were not evaluated on the same test frames")
    clips = _test_clips(*unbiased[0])
    seeds_u, seeds_o = [r.seed for r, _ in unbiased], [r.seed for r, _ in other]
    paired = len(seeds_u) == len(set(seeds_u)) and sorted(seeds_u) == sorted(seeds_o)
    if paired:
        po = [po[seeds_o.index(s)] for s in seeds_u]
    rows = []
    for role, decoder in protocol.decoders.items():
        if any(decoder_predictions(p, decoder) is None for p in pu + po):
            continue
        shift, est = shift_estimates(
            pu, po, decoder, protocol.metrics, paired=paired, clusters=clips, n_resamples=n_resamples
        )
        for m in protocol.metrics:
            r = est.get(m)
            nan = float("nan")
            e, x = (r["expected"], r["unexplained"]) if r else (None, None)
            rows.append({
                "model": model, "encoding": encoding, "protocol": protocol.name, "role": role,
                "decoder": decoder, "metric": m, "shift_x": float(shift[0]), "shift_y": float(shift[1]),
                "unbiased": r["unbiased"] if r else nan, "shifted": r["shifted"] if r else nan,
                "expected_cost": e.value if e else nan, "expected_low": e.low if e else nan,
                "expected_high": e.high if e else nan, "observed": r["observed"] if r else nan,
                "unexplained": x.value if x else nan, "unexplained_low": x.low if x else nan,
                "unexplained_high": x.high if x else nan, "paired": paired,
                "clips": 0 if clips is None else len(np.unique(clips)),
                "n_unbiased": len(unbiased), "n_encoding": len(other),
            })  # fmt: skip
    return rows


def counterfactual(
    records: Sequence[RunRecord], protocols: Mapping[str, Protocol] = PROTOCOLS, *, n_resamples: int = 2000
) -> tuple[pd.DataFrame, list[str]]:
    """The shift-only counterfactual of every encoding against unbiased, per model, protocol and Table 2
    row: ``(rows, missing)``, rows with :data:`COUNTERFACTUAL_COLUMNS` (metrics in the protocol's units;
    a metric the predictions cannot score is NaN), ``missing`` the runs without a predictions file.

    The expected cost and the unexplained rest (observed - expected) carry 95% intervals
    (:func:`shift_estimates`: seeds, paired by seed where the two cells hold the same seeds (``paired``),
    and test clips (``clips``: how many; 0 where the runs carry none and frame groups are resampled))."""
    missing, loaded = [], {}
    for r in records:
        try:
            loaded[r.path] = runs.load_predictions(r.path)
        except FileNotFoundError:
            missing.append(str(r.path))
    by_cell = {k: [(r, loaded[r.path]) for r in rs if r.path in loaded] for k, rs in cells(records).items()}
    rows = []
    for (model, encoding), other in by_cell.items():
        unbiased = by_cell.get((model, "unbiased"), [])
        if encoding == "unbiased" or not unbiased or not other:
            continue
        for protocol in protocols.values():
            rows += _cell_rows(model, encoding, unbiased, other, protocol, n_resamples)
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS), missing


def counterfactual_display(cf: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The rows of :func:`counterfactual` a page shows: each protocol's primary metric, with the shift
    (input px), the expected cost with its 95% interval, the observed difference, and what the shift
    leaves (observed - expected) with its interval (points), indexed by model, encoding and protocol."""
    primary = [p.primary_metric for p in PROTOCOLS.values()]
    shown = cf[cf.metric.isin(primary)].copy()

    def iv(v, lo, hi):
        return [
            interval_text(a, b, c, digits) for a, b, c in zip(shown[v], shown[lo], shown[hi], strict=True)
        ]

    shown["expected [95% CI]"] = iv("expected_cost", "expected_low", "expected_high")
    shown["observed - expected [95% CI]"] = iv("unexplained", "unexplained_low", "unexplained_high")
    shown["decoder"] = [decoder_label(d) for d in shown["decoder"]]
    columns = ["model", "encoding", "protocol", "decoder", "shift_x", "shift_y", "expected [95% CI]",
               "observed", "observed - expected [95% CI]"]  # fmt: skip
    return shown[columns].round(digits).set_index(["model", "encoding", "protocol"])
