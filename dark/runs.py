"""A run directory: the files one training and its evaluation leave, and how to read them.

One run is one ``(model, encoding, seed)`` training, in ``RUNS/<model>-<encoding>-s<seed>/``
(:func:`run_name`). Everything that reads or writes a run's files goes through the names here, and
reading goes through :class:`Run` (or the ``load_*`` functions it calls).

Files (all written atomically through :func:`dark.files.atomic_write`):

- ``config.json``: the resolved configuration, written first;
- ``metrics.jsonl``: one JSON line per finished epoch (validation scores of every decoder included);
- ``last.pt`` / ``best.pt``: resume state / weights of the best validation epoch; ``curves.png``;
- ``heatmaps_test.npy`` + ``heatmaps_test.json``: the cached test heatmaps and their key;
- ``evaluation.json``, ``evaluation.csv``: every decoder's test scores with intervals over frames;
- ``frame_sums.npz``: per test frame and decoder, the sums every metric is a ratio of
  (:func:`dark.metrics.frame_sums`): what the two-level (seeds x frames) intervals resample;
- ``predictions_test.npz``: every decoder's test coordinates (input px).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn

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
PREDICTIONS = "predictions_test.npz"


def run_name(model: str, encoding: str, seed: int) -> str:
    """The directory name of one training.

    >>> run_name("sh", "ceil", 1314)
    'sh-ceil-s1314'
    """
    return f"{model}-{encoding}-s{int(seed)}"


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """The untrained network a run configuration describes (``"model"``, ``"model_kwargs"``)."""
    from dark import models

    kwargs = dict(config["model_kwargs"])
    if "modules" in kwargs:
        kwargs["modules"] = tuple(kwargs["modules"])
    return models.MODELS[config["model"]](**kwargs)


def load_model(run_dir: str | Path, which: str = "best", device: str = "cpu") -> tuple[nn.Module, dict]:
    """The trained network of a run, in eval mode on ``device`` (channels-last), and its configuration.

    Args:
        run_dir: a run directory written by :func:`dark.train.train`.
        which: ``"best"`` (the best validation epoch) or ``"last"``.
        device: where to put the model (``"auto"`` as :func:`dark.device.resolve_device`).

    Returns:
        ``(model, config)``; ``config`` is the checkpoint's configuration plus ``"best_epoch"`` (or
        ``"epoch"`` for ``which="last"``): the epoch the weights come from.
    """
    import torch

    from dark import checkpoint
    from dark.device import resolve_device

    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    dev = resolve_device(device)
    state = checkpoint.load(Path(run_dir) / (BEST if which == "best" else LAST), map_location=dev)
    config = dict(state["config"])
    config["best_epoch" if which == "best" else "epoch"] = int(state["epoch"])
    net = build_model(config)
    net.load_state_dict(state["model"])
    return net.to(dev, memory_format=torch.channels_last).eval(), config


def load_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json``."""
    return json.loads((Path(run_dir) / CONFIG).read_text())


def load_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's ``metrics.jsonl``: one dict per finished epoch (``"epoch"`` 1-based); ``[]`` if none."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_evaluation(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``evaluation.json`` (:func:`dark.evaluate.evaluate`)."""
    return json.loads((Path(run_dir) / EVALUATION).read_text())


def load_predictions(run_dir: str | Path) -> dict[str, np.ndarray]:
    """``predictions_test.npz``: ``coords`` ``(D, N, K, 2)`` input px, ``decoders`` ``(D,)``, ``gt``,
    ``visible``, ``head_size``, ``groups``, ``names``."""
    with np.load(Path(run_dir) / PREDICTIONS) as z:
        return {k: z[k] for k in z.files}


def load_frame_sums(run_dir: str | Path) -> dict[str, Any]:
    """``frame_sums.npz`` as ``{"groups": (G,), "columns": (C,), "decoders": {name: (G, C) float64}}``.

    Rows are the sorted test-frame labels (the same for every run of one dataset, so two runs pair on
    frames by row); columns are those of :func:`dark.metrics.frame_sums`.
    """
    with np.load(Path(run_dir) / FRAME_SUMS) as z:
        return {
            "groups": z["groups"],
            "columns": z["columns"],
            "decoders": {k.removeprefix("decoder:"): z[k] for k in z.files if k.startswith("decoder:")},
        }


@dataclass(frozen=True)
class Run:
    """One run directory and its files (a thin handle: every method reads the file when called).

    >>> Run("runs/sh-ceil-s1314").file(CONFIG).as_posix()
    'runs/sh-ceil-s1314/config.json'
    """

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    def file(self, name: str) -> Path:
        """The path of one of the run's files (a name of this module, e.g. :data:`EVALUATION`)."""
        return self.path / name

    def config(self) -> dict[str, Any]:
        return load_config(self.path)

    def history(self) -> list[dict[str, Any]]:
        return load_history(self.path)

    def evaluation(self) -> dict[str, Any]:
        return load_evaluation(self.path)

    def predictions(self) -> dict[str, np.ndarray]:
        return load_predictions(self.path)

    def frame_sums(self) -> dict[str, Any]:
        return load_frame_sums(self.path)

    def load_model(self, which: str = "best", device: str = "cpu") -> tuple[nn.Module, dict]:
        return load_model(self.path, which, device)
