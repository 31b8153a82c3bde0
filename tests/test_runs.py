"""dark.experiment.runs: the run directory's names, the Run handle and its loaders, the typed RunConfig."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dark import codecs, models
from dark.design import profiles
from dark.experiment import checkpoint, runs
from dark.experiment.runs import Measured, Run, RunConfig

ROOT = Path(__file__).resolve().parents[1]


def test_run_reads_every_file_it_names(tmp_path):
    run = Run(tmp_path / runs.run_name("sh", "ceil", 2))
    run.path.mkdir()
    assert run.path.name == "sh-ceil-s2"
    config = RunConfig.resolve("sh", "ceil", "smoke", seed=2, stacks=1, features=8, depth=1)
    run.file(runs.CONFIG).write_text(json.dumps(config.to_json()))
    run.file(runs.METRICS).write_text('{"epoch": 1, "val_rmse": 3.0}\n\n{"epoch": 2, "val_rmse": 2.5}\n')
    run.file(runs.EVALUATION).write_text('{"decoders": {}}')
    np.savez(run.file(runs.PREDICTIONS), coords=np.zeros((1, 2, 18, 2)), decoders=np.array(["dark"]))
    sums = np.arange(6.0).reshape(2, 3)
    columns = np.array(["n", "sq_error", "error"])
    groups = np.array(["a", "b"])
    np.savez(run.file(runs.FRAME_SUMS), groups=groups, columns=columns, **{"decoder:dark": sums})
    assert run.config() == config and run.evaluation() == {"decoders": {}}
    assert runs.load_config(run.path) == config.to_json()
    assert [h["val_rmse"] for h in run.history()] == [3.0, 2.5]
    assert run.predictions()["coords"].shape == (1, 2, 18, 2)
    fs = run.frame_sums()
    assert fs["groups"].tolist() == ["a", "b"] and list(fs["decoders"]) == ["dark"]
    np.testing.assert_array_equal(fs["decoders"]["dark"], sums)
    assert Run(tmp_path / "none").history() == []

    net = config.build_model()
    assert models.count_parameters(net) == models.count_parameters(runs.build_model(config.to_json()))
    torch.nn.init.constant_(next(net.parameters()), 0.25)
    checkpoint.save({"model": net.state_dict(), "config": config.to_json(), "epoch": 2}, run.file(runs.BEST))
    model, cfg, epoch = run.load_model("best")
    assert epoch == 2 and cfg == config and not model.training
    assert torch.equal(next(model.parameters()), next(net.parameters()))
    with pytest.raises(ValueError, match="which must be"):
        run.load_model("first")


def test_resolve_takes_the_profile_and_stores_each_setting_once():
    c = RunConfig.resolve("hrnet", "random-heatmap", "full", seed=3, precision="fp32", epochs=2)
    p = profiles.get("full")
    assert (c.profile, c.model_config, c.seed, c.epochs, c.batch_size) == ("full", "full", 3, 2, 32)
    assert c.model_kwargs == {**models.CONFIGS["hrnet"]["full"], "modules": [1, 1, 1]}  # JSON form
    assert (c.input_size, c.heatmap_size, c.heatmap_stride) == ((160, 320), (40, 80), 4)
    assert (c.schedule, c.lr, c.betas, c.sigma) == (p.recipe.schedule, 2e-3, (0.9, 0.999), 2.0)
    j = c.to_json()
    assert not {"config", "grid", "rounding", "n_train"} & set(j) and j["input_size"] == [160, 320]
    assert c.codec == codecs.Codec("random-heatmap", 2.0, 4, "stride", (160, 320), (40, 80))
    assert RunConfig.from_json(json.loads(json.dumps(j))) == c
    measured = dataclasses.replace(c, measured=Measured(10, 5, 1, "cpu", "2.x", 1234, threads=2))
    assert measured.to_json() == {**j, "n_train": 10, "n_val": 5, "world_size": 1, "device": "cpu",
                                  "torch": "2.x", "parameters": 1234, "threads": 2}  # fmt: skip
    assert RunConfig.from_json(measured.to_json()) == measured
    older = {k: v for k, v in measured.to_json().items() if k != "threads"}  # a run that predates threads
    assert RunConfig.from_json(older).measured.threads is None
    bad_input = [
        (("resnet", "ceil", "quick"), "unknown model"),
        (("sh", "banker", "quick"), "encoding"),
        (("sh", "ceil", "huge"), "unknown profile 'huge'"),
    ]
    for bad, match in bad_input:
        with pytest.raises(ValueError, match=match):
            RunConfig.resolve(*bad)
    with pytest.raises(ValueError, match="epochs >= 1"):
        RunConfig.resolve("sh", "ceil", epochs=0)


@pytest.mark.parametrize(
    ("old", "encoding", "scaling"),
    [
        ({"encoding": "quantized", "grid": "heatmap", "rounding": "nearest"}, "quantized-heatmap", "stride"),
        ({"encoding": "quantized", "grid": "input", "rounding": "nearest"}, "quantized", "stride"),
        ({"encoding": "quantized"}, "quantized", "stride"),
        ({"encoding": "unbiased", "grid": None, "rounding": None}, "unbiased", "stride"),
        ({"encoding": "udp", "grid": "heatmap"}, "unbiased", "udp"),  # the removed encoder "udp"
        ({"encoding": "ceil", "grid": "input", "rounding": "ceil"}, "ceil", "stride"),
        ({"encoding": "random-heatmap", "grid": "heatmap"}, "random-heatmap", "stride"),
    ],
)
def test_from_json_reads_the_old_spellings(old, encoding, scaling):
    new = RunConfig.resolve("sh", "unbiased", "quick", precision="fp32").to_json()
    stored = {k: v for k, v in new.items() if k not in ("profile", "scaling")} | old | {"config": "quick"}
    c = RunConfig.from_json(stored)
    assert (c.encoding, c.scaling, c.profile) == (encoding, scaling, "quick")
    assert c.codec == codecs.Codec(encoding, 2.0, 8, scaling, (160, 320), (20, 40))


def test_from_json_names_what_is_wrong():
    new = RunConfig.resolve("sh", "ceil", "quick").to_json()
    with pytest.raises(ValueError, match="rounds on the input grid"):
        RunConfig.from_json(new | {"grid": "heatmap"})
    with pytest.raises(ValueError, match="unknown run configuration keys"):
        RunConfig.from_json(new | {"colour": "blue"})
    with pytest.raises(ValueError, match="sigma"):
        RunConfig.from_json({k: v for k, v in new.items() if k != "sigma"})


def test_every_recorded_run_config_loads():
    paths = sorted((ROOT / "results").glob("*/runs/*/config.json"))
    assert paths
    for path in paths:
        stored = json.loads(path.read_text())
        c = RunConfig.from_json(stored)
        assert (c.model, c.encoding, c.seed) == (stored["model"], stored["encoding"], stored["seed"])
        assert c.profile == stored["profile"] and c.measured.n_train == stored["n_train"]
        if "grid" in stored or "rounding" in stored:  # written before ENCODINGS held them once
            assert (c.codec.spec.grid, c.codec.spec.rounding) == (stored.get("grid"), stored.get("rounding"))
        own = ("config", "grid", "rounding", runs.RECORD_KEY)  # old spellings; the record's provenance block
        assert {k: v for k, v in stored.items() if k not in own} == c.to_json()
