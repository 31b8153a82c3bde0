"""Atomic files: a crash or a kill leaves either the previous file or the new one, never half of one.

Every write goes to a temporary file in the same directory, is flushed and ``fsync``-ed, then renamed
over the target (``os.replace`` is atomic on POSIX); the directory is ``fsync``-ed so the rename
itself survives a power cut. Checkpoints are read with ``torch.load(weights_only=True)``: tensors,
numbers, strings, lists and dicts only, no code execution from a file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch


class CorruptCheckpoint(ValueError):
    """A checkpoint file that cannot be read (truncated, not a checkpoint, or unsafe to unpickle)."""


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename, fsync of the directory)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def save(obj: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


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
