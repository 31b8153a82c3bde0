"""The digest of a training: everything that determines what it produces, in one hash.

A recorded run (:mod:`dark.record.run_store`) counts as done for a profile when its digest equals the
digest the profile's training would have now. :func:`run_digest` hashes

- the run's settings (:class:`dark.experiment.runs.RunConfig`, every field but the profile's name and what was
  measured): model and its configuration, encoding, seed, recipe (epochs, batch size, learning rate,
  schedule, ...), target width and sizes, and the RESOLVED precision (``"auto"`` resolves to bf16 or fp32
  by processor: runs of different precision never match one another, so a record never pairs or mixes
  them);
- :data:`dark.experiment.runs.TRAINING_REVISION`, bumped when the training code changes what it produces;
- :func:`training_data_digest`: the data the training reads, the TRAINING and VALIDATION splits only.
  The test split is left out on purpose: a change of the evaluation's data (more test clusters, another
  test placement) re-evaluates the recorded runs' predictions but never invalidates a training.

:func:`training_data_fingerprint` hashes the same splits with every floating-point field rounded to
1e-3 px: the renderer's joint positions come out of matrix products whose last bits depend on the BLAS
kernel numpy picks for the processor (OpenBLAS's ``Haswell`` and ``SkylakeX`` kernels differ by up to
5e-13 px on the cpu profile's data, with identical depth images), so two machines can render the same
data with different digests. A record keeps the fingerprint of the data its runs trained on, and a
build whose data have another digest but the same fingerprint reuses its runs
(:func:`dark.record.record.effective_data_digest`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dark.data import open_split, read_manifest
from dark.experiment import runs
from dark.experiment.runs import RunConfig

#: the splits a training reads (the test split is the evaluation's)
TRAINING_SPLITS = ("train", "val")
#: decimals (input px) the fingerprint rounds floating-point fields to: far above the BLAS kernels' last
#: bits (below 1e-12 px), far below anything a training sees
FINGERPRINT_DECIMALS = 3


def _sha(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def training_data_digest(data: str | os.PathLike) -> str:
    """sha256 of the data a training reads: the train and val shards' sha256 of a rendered dataset's
    ``manifest.json`` (the files' contents, not the generator's version: a new generator that renders the
    same training data keeps every recorded run), or, without a manifest (a HUMAN4D root), of the two
    splits' ground truth (joints, visibility, head sizes, labels)."""
    shards = _training_shards(data)
    if shards is not None:
        return _sha({"shards": sorted((s["split"], s["file"], s["sha256"]) for s in shards)})
    h = hashlib.sha256()
    for s in _training_samples(data):
        h.update(np.ascontiguousarray(s.joints, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(s.visible, dtype=bool).tobytes())
        h.update(f"{s.head_size!r}/{s.subject}/{s.activity}/{s.view}/{s.frame}\n".encode())
    return h.hexdigest()


def _training_shards(data: str | os.PathLike) -> list[dict] | None:
    """The train and val shards of a rendered dataset's ``manifest.json``; None for a HUMAN4D root or a
    directory linked to one (:func:`dark.data.human4d.link_human4d`), which are read sample by sample.

    Raises:
        ValueError: the manifest lists no train or val shard.
    """
    manifest = Path(data) / "manifest.json"
    if not manifest.is_file():
        return None
    content = read_manifest(manifest)
    if content.get("format") == "human4d-root":
        return None
    shards = [s for s in content["shards"] if s["split"] in TRAINING_SPLITS]
    if not shards:
        raise ValueError(f"{manifest}: no train or val shards")
    return shards


def _training_samples(data: str | os.PathLike) -> Iterator[Any]:
    """The train then val samples of a HUMAN4D root (or a directory linked to one), as training reads them."""
    for split in TRAINING_SPLITS:
        yield from open_split(data, split=split)


def _rounded(values: np.ndarray) -> bytes:
    """The bytes of ``values``, floating-point ones rounded to :data:`FINGERPRINT_DECIMALS` (``+ 0.0``
    turns a rounded -0.0 into 0.0)."""
    values = np.ascontiguousarray(values)
    if np.issubdtype(values.dtype, np.floating):
        values = np.round(values.astype(np.float64), FINGERPRINT_DECIMALS) + 0.0
    return values.tobytes()


def training_data_fingerprint(data: str | os.PathLike) -> str:
    """sha256 of the train and val splits of ``data`` with every floating-point field (joints, head sizes)
    rounded to 1e-3 px and everything else (depth images, visibility, labels) exact: equal for two renders
    that differ only in the last bits of their matrix products (the module docstring).

    A rendered dataset is read shard by shard, field by field, in ``manifest.json``'s order; a HUMAN4D root
    sample by sample, as :func:`training_data_digest` reads it."""
    h = hashlib.sha256()
    shards = _training_shards(data)
    if shards is not None:
        for shard in sorted(shards, key=lambda s: s["file"]):
            records = np.load(Path(data) / shard["file"])
            h.update(f"{shard['split']}/{shard['file']}\n".encode())
            for name in records.dtype.names:
                h.update(name.encode() + _rounded(records[name]))
        return h.hexdigest()
    for s in _training_samples(data):
        h.update(_rounded(np.asarray(s.joints, dtype=np.float64)) + _rounded(np.asarray(s.head_size)))
        h.update(np.ascontiguousarray(s.visible, dtype=bool).tobytes())
        h.update(f"{s.subject}/{s.activity}/{s.view}/{s.frame}\n".encode())
    return h.hexdigest()


def digest_inputs(config: RunConfig, data_digest: str, revision: int | None = None) -> dict[str, Any]:
    """What :func:`run_digest` hashes, as JSON: the settings (no profile name, nothing measured), the
    training data's digest and the training code's revision (``None``: the current one,
    :data:`dark.experiment.runs.TRAINING_REVISION`)."""
    revision = runs.TRAINING_REVISION if revision is None else revision
    settings = {k: v for k, v in config.to_json().items() if k != "profile"}
    for f in dataclasses.fields(runs.Measured):
        settings.pop(f.name, None)
    return {"settings": settings, "training_data": data_digest, "training_revision": int(revision)}


def run_digest(config: RunConfig, data_digest: str, revision: int | None = None) -> str:
    """The sha256 of :func:`digest_inputs` (64 hex digits).

    >>> from dark.experiment.runs import RunConfig
    >>> a = RunConfig.resolve("sh", "ceil", "smoke", seed=2)
    >>> run_digest(a, "d") == run_digest(RunConfig.resolve("sh", "ceil", "smoke", seed=2), "d")
    True
    >>> run_digest(a, "d") == run_digest(RunConfig.resolve("sh", "ceil", "smoke", seed=3), "d")
    False
    """
    return _sha(digest_inputs(config, data_digest, revision))
