"""``DepthDataset``: a torch ``Dataset`` of depth maps and joints, for training and evaluation.

Depth normalisation (one convention for every model)::

    x = 1 - depth / MAX_DEPTH   where depth > 0   (MAX_DEPTH = 6.5535 m, the 16-bit range)
    x = 0                       where depth == 0  (no measurement: as if beyond the range)

so ``x`` lies in ``[0, 1]``, nearer is larger, and a missing pixel looks like the far end of the
range. :func:`normalise_depth` applies it to metres or to the raw 0.1 mm units of the shards;
:func:`prepare_input` makes a batch of the network's input, :func:`load_split` a whole split (training's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from dark.data import open_split
from dark.data.render import DEPTH_UNIT, MAX_DEPTH
from dark.data.sample import Sample
from dark.data.synth import RenderedDataset


def normalise_depth(depth: torch.Tensor, units: str = "m") -> torch.Tensor:
    """Depth to network input, ``x = 1 - depth / MAX_DEPTH`` (0 where there is no depth).

    Args:
        depth: ``(..., H, W)`` depth in metres (``units="m"``) or in 0.1 mm integer units
            (``units="0.1mm"``, e.g. uint16 / int32 from the shards); 0 = no measurement.
        units: ``"m"`` or ``"0.1mm"``.

    Returns:
        ``(..., H, W)`` float32 in ``[0, 1]``, on ``depth``'s device.
    """
    if units not in ("m", "0.1mm"):
        raise ValueError(f"units must be 'm' or '0.1mm', got {units!r}")
    d = depth.to(torch.float32)
    if units == "0.1mm":
        d = d * DEPTH_UNIT
    return torch.where(d > 0, 1.0 - d / MAX_DEPTH, torch.zeros_like(d))


def prepare_input(
    depth: torch.Tensor, size: Sequence[int], device: str | torch.device = "cpu"
) -> torch.Tensor:
    """A depth batch as the network reads it: ``(B, 1, H0, W0) -> (B, 1, H, W)`` float32, channels-last.

    Args:
        depth: raw ``torch.uint16`` (or another integer type) in 0.1 mm, or float32 already
            normalised (:func:`normalise_depth`); any spatial size.
        size: the network's input ``(H, W)``; a different size is area-averaged to it.
        device: where the result lives (the batch is moved first, so the work runs there).

    >>> x = prepare_input(torch.full((1, 1, 4, 4), 32768, dtype=torch.uint16), (2, 2))
    >>> x.shape, x.is_contiguous(memory_format=torch.channels_last), round(float(x[0, 0, 0, 0]), 4)
    (torch.Size([1, 1, 2, 2]), True, 0.5)
    """
    x = depth.to(device, non_blocking=True)
    if not torch.is_floating_point(x):
        x = normalise_depth(x, units="0.1mm")
    hw = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) != hw:
        x = torch.nn.functional.interpolate(x, size=hw, mode="area")
    return x.contiguous(memory_format=torch.channels_last)


class DepthDataset(Dataset):
    """Depth maps with their 18 joints, from a rendered dataset, a HUMAN4D root or samples.

    Item ``i`` is a dict: ``"depth"`` ``(1, 160, 320)`` float32 normalised (see module doc),
    ``"joints"`` ``(18, 2)`` float32 input px, ``"visible"`` ``(18,)`` bool, ``"head_size"`` ``()``
    float32 input px, ``"index"`` ``()`` int64. The default collate stacks them; it works with
    ``DataLoader(num_workers=..., pin_memory=True)`` (the arrays are plain numpy, picklable).
    A rendered split is held in memory (uint16 depth); other sources are read item by item.

    Args:
        source: a dataset directory / HUMAN4D root (opened with :func:`dark.data.open_split`) or a
            sequence of :class:`Sample`.
        split: ``"train"`` | ``"val"`` | ``"test"`` (ignored for a sequence of samples).
    """

    def __init__(self, source: str | Path | Sequence[Sample], split: str = "train") -> None:
        samples = open_split(source, split) if isinstance(source, (str, Path)) else source
        self.samples = samples
        self._arrays = None
        if isinstance(samples, RenderedDataset):  # already arrays: no per-sample conversion
            rec = samples.records
            self._arrays = {
                "depth": rec["depth"],  # uint16, 0.1 mm
                "joints": rec["joints"].astype(np.float32),
                "visible": rec["visible"].copy(),
                "head_size": rec["head_size"].astype(np.float32),
            }

    def __len__(self) -> int:
        return len(self.samples)

    def _raw(self, i: int) -> dict[str, np.ndarray]:
        """Item ``i`` as numpy: depth uint16 in 0.1 mm, joints, visibility, head size."""
        if self._arrays is not None:
            return {k: v[i] for k, v in self._arrays.items()}
        s = self.samples[i]  # other sources (HUMAN4D): read when asked, e.g. in DataLoader workers
        return {
            "depth": np.rint(np.clip(s.depth, 0, MAX_DEPTH) / DEPTH_UNIT).astype(np.uint16),
            "joints": np.asarray(s.joints, dtype=np.float32),
            "visible": np.asarray(s.visible, dtype=bool),
            "head_size": np.float32(s.head_size),
        }

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        i = i % len(self)
        raw = self._raw(i)
        return {
            "depth": normalise_depth(torch.from_numpy(raw["depth"].copy()), units="0.1mm")[None],
            "joints": torch.from_numpy(raw["joints"].copy()),
            "visible": torch.from_numpy(raw["visible"].copy()),
            "head_size": torch.tensor(raw["head_size"], dtype=torch.float32),
            "index": torch.tensor(i, dtype=torch.int64),
        }

    def tensors(self, raw: bool = False) -> dict[str, torch.Tensor]:
        """The whole split as stacked tensors (same keys as an item, with a leading ``N``).

        Args:
            raw: return ``"depth"`` as ``torch.uint16`` in 0.1 mm (2 bytes a pixel instead of 4);
                normalise each batch with ``normalise_depth(batch, units="0.1mm")`` (after moving it
                to the device). Default: normalised float32.

        Returns:
            dict of tensors: ``"depth"`` ``(N, 1, H, W)``, ``"joints"`` ``(N, 18, 2)`` float32,
            ``"visible"`` ``(N, 18)`` bool, ``"head_size"`` ``(N,)`` float32, ``"index"`` ``(N,)`` int64.
        """
        arrays = self._arrays
        if arrays is None:  # read every sample once (a whole real HUMAN4D split needs a lot of memory)
            items = [self._raw(i) for i in range(len(self))]
            h, w = items[0]["depth"].shape if items else (160, 320)
            arrays = {
                "depth": np.stack([x["depth"] for x in items]) if items else np.zeros((0, h, w), np.uint16),
                "joints": np.stack([x["joints"] for x in items])
                if items
                else np.zeros((0, 18, 2), np.float32),
                "visible": np.stack([x["visible"] for x in items]) if items else np.zeros((0, 18), bool),
                "head_size": np.array([x["head_size"] for x in items], dtype=np.float32),
            }
        depth = torch.from_numpy(np.ascontiguousarray(arrays["depth"]))[:, None]
        return {
            "depth": depth if raw else normalise_depth(depth, units="0.1mm"),
            "joints": torch.from_numpy(arrays["joints"].copy()),
            "visible": torch.from_numpy(arrays["visible"].copy()),
            "head_size": torch.from_numpy(arrays["head_size"].copy()),
            "index": torch.arange(len(self), dtype=torch.int64),
        }


def load_split(data: Any, split: str, input_size: Sequence[int]) -> dict[str, torch.Tensor]:
    """One split as CPU tensors, depth already at the network's ``input_size`` (what training holds).

    Args:
        data: a dataset directory (``dark data``) or HUMAN4D root, or a mapping ``split -> samples``
            (a sequence of :class:`dark.data.Sample`, e.g. in tests).
        split: ``"train"`` | ``"val"`` | ``"test"``.
        input_size: ``(H, W)`` of the network input.

    Returns:
        ``"depth"`` ``(N, 1, H, W)``: float32 normalised when resized, else the raw uint16 (0.1 mm, half
        the memory; :func:`prepare_input` normalises each batch on the device), ``"joints"`` ``(N, 18, 2)``
        float32 input px of the original 160x320 map, ``"visible"`` ``(N, 18)`` bool, ``"head_size"``
        ``(N,)`` float32.
    """
    if isinstance(data, Mapping):
        if split not in data:
            raise ValueError(f"data has no {split!r} split; it has {sorted(data)}")
        dataset = DepthDataset(list(data[split]), split)
    else:
        dataset = DepthDataset(data, split)
    tensors = dataset.tensors(raw=True)
    tensors.pop("index", None)
    raw = tensors["depth"]
    if tuple(raw.shape[-2:]) != tuple(input_size):  # resize once, on the CPU, in chunks
        chunks = [prepare_input(raw[i : i + 256], input_size).contiguous() for i in range(0, len(raw), 256)]
        tensors["depth"] = torch.cat(chunks) if chunks else torch.zeros(0, 1, *input_size)
    return tensors
