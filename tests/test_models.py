"""Models: output shapes, parameter counts from the layer definitions, and overfitting 8 samples."""

from __future__ import annotations

import math

import pytest
import torch

from dark.models import CONFIGS, MODELS, build, count_parameters, hourglass, hrnet, model_kwargs

#: every model configuration that builds (the report's HRNet configuration is documented, not built)
BUILT = [(name, config) for name in MODELS for config in CONFIGS[name]]

# ---------------------------------------------------------------- closed-form parameter counts
# Each count below is written from the architecture's definition (Newell 2016; Sun 2019, pose_hrnet.py):
# a k x k convolution has c_in * c_out * k^2 weights (+ c_out biases), a BatchNorm 2 c (scale, shift).


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def bn(c: int) -> int:
    return 2 * c


def residual(c_in: int, c_out: int, full: bool = False) -> int:  # pre-activation bottleneck, biased convs
    m = c_out if full else c_out // 2  # full: the report's code (bottleneck_features = out features)
    body = bn(c_in) + conv(c_in, m, 1) + bn(m) + conv(m, m, 3) + bn(m) + conv(m, c_out, 1)
    return body + (conv(c_in, c_out, 1) if c_in != c_out else 0)


def hourglass_module(depth: int, f: int, full: bool = False) -> int:
    inner = hourglass_module(depth - 1, f, full) if depth > 1 else residual(f, f, full)
    return 3 * residual(f, f, full) + inner


def stacked_hourglass(stacks: int, f: int, joints: int, c_in: int, depth: int = 4, full: bool = False) -> int:
    stem = conv(c_in, f // 2, 7) + bn(f // 2) + residual(f // 2, f, full) + 2 * residual(f, f, full)
    per_stack = hourglass_module(depth, f, full) + residual(f, f, full) + conv(f, f, 1) + bn(f)
    per_stack += conv(f, joints, 1)
    merges = (stacks - 1) * (conv(f, f, 1) + conv(joints, f, 1))
    return stem + stacks * per_stack + merges


def conv_bn(c_in: int, c_out: int, k: int) -> int:  # HRNet: convolutions before BN carry no bias
    return conv(c_in, c_out, k, bias=False) + bn(c_out)


def bottleneck(c_in: int, m: int) -> int:
    skip = conv_bn(c_in, 4 * m, 1) if c_in != 4 * m else 0
    return conv_bn(c_in, m, 1) + conv_bn(m, m, 3) + conv_bn(m, 4 * m, 1) + skip


def exchange(widths: list[int], blocks: int, outputs: int) -> int:
    total = sum(blocks * 2 * conv_bn(c, c, 3) for c in widths)
    for i in range(outputs):
        for j, c in enumerate(widths):
            if j > i:
                total += conv_bn(c, widths[i], 1)
            elif j < i:
                total += (i - j - 1) * conv_bn(c, c, 3) + conv_bn(c, widths[i], 3)
    return total


def hrnet_count(width: int, joints: int, c_in: int, modules, blocks: int, stem: int = 64) -> int:
    total = conv_bn(c_in, stem, 3) + conv_bn(stem, stem, 3)
    total += bottleneck(stem, stem) + (blocks - 1) * bottleneck(4 * stem, stem)
    previous = [4 * stem]
    for s, count in enumerate(modules):
        widths = [width * 2**b for b in range(s + 2)]
        total += sum(conv_bn(previous[b], c, 3) for b, c in enumerate(widths[:-1]) if previous[b] != c)
        total += conv_bn(previous[-1], widths[-1], 3)  # the new branch
        for m in range(count):
            last = s == 2 and m == count - 1
            total += exchange(widths, blocks, 1 if last else len(widths))
        previous = widths
    return total + conv(width, joints, 1)


#: closed-form parameter count of each model from its constructor arguments (a new model adds its own)
COUNTS = {
    "sh": lambda kw: stacked_hourglass(
        kw["stacks"], kw["features"], 18, 1, kw.get("depth", 4), full=kw.get("bottleneck") == "full"
    ),
    "hrnet": lambda kw: hrnet_count(kw["width"], 18, 1, kw["modules"], kw["blocks"], kw.get("stem", 64)),
}


@pytest.mark.parametrize(("name", "config"), BUILT)
def test_parameter_count_matches_the_layer_definitions(name, config):
    kwargs = model_kwargs(name, config)
    model = build(name, config)
    expected = COUNTS[name](kwargs)
    print(f"{name} {config}: {count_parameters(model):,} parameters ({kwargs})")
    assert count_parameters(model) == expected


def test_standard_hrnet_w32_has_the_published_size():
    # Sun et al. 2019, Table 1: HRNet-W32 (RGB input, 17 COCO joints, modules 1, 4, 3) has 28.5M parameters.
    model = hrnet(width=32, joints=17, in_channels=3, modules=(1, 4, 3), blocks=4)
    count = count_parameters(model)
    print(f"HRNet-W32 (COCO): {count:,} parameters")
    assert count == hrnet_count(32, 17, 3, (1, 4, 3), 4)
    assert round(count / 1e5) == 285


def test_report_config_is_the_report_codes_hourglass():
    """moai's SH: depth 2, 128-wide bottlenecks, bilinear upsampling, sigmoid heads (no parameters)."""
    model = build("sh", "report").eval()
    # by hand: each 128 -> 128 bottleneck with a 128-wide inside has 3 BNs of 128 and convs
    # 128*128 + 128, 128*128*9 + 128, 128*128 + 128: 768 + 16512 + 147584 + 16512 = 181376 parameters
    assert residual(128, 128, full=True) == 181376
    expected = stacked_hourglass(4, 128, 18, 1, depth=2, full=True)
    assert count_parameters(model) == expected
    # depth 2: 3 residuals per level plus the innermost = 7 residuals per hourglass, 4 hourglasses
    assert sum(type(m).__name__ == "Residual" for m in model.hourglasses.modules()) == 4 * 7
    with torch.no_grad():
        outputs = model(torch.randn(2, 1, 160, 320))
    assert [tuple(o.shape) for o in outputs] == [(2, 18, 40, 80)] * 4
    assert all(((o > 0) & (o < 1)).all() for o in outputs)  # the sigmoid
    assert model.hourglasses[0].upsample == "bilinear"
    with pytest.raises(ValueError, match="report"):
        build("hrnet", "report")


def test_report_options_change_only_what_they_name():
    base = build("sh", "smoke")
    sig = build("sh", "smoke", output="sigmoid")
    assert count_parameters(sig) == count_parameters(base)
    sig.load_state_dict(base.state_dict())
    x = torch.randn(1, 1, 32, 64)
    base.eval(), sig.eval()
    with torch.no_grad():
        # the first stack's maps are the sigmoid of the linear ones (later stacks merge the sigmoid maps)
        torch.testing.assert_close(sig(x)[0], torch.sigmoid(base(x)[0]))
        bil = build("sh", "smoke", upsample="bilinear").eval()
        bil.load_state_dict(base.state_dict())
        assert (bil(x)[-1] - base(x)[-1]).abs().max() > 1e-2 * base(x)[-1].abs().max()
    kwargs = model_kwargs("sh", "smoke")
    full = build("sh", "smoke", bottleneck="full")
    assert count_parameters(full) == stacked_hourglass(2, 16, 18, 1, kwargs["depth"], full=True)
    with pytest.raises(ValueError, match="upsample"):
        build("sh", "smoke", upsample="cubic")


def test_full_configs_are_the_reports_models():
    assert CONFIGS["sh"]["full"] == {"stacks": 4, "features": 128}
    assert CONFIGS["hrnet"]["full"] == {"width": 32, "modules": (1, 1, 1), "blocks": 4}
    assert len(hourglass().hourglasses) == 4


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("size", [(160, 320), (80, 160), (64, 48), (61, 97), (8, 8)])
def test_output_shapes(name, size):
    model = build(name, "smoke").eval()
    h, w = size
    with torch.no_grad():
        outputs = model(torch.randn(2, 1, h, w))
    stacks = model_kwargs(name, "smoke").get("stacks", 1)
    assert len(outputs) == stacks
    for heatmaps in outputs:
        assert heatmaps.shape == (2, 18, math.ceil(h / 4), math.ceil(w / 4))
        assert torch.isfinite(heatmaps).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_full_models_map_the_report_input_to_80x40_heatmaps(name):
    model = build(name, "full").eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 1, 160, 320))
    assert [tuple(o.shape) for o in outputs] == [(1, 18, 40, 80)] * model_kwargs(name, "full").get(
        "stacks", 1
    )


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="unknown model"):
        build("resnet")
    with pytest.raises(ValueError, match="unknown config"):
        build("sh", "huge")
    with pytest.raises(ValueError, match="features"):
        hourglass(features=3)


