"""dark.runs: the run directory's names, the Run handle and its loaders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dark import checkpoint, runs
from dark.runs import Run


def test_run_reads_every_file_it_names(tmp_path):
    run = Run(tmp_path / runs.run_name("sh", "ceil", 2))
    run.path.mkdir()
    assert run.path.name == "sh-ceil-s2"
    config = {"model": "sh", "model_kwargs": {"stacks": 1, "features": 8, "depth": 1}, "encoding": "ceil"}
    run.file(runs.CONFIG).write_text(json.dumps(config))
    run.file(runs.METRICS).write_text('{"epoch": 1, "val_rmse": 3.0}\n\n{"epoch": 2, "val_rmse": 2.5}\n')
    run.file(runs.EVALUATION).write_text('{"decoders": {}}')
    np.savez(run.file(runs.PREDICTIONS), coords=np.zeros((1, 2, 18, 2)), decoders=np.array(["dark"]))
    sums = np.arange(6.0).reshape(2, 3)
    columns = np.array(["n", "sq_error", "error"])
    groups = np.array(["a", "b"])
    np.savez(run.file(runs.FRAME_SUMS), groups=groups, columns=columns, **{"decoder:dark": sums})
    assert run.config() == config and run.evaluation() == {"decoders": {}}
    assert [h["val_rmse"] for h in run.history()] == [3.0, 2.5]
    assert run.predictions()["coords"].shape == (1, 2, 18, 2)
    fs = run.frame_sums()
    assert fs["groups"].tolist() == ["a", "b"] and list(fs["decoders"]) == ["dark"]
    np.testing.assert_array_equal(fs["decoders"]["dark"], sums)
    assert Run(tmp_path / "none").history() == []

    net = runs.build_model(config)
    torch.nn.init.constant_(next(net.parameters()), 0.25)
    checkpoint.save({"model": net.state_dict(), "config": config, "epoch": 2}, run.file(runs.BEST))
    model, cfg = run.load_model("best")
    assert cfg["best_epoch"] == 2 and not model.training
    assert torch.equal(next(model.parameters()), next(net.parameters()))
    with pytest.raises(ValueError, match="which must be"):
        run.load_model("first")
