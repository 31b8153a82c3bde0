"""benchmarks/train_step.py: the cells it measures (every model at every profile's input), the
compile payback and the 30-epoch projection, and one real (tiny) measurement."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from dark import models
from dark.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("train_step", ROOT / "benchmarks" / "train_step.py")
train_step = importlib.util.module_from_spec(spec)
sys.modules["train_step"] = train_step
spec.loader.exec_module(train_step)

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


def test_one_measured_cell_is_consistent():
    (cell,) = train_step.cells(["hrnet"], ["smoke"], batch=2)
    rows, s = train_step.measure_cell(cell, train_step.torch.device("cpu"), steps=1, warmup=1, compile_=False)
    fp32, bf16 = rows
    assert (fp32["variant"], bf16["variant"]) == ("fp32", "bf16")
    assert fp32["params"] == models.count_parameters(models.build("hrnet", "smoke"))
    assert fp32["images_per_s"] == pytest.approx(2 / fp32["step_s"])
    assert s["bf16_over_fp32"] == pytest.approx(bf16["images_per_s"] / fp32["images_per_s"])
    assert 0 < fp32["data_share"] < 1
    assert "report_30_epochs_h" not in s  # the projection is a GPU figure
    line = train_step.line(rows, s, compile_=False)
    assert line.split()[:4] == ["hrnet", "smoke", "80x160", "2"]
