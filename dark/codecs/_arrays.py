"""numpy <-> torch at the public boundary: the codecs compute in torch, callers get their own library back."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["as_tensor", "compute_dtype", "like_input"]

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def as_tensor(x: Any, name: str, shape: str) -> tuple[Tensor, bool]:
    """A float torch view of ``x`` (no copy for CPU numpy arrays) and whether ``x`` was numpy.

    Raises:
        ValueError: ``x`` is neither a torch tensor nor a numpy array of a floating dtype; the message
            names the expected ``shape``.
    """
    if isinstance(x, Tensor):
        if x.dtype not in _FLOATS:
            raise ValueError(f"{name} must be a float tensor of shape {shape}, got dtype {x.dtype}")
        return x, False
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f" or x.dtype.itemsize not in (2, 4, 8):
            raise ValueError(f"{name} must be a float16/32/64 array of shape {shape}, got dtype {x.dtype}")
        if not x.dtype.isnative:
            x = x.astype(x.dtype.newbyteorder("="))
        with warnings.catch_warnings():  # read-only arrays: we never write into the caller's data
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(x), True
    raise ValueError(
        f"{name} must be a torch.Tensor or numpy.ndarray of shape {shape}, got {type(x).__name__}"
    )


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype results come in: the input's float dtype promoted to at least float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def like_input(t: Tensor, was_numpy: bool) -> Tensor | np.ndarray:
    """Return ``t`` as the caller's library: numpy arrays come back as float64 (bool stays bool)."""
    if not was_numpy:
        return t
    a = t.detach().cpu().numpy()
    return a if a.dtype == np.bool_ else a.astype(np.float64, copy=False)
