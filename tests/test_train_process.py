"""Training in subprocesses: killed mid-epoch, a run resumes to identical weights; torchrun, 2 processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from dark.data.synth import render_dataset
from dark.experiment.runs import Run
from dark.experiment.train import KILL_ENV, train

pytestmark = pytest.mark.slow
TIMING = ("time_s", "images_per_s")
ARGS = ["--model", "sh", "--encoding", "unbiased", "--profile", "smoke", "--quiet", "--threads", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The smoke dataset: 64 training views (8 batches of 8), 32 validation views."""
    return render_dataset(tmp_path_factory.mktemp("smoke"), profile="smoke", seed=5, progress=False)


def env(**extra):
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in lines]


def test_killed_run_resumes_to_the_uninterrupted_weights(data, tmp_path):
    options = {"model": "sh", "profile": "smoke", "epochs": 3, "batch_size": 8, "quiet": True, "threads": 1}
    reference = train(data, tmp_path / "reference", **options)

    out = tmp_path / "killed"
    command = [sys.executable, "-m", "dark", "train", "--data", str(data), "--out", str(out), *ARGS]
    command += ["--epochs", "3", "--batch-size", "8"]
    killed = subprocess.run(command, env=env(**{KILL_ENV: "2:3"}), capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert len(records(out)) == 1  # epoch 2 was lost, epoch 1 is complete
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

    train(data, out, resume=True, **options)
    assert records(out) == records(reference)
    last, expected = (torch.load(r / "last.pt", weights_only=True) for r in (out, reference))
    for key, value in expected["model"].items():
        assert torch.equal(last["model"][key], value), key
    for index, state in expected["optimizer"]["state"].items():
        assert torch.equal(last["optimizer"]["state"][index]["exp_avg_sq"], state["exp_avg_sq"])


def test_torchrun_two_cpu_processes(data, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "dark", "train", "--data", str(data), "--out", str(out), "--device", "cpu", *ARGS]
    command += ["--epochs", "2", "--batch-size", "16"]
    result = subprocess.run(command, env=env(), capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    config = Run(out).config()
    assert config.measured.world_size == 2 and config.batch_size == 16
    ddp = records(out)
    assert [r["epoch"] for r in ddp] == [1, 2]
    single = records(train(data, tmp_path / "single", epochs=2, batch_size=16, quiet=True, threads=1))
    # the same curve shape: the training loss falls in both, by a comparable factor
    ratios = [r[1]["train_loss"] / r[0]["train_loss"] for r in (ddp, single)]
    print(f"train loss epoch 2 / epoch 1: 2 processes {ratios[0]:.3f}, 1 process {ratios[1]:.3f}")
    assert max(ratios) < 1 and 0.5 < ratios[0] / ratios[1] < 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "single"]
