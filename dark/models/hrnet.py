"""HRNet (Sun, Xiao, Liu & Wang, CVPR 2019) for depth images.

``(B, C_in, H, W) -> [(B, K, H/4, W/4)]`` (a one-element list, like the hourglass's per-stack list).

Architecture, as in the authors' ``pose_hrnet.py`` (the SimpleBaseline/HRNet code DARK builds on):

- stem to 1/4: two ``conv3x3/2 + BN + ReLU`` of 64 channels;
- stage 1: ``blocks`` bottlenecks (64 -> 256 channels, expansion 4);
- stages 2, 3, 4 with 2, 3, 4 parallel branches of widths ``w, 2w, 4w, 8w`` at 1/4 ... 1/32; a
  transition adds the new, half-resolution branch (``conv3x3/2 + BN + ReLU``) and adapts widths;
  each stage is ``modules[i]`` exchange modules; an exchange module runs ``blocks`` basic residual
  units per branch, then fuses: every output branch sums every input branch, upsampled (``conv1x1 + BN``,
  nearest) or downsampled (``conv3x3/2 + BN`` chains), then ReLU;
- the last module of stage 4 fuses into the highest-resolution branch only; a ``conv1x1`` head maps it
  to the ``K`` heatmaps (linear output);
- initialisation as in the reference code: every convolution ``N(0, 0.001^2)`` with zero bias
  (BatchNorm follows all but the head, so this mostly makes the initial heatmaps near zero).

The report's ``HRNet_4S`` is ``modules=(1, 1, 1)``, ``blocks=4`` (one exchange block of 4 residual units
per stage); the standard HRNet-W32 of the paper is ``modules=(1, 4, 3)``.
Upsampling goes to the target branch's exact size, so odd sizes work (40 -> 20 -> 10 -> 5).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """``conv3x3-BN-ReLU-conv3x3-BN`` plus the input, then ReLU: ``(B, c, H, W) -> (B, c, H, W)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(channels, channels, 3), _conv_bn(channels, channels, 3, relu=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.body(x))


class Bottleneck(nn.Module):
    """``conv1x1-conv3x3-conv1x1`` (``c_mid``, ``c_mid``, ``4 c_mid``) plus the (projected) input, ReLU."""

    def __init__(self, c_in: int, c_mid: int) -> None:
        super().__init__()
        c_out = 4 * c_mid
        self.body = nn.Sequential(
            _conv_bn(c_in, c_mid, 1), _conv_bn(c_mid, c_mid, 3), _conv_bn(c_mid, c_out, 1, relu=False)
        )
        self.skip = nn.Identity() if c_in == c_out else _conv_bn(c_in, c_out, 1, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.skip(x) + self.body(x))


class ExchangeModule(nn.Module):
    """Parallel branches of basic units, then multi-resolution fusion.

    ``[(B, c_i, H/2^i, W/2^i)] * n -> [(B, c_i, ...)] * n_out`` with ``n_out = n`` or 1 (highest only).
    """

    def __init__(self, widths: Sequence[int], blocks: int, multi_scale_output: bool = True) -> None:
        super().__init__()
        n = len(widths)
        self.branches = nn.ModuleList(nn.Sequential(*(BasicBlock(c) for _ in range(blocks))) for c in widths)
        self.fuse = nn.ModuleList()
        for i in range(n if multi_scale_output else 1):
            row = nn.ModuleList()
            for j in range(n):
                if j > i:  # lower resolution -> project, upsample in forward()
                    row.append(_conv_bn(widths[j], widths[i], 1, relu=False))
                elif j == i:
                    row.append(nn.Identity())
                else:  # higher resolution -> i - j strided 3x3 convolutions
                    steps = [_conv_bn(widths[j], widths[j], 3, stride=2) for _ in range(i - j - 1)]
                    steps.append(_conv_bn(widths[j], widths[i], 3, stride=2, relu=False))
                    row.append(nn.Sequential(*steps))
            self.fuse.append(row)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        out = []
        for i, row in enumerate(self.fuse):
            total = xs[i]
            for j, layer in enumerate(row):
                if j == i:
                    continue
                y = layer(xs[j])
                if j > i:
                    y = F.interpolate(y, size=xs[i].shape[-2:], mode="nearest")
                total = total + y
            out.append(F.relu(total))
        return out


class HRNet(nn.Module):
    """HRNet: ``(B, in_channels, H, W) -> [(B, joints, ceil(H/4), ceil(W/4))]``.

    Args:
        width: channels ``w`` of the highest-resolution branch (branches have ``w, 2w, 4w, 8w``).
        joints: heatmap channels ``K``.
        in_channels: input channels (1 for depth).
        modules: exchange modules in stages 2, 3, 4.
        blocks: residual units per branch in each exchange module, and bottlenecks in stage 1.
        stem: channels of the stem and of stage 1's bottlenecks (stage 1 outputs ``4 * stem``).
    """

    def __init__(
        self,
        width: int = 32,
        joints: int = 18,
        in_channels: int = 1,
        modules: Sequence[int] = (1, 1, 1),
        blocks: int = 4,
        stem: int = 64,
    ) -> None:
        super().__init__()
        if width < 1 or joints < 1 or blocks < 1 or stem < 1 or len(modules) != 3 or min(modules) < 1:
            raise ValueError(
                f"expected width, joints, blocks, stem >= 1 and modules = 3 positive counts; got "
                f"width={width}, joints={joints}, blocks={blocks}, stem={stem}, modules={modules}"
            )
        self.stem = nn.Sequential(_conv_bn(in_channels, stem, 3, stride=2), _conv_bn(stem, stem, 3, stride=2))
        self.stage1 = nn.Sequential(*(Bottleneck(stem if b == 0 else 4 * stem, stem) for b in range(blocks)))
        widths = [width * 2**i for i in range(4)]
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        previous = [4 * stem]
        for s, count in enumerate(modules):
            current = widths[: s + 2]
            transition = nn.ModuleList()
            for i, c in enumerate(current):
                if i < len(previous):
                    same = previous[i] == c
                    transition.append(nn.Identity() if same else _conv_bn(previous[i], c, 3))
                else:  # the new branch, from the lowest-resolution existing one
                    transition.append(_conv_bn(previous[-1], c, 3, stride=2))
            self.transitions.append(transition)
            last_stage = s == len(modules) - 1
            self.stages.append(
                nn.ModuleList(
                    ExchangeModule(current, blocks, multi_scale_output=not (last_stage and m == count - 1))
                    for m in range(count)
                )
            )
            previous = current
        self.head = nn.Conv2d(width, joints, 1)
        for m in self.modules():  # the reference code's initialisation (pose_hrnet.init_weights)
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        """``(B, C_in, H, W) -> [(B, K, ceil(H/4), ceil(W/4))]``."""
        xs = [self.stage1(self.stem(x))]
        for transition, stage in zip(self.transitions, self.stages, strict=True):
            xs = [layer(xs[min(i, len(xs) - 1)]) for i, layer in enumerate(transition)]
            for module in stage:
                xs = module(xs)
        return [self.head(xs[0])]


def hrnet(
    width: int = 32,
    joints: int = 18,
    in_channels: int = 1,
    modules: Sequence[int] = (1, 1, 1),
    blocks: int = 4,
    stem: int = 64,
) -> HRNet:
    """The report's ``HRNet_4S`` by default (W32, one exchange module of 4 units per stage, 18 maps)."""
    return HRNet(width, joints, in_channels, tuple(modules), blocks, stem)
