"""benchmarks/gpu_check.py: its CPU dry run end to end (the CUDA tests, decode, ``dark book --profile smoke
--max-trainings 2`` into a record, the pack) and unpacked into a record, so the GPU check cannot rot between
the rare sessions with a GPU; and its pieces (a part past its limit or the deadline, the pack of what a
record gained, the prepared renderer data, the wheels' pins)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dark.design import profiles
from dark.experiment.runs import Run
from dark.provenance import git_state
from dark.record import record

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
_spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> Path:
    """The dry run, once, with a folder made by ``--prepare`` as the GPU machine gets it (the renderer reads
    its clips from there); its work folder under the returned folder (``TMPDIR``), its output in ``out/``."""
    base = tmp_path_factory.mktemp("gpu-check")
    assert gpu_check.prepare(base / "prep", download=None) == 0
    args = [
        sys.executable,
        str(SCRIPT),
        "--dry-run",
        "--out",
        str(base / "out"),
        "--wheels",
        str(base / "prep"),
    ]
    env = {**os.environ, "TMPDIR": str(base)}
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-4000:]
    return base


@pytest.mark.slow
def test_the_dry_run_leaves_what_comes_back_from_a_gpu_machine(dry_run):
    out = dry_run / "out"
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.log", "provenance.json", "record.tar.gz"]
    assert all(0 < p.stat().st_size <= 16 * 2**20 for p in out.iterdir())
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["profile"] == "smoke" and prov["machine"][0]  # torch's version
    parts = {name: part["status"] for name, part in prov["parts"].items()}
    assert parts == dict.fromkeys(("imports", "tests", "decode", "book", "pack"), "ok")
    log = (out / "gpu_check.log").read_text()
    assert "-m dark book --no-build --quiet --profile smoke" in log and "--max-trainings 2" in log
    assert "-k cuda or device" in log and " skipped" in log  # the CUDA tests ran, and skipped on a CPU
    assert "floor (numpy argmax" in log  # decode printed its table


@pytest.mark.slow
def test_the_dry_run_unpacks_into_a_record_of_the_profiles_first_trainings(dry_run, tmp_path):
    dest = tmp_path / "gpu"
    args = [sys.executable, str(SCRIPT), "--unpack", str(dry_run / "out"), str(dest)]
    for _ in range(2):  # unpacking the same check again changes nothing
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert record.check(dest) == []
    rec = record.load(dest)  # every run verified against its SHA256SUMS and digest
    planned = profiles.get("smoke").runs()[:2]
    assert rec["profile"] == "smoke" and rec["runs"] == [t.name for t in planned]
    for training, path in zip(planned, rec["run_dirs"], strict=True):
        run = Run(path)
        config = run.config()
        assert (config.model, config.encoding, config.seed) == training[:3]
        assert run.record()["commit"] == git_state()[0] and run.evaluation()["decoders"]
    assert (dest / "results" / "verdicts.json").is_file()  # the record's analysis, saved on the machine


def _check(tmp_path, budget=100.0):
    return gpu_check.Check(tmp_path / "out", budget, "smoke")


def test_a_part_past_its_limit_is_killed_and_keeps_its_output(tmp_path):
    check = _check(tmp_path)
    code = "import time; print('started', flush=True); time.sleep(120)"
    ok, text = check.run("tests", [sys.executable, "-c", code], limit=8)
    assert not ok and "started" in text and "[killed after 8 s]" in text
    part = json.loads((tmp_path / "out" / "provenance.json").read_text())["parts"]["tests"]
    assert part["status"] == "failed" and part["exit"] == -9 and part["wall_s"] < 60
    assert "tests: failed" in (tmp_path / "out" / "gpu_check.log").read_text()


def test_a_part_past_the_deadline_is_skipped(tmp_path):
    check = _check(tmp_path, budget=20.0)  # less than the 30 s kept back for the next parts
    assert check.run("decode", [sys.executable, "-c", "raise SystemExit(3)"], limit=60) == (False, "")
    assert check.prov["parts"]["decode"] == {"status": "skipped (deadline)"}


def test_the_pack_holds_the_runs_a_record_gained_its_record_json_and_analysis(tmp_path):
    home, grown = tmp_path / "home", tmp_path / "grown"
    for folder, runs in ((home, {"a": "1", "c": "1"}), (grown, {"a": "1", "b": "1", "c": "2"})):
        for name, sums in runs.items():
            (folder / "runs" / name).mkdir(parents=True)
            (folder / "runs" / name / "SHA256SUMS").write_text(sums)
    (grown / "runs" / ".d.tmp").mkdir()  # a run being recorded when the book was stopped
    (grown / "record.json").write_text("{}")
    assert gpu_check.pack(_check(tmp_path), grown, home)
    with tarfile.open(tmp_path / "out" / "record.tar.gz") as tar:
        assert sorted(tar.getnames()) == [
            "record.json",
            "runs/b",
            "runs/b/SHA256SUMS",
            "runs/c",
            "runs/c/SHA256SUMS",
        ]


def test_prepared_pybullet_data_carries_the_clips(tmp_path):
    assert gpu_check.prepare(tmp_path / "prep", download=None) == 0
    assert json.loads((tmp_path / "prep" / "prepared.json").read_text())["bytes"] < 4 * 2**20  # not ~100 MiB
    code = (
        "import pybullet_data, numpy as np; from dark.data import motions; "
        "print(pybullet_data.getDataPath()); m = motions.mocap_clip('walk'); "
        "print(len(m), float(np.abs(m.joints).sum()))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "prep")}
    shim = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    real = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert shim.returncode == 0 and real.returncode == 0, shim.stderr + real.stderr
    assert Path(shim.stdout.splitlines()[0]) == tmp_path / "prep" / "pybullet_data"
    assert shim.stdout.splitlines()[1] == real.stdout.splitlines()[1]  # the same clip, to the last digit


def test_the_notebook_wheels_are_pinned_by_the_lock_file():
    lock = dict(x.split("==") for x in (ROOT / "requirements-lock.txt").read_text().split() if "==" in x)
    assert set(gpu_check.BOOK_WHEELS) <= set(lock)
    assert {"papermill", "jupytext", "ipykernel", "pyzmq"} <= set(gpu_check.BOOK_WHEELS)


def test_a_tree_without_git_takes_its_commit_from_dark_commit(tmp_path, monkeypatch):
    """The GPU machine gets the tree without ``.git``: the check sets ``DARK_COMMIT`` from the prepared
    folder, and every record the pipeline writes there names that commit."""
    monkeypatch.delenv("DARK_COMMIT", raising=False)
    assert git_state(tmp_path) == ("unknown", "unknown")
    monkeypatch.setenv("DARK_COMMIT", "0123abc")
    assert git_state(tmp_path) == ("0123abc", "unknown")
