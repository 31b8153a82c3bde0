"""The two heatmap models of the report, by name and named configuration.

``build("sh" | "hrnet", config="full" | "quick" | "smoke" | "report", **overrides) -> nn.Module``; every
model maps ``(B, 1, H, W)`` depth to a list of ``(B, 18, H/4, W/4)`` heatmaps (one per hourglass stack;
one for HRNet); the last element is the prediction.

Configurations (``CONFIGS``; every run records which one it used, and every table says so):

- ``full``: the report's models. ``SH_4S``: 4 stacks of 128 features. ``HRNet_4S``: HRNet-W32 with one
  exchange module of 4 basic units in each of stages 2-4.
- ``quick``: reduced for the 2-core CPU of the quick profile (a few minutes per run). Stacked Hourglass:
  2 stacks of 64 features, max-pool before the stem's first residual. HRNet: width 16, stem of 32
  channels, 2 units per exchange module (and 2 bottlenecks in stage 1). Same topology, fewer channels
  and units. (The quick training recipe also halves the input resolution: see ``dark.experiment.train``.)
- ``report``: the models as the report's public code builds them (``moverseai/moai``,
  ``conf/examples/train_H4D/``). Stacked Hourglass (``model_single_stackedhourglass_quant.yaml``): 4
  stacks of 128 features, hourglass recursion depth 2 (ours and Newell's: 4), bottlenecks as wide
  inside as outside (``bottleneck_features=features``; ours 64), bilinear upsampling (ours nearest) and
  a sigmoid on every heatmap head (ours linear). HRNet (``model_single_hrnet_quant.yaml``) is not
  built: that configuration does not match the report's text ("one exchange block of 4 residual units"
  per stage). It builds a stem of ``conv3x3/2`` to 32 then 64 channels, 2 bottlenecks (64 -> 256, 64
  inside), branches of 32, 64, 128, 256 channels, and stages 2, 3, 4 of 3, 4 and 4 high-resolution
  modules (``modules: [3, 4, 4]``) whose branches run 3, 3, 3 / 3, 3, 2, 2 / 3, 3, 3, 4 residual units
  (``depths``, one entry per module), each a *bottleneck* 128 wide inside (wider than the 32- and
  64-channel branches it sits in), and a sigmoid head; its forward pass applies stage 4 through
  ``self.stages[-1]`` after the loop over the first two stages. ``build("hrnet", "report")`` raises.
- ``smoke``: tiny versions that train an epoch in seconds, for tests and the smoke book; their numbers
  mean nothing.

Its room sits above the data (the order is :mod:`dark`'s docstring) and imports nothing else of
``dark``: the data never reaches the models, and only the experiment builds them.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from dark.models.hourglass import StackedHourglass, hourglass
from dark.models.hrnet import HRNet, hrnet

__all__ = [
    "CONFIGS",
    "MODELS",
    "HRNet",
    "StackedHourglass",
    "build",
    "count_parameters",
    "hourglass",
    "hrnet",
    "model_kwargs",
]

#: model name -> constructor
MODELS = {"sh": hourglass, "hrnet": hrnet}

#: model name -> configuration name -> constructor keyword arguments
CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "sh": {
        "full": {"stacks": 4, "features": 128},
        "quick": {"stacks": 2, "features": 64, "pool_first": True},
        "smoke": {"stacks": 2, "features": 16, "depth": 2, "pool_first": True},
        "report": {
            "stacks": 4,
            "features": 128,
            "depth": 2,
            "bottleneck": "full",
            "upsample": "bilinear",
            "output": "sigmoid",
        },
    },
    "hrnet": {
        "full": {"width": 32, "modules": (1, 1, 1), "blocks": 4},
        "quick": {"width": 16, "modules": (1, 1, 1), "blocks": 2, "stem": 32},
        "smoke": {"width": 4, "modules": (1, 1, 1), "blocks": 1, "stem": 8},
    },
}


def model_kwargs(name: str, config: str = "full", **overrides: Any) -> dict[str, Any]:
    """The constructor arguments of ``name`` in ``config``, with ``overrides`` applied."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    if name == "hrnet" and config == "report":
        raise ValueError(
            "config 'report' of 'hrnet' is not built: the report's HRNet configuration does not match its "
            "text (see the dark.models docstring for what it builds)"
        )
    if config not in CONFIGS[name]:
        raise ValueError(f"unknown config {config!r} for {name!r}; expected one of {sorted(CONFIGS[name])}")
    return {**CONFIGS[name][config], **overrides}


def build(name: str, config: str = "full", **overrides: Any) -> nn.Module:
    """Build model ``name`` ("sh" or "hrnet") in configuration ``config``; ``overrides`` win.

    >>> import torch
    >>> model = build("sh", "smoke")
    >>> [tuple(h.shape) for h in model(torch.zeros(1, 1, 160, 320))]
    [(1, 18, 40, 80), (1, 18, 40, 80)]
    """
    kwargs = model_kwargs(name, config, **overrides)
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
