"""Stacked Hourglass network (Newell, Yang & Deng, ECCV 2016) for depth images.

``(B, C_in, H, W) -> [(B, K, H/4, W/4)] * stacks``: one heatmap tensor per stack (intermediate
supervision; the training loss sums them, the last one is the prediction).

Architecture, as in the authors' PyTorch code (``princeton-vl/pytorch_stacked_hourglass``):

- every block is the pre-activation residual *bottleneck* ``BN-ReLU-conv1x1(c/2) -BN-ReLU-conv3x3(c/2)
  -BN-ReLU-conv1x1(c)`` plus the input (through a 1x1 convolution when the width changes);
- stem to 1/4 resolution: ``conv7x7/2 (f/2) + BN + ReLU``, ``Residual(f/2 -> f)``, ``max-pool/2``,
  ``Residual(f)``, ``Residual(f)`` (with ``f = 128`` this is Newell's ``64 -> 128`` stem);
  ``pool_first=True`` moves the max-pool before the first residual (a CPU speed option: the residual
  then runs at 1/4 instead of 1/2 resolution; used by the reduced configurations only);
- each hourglass recurses ``depth`` (4) times: ``Residual`` skip branch at the current resolution,
  ``max-pool/2 -> Residual -> (hourglass | Residual) -> Residual -> nearest upsample`` added to it.
  The upsampling goes to the skip branch's size, so odd sizes (40 -> 20 -> 10 -> 5 -> 2) work;
- after each hourglass: ``Residual``, ``conv1x1 + BN + ReLU``, a ``conv1x1`` heatmap head (linear
  output); between stacks the features and the heatmaps are mapped back by ``conv1x1`` and added to the
  stack's input. PyTorch's default initialisation, except the heatmap heads: ``N(0, 0.001^2)``, zero
  bias (as HRNet's), so that training starts from near-empty maps instead of first unlearning noise.

Options for the report's public code (``moverseai/moai``, ``model_single_stackedhourglass_quant.yaml``
and ``moai/modules/lightning/hourglass.py``; ``dark.models`` configuration ``"report"``): recursion
``depth=2``, ``bottleneck="full"`` (every bottleneck as wide inside as its output), ``upsample="bilinear"``
and ``output="sigmoid"``. Not reproduced from that code: its stem widths (``f/4 -> f/2 -> f``), its
post-activation bottlenecks outside the hourglasses, and its projection without BatchNorm.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Residual(nn.Module):
    """Pre-activation bottleneck ``(B, c_in, H, W) -> (B, c_out, H, W)``; convolutions carry biases.

    ``mid``: the bottleneck's inner width (default ``c_out // 2``, Newell's; the report's code uses
    ``c_out``).
    """

    def __init__(self, c_in: int, c_out: int, mid: int | None = None) -> None:
        super().__init__()
        mid = c_out // 2 if mid is None else mid
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_in, mid, 1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, c_out, 1),
        )
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.body(x)


class Hourglass(nn.Module):
    """One hourglass of ``depth`` levels, ``(B, f, H, W) -> (B, f, H, W)`` for any ``H, W >= 1``.

    ``mid``: inner width of its bottlenecks (None: ``f // 2``); ``upsample``: "nearest" | "bilinear".
    """

    def __init__(self, depth: int, features: int, mid: int | None = None, upsample: str = "nearest") -> None:
        super().__init__()
        f = features
        self.upsample = upsample
        self.up = Residual(f, f, mid)
        self.down = Residual(f, f, mid)
        self.inner = Hourglass(depth - 1, f, mid, upsample) if depth > 1 else Residual(f, f, mid)
        self.out = Residual(f, f, mid)

    def forward(self, x: Tensor) -> Tensor:
        low = self.out(self.inner(self.down(F.max_pool2d(x, 2, ceil_mode=True))))
        if self.upsample == "nearest":
            up = F.interpolate(low, size=x.shape[-2:], mode="nearest")
        else:
            up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.up(x) + up


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class StackedHourglass(nn.Module):
    """Stacked Hourglass: ``(B, in_channels, H, W) -> [(B, joints, ceil(H/4), ceil(W/4))] * stacks``.

    Args:
        stacks: number of hourglasses (each with its own heatmap output).
        features: channel width ``f`` of the hourglasses.
        joints: heatmap channels ``K``.
        in_channels: input channels (1 for depth).
        depth: recursion depth of each hourglass (4: the coarsest level is 1/64 of the input).
        pool_first: max-pool before (instead of after) the stem's first residual (CPU speed option).
        bottleneck: inner width of every bottleneck: "half" of its output width (Newell's) or "full"
            (its output width; the report's code: ``bottleneck_features=features``).
        upsample: "nearest" (Newell's) or "bilinear" (the report's code) inside the hourglasses.
        output: "linear" heatmap heads, or "sigmoid" after each head (the report's code).
    """

    def __init__(
        self,
        stacks: int = 4,
        features: int = 128,
        joints: int = 18,
        in_channels: int = 1,
        depth: int = 4,
        pool_first: bool = False,
        bottleneck: str = "half",
        upsample: str = "nearest",
        output: str = "linear",
    ) -> None:
        super().__init__()
        if stacks < 1 or features < 2 or features % 2 or joints < 1 or depth < 1:
            raise ValueError(
                f"expected stacks >= 1, even features >= 2, joints >= 1, depth >= 1; got "
                f"stacks={stacks}, features={features}, joints={joints}, depth={depth}"
            )
        if bottleneck not in ("half", "full") or upsample not in ("nearest", "bilinear"):
            raise ValueError(
                f"expected bottleneck half|full, upsample nearest|bilinear; got {bottleneck}, {upsample}"
            )
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"expected output linear|sigmoid; got {output!r}")
        self.output = output
        mid = features if bottleneck == "full" else None
        f, half = features, features // 2
        pool = nn.MaxPool2d(2, ceil_mode=True)
        first = [pool, Residual(half, f, mid)] if pool_first else [Residual(half, f, mid), pool]
        self.stem = nn.Sequential(
            _conv_bn_relu(in_channels, half, 7, stride=2), *first, Residual(f, f, mid), Residual(f, f, mid)
        )
        self.hourglasses = nn.ModuleList(Hourglass(depth, f, mid, upsample) for _ in range(stacks))
        self.features = nn.ModuleList(
            nn.Sequential(Residual(f, f, mid), _conv_bn_relu(f, f, 1)) for _ in range(stacks)
        )
        self.heads = nn.ModuleList(nn.Conv2d(f, joints, 1) for _ in range(stacks))
        for head in self.heads:  # start from near-empty heatmaps, as HRNet's initialisation does
            nn.init.normal_(head.weight, std=0.001)
            nn.init.zeros_(head.bias)
        self.merge_features = nn.ModuleList(nn.Conv2d(f, f, 1) for _ in range(stacks - 1))
        self.merge_heatmaps = nn.ModuleList(nn.Conv2d(joints, f, 1) for _ in range(stacks - 1))

    def forward(self, x: Tensor) -> list[Tensor]:
        """``(B, C_in, H, W) -> [(B, K, h, w)] * stacks``, ``h, w`` = ``H, W`` after two ceil-halvings."""
        x = self.stem(x)
        outputs: list[torch.Tensor] = []
        for i, (hourglass, features, head) in enumerate(
            zip(self.hourglasses, self.features, self.heads, strict=True)
        ):
            y = features(hourglass(x))
            heatmaps = head(y)
            if self.output == "sigmoid":
                heatmaps = torch.sigmoid(heatmaps)
            outputs.append(heatmaps)
            if i < len(self.hourglasses) - 1:
                x = x + self.merge_features[i](y) + self.merge_heatmaps[i](heatmaps)
        return outputs


def hourglass(
    stacks: int = 4,
    features: int = 128,
    joints: int = 18,
    in_channels: int = 1,
    depth: int = 4,
    pool_first: bool = False,
    bottleneck: str = "half",
    upsample: str = "nearest",
    output: str = "linear",
) -> StackedHourglass:
    """The report's ``SH_4S`` by default: 4 stacks of 128 features, 18 heatmaps, 1 depth channel."""
    return StackedHourglass(
        stacks, features, joints, in_channels, depth, pool_first, bottleneck, upsample, output
    )
