"""A run directory: the files one training and its evaluation leave, the run's typed configuration,
and how to read them.

One run is one ``(model, encoding, seed)`` training (with its cell's options), in
``RUNS/<model>-<encoding>-s<seed>/`` (:func:`run_name`: options such as ``-b24`` before the seed).
Everything that reads or writes a run's files goes through the names here, and reading goes through
:class:`Run` (the ``load_*`` functions here are what it calls). A
run's settings are one :class:`RunConfig`: resolved from a profile by :meth:`RunConfig.resolve`, written to
``config.json`` by :meth:`RunConfig.to_json` and read back by :meth:`RunConfig.from_json`, the one place
that knows the older spellings of ``config.json``.

Files (all written atomically through :func:`dark.files.atomic_write`):

- ``config.json``: the resolved configuration (:meth:`RunConfig.to_json`), written first;
- ``metrics.jsonl``: one JSON line per finished epoch (validation scores of every decoder included);
- ``last.pt`` / ``best.pt``: resume state / weights of the best validation epoch; ``curves.png``;
- ``heatmaps_test.npy`` + ``heatmaps_test.json``: the cached test heatmaps and their key;
- ``evaluation.json``, ``evaluation.csv``: every decoder's test scores with intervals over frames;
- ``frame_sums.npz``: per test frame and decoder, the sums every metric is a ratio of
  (:func:`dark.metrics.frame_sums`): what the two-level (seeds x frames) intervals resample;
- ``predictions_test.npz``: every decoder's test coordinates (input px), stored compactly by
  :func:`save_predictions` and read by :func:`load_predictions` (:mod:`dark.experiment.prediction_file`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from dark.design.profiles import run_name as run_name  # a run directory's name (a cell's options in it)
from dark.experiment import checkpoint
from dark.experiment.device import resolve_device

# the compact predictions file (its writer and the one reader), re-exported: a run's files are named here
from dark.experiment.prediction_file import PREDICTIONS as PREDICTIONS
from dark.experiment.prediction_file import load_predictions as load_predictions
from dark.experiment.prediction_file import save_predictions as save_predictions

# a run's settings (their own module), re-exported: ``runs.RunConfig`` is the one type of them
from dark.experiment.run_config import DEFAULT_PROFILE as DEFAULT_PROFILE
from dark.experiment.run_config import LR as LR
from dark.experiment.run_config import RECORD_KEY as RECORD_KEY
from dark.experiment.run_config import SIGMA as SIGMA
from dark.experiment.run_config import Measured as Measured
from dark.experiment.run_config import RunConfig as RunConfig

CONFIG = "config.json"
METRICS = "metrics.jsonl"
LAST = "last.pt"
BEST = "best.pt"
CURVES = "curves.png"
HEATMAPS = "heatmaps_test.npy"
HEATMAPS_KEY = "heatmaps_test.json"
EVALUATION = "evaluation.json"
EVALUATION_CSV = "evaluation.csv"
FRAME_SUMS = "frame_sums.npz"

#: the revision of the training code: bump it when a change of dark/experiment/train.py, dark/models/ or the
#: target encoding changes what a training produces at the same settings, so that every recorded run's
#: digest (:func:`dark.experiment.run_digest.run_digest`) stops matching and the record retrains it
TRAINING_REVISION = 1


def build_model(config: RunConfig | Mapping[str, Any]) -> nn.Module:
    """The untrained network a run configuration describes (a :class:`RunConfig` or its JSON)."""
    config = config if isinstance(config, RunConfig) else RunConfig.from_json(config)
    return config.build_model()


class Trained(NamedTuple):
    """A run's trained network (eval mode), its configuration and the epoch its weights come from."""

    model: nn.Module
    config: RunConfig
    epoch: int


def load_model(run_dir: str | Path, which: str = "best", device: str | torch.device = "cpu") -> Trained:
    """The trained network of a run, in eval mode on ``device`` (channels-last), with its configuration.

    Args:
        run_dir: a run directory written by :func:`dark.experiment.train.train`.
        which: ``"best"`` (the best validation epoch) or ``"last"``.
        device: where to put the model (``"auto"`` as :func:`dark.experiment.device.resolve_device`).

    Returns:
        ``(model, config, epoch)``: ``epoch`` is the (1-based) epoch the weights come from.
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    dev = resolve_device(device)
    state = checkpoint.load(Path(run_dir) / (BEST if which == "best" else LAST), map_location=dev)
    config = RunConfig.from_json(state["config"])
    net = config.build_model()
    net.load_state_dict(state["model"])
    return Trained(net.to(dev, memory_format=torch.channels_last).eval(), config, int(state["epoch"]))


def load_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json`` as stored: for :meth:`Run.stored_config` (and the check of a recorded
    run's digest, :mod:`dark.record.run_hashes`) only; readers want the typed :meth:`Run.config`."""
    return json.loads((Path(run_dir) / CONFIG).read_text())


