"""Checkpoints: written atomically, read safely.

A checkpoint is written through :func:`dark.files.atomic_write` (temporary file, fsync, rename), so a
crash or a kill leaves the previous checkpoint or the new one, never half of one. It is read with
``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only, no code execution
from a file; anything unreadable is a :class:`CorruptCheckpoint`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dark.files import atomic_write


class CorruptCheckpoint(ValueError):
    """A checkpoint file that cannot be read (truncated, not a checkpoint, or unsafe to unpickle)."""


def save(obj: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically (:func:`dark.files.atomic_write`)."""
    atomic_write(path, lambda f: torch.save(obj, f))


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptCheckpoint: it exists but is not a readable checkpoint dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated zip, pickle error, unsafe global: all mean "corrupt"
        raise CorruptCheckpoint(f"corrupt checkpoint {path}: {type(error).__name__}") from error
    if not isinstance(obj, dict):
        raise CorruptCheckpoint(f"corrupt checkpoint {path}: expected a dict, got {type(obj).__name__}")
    return obj
