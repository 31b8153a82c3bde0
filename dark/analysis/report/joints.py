"""The bias per joint: what a cell's mean signed error is made of.

A cell's mean bias (:func:`dark.analysis.report.bias_table`) averages joints whose own systematic errors
can differ by pixels: a trained model may place some joints consistently to one side of their ground truth.
Per cell ``(model, encoding)`` and joint, :func:`joint_bias` is the signed mean error ``pred - gt`` (x, y;
input px) of one decoder over each run's visible test joints (``predictions_test.npz``,
:func:`dark.metrics.bias`), then its mean and standard deviation over the cell's runs. A quantiser's own
shift shows as the difference between a quantised cell and the unbiased one, joint by joint
(:func:`joint_shifts`): a constant shift moves every joint alike, a model's systematic error does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dark import metrics
from dark.design.skeleton import JOINTS_18
from dark.experiment import runs

from .counterfactual import decoder_predictions
from .labels import display_name, encoding_label
from .load import RunRecord, cells

JOINT_BIAS_COLUMNS = ["model", "encoding", "joint", "bias_x", "bias_y", "sd_x", "sd_y", "runs"]


def _per_joint(pred: dict[str, np.ndarray], decoder: str) -> np.ndarray | None:
    """``(K, 2)`` signed mean error per joint of ``decoder`` in one predictions file (None: no decoder)."""
    d = decoder_predictions(pred, decoder)
    if d is None:
        return None
    coords, gt, visible = d["pred"], pred["gt"], pred["visible"]
    return np.stack([metrics.bias(coords[:, [k]], gt[:, [k]], visible[:, [k]]) for k in range(gt.shape[1])])


def joint_bias(records: Sequence[RunRecord], decoder: str = "dark") -> pd.DataFrame:
    """One row per cell and joint (:data:`JOINT_BIAS_COLUMNS`): the mean over the cell's runs of each run's
    signed mean error of ``decoder`` at that joint (``bias_x``, ``bias_y``, input px), its standard
    deviation over the runs (``sd_x``, ``sd_y``; NaN with one run) and how many runs it covers. Runs without
    test predictions, or without the decoder, are left out; a cell without any has no rows."""
    rows = []
    for (model, encoding), rs in cells(records).items():
        found = []
        for r in rs:
            try:
                b = _per_joint(runs.load_predictions(r.path), decoder)
            except FileNotFoundError:
                continue
            if b is not None:
                found.append(b)
        if not found:
            continue
        b = np.stack(found)  # (runs, K, 2)
        sd = b.std(axis=0, ddof=1) if len(b) > 1 else np.full(b.shape[1:], np.nan)
        names = JOINTS_18 if b.shape[1] == len(JOINTS_18) else [f"joint {k}" for k in range(b.shape[1])]
        for k, joint in enumerate(names):
            rows.append([model, encoding, joint, *b.mean(axis=0)[k], *sd[k], len(b)])
    return pd.DataFrame(rows, columns=JOINT_BIAS_COLUMNS)


def joint_shifts(bias: pd.DataFrame, reference: str = "unbiased") -> pd.DataFrame:
    """Per model and encoding other than ``reference``, joint by joint: that cell's bias minus the
    reference cell's (x, y, input px), from :func:`joint_bias`'s rows. Columns ``model, encoding, joint,
    shift_x, shift_y``."""
    ref = bias[bias.encoding == reference][["model", "joint", "bias_x", "bias_y"]]
    m = bias[bias.encoding != reference].merge(ref, on=["model", "joint"], suffixes=("", "_ref"))
    m["shift_x"], m["shift_y"] = m.bias_x - m.bias_x_ref, m.bias_y - m.bias_y_ref
    return m[["model", "encoding", "joint", "shift_x", "shift_y"]].reset_index(drop=True)


def joint_bias_text(bias: pd.DataFrame, digits: int = 2) -> str:
    """Markdown bullets from :func:`joint_bias`'s rows: per cell, the range of its joints' mean x and y
    errors (with the joints at the ends) beside the cell's mean over joints; per quantised cell, the range
    of its shift from the unbiased cell over the joints (:func:`joint_shifts`)."""
    lines = []
    shifts = joint_shifts(bias)
    for (model, encoding), sub in bias.groupby(["model", "encoding"], sort=False):
        parts = []
        for axis in "xy":
            col = sub[f"bias_{axis}"]
            lo, hi = sub.joint[col.idxmin()], sub.joint[col.idxmax()]
            parts.append(
                f"{axis} from {col.min():+.{digits}f} ({lo}) to {col.max():+.{digits}f} ({hi}), mean over "
                f"joints {col.mean():+.{digits}f}"
            )
        head = f"- {display_name(model, encoding)}, {int(sub.runs.iloc[0])} runs, input px: "
        line = head + "; ".join(parts)
        s = shifts[(shifts.model == model) & (shifts.encoding == encoding)]
        if len(s):
            line += f". Minus {encoding_label('unbiased')}, joint by joint: " + "; ".join(
                f"{axis} {s[f'shift_{axis}'].min():+.{digits}f} to {s[f'shift_{axis}'].max():+.{digits}f}"
                f" (mean {s[f'shift_{axis}'].mean():+.{digits}f})"
                for axis in "xy"
            )
        lines.append(line + ".")
    return "\n".join(lines)
