"""dark.experiment.device: one device rule, one precision rule."""

from __future__ import annotations

import pytest
import torch

from dark.experiment import device


def test_resolve_device_validates_and_honours_local_rank(monkeypatch):
    assert device.resolve_device("cpu") == torch.device("cpu")
    assert device.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        device.resolve_device("tpu")
    if not torch.cuda.is_available():
        assert device.resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ValueError, match="CUDA is not available"):
            device.resolve_device("cuda:1")
    else:
        monkeypatch.setenv("LOCAL_RANK", "0")
        assert device.resolve_device("auto") == torch.device("cuda", 0)


def test_cpu_flags_decide_auto_precision(tmp_path, monkeypatch):
    with_bf16, without = tmp_path / "a", tmp_path / "b"
    with_bf16.write_text("flags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n")
    without.write_text("flags\t\t: fpu sse2 avx2\n")
    assert device.cpu_has_bf16(with_bf16) and not device.cpu_has_bf16(without)
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    assert device.resolve_precision("cpu", "auto") == "bf16"
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: False)
    assert device.resolve_precision("cpu", "auto") == "fp32"
    assert device.resolve_precision("cpu", "bf16") == "bf16"
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        device.resolve_precision("cpu", "fp16")


def test_autocast_runs_a_convolution_in_the_resolved_precision():
    conv = torch.nn.Conv2d(1, 2, 3)
    x = torch.randn(1, 1, 8, 8)
    with device.autocast("cpu", "bf16"):
        assert conv(x).dtype == torch.bfloat16
    with device.autocast("cpu", "fp32"):
        assert conv(x).dtype == torch.float32
