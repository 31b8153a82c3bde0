"""benchmarks/train_step.py: the cells it measures (every model at every profile's input), the
compile payback and the 30-epoch projection, the FLOP count, one real (tiny) measurement and one real
(tiny) training epoch scaled to its profile. benchmarks/profile_epoch.py: its labels cover the loop
and its phases add up to the epoch that metrics.jsonl times."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from dark import models
from dark.design.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("train_step", ROOT / "benchmarks" / "train_step.py")
train_step = importlib.util.module_from_spec(spec)
sys.modules["train_step"] = train_step
spec.loader.exec_module(train_step)
spec = importlib.util.spec_from_file_location("profile_epoch", ROOT / "benchmarks" / "profile_epoch.py")
profile_epoch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(profile_epoch)
spec = importlib.util.spec_from_file_location("decode_bench", ROOT / "benchmarks" / "decode.py")
decode_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(decode_bench)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_cells_cover_every_model_and_profile_once():
    cells = train_step.cells(list(models.MODELS), list(PROFILES), batch=None)
    for name, prof in PROFILES.items():
        for model in models.MODELS:
            (cell,) = [c for c in cells if name in c.profiles and c.model == model]
            assert (cell.model_config, cell.batch) == (prof.model_config, prof.recipe.batch_size)
            scale = prof.recipe.input_scale
            assert cell.input_size == (160 // scale, 320 // scale)
            assert cell.heatmap_size == (math.ceil(160 / scale / 4), math.ceil(320 / scale / 4))
    keys = [(c.model, c.model_config, c.input_scale, c.batch) for c in cells]
    assert len(keys) == len(set(keys))  # profiles with the same cell share it
    distinct = {(p.model_config, p.recipe.input_scale, p.recipe.batch_size) for p in PROFILES.values()}
    assert len(cells) == len(models.MODELS) * len(distinct)


def test_payback_and_projection():
    q = PROFILES["quick"]
    quick = q.recipe.epochs * math.ceil(4 * q.frames.train / q.recipe.batch_size)
    assert train_step.quick_run_steps() == quick
    eager = {"step_s": 0.375}
    # 25 s of compiling, 0.125 s saved per step: paid back after 200 steps
    p = train_step.payback({"step_s": 0.25, "compile_s": 25.0}, eager)
    assert p["break_even_steps"] == 200 and p["pays_back"] == (200 <= quick)
    assert p["report_run_steps"] == 30 * math.ceil(73_248 / 32) and p["pays_back_report"]
    slower = train_step.payback({"step_s": 0.5, "compile_s": 1.0}, eager)
    assert slower["break_even_steps"] is None and not slower["pays_back"]
    # 30 epochs x 73,248 images at 30.52 images/s: 20 h, the report's figure
    assert train_step.projection(30 * 73_248 / (20 * 3600)) == pytest.approx(20.0)


@pytest.fixture(scope="module")
def smoke_data(tmp_path_factory):
    from dark.data import synth

    return synth.render_dataset(tmp_path_factory.mktemp("smoke") / "data", "smoke", progress=False)


def test_step_flops_count_forward_and_backward():
    torch = train_step.torch
    for model in models.MODELS:
        (cell,) = train_step.cells([model], ["smoke"], batch=2)
        train, forward = train_step.step_flops(cell)
        # the same count on real tensors (the meta device only skips the arithmetic)
        net = models.build(model, "smoke")
        with train_step.FlopCounterMode(display=False) as counted, torch.no_grad():
            net.eval()(torch.zeros(2, 1, *cell.input_size))
        assert forward == counted.get_total_flops() / 2
        # backward: a gradient of the input and of the weights per convolution, 2x the forward, less
        # the input gradient of the first convolution (its input needs none)
        assert 2.5 * forward < train < 3 * forward
    assert train_step.matmul_rate(torch.device("cpu"), n=64, reps=1) > 0
    assert train_step.profile_views("quick") == (6000, 500)
    assert train_step.profile_views("full") == (73_248, 12_236)


def test_one_measured_cell_is_consistent():
    (cell,) = train_step.cells(["hrnet"], ["smoke"], batch=2)
    rows, s = train_step.measure_cell(cell, train_step.torch.device("cpu"), steps=1, warmup=1, compile_=False)
    fp32, bf16 = rows
    assert (fp32["variant"], bf16["variant"]) == ("fp32", "bf16")
    auto = train_step.resolve_precision("cpu", "auto")
    assert s["auto"] == auto and [r["auto"] for r in rows] == [auto == "fp32", auto == "bf16"]
    for r in rows:
        assert r["flops_per_image"] == s["flops_per_image"] > 0
        assert r["of_matmul"] == pytest.approx(r["flops_per_image"] * r["images_per_s"] / r["matmul_flop_s"])
    assert fp32["params"] == models.count_parameters(models.build("hrnet", "smoke"))
    assert fp32["images_per_s"] == pytest.approx(2 / fp32["step_s"])
    assert s["bf16_over_fp32"] == pytest.approx(bf16["images_per_s"] / fp32["images_per_s"])
    assert 0 < fp32["data_share"] < 1
    assert "report_30_epochs_h" not in s  # the projection is a GPU figure
    line = train_step.line(rows, s, compile_=False)
    assert line.split()[:4] == ["hrnet", "smoke", "80x160", "2"]


def test_real_epoch_scales_the_last_epoch_to_the_profile(smoke_data):
    (cell,) = train_step.cells(["sh"], ["smoke"], batch=None)
    e = train_step.real_epoch(cell, smoke_data, "fp32", train_step.torch.device("cpu"), epochs=1)
    assert (e["n_train"], e["n_val"], e["precision"]) == (64, 32, "fp32")  # the smoke profile's views
    assert (e["profile_train_views"], e["profile_val_views"]) == (64, 32)
    assert e["epoch_s"] == pytest.approx(4 * e["step_s"] + 32 * e["val_s_per_view"])
    train, forward = train_step.step_flops(cell)
    assert e["of_matmul"] == pytest.approx((64 * train + 32 * forward) / e["epoch_s"] / e["matmul_flop_s"])
    assert 0 < e["val_share"] < 1
    assert train_step.epoch_line(e, "bf16").split()[:5] == ["sh", "smoke", "80x160", "smoke", "fp32"]


def test_profile_epoch_labels_the_loop(smoke_data, tmp_path):
    assert profile_epoch.kind("aten::convolution_backward") == "convolution"
    assert profile_epoch.kind("aten::native_batch_norm") == "batch norm"
    assert profile_epoch.kind("aten::upsample_nearest2d_backward") == "upsampling"
    assert profile_epoch.kind("aten::_local_scalar_dense") == "host sync (.item)"
    part = profile_epoch.subset(smoke_data, 1, tmp_path / "part")  # one shard: 8 frames, 32 views
    from dark.data.synth import RenderedDataset

    assert (len(RenderedDataset(part, "train")), len(RenderedDataset(part, "val"))) == (32, 32)
    out = tmp_path / "profile.json"
    args = ["--data", str(smoke_data), "--profile", "smoke", "--threads", "1", "--json", str(out)]
    assert profile_epoch.main(args) == 0
    r = json.loads(out.read_text())
    assert r["labels_missing"] == [] and r["precision"] == "fp32" and r["steps"] == 4
    parts = {(p, q): s for p, q, s in r["parts"]}
    expected = [("train", "forward"), ("train", "backward"), ("train", "optimizer"), ("train", "targets")]
    expected += [
        ("validate", "forward"),
        ("validate", "decode"),
        ("validate", "scores"),
        ("save", "checkpoint"),
    ]
    for p, q in expected:
        assert parts[p, q] > 0, (p, q)
    # the labelled parts add up to the epoch metrics.jsonl times (training and validation)
    train = sum(s for (p, _), s in parts.items() if p == "train")
    val = sum(s for (p, _), s in parts.items() if p == "validate")
    assert train == pytest.approx(r["train_s"], rel=0.05, abs=0.02)
    assert train + val == pytest.approx(r["epoch_s"], rel=0.05, abs=0.02)
    kinds = {(p, k): s for p, k, s in r["kinds"]}
    assert sum(kinds.values()) == pytest.approx(sum(parts.values()))
    assert kinds["train", "convolution"] > 0
    # unprofiled: the epoch's ratio alone
    assert profile_epoch.main([*args, "--no-profile"]) == 0
    r = json.loads(out.read_text())
    assert not r["profiled"] and "parts" not in r and r["steps"] == 4
    useful = 64 * r["flops_per_image"] + 32 * r["val_flops_per_image"]
    assert r["of_matmul"] == pytest.approx(useful / r["epoch_s"] / r["matmul_flop_s"])
    assert r["of_matmul_cpu"] == pytest.approx(useful / r["epoch_cpu_s"] / r["matmul_flop_cpu_s"])
    assert 0 < r["epoch_cpu_s"] <= 1.1 * r["epoch_s"] * r["threads"]  # one thread here


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_faster_step_trains_the_same_weights(smoke_data, tmp_path, monkeypatch, precision):
    """Issue 20's changes to the step (foreach Adam, no host sync without a progress bar, validation
    loss summed on the device) leave what is trained bitwise as the plain loop trains it."""
    import torch

    from dark.experiment import checkpoint, runs
    from dark.experiment.train import train

    def run(out):
        train(smoke_data, out, "sh", profile="smoke", epochs=2, device="cpu", quiet=True, precision=precision)
        return checkpoint.load(out / runs.LAST), runs.load_history(out)

    fast, fast_history = run(tmp_path / "fast")

    class PlainAdam(torch.optim.Adam):  # the single-tensor loop over the parameters
        def __init__(self, *args, foreach=None, **kwargs):
            super().__init__(*args, foreach=False, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", PlainAdam)
    plain, plain_history = run(tmp_path / "plain")
    assert fast["model"].keys() == plain["model"].keys()
    for name, weight in fast["model"].items():
        assert torch.equal(weight, plain["model"][name]), name
    for key in ("train_loss", "val_loss", "val_pckh@0.5", "val_decoders"):
        assert [h[key] for h in fast_history] == [h[key] for h in plain_history], key
    assert fast["optimizer"]["param_groups"][0]["foreach"] is True
    assert plain["optimizer"]["param_groups"][0]["foreach"] is False


def test_the_readme_criterion_table_is_the_committed_run_output():
    """benchmarks/README.md's table of the issue-20 criterion carries the numbers of
    benchmarks/results/profile_epoch.txt (the run's own output), row by row, with the useful rate that
    the ratio states (useful / matmul), so a rerun that updates the output cannot leave the table behind."""
    import re

    out = (ROOT / "benchmarks" / "results" / "profile_epoch.txt").read_text()
    readme = (ROOT / "benchmarks" / "README.md").read_text().split("### The criterion")[1].split("\n#")[0]
    found = re.findall(
        r"views, (bf16|fp32), 2 threads;.*\n"
        r"epoch ([\d.]+) s .*useful ([\d.]+) GFLOP/s over matmul ([\d.]+) GFLOP/s = \*\*(\d+)%\*\*",
        out,
    )
    assert sorted(p for p, *_ in found) == ["bf16", "fp32"]
    for precision, epoch, useful, matmul, ratio in found:
        assert round(100 * float(useful) / float(matmul)) == int(ratio)
        row = next(line for line in readme.splitlines() if line.startswith(f"| {precision} ("))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1:] == [f"{epoch} s", f"{useful} GFLOP/s", f"{matmul} GFLOP/s", f"**{ratio}%**"], row


@pytest.mark.parametrize("kernel", [5, 11])
def test_the_bound_of_dark_does_darks_work_where_the_window_is_inside(kernel):
    """``benchmarks/decode.py``'s bound computes what ``dark`` computes before its Newton step (the log of the
    blurred map at the 13 stencil points) wherever the window lies inside its map, so that its time is a
    bound of work ``dark`` really does, not of something cheaper."""
    import numpy as np
    import torch

    from dark.codecs._maps import _cut_by_border
    from dark.codecs._stencil import blurred_stencil
    from dark.study import make_batch

    maps = make_batch(batch=8, seed=3)  # (8, 17, 64, 48) float32
    flat = maps.reshape(-1, 64, 48)
    peak = np.argmax(flat.reshape(len(flat), -1), axis=1)
    inside = ~_cut_by_border(64, 48, 2 + (kernel - 1) // 2)[peak]
    assert inside.sum() >= len(peak) // 2  # most windows (k = 11: not all) lie inside their map
    got = decode_bench.bound_blur(kernel)(maps)
    g = tuple(decode_bench.codecs.blur_kernel(kernel))
    want = np.log(blurred_stencil(torch.from_numpy(flat), peak, g))
    np.testing.assert_allclose(got[:, inside], want[:, inside], rtol=0, atol=1e-12)
    assert got.shape == (13, len(peak))
