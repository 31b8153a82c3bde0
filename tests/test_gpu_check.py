"""benchmarks/gpu_check.py: the CPU dry run end to end (so the GPU check cannot rot between the rare
sessions with a GPU), and its pieces (guarded parts, the epoch plan, capped output files, the prepared
renderer data)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gpu_check = _load("gpu_check", SCRIPT)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """The dry run, once, with a prepared folder as the GPU machine gets it (the renderer then reads
    its clips from there): ``(exit code, output folder)``."""
    base = tmp_path_factory.mktemp("gpu-check")
    out, work, prep = base / "out", base / "work", base / "prep"
    assert gpu_check.prepare(prep, download=[]) == 0
    args = [
        sys.executable,
        str(SCRIPT),
        "--dry-run",
        "--out",
        str(out),
        "--work",
        str(work),
        "--wheels",
        str(prep),
        # a generous deadline: the parts finish in well under a minute on an idle 2-core machine, and
        # the tests below need every run complete even when the machine is shared
        "--budget-s",
        "600",
    ]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.returncode, out


@pytest.mark.slow
def test_dry_run_output_folder_fits_what_comes_back(dry_run):
    _, out = dry_run
    files = sorted(p for p in out.rglob("*"))
    assert all(p.is_file() and p.parent == out for p in files)
    assert [p.name for p in files] == sorted(gpu_check.FILES.values())
    assert len(files) <= gpu_check.MAX_FILES == 8
    assert all(0 < p.stat().st_size <= 16 * 2**20 for p in files)


@pytest.mark.slow
def test_dry_run_provenance_and_parts(dry_run):
    _, out = dry_run
    prov = json.loads((out / "provenance.json").read_text())
    assert tuple(prov) == gpu_check.PROVENANCE_KEYS
    assert prov["mode"] == "dry-run" and prov["device"] == "cpu" and prov["gpu"] is None
    assert prov["torch"] and prov["python"] == sys.version.split()[0]
    assert set(prov["parts"]) == set(gpu_check.PARTS)
    for name, part in prov["parts"].items():
        expected = "skipped" if name == "compile" else "ok"
        assert part["status"] == expected, (name, part)
        assert expected == "skipped" or part["wall_s"] >= 0
    assert prov["wall_s"] > 0  # every part ran to "ok" above, so none hit the deadline
    assert all(m is not None for m in prov["modules"].values())
    prep = out.parent / "prep" / "pybullet_data"
    assert prov["modules"]["pybullet_data"] == str(prep / "__init__.py")  # the prepared copy, not pybullet's
    assert prov["parts"]["setup"]["pybullet_data"] == str(prep)
    log = (out / "gpu_check.log").read_text()
    assert "failed parts: none" in log
    assert prov["parts"]["tests"]["tests"] >= 1  # the CUDA tests were found (on a CPU they skip)
    assert "skipped" in log and "-k cuda or device" in log


@pytest.mark.slow
def test_dry_run_trains_and_evaluates_every_run_with_every_decoder(dry_run):
    from dark import codecs

    _, out = dry_run
    evaluations = json.loads((out / "evaluations.json").read_text())
    runs = [f"{m}-{e}-s1314" for e in ("unbiased", "quantized", "ceil") for m in ("sh", "hrnet")]
    assert sorted(evaluations) == sorted(runs)
    prov = json.loads((out / "provenance.json").read_text())
    epochs = prov["epochs"]["epochs"]
    assert epochs == 1
    for name, entry in evaluations.items():
        model, encoding, _ = name.split("-")
        assert (entry["config"]["model"], entry["config"]["encoding"]) == (model, encoding)
        assert set(entry["evaluation"]["decoders"]) == set(codecs.DECODERS)
        assert prov["runs"][name]["status"] == "ok"
        assert set(prov["runs"][name]["summary"]) == set(codecs.DECODERS)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert sorted((r["run"], r["epoch"]) for r in lines) == sorted((n, 1) for n in runs)
    assert all(set(r["val_decoders"]) == set(codecs.DECODERS) for r in lines)
    csv = (out / "evaluations.csv").read_text().splitlines()
    assert csv[0].startswith("run,decoder,")
    assert len(csv) == 1 + len(runs) * len(codecs.DECODERS)


@pytest.mark.slow
def test_dry_run_unpacks_into_a_record(dry_run, tmp_path):
    import numpy as np

    from dark.experiment import runs
    from dark.record import record

    _, out = dry_run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, str(SCRIPT), "--unpack", str(out), str(tmp_path / "gpu")]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert record.check(tmp_path / "gpu") == []
    rec = record.load(tmp_path / "gpu")
    assert len(rec["runs"]) == 6 and rec["provenance"]["commit"]
    evaluations = json.loads((out / "evaluations.json").read_text())
    packed = np.load(out / "frame_sums.npz")
    for name in rec["runs"]:
        run = tmp_path / "gpu" / "runs" / name
        assert json.loads((run / "evaluation.json").read_text()) == evaluations[name]["evaluation"]
        with np.load(run / "frame_sums.npz") as sums:
            assert "groups" in sums.files and any(k.startswith("decoder:") for k in sums.files)
            for key in sums.files:
                np.testing.assert_array_equal(sums[key], packed[f"{name}/{key}"])
        epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert epochs == [1]
        # the form of every record: predictions, a digest and the run's own provenance
        predictions = runs.load_predictions(run)
        assert predictions["coords"].shape[0] == len(predictions["decoders"])
        assert "pred_visible" in predictions
        own = runs.Run(run).record()
        assert len(own["digest"]) == 64 and own["commit"] == rec["provenance"]["commit"] and own["machine"]
    # a second unpack of the same check adds no run (same names, same digests)
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and record.load(tmp_path / "gpu")["runs"] == rec["runs"]
    assert len(record.load(tmp_path / "gpu")["loans"]) == 2


@pytest.mark.slow
def test_dry_run_benchmarks(dry_run):
    _, out = dry_run
    text = (out / "benchmarks.txt").read_text()
    assert "benchmarks/decode.py" in text and "benchmarks/train_step.py" in text
    step = json.loads((out / "train_step.json").read_text())["eager"]
    assert {(c["model"], c["model_config"]) for c in step["cells"]} == {("sh", "smoke"), ("hrnet", "smoke")}
    for cell in step["cells"]:  # the printed ratio is the ratio of the two measured rows
        rows = {r["variant"]: r for r in step["rows"] if r["model"] == cell["model"]}
        assert cell["bf16_over_fp32"] == pytest.approx(
            rows["bf16"]["images_per_s"] / rows["fp32"]["images_per_s"]
        )
        assert rows["fp32"]["images_per_s"] == pytest.approx(rows["fp32"]["batch"] / rows["fp32"]["step_s"])


# ---------------------------------------------------------------------------------------------- pieces


def _check(tmp_path, budget=100.0):
    return gpu_check.Check(
        out=tmp_path / "out", work=tmp_path, sizes=gpu_check.DRY, deadline=time.monotonic() + budget
    )


def test_a_failing_part_is_recorded_and_the_next_still_runs(tmp_path):
    check = _check(tmp_path)
    check.provenance = {"parts": {}}
    ran = []
    assert not gpu_check.part(check, "tests", lambda: 1 / 0)
    assert gpu_check.part(check, "decode", lambda: ran.append(1) or {"exit": 0})
    assert ran == [1]
    parts = json.loads((check.out / "provenance.json").read_text())["parts"]
    assert parts["tests"]["status"] == "failed" and "ZeroDivisionError" in parts["tests"]["error"]
    assert parts["decode"] == {"status": "ok", "exit": 0, "wall_s": parts["decode"]["wall_s"]}
    assert "tests: FAILED" in (check.out / "gpu_check.log").read_text()


def test_a_part_past_the_deadline_is_skipped(tmp_path):
    check = _check(tmp_path, budget=2.0)
    check.provenance = {"parts": {}}
    assert not gpu_check.part(check, "decode", lambda: pytest.fail("must not run"))
    assert check.provenance["parts"]["decode"]["status"] == "skipped"


def test_a_command_past_its_limit_is_killed_and_keeps_its_output(tmp_path):
    check = _check(tmp_path)
    code = "import time; print('started', flush=True); time.sleep(120)"
    rc, out = gpu_check.command(check, "x", [sys.executable, "-c", code], timeout=8.0)
    assert rc == 124 and "started" in out and "killed after 8 s" in out  # 124: killed, not finished


def test_output_files_are_capped_keeping_the_end(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "MAX_BYTES", 1000)
    check = _check(tmp_path)
    check.log_lines = [f"line {i:05d}" for i in range(500)]
    check.flush()
    log = (check.out / "gpu_check.log").read_text()
    assert len(log.encode()) <= 1000 and log.startswith("[truncated]") and log.endswith("line 00499\n")
    assert len(list(check.out.iterdir())) == len(gpu_check.FILES)


def test_epoch_plan_fits_the_budget(tmp_path):
    check = _check(tmp_path)
    check.sizes = gpu_check.GPU  # run_overhead_s 10 s
    rows = [
        {"model": "sh", "model_config": "full", "images_per_s": 1000.0},
        {"model": "sh", "model_config": "full", "images_per_s": 1500.0},  # bf16: the faster one counts
        {"model": "hrnet", "model_config": "full", "images_per_s": 600.0},
        {"model": "hrnet", "model_config": "quick", "images_per_s": 9999.0},  # another configuration
    ]
    check.step_json = {"eager": {"rows": rows}}
    runs = [("sh", "unbiased"), ("hrnet", "unbiased"), ("sh", "ceil"), ("hrnet", "ceil")]
    epochs, plan = gpu_check.plan_epochs(check, runs, n_train=6000, n_val=600, budget=400.0)
    sh = 1.25 * 6200 / 1500 + 1  # s per epoch: training, a third for validation, saving
    hrnet = 1.25 * 6200 / 600 + 1
    assert plan["epoch_s"] == pytest.approx({"sh": sh, "hrnet": hrnet})
    assert epochs == math.floor((400 - 4 * gpu_check.GPU.run_overhead_s) / (2 * sh + 2 * hrnet)) == 8
    assert plan["assumed"] == []
    check.step_json = {}  # train_step failed: the fallback rate, said so
    epochs, plan = gpu_check.plan_epochs(check, runs, n_train=6000, n_val=600, budget=30.0)
    assert epochs == 1 and plan["assumed"] == ["hrnet", "sh"]


def test_prepared_pybullet_data_carries_the_clips(tmp_path):
    assert gpu_check.prepare(tmp_path / "prep", download=[]) == 0
    files = json.loads((tmp_path / "prep" / "prepared.json").read_text())
    assert files["bytes"] < 4 * 2**20  # instead of pybullet's ~100 MiB wheel
    code = (
        "import pybullet_data, numpy as np; from dark.data import motions; "
        "print(pybullet_data.getDataPath()); m = motions.mocap_clip('walk'); "
        "print(len(m), float(np.abs(m.joints).sum()))"
    )
    shim = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "prep")})  # fmt: skip
    real = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shim.returncode == 0 and real.returncode == 0, shim.stderr + real.stderr
    assert shim.stdout.splitlines()[0] == str(tmp_path / "prep" / "pybullet_data")
    assert shim.stdout.splitlines()[1] == real.stdout.splitlines()[1]  # the same clip, to the last digit