# ---------------------------------------------------------------- overfitting


def gaussian_targets(joints: torch.Tensor, size: tuple[int, int], sigma: float = 1.0) -> torch.Tensor:
    """``(N, K, 2)`` heatmap px -> ``(N, K, h, w)`` unit-peak Gaussians (written here, not dark.codecs)."""
    h, w = size
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)
    dx = xs - joints[..., 0, None, None]
    dy = ys - joints[..., 1, None, None]
    return torch.exp(-(dx**2 + dy**2) / (2 * sigma**2))


@pytest.mark.parametrize("name", list(MODELS))
def test_overfits_eight_samples(name):
    """8 "people": one blob each, 18 joints at fixed offsets from it; the quick config memorises them."""
    torch.set_num_threads(1)  # small tensors: one thread is faster, and safe beside other test workers
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    h, w = 40, 80  # input; heatmaps 10 x 20
    offsets = (torch.rand(18, 2, generator=generator) - 0.5) * 5  # heatmap px
    centres = torch.rand(8, 1, 2, generator=generator) * torch.tensor([w / 4 - 7, h / 4 - 7]) + 3.5
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    c = centres[:, 0] * 4  # input px
    images = torch.exp(-((xx - c[:, 0, None, None]) ** 2 + (yy - c[:, 1, None, None]) ** 2) / 50)[:, None]
    targets = gaussian_targets(centres + offsets, (h // 4, w // 4))
    model = build(name, "quick")
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(120):
        outputs = model(images)
        loss = sum(torch.mean((out - targets) ** 2) for out in outputs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    zero_loss = len(outputs) * targets.square().mean().item()  # the loss of predicting empty maps
    print(f"{name}: loss {losses[0]:.4g} -> {losses[-1]:.4g} (empty maps: {zero_loss:.4g})")
    assert losses[-1] < losses[0] / 10
    assert losses[-1] < zero_loss / 10
