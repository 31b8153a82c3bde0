"""``predictions_test.npz``: every decoder's test coordinates of one run, stored compactly.

A recorded run keeps its test predictions so that any metric can be recomputed without retraining
(:mod:`dark.record.record`); with every decoder of :data:`dark.codecs.DECODERS` that is ``D x N x K x 2``
coordinates per run, so they are stored as their *errors from the ground truth* on a fixed grid of
``1 / 1024`` input px (:data:`STEP`), as integers: the median over decoders of each element and every
decoder's difference from it (the decoders read the same heatmap, so they mostly agree within a pixel
and the differences are small numbers), LZMA-compressed byte plane by byte plane (:func:`encode`).
The stored error is rounded to the grid, so the coordinates come back within half a step (0.0005 px,
under the 1e-3 px the record promises) plus float32's rounding of the coordinate itself. Errors in
float16 would not do: float16 spaces its values 2^-9 px apart from 4 px on and 2^-6 px from 32 px (a
decoder 40 px off is not rare after a short training), so it keeps 1e-3 px only for errors under 4 px
(``tests/test_record.py`` checks both). A coordinate that is not finite or whose error exceeds a
million px is kept exactly beside the grid (``exact_at``, ``exact``). About 1.2 MB a run on the quick
test split (1,000 images, 15 decoders), against 4.3 MB as float32.

:func:`save_predictions` takes the arrays :func:`load_predictions` returns (the one reader, re-exported
as :func:`dark.experiment.runs.load_predictions`):

- ``coords`` ``(D, N, K, 2)`` float32, input px; ``decoders`` ``(D,)`` names;
- ``gt`` ``(N, K, 2)`` float64 input px; ``visible`` ``(N, K)`` bool; ``head_size`` ``(N,)`` input px;
- ``groups`` ``(N,)`` frame labels; ``names`` ``(N,)`` sample labels; optional ``clusters`` ``(N,)``
  int64 (:func:`dark.data.synth.clusters`) and ``pred_visible`` ``(D, N, K)`` bool (the report's
  visibility rule at each decoder's coordinates); any further array is stored as it is.

Files of the earlier layouts (``coords`` stored as float32 without ``"format"``; format 2's plain
``int32`` errors) read the same way.
"""

from __future__ import annotations

import lzma
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dark.files import atomic_write

PREDICTIONS = "predictions_test.npz"
#: version of the compact layout (absent in files written before it: plain float32 ``coords``)
FORMAT = 3
#: the error grid, input px (a power of two: ``gt + q * STEP`` is exact in float64)
STEP = 2.0**-10
#: arrays every predictions file has
REQUIRED = ("coords", "decoders", "gt", "visible", "head_size", "groups", "names")
#: errors beyond this many steps (1 million px) are kept exactly (the residuals stay inside int32)
_LIMIT = 2**30


def _path(where: str | os.PathLike) -> Path:
    """A run directory's predictions file, or ``where`` itself when it names a file."""
    where = Path(where)
    return where if where.suffix == ".npz" else where / PREDICTIONS


def _pack(values: np.ndarray) -> np.ndarray:
    """int32 values as one LZMA blob of their byte planes (all low bytes, then the next, ...: the high
    planes of small numbers are nearly constant and vanish)."""
    planes = np.ascontiguousarray(values, dtype="<i4").view(np.uint8).reshape(-1, 4).T
    return np.frombuffer(lzma.compress(planes.tobytes()), dtype=np.uint8)


def _unpack(blob: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    planes = np.frombuffer(lzma.decompress(blob.tobytes()), dtype=np.uint8).reshape(4, -1)
    return np.ascontiguousarray(planes.T).view("<i4").reshape(shape)


def encode(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays as stored: ``coords`` replaced by their errors from ``gt`` in multiples of :data:`STEP`,
    coded as the per-element median over decoders (``reference``) and each decoder's difference from it
    (``residual``: the decoders read one heatmap, so they mostly agree to a pixel), both packed
    (:func:`_pack`); ``exact_at`` (flat indices into coords) / ``exact`` (their float32 values) keep the
    coordinates off the grid."""
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
    q = np.where(exact, 0, error).astype(np.int64)
    reference = np.round(np.median(q, axis=0)).astype(np.int64)
    out = {k: np.asarray(v) for k, v in arrays.items() if k != "coords"}
    out["gt"] = gt
    out["format"] = np.array(FORMAT)
    out["shape"] = np.array(coords.shape, dtype=np.int64)
    out["reference"] = _pack(reference)
    out["residual"] = _pack(q - reference[None])
    out["exact_at"] = np.flatnonzero(exact).astype(np.int64)
    out["exact"] = coords.reshape(-1)[out["exact_at"]]
    if "pred_visible" in out:
        out["pred_visible"] = out["pred_visible"].astype(bool)
    return out


def decode(stored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays :func:`save_predictions` was given, from what :func:`encode` made of them."""
    coding = ("format", "shape", "reference", "residual", "error_q", "exact_at", "exact")
    out = {k: v for k, v in stored.items() if k not in coding}
    if "residual" in stored:
        shape = tuple(int(n) for n in stored["shape"])
        q = _unpack(stored["residual"], shape).astype(np.int64) + _unpack(stored["reference"], shape[1:])
    elif "error_q" in stored:  # format 2: the errors as int32 (zlib)
        q = stored["error_q"].astype(np.int64)
    else:  # before format 2: coords as they are
        return out
    coords = (stored["gt"][None] + q * STEP).astype(np.float32)
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