def load_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's ``metrics.jsonl``: one dict per finished epoch (``"epoch"`` 1-based); ``[]`` if none."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_evaluation(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``evaluation.json`` (:func:`dark.experiment.evaluate.evaluate`)."""
    return json.loads((Path(run_dir) / EVALUATION).read_text())


def load_frame_sums(run_dir: str | Path) -> dict[str, Any]:
    """``frame_sums.npz`` as ``{"groups": (G,), "columns": (C,), "clusters": (G,) or None (files written
    before test clusters), "decoders": {name: (G, C) float64}}``.

    Rows are the sorted test-frame labels (the same for every run of one dataset, so two runs pair on
    frames by row); columns are those of :func:`dark.metrics.frame_sums`.
    """
    with np.load(Path(run_dir) / FRAME_SUMS) as z:
        return {
            "groups": z["groups"],
            "columns": z["columns"],
            "clusters": z["clusters"] if "clusters" in z.files else None,
            "decoders": {k.removeprefix("decoder:"): z[k] for k in z.files if k.startswith("decoder:")},
        }


@dataclass(frozen=True)
class Run:
    """One run, typed: a run directory and its files (a thin handle: every method reads the file when
    called). The one reader of a run: its settings (:meth:`config`, through :meth:`RunConfig.from_json`,
    the one home of the older spellings), evaluation, frame sums, predictions and history; no other code
    opens ``config.json`` (:meth:`stored_config` does). Whether a recorded run still is what was recorded is
    :func:`dark.record.run_hashes.verify_run`'s to say.

    >>> Run("runs/sh-ceil-s2").file(CONFIG).as_posix(), Run("runs/sh-ceil-s2").name
    ('runs/sh-ceil-s2/config.json', 'sh-ceil-s2')
    """

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def name(self) -> str:
        """The run's name: its folder's (:func:`dark.experiment.runs.run_name`)."""
        return self.path.name

    def file(self, name: str) -> Path:
        """The path of one of the run's files (a name of this module, e.g. :data:`EVALUATION`)."""
        return self.path / name

    def has(self, *names: str) -> bool:
        """Whether the run has every file of ``names`` (default: ``config.json``)."""
        return all(self.file(n).is_file() for n in names or (CONFIG,))

    def stored_config(self) -> dict[str, Any]:
        """``config.json`` as stored: its keys in the spelling they were written in, and the ``"record"``
        block a record adds (:mod:`dark.record.run_store`). Readers want :meth:`config`."""
        return load_config(self.path)

    def config(self) -> RunConfig:
        """The run's settings (``config.json`` through :meth:`RunConfig.from_json`; ``ValueError`` names a
        missing or unknown key)."""
        return RunConfig.from_json(self.stored_config())

    def config_json(self) -> dict[str, Any]:
        """The run's settings as JSON in today's spelling (:meth:`RunConfig.to_json`: what was measured
        included), plus the ``"record"`` block where the run has one: what the analysis reads."""
        stored = self.stored_config()
        block = stored.get(RECORD_KEY)
        return RunConfig.from_json(stored).to_json() | ({RECORD_KEY: block} if block else {})

    def record(self) -> dict[str, Any]:
        """The ``"record"`` block of ``config.json`` (digest, provenance: :mod:`dark.record.run_store`);
        ``{}`` for a run that was never recorded."""
        return self.stored_config().get(RECORD_KEY) or {}

    def history(self) -> list[dict[str, Any]]:
        """``metrics.jsonl``: one dict per finished epoch; ``[]`` if none."""
        return load_history(self.path)

    def evaluation(self) -> dict[str, Any]:
        """``evaluation.json`` (:func:`dark.experiment.evaluate.evaluate`)."""
        return load_evaluation(self.path)

    def predictions(self) -> dict[str, np.ndarray]:
        """``predictions_test.npz`` (:func:`dark.experiment.runs.load_predictions`): coordinates in input
        px, ``(D, N, K, 2)``, with the decoders' names and the ground truth."""
        return load_predictions(self.path)

    def frame_sums(self) -> dict[str, Any]:
        """``frame_sums.npz`` (:func:`dark.experiment.runs.load_frame_sums`): per decoder ``(G, C)``."""
        return load_frame_sums(self.path)

    def load_model(self, which: str = "best", device: str = "cpu") -> Trained:
        """The trained network (:func:`dark.experiment.runs.load_model`)."""
        return load_model(self.path, which, device)
