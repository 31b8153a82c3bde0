"""``predictions_test.npz``: every decoder's test coordinates of one run, stored compactly.

A recorded run keeps its test predictions so that any metric can be recomputed without retraining
(:mod:`dark.record`); with every decoder of :data:`dark.codecs.DECODERS` that is ``D x N x K x 2``
coordinates per run, so they are stored as their *errors from the ground truth* on a fixed grid of
``1 / 1024`` input px (:data:`STEP`): ``int32`` in a compressed ``npz``. The stored error is rounded
to the grid, so the coordinates come back within half a step (0.0005 px, under the 1e-3 px the record
promises) plus float32's rounding of the coordinate itself. Errors in float16 would not do: float16
spaces its values 2^-9 px apart from 4 px on and 2^-6 px from 32 px (a decoder 40 px off is not rare
after a short training), so it keeps 1e-3 px only for errors under 4 px (``tests/test_record.py``
checks both). A coordinate that is not finite or whose error exceeds the ``int32`` grid (2 million
px) is kept exactly beside the grid (``exact_at``, ``exact``).

:func:`save_predictions` takes the arrays :func:`load_predictions` returns (the one reader, re-exported
as :func:`dark.runs.load_predictions`):

- ``coords`` ``(D, N, K, 2)`` float32, input px; ``decoders`` ``(D,)`` names;
- ``gt`` ``(N, K, 2)`` float64 input px; ``visible`` ``(N, K)`` bool; ``head_size`` ``(N,)`` input px;
- ``groups`` ``(N,)`` frame labels; ``names`` ``(N,)`` sample labels; optional ``clusters`` ``(N,)``
  int64 (:func:`dark.data.synth.clusters`) and ``pred_visible`` ``(D, N, K)`` bool (the report's
  visibility rule at each decoder's coordinates); any further array is stored as it is.

Files written before this format (``coords`` stored as float32, no ``"format"``) read the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dark.files import atomic_write

PREDICTIONS = "predictions_test.npz"
#: version of the compact layout (absent in files written before it: plain float32 ``coords``)
FORMAT = 2
#: the error grid, input px (a power of two: ``gt + q * STEP`` is exact in float64)
STEP = 2.0**-10
#: arrays every predictions file has
REQUIRED = ("coords", "decoders", "gt", "visible", "head_size", "groups", "names")
_LIMIT = 2**31 - 1


def _path(where: str | os.PathLike) -> Path:
    """A run directory's predictions file, or ``where`` itself when it names a file."""
    where = Path(where)
    return where if where.suffix == ".npz" else where / PREDICTIONS


def encode(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays as stored: ``coords`` replaced by ``error_q`` (int32 multiples of :data:`STEP`) and the
    exceptions ``exact_at`` (flat indices into coords) / ``exact`` (their float32 values)."""
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ValueError(f"predictions without {missing}")
    coords = np.asarray(arrays["coords"], dtype=np.float32)
    gt = np.asarray(arrays["gt"], dtype=np.float64)
    if coords.ndim != 4 or coords.shape[1:] != gt.shape or coords.shape[0] != len(arrays["decoders"]):
        d = len(arrays["decoders"])
        raise ValueError(f"coords {coords.shape} do not match {d} decoders x gt {gt.shape}")
    error = np.round((coords.astype(np.float64) - gt[None]) / STEP)
    exact = ~np.isfinite(error) | (np.abs(error) > _LIMIT)
    out = {k: np.asarray(v) for k, v in arrays.items() if k != "coords"}
    out["gt"] = gt
    out["format"] = np.array(FORMAT)
    out["error_q"] = np.where(exact, 0, error).astype(np.int32)
    out["exact_at"] = np.flatnonzero(exact).astype(np.int64)
    out["exact"] = coords.reshape(-1)[out["exact_at"]]
    if "pred_visible" in out:
        out["pred_visible"] = out["pred_visible"].astype(bool)
    return out


def decode(stored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays :func:`save_predictions` was given, from what :func:`encode` made of them."""
    out = {k: v for k, v in stored.items() if k not in ("format", "error_q", "exact_at", "exact")}
    if "error_q" not in stored:  # the older layout: coords as they are
        return out
    coords = (stored["gt"][None] + stored["error_q"].astype(np.float64) * STEP).astype(np.float32)
    coords.reshape(-1)[stored["exact_at"]] = stored["exact"]
    return {"coords": coords, **out}


def save_predictions(where: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` (the keys of the module docstring) compactly to ``where`` (a run directory or
    an ``.npz`` path), atomically; return the file's path."""
    stored = encode(arrays)
    return atomic_write(_path(where), lambda f: np.savez_compressed(f, **stored))


def load_predictions(where: str | os.PathLike) -> dict[str, np.ndarray]:
    """A run's ``predictions_test.npz`` (``where``: the run directory or the file), decoded: ``coords``
    ``(D, N, K, 2)`` float32 input px (within 0.0005 px of what was saved), ``decoders``, ``gt``,
    ``visible``, ``head_size``, ``groups``, ``names`` and, where saved, ``clusters`` and ``pred_visible``."""
    with np.load(_path(where)) as z:
        return decode({k: z[k] for k in z.files})
