"""One prepared GPU check: CUDA tests, decode and training throughput, the report's models trained and scored.

For a bare machine with an NVIDIA GPU and its own PyTorch (see ``benchmarks/README.md``). In one run,
inside a global deadline (``--budget-s``, default 450 s), each part guarded (a failing part is logged,
the others still run):

1. ``setup``: the package beside that torch (``pip install --no-deps --no-index --no-build-isolation -e .``,
   skipped when ``dark`` already imports from this checkout; ``PYTHONPATH`` as the fallback), wheels and
   the renderer's data files from a folder prepared beforehand (``--wheels DIR``, see ``--prepare``);
2. ``tests``: the CUDA tests of the suite (``pytest -k "cuda or device"`` over the files that test CUDA);
3. ``decode``: ``benchmarks/decode.py`` (its CUDA table: heatmaps/s of every decoder, 1024 x 17 maps);
4. ``train_step``: ``benchmarks/train_step.py`` on the device, both full models at 160x320, fp32 and bf16
   (GPU defaults), with the projection of the report's 30 epochs x 73,248 images (~20 h on a 2080 Ti);
5. ``data``: the rendered dataset (``dark.data.synth``, profile ``quick``, full 160x320 resolution);
6. ``training``: the report's full SH and HRNet, encodings unbiased, quantized and ceil (those of
   ``dark.codecs.ENCODINGS``), the report's seed (``dark.experiment.profiles.REPORT_SEED``), for as many
   epochs as
   the remaining budget fits (the same for every run), each then evaluated with every decoder
   (``dark.experiment.train.train``, ``dark.experiment.evaluate.evaluate``);
7. ``compile``: ``train_step.py --compile`` in what time is left (whether ``torch.compile`` pays back).

Output (``--out DIR``, at most 8 files of at most 16 MiB, rewritten after every part so that a killed
run still leaves them): ``provenance.json`` (GPU, driver, torch/CUDA, commit, wall time and status per
part and per run), ``gpu_check.log`` (pytest's output included), ``benchmarks.txt`` (the two
benchmarks' tables), ``train_step.json``, ``evaluations.json`` (each run's ``evaluation.json`` and
``config.json``), ``evaluations.csv`` (each run's ``evaluation.csv`` with a ``run`` column),
``metrics.jsonl`` (every run's epochs, each line with its ``run``), ``frame_sums.npz`` (every run's
frame sums, keys ``<run>/<array>``, and its compact test predictions, keys ``<run>/predictions:<array>``
as :mod:`dark.experiment.prediction_file` stores them). ``--unpack OUT DEST`` adds its runs to the record
``DEST``
(``results/gpu``), in the form of every record (:mod:`dark.experiment.run_store`: ``runs/<run>/`` with
config.json and its digest and provenance, metrics.jsonl, evaluation.json, frame_sums.npz,
predictions_test.npz; then ``record.json``), so each GPU loan adds runs to one record.

``--dry-run`` runs the same parts with tiny sizes on the CPU (smoke data and models, one epoch, a few
benchmark iterations): the test suite runs it, so the script cannot rot between GPU sessions.

Run: ``python benchmarks/gpu_check.py --out OUT [--wheels DIR] [--budget-s 450] [--dry-run]``;
``python benchmarks/gpu_check.py --prepare DIR [--download NAME==VERSION ...]`` on a machine with pip
and network; ``--unpack OUT DEST``. Exit 0 when every part passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
MAX_FILES, MAX_BYTES = 8, 16 * MIB
#: the output files (every one of them is always written)
FILES = {
    "provenance": "provenance.json",
    "log": "gpu_check.log",
    "frame_sums": "frame_sums.npz",
    "benchmarks": "benchmarks.txt",
    "train_step": "train_step.json",
    "evaluations": "evaluations.json",
    "evaluations_csv": "evaluations.csv",
    "metrics": "metrics.jsonl",
}
PARTS = ("setup", "tests", "decode", "train_step", "data", "training", "compile")
#: provenance.json keys
PROVENANCE_KEYS = (
    "mode", "argv", "started_utc", "finished_utc", "wall_s", "budget_s", "commit", "host", "python",
    "torch", "cuda", "cudnn", "gpu", "driver", "gpu_memory", "device", "modules", "parts", "runs",
    "epochs", "files",
)  # fmt: skip
#: the report's runs, in order of importance: both models with the paper's two encodings first
#: (trained with the report's seed, dark.experiment.profiles.REPORT_SEED, read once dark imports: after the
#: setup part)
MODELS, ENCODINGS = ("sh", "hrnet"), ("unbiased", "quantized", "ceil")
#: pybullet_data files the renderer reads (dark.data.motions): the URDF humanoid and the mocap clips
PYBULLET_FILES = ("humanoid/humanoid.urdf", "data/motions/humanoid3d_{clip}.txt")
#: seconds of the budget kept for the compile part, after the trainings
COMPILE_RESERVE_S = 100
IMPORT_CHECK = (
    "import importlib, json\nr = {{}}\nfor n in {names}:\n    try:\n"
    "        r[n] = str(importlib.import_module(n).__file__)\n    except Exception:\n        r[n] = None\n"
    "print(json.dumps(r))"
)
IMPORTS = ("numpy", "scipy", "cv2", "h5py", "matplotlib", "pandas", "yaml", "tqdm", "pybullet_data")


@dataclass(frozen=True)
class Sizes:
    """Everything that differs between the GPU run and the dry run."""

    device: str
    data_profile: str  # dark.data.synth profile of the rendered dataset
    train_profile: (
        str  # the dark.experiment.profiles profile of the trainings (recipe and model configuration)
    )
    batch_size: int
    max_epochs: int
    decode_args: tuple[str, ...]
    step_args: tuple[str, ...]
    compile_: bool
    part_timeout_s: dict[str, float]
    fallback_rate: float  # images/s assumed for the training plan when train_step gave none
    run_overhead_s: float  # per run: loading the splits, checkpoints, evaluation
    threads: int | None  # CPU threads of training (None: torch's default)


GPU = Sizes(
    device="cuda", data_profile="quick", train_profile="full", batch_size=32, max_epochs=30,
    decode_args=("--repeats", "10"),
    step_args=("--device", "cuda", "--profiles", "full", "--steps", "20"),
    compile_=True,
    part_timeout_s={"setup": 120, "tests": 120, "decode": 120, "train_step": 150, "data": 150,
                    "compile": 300},
    fallback_rate=300.0, run_overhead_s=10.0, threads=None,
)  # fmt: skip
DRY = Sizes(
    device="cpu", data_profile="smoke", train_profile="smoke", batch_size=16, max_epochs=1,
    decode_args=("--repeats", "1"),
    step_args=("--device", "cpu", "--profiles", "smoke", "--steps", "1", "--batch", "4", "--threads", "1"),
    compile_=False,
    part_timeout_s={"setup": 60, "tests": 60, "decode": 60, "train_step": 60, "data": 60, "compile": 60},
    fallback_rate=20.0, run_overhead_s=1.0, threads=1,
)  # fmt: skip


@dataclass
class Check:
    """The state of one check: what the output files are written from (thread-safe ``flush``)."""

    out: Path
    work: Path
    sizes: Sizes
    deadline: float
    provenance: dict[str, Any] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=lambda: {"benchmarks": ""})
    frame_sums: dict[str, dict[str, Any]] = field(default_factory=dict)  # run -> its frame_sums.npz
    step_json: dict[str, Any] = field(default_factory=dict)
    evaluations: dict[str, Any] = field(default_factory=dict)
    csv: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    lock: threading.RLock = field(default_factory=threading.RLock)
    t0: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        line = f"[{time.monotonic() - self.t0:7.1f} s] {message}"
        with self.lock:
            self.log_lines.append(line)
        print(line, flush=True)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def flush(self) -> None:
        """Write every output file (at most ``MAX_BYTES`` each: long texts keep their end)."""
        with self.lock:
            self.provenance["wall_s"] = time.monotonic() - self.t0
            self.provenance["finished_utc"] = _utc()
            self.provenance["files"] = sorted(FILES.values())
            contents = {
                "provenance": json.dumps(self.provenance, indent=1, default=str),
                "log": "\n".join(self.log_lines) + "\n",
                "frame_sums": _npz(
                    {f"{run}/{k}": v for run, d in self.frame_sums.items() for k, v in d.items()}
                ),
                "benchmarks": self.texts["benchmarks"],
                "train_step": json.dumps(self.step_json, indent=1),
                "evaluations": json.dumps(self.evaluations, indent=1),
                "evaluations_csv": "".join(self.csv),
                "metrics": "".join(self.metrics),
            }
            self.out.mkdir(parents=True, exist_ok=True)
            for key, text in contents.items():
                data = text if isinstance(text, bytes) else text.encode()
                if len(data) > MAX_BYTES:  # keep the end (a log's last lines say what happened)
                    data = b"[truncated]\n" + data[-(MAX_BYTES - 64) :]
                tmp = self.out / f".{FILES[key]}.tmp"
                tmp.write_bytes(data)
                tmp.replace(self.out / FILES[key])


def _npz(arrays: dict[str, Any]) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def part(check: Check, name: str, fn: Callable[[], Any]) -> bool:
    """Run one guarded part: log, time and record it; an exception fails the part, not the check."""
    record = check.provenance["parts"].setdefault(name, {})
    if check.left() <= 5:
        record.update(status="skipped", reason="global deadline")
        check.log(f"{name}: skipped (global deadline)")
        check.flush()
        return False
    check.log(f"{name}: start ({check.left():.0f} s left)")
    t0 = time.monotonic()
    try:
        detail = fn()
        record.update(status="ok", **(detail or {}))
    except Exception as error:  # a failing part is logged; the others still run
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
        check.log(f"{name}: FAILED\n{traceback.format_exc()}")
    record["wall_s"] = round(time.monotonic() - t0, 2)
    check.log(f"{name}: {record['status']} in {record['wall_s']:.1f} s")
    check.flush()
    return record["status"] == "ok"


def command(check: Check, name: str, args: list[str], timeout: float, cwd: Path = ROOT) -> tuple[int, str]:
    """Run ``args`` (stdout and stderr together) within ``timeout`` and the global deadline."""
    limit = max(1.0, min(timeout, check.left() - 5))
    check.log(f"{name}: $ {' '.join(args)} (limit {limit:.0f} s)")
    env = {**check.env, "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=limit)
        return done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as error:
        out = (error.stdout or b"") + (error.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        return 124, text + f"\n[killed after {limit:.0f} s]\n"


# ---------------------------------------------------------------------------------------------- parts


def _prepend_path(check: Check, path: Path) -> None:
    sys.path.insert(0, str(path))
    old = check.env.get("PYTHONPATH")
    check.env["PYTHONPATH"] = str(path) + (os.pathsep + old if old else "")


def _dark_location(check: Check) -> str | None:
    """Where a fresh interpreter (not started in this checkout) imports ``dark`` from, or None."""
    code, out = command(
        check, "setup", [sys.executable, "-c", "import dark; print(dark.__file__)"], 60, Path("/")
    )
    return out.strip().splitlines()[-1] if code == 0 and out.strip() else None


def setup(check: Check, wheels: Path | None, dry_run: bool) -> dict:
    """Wheels and data files of the prepared folder, then the package itself; what imports."""
    detail: dict[str, Any] = {}
    if wheels is not None:
        if not wheels.is_dir():
            raise FileNotFoundError(f"--wheels {wheels}: no such folder (make it with --prepare)")
        found = sorted(wheels.glob("*.whl"))
        if found:
            site = check.work / "site"
            args = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
            code, out = command(check, "setup", [*args, "--target", str(site), *map(str, found)], 120)
            check.log(out.strip() or f"pip: exit {code}")
            if code != 0:
                raise RuntimeError(f"pip install of {len(found)} wheels failed (exit {code})")
            _prepend_path(check, site)
            detail["wheels"] = [w.name for w in found]
        if (wheels / "pybullet_data" / "__init__.py").is_file():
            _prepend_path(check, wheels)  # the renderer's data files (see --prepare)
            detail["pybullet_data"] = str(wheels / "pybullet_data")
    where = _dark_location(check)
    if where is None or not Path(where).resolve().is_relative_to(ROOT):
        if not dry_run:
            pip = [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "-e",
                ".",
            ]
            code, out = command(check, "setup", pip, 120)
            check.log(out.strip() or f"pip install -e .: exit {code}")
            where = _dark_location(check) if code == 0 else None
        if where is None or not Path(where).resolve().is_relative_to(ROOT):
            _prepend_path(check, ROOT)
            where = _dark_location(check)
            detail["dark_via"] = "PYTHONPATH"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    detail["dark"] = where
    code, out = command(check, "setup", [sys.executable, "-c", IMPORT_CHECK.format(names=list(IMPORTS))], 60)
    modules = json.loads(out.strip().splitlines()[-1]) if code == 0 else dict.fromkeys(IMPORTS)
    check.provenance["modules"] = modules
    missing = [m for m, v in modules.items() if v is None]
    check.log(f"setup: dark from {where}; missing modules: {missing or 'none'}")
    if missing:
        raise RuntimeError(f"missing modules {missing} (prepare them with --prepare, pass --wheels)")
    return detail


def cuda_test_files() -> list[str]:
    """Test files that look at ``torch.cuda.is_available()`` (a CUDA-only test skips without it), this
    check's own test excepted (it runs this check). Of these, ``-k "cuda or device"`` runs the tests
    named after CUDA and every test of a device module (``tests/test_device.py``)."""
    return [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "tests").glob("test_*.py"))
        if "cuda.is_available()" in p.read_text() and p.name != "test_gpu_check.py"
    ]


def tests(check: Check) -> dict:
    files = cuda_test_files()
    junit = check.work / "cuda-tests.xml"
    args = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", "cuda or device",
            "--continue-on-collection-errors", f"--junitxml={junit}", *files]  # fmt: skip
    code, out = command(check, "tests", args, check.sizes.part_timeout_s["tests"])
    check.log(f"tests: $ {' '.join(args)}\nexit {code}\n{out.rstrip()}")
    counts = _junit_counts(junit)
    check.log(f"tests: exit {code}, {counts}")
    if code != 0:
        raise RuntimeError(f"pytest exit {code}: {counts}")
    if check.sizes.device == "cuda" and counts and counts.get("skipped", 0) >= counts.get("tests", 0):
        raise RuntimeError("every CUDA test skipped on a CUDA machine")
    return {"files": files, "exit": code, **counts}


def _junit_counts(path: Path) -> dict[str, int]:
    import xml.etree.ElementTree as ET

    if not path.is_file():
        return {}
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    keys = ("tests", "failures", "errors", "skipped")
    return {k: int(suite.get(k, 0)) for k in keys} if suite is not None else {}


def decode(check: Check) -> dict:
    args = [sys.executable, "benchmarks/decode.py", *check.sizes.decode_args]
    code, out = command(check, "decode", args, check.sizes.part_timeout_s["decode"])
    check.texts["benchmarks"] += f"$ {' '.join(args)}\nexit {code}\n\n{out}\n"
    if code != 0:
        raise RuntimeError(f"decode.py exit {code}")
    if check.sizes.device == "cuda" and "CUDA" not in out:
        raise RuntimeError("decode.py printed no CUDA table")
    cuda = out[out.find("\nCUDA") :].strip().splitlines() if "\nCUDA" in out else []
    return {"exit": code, "cuda_table": cuda}


def train_step(check: Check, compile_: bool) -> dict:
    key = "compile" if compile_ else "eager"
    path = check.work / f"train_step-{key}.json"
    args = [sys.executable, "benchmarks/train_step.py", *check.sizes.step_args, "--json", str(path)]
    args += ["--compile"] if compile_ else []
    code, out = command(check, key, args, check.sizes.part_timeout_s["compile" if compile_ else "train_step"])
    check.texts["benchmarks"] += f"$ {' '.join(args)}\nexit {code}\n\n{out}\n"
    if path.is_file():
        check.step_json[key] = json.loads(path.read_text())
    if code != 0:
        raise RuntimeError(f"train_step.py exit {code}")
    return {"exit": code}


def render(check: Check, data: Path) -> dict:
    from dark.data import synth
    from dark.experiment.profiles import REPORT_SEED
    from dark.experiment.run_digest import training_data_digest

    synth.render_dataset(data, profile=check.sizes.data_profile, seed=REPORT_SEED, progress=False)
    counts = json.loads((data / "manifest.json").read_text())["counts"]
    check.log(f"data: {data} ({check.sizes.data_profile}): {counts}")
    # the digest of what the trainings read, for the record's run digests (--unpack)
    digest = training_data_digest(data)
    return {"dir": str(data), "profile": check.sizes.data_profile, "counts": counts, "training_data": digest}


# ---------------------------------------------------------------------------------------------- training


def planned_runs() -> list[tuple[str, str]]:
    """``(model, encoding)`` in order: unbiased and quantized for both models first, then ceil."""
    from dark.codecs import ENCODINGS as TABLE

    return [(m, e) for e in ENCODINGS if e in TABLE for m in MODELS]


def measured_rates(check: Check) -> dict[str, float]:
    """Training images/s per model at the trainings' configuration, from the train_step part (the
    fastest variant: bf16 on a GPU)."""
    from dark.experiment.profiles import PROFILES

    model_config = PROFILES[check.sizes.train_profile].model_config
    rates: dict[str, float] = {}
    for r in check.step_json.get("eager", {}).get("rows", []):
        if r["model_config"] == model_config:
            rates[r["model"]] = max(rates.get(r["model"], 0.0), r["images_per_s"])
    return rates


def plan_epochs(check: Check, runs, n_train: int, n_val: int, budget: float) -> tuple[int, dict]:
    """The same number of epochs for every run, as many as ``budget`` seconds fit (at least 1)."""
    rates = measured_rates(check)
    rate = {m: rates.get(m, check.sizes.fallback_rate) for m, _ in runs}
    epoch_s = {m: 1.25 * (n_train + n_val / 3) / rate[m] + 1.0 for m in rate}  # + validation, saving
    per_epoch = sum(epoch_s[m] for m, _ in runs)
    fixed = check.sizes.run_overhead_s * len(runs)
    epochs = int(max(1, min(check.sizes.max_epochs, (budget - fixed) // max(per_epoch, 1e-9))))
    return epochs, {"rates": rate, "assumed": sorted(set(rate) - set(rates)), "epoch_s": epoch_s}


def _call(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, dropping the optional keywords its signature does not take."""
    params = inspect.signature(fn).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(*args, **kwargs)


def train_and_evaluate(check: Check, data: Path) -> dict:
    """Every planned run for the same number of epochs (as many as the budget fits), each evaluated."""
    from dark.experiment.profiles import REPORT_SEED
    from dark.experiment.runs import run_name

    if check.sizes.threads:
        import torch

        torch.set_num_threads(check.sizes.threads)
    manifest = json.loads((data / "manifest.json").read_text())
    runs = planned_runs()
    budget = check.left() - (COMPILE_RESERVE_S if check.sizes.compile_ else 0) - 15
    epochs, plan = plan_epochs(check, runs, manifest["counts"]["train"], manifest["counts"]["val"], budget)
    check.provenance["epochs"] = {"epochs": epochs, "budget_s": round(budget, 1), **plan}
    check.log(f"training: {len(runs)} runs x {epochs} epochs (budget {budget:.0f} s; plan {plan})")
    for model, encoding in runs:
        name = run_name(model, encoding, REPORT_SEED)
        record = check.provenance["runs"].setdefault(name, {"epochs": epochs})
        need = plan["epoch_s"][model] * epochs + check.sizes.run_overhead_s
        if check.left() - 15 < need:
            record.update(status="skipped", reason=f"needs ~{need:.0f} s, {check.left():.0f} s left")
            check.log(f"{name}: skipped ({record['reason']})")
            continue
        one_run(check, data, name, model, encoding, epochs, record)
    ok = sum(r.get("status") == "ok" for r in check.provenance["runs"].values())
    if ok < len(runs):
        raise RuntimeError(f"{len(runs) - ok} of {len(runs)} runs did not finish (see provenance 'runs')")
    return {"runs": len(runs), "epochs": epochs}


def one_run(
    check: Check, data: Path, name: str, model: str, encoding: str, epochs: int, record: dict
) -> None:
    """Train and evaluate one run (dark.experiment.train.train, dark.experiment.evaluate.evaluate); a failure
    is recorded."""
    from dark.experiment.evaluate import evaluate
    from dark.experiment.profiles import REPORT_SEED
    from dark.experiment.train import train

    t0 = time.monotonic()
    try:
        run_dir = check.work / "runs" / name
        shutil.rmtree(run_dir, ignore_errors=True)
        _call(train, data, run_dir, model=model, encoding=encoding, profile=check.sizes.train_profile,
              epochs=epochs, batch_size=check.sizes.batch_size, seed=REPORT_SEED, device=check.sizes.device,
              quiet=True, threads=check.sizes.threads)  # fmt: skip
        record["train_s"] = round(time.monotonic() - t0, 2)
        result = _call(evaluate, run_dir, data, device=check.sizes.device, progress=False, quiet=True)
        collect(check, name, run_dir, result)
        record.update(status="ok", summary=summary(result))
    except Exception as error:  # one failing run does not stop the others
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
        check.log(f"{name}: FAILED\n{traceback.format_exc()}")
    record["wall_s"] = round(time.monotonic() - t0, 2)
    brief = {d: v for d, v in record.get("summary", {}).items() if d in ("argmax", "standard", "dark")}
    check.log(f"{name}: {record['status']} in {record['wall_s']:.1f} s {brief}")
    check.flush()


def collect(check: Check, name: str, run_dir: Path, result: dict) -> None:
    """A finished run's files into the check's outputs."""
    from dark.experiment import runs as files

    config = files.Run(run_dir).stored_config()  # as stored: --unpack writes it back into the record
    with check.lock:
        check.evaluations[name] = {"config": config, "evaluation": result}
        lines = (run_dir / files.METRICS).read_text().splitlines()
        check.metrics += [json.dumps({"run": name, **json.loads(line)}) + "\n" for line in lines if line]
        if (run_dir / files.FRAME_SUMS).is_file():
            import numpy as np

            with np.load(run_dir / files.FRAME_SUMS) as z:
                check.frame_sums[name] = {k: z[k] for k in z.files}
        if (run_dir / files.PREDICTIONS).is_file():
            from dark.experiment import prediction_file

            stored = prediction_file.encode(files.load_predictions(run_dir))
            check.frame_sums[name] |= {f"predictions:{k}": v for k, v in stored.items()}
        csv = (run_dir / files.EVALUATION_CSV).read_text().splitlines()
        if csv:
            if not check.csv or check.csv[0] != "run," + csv[0] + "\n":
                check.csv.append("run," + csv[0] + "\n")
            check.csv += [f"{name},{row}\n" for row in csv[1:]]


def summary(result: dict) -> dict:
    """``decoder -> {metric: value}`` of an evaluation (PCKh@0.1, @0.5, RMSE)."""
    out = {}
    for decoder, d in result.get("decoders", {}).items():
        m = d.get("metrics", {})
        out[decoder] = {k: round(m[k]["value"], 3) for k in ("pckh@0.1", "pckh@0.5", "rmse") if k in m}
    return out


# ---------------------------------------------------------------------------------------------- provenance


def _run_text(args: list[str], cwd: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=30)
        return done.stdout.strip() if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def provenance(argv: list[str], sizes: Sizes, budget: float, wheels: Path | None) -> dict:
    """The machine, the software and the commit (parts and runs are filled in as they finish)."""
    import torch

    commit = _run_text(["git", "rev-parse", "HEAD"])
    if commit is not None:
        dirty = _run_text(["git", "status", "--porcelain", "--untracked-files=no"])
        commit += "+dirty" if dirty else ""
    elif os.environ.get("DARK_COMMIT"):
        commit = os.environ["DARK_COMMIT"]
    elif wheels is not None and (wheels / "prepared.json").is_file():
        commit = json.loads((wheels / "prepared.json").read_text()).get("commit")
    smi = _run_text(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
    gpu_fields = [s.strip() for s in smi.splitlines()[0].split(",")] if smi else [None, None, None]
    cuda = torch.cuda.is_available()
    return {
        "mode": "dry-run" if sizes is DRY else "gpu",
        "argv": argv,
        "started_utc": _utc(),
        "finished_utc": None,
        "wall_s": 0.0,
        "budget_s": budget,
        "commit": commit,
        "host": {"node": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "gpu": torch.cuda.get_device_name(0) if cuda else gpu_fields[0],
        "driver": gpu_fields[1],
        "gpu_memory": gpu_fields[2],
        "device": sizes.device,
        "modules": {},
        "parts": {},
        "runs": {},
        "epochs": None,
        "files": [],
    }


# ---------------------------------------------------------------------------------------------- prepare


def prepare(folder: Path, download: list[str]) -> int:
    """Fill ``folder`` for ``--wheels``: the renderer's pybullet_data files (1 MiB instead of pybullet's
    ~100 MiB wheel) and the wheels of ``download`` (CPython 3.12, manylinux x86-64)."""
    import pybullet_data

    src = Path(pybullet_data.getDataPath())
    from dark.data.motions import MOCAP_CLIPS

    dest = folder / "pybullet_data"
    names = [PYBULLET_FILES[0]] + [PYBULLET_FILES[1].format(clip=c) for c in MOCAP_CLIPS]
    for rel in names:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest / rel)
    (dest / "__init__.py").write_text(
        '"""The pybullet_data files dark.data.motions reads (copied by benchmarks/gpu_check.py --prepare;\n'
        'pybullet_data is zlib-licensed, see LICENSE.txt)."""\n\nimport os\n\n\n'
        "def getDataPath():\n    return os.path.dirname(__file__)\n"
    )
    dist = next(src.parent.glob("pybullet-*.dist-info"), None)
    if dist is not None and (dist / "LICENSE.txt").is_file():
        shutil.copy2(dist / "LICENSE.txt", dest / "LICENSE.txt")
    if download:
        platforms = [f"--platform=manylinux_2_{n}_x86_64" for n in (17, 27, 28)] + [
            "--platform=manylinux2014_x86_64"
        ]
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        args = [*pip, "--python-version=3.12", "--implementation=cp", *platforms, "-d", str(folder)]
        args += download
        subprocess.run(args, check=True)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    info = {"created_utc": _utc(), "commit": _run_text(["git", "rev-parse", "HEAD"]), "bytes": size,
            "files": [str(p.relative_to(folder)) for p in files]}  # fmt: skip
    (folder / "prepared.json").write_text(json.dumps(info, indent=1))
    print(f"{folder}: {len(files)} files, {size / MIB:.1f} MiB (at most 64 MiB travel with a run)")
    return 0


def unpack(out: Path, dest: Path) -> int:
    """Add a check's runs to the record ``dest`` (:mod:`dark.experiment.run_store`'s form, with each run's
    digest
    and provenance: commit, GPU, date, wall time) and rewrite its ``record.json``; the check's
    provenance, log and benchmark tables go to ``gpu_check/<started>/``. Runs already recorded stay; a
    run whose name the record holds with another digest (another loan's epochs) is added under
    ``<run>-<digest[:8]>``. ``dark.analysis.report`` results are not made here."""
    import numpy as np

    from dark.book import record
    from dark.experiment import prediction_file, run_store
    from dark.experiment import runs as files
    from dark.experiment.run_digest import run_digest

    prov = json.loads((out / FILES["provenance"]).read_text())
    evaluations = json.loads((out / FILES["evaluations"]).read_text())
    digest = (prov.get("parts", {}).get("data") or {}).get("training_data")
    if not digest:
        print(f"{out}: no training data digest (a check from before the record store): not unpacked")
        return 1
    metrics: dict[str, list[str]] = {}
    for line in (out / FILES["metrics"]).read_text().splitlines():
        row = json.loads(line)
        metrics.setdefault(row.pop("run"), []).append(json.dumps(row) + "\n")
    arrays = np.load(out / FILES["frame_sums"])
    machine = f"{prov.get('gpu') or prov.get('device')} (CUDA)" if prov.get("gpu") else prov.get("device")
    added = []
    with tempfile.TemporaryDirectory(prefix="unpack-") as scratch:
        for name, entry in evaluations.items():
            own = {k.split("/", 1)[1]: arrays[k] for k in arrays.files if k.startswith(name + "/")}
            predictions = {
                k.removeprefix("predictions:"): v for k, v in own.items() if k.startswith("predictions:")
            }
            if not predictions:
                print(f"{name}: no test predictions in {out}: not recorded")
                continue
            run = Path(scratch) / name
            run.mkdir()
            (run / files.CONFIG).write_text(json.dumps(entry["config"], indent=2) + "\n")
            (run / files.EVALUATION).write_text(json.dumps(entry["evaluation"], indent=1))
            (run / files.METRICS).write_text("".join(metrics.get(name, [])))
            np.savez(
                run / files.FRAME_SUMS, **{k: v for k, v in own.items() if not k.startswith("predictions:")}
            )
            files.save_predictions(run, prediction_file.decode(predictions))
            held = run_store.recorded_runs(dest).get(name)
            new = run_digest(files.RunConfig.from_json(entry["config"]), digest)
            target = name if held is None or held.digest == new else f"{name}-{new[:8]}"
            r = prov.get("runs", {}).get(name, {})
            when = {"commit": prov.get("commit"), "date": prov.get("started_utc")}
            run_store.add_run(
                dest, run, data_digest=digest, name=target, wall_s=r.get("wall_s"), machine=machine, **when
            )
            added.append(target)
    logs = dest / "gpu_check" / str(prov.get("started_utc", "unknown")).replace(":", "")
    logs.mkdir(parents=True, exist_ok=True)
    for key in ("provenance", "log", "benchmarks", "train_step"):
        shutil.copy2(out / FILES[key], logs / FILES[key])
    parts = prov.get("parts", {})
    epochs = (prov.get("epochs") or {}).get("epochs")
    previous = json.loads((dest / record.RECORD).read_text()) if (dest / record.RECORD).is_file() else {}
    loan = {"started": prov.get("started_utc"), "gpu": prov.get("gpu"), "commit": prov.get("commit"),
            "epochs": epochs, "runs": added, "wall_s": prov.get("wall_s")}  # fmt: skip
    rec = {
        "schema": record.SCHEMA,
        "profile": "full",
        "command": "python benchmarks/gpu_check.py --out OUT, then --unpack OUT results/gpu",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "provenance": {
            **prov,
            "date": prov.get("started_utc"),
            "device": machine,
            "data": (parts.get("data") or {}).get("profile"),
        },
        "steps": {p: r.get("wall_s") for p, r in parts.items()},
        "wall_time_s": prov.get("wall_s"),
        "runs": sorted(run_store.recorded_runs(dest)),
        "loans": [*previous.get("loans", []), loan],
        "note": "the report's full models and recipe on the rendered quick dataset, for as many epochs as "
        "each budgeted GPU check fitted (not the 30-epoch full profile): runs of one loan share their epochs",
    }
    (dest / record.RECORD).write_text(json.dumps(rec, indent=1, default=str) + "\n")
    problems = record.check(dest)
    print(f"{dest}: {len(added)} runs added, {len(rec['runs'])} recorded"
          + (f"; problems: {problems}" if problems else ""))  # fmt: skip
    return 1 if problems else 0


# ---------------------------------------------------------------------------------------------- main


def run_check(
    out: Path, sizes: Sizes, budget: float, wheels: Path | None, argv: list[str], work: Path
) -> int:
    """All parts, in order, within ``budget`` seconds; writes ``out``; 0 when every part passed."""
    check = Check(out=out, work=work, sizes=sizes, deadline=time.monotonic() + budget)
    check.provenance = provenance(argv, sizes, budget, wheels)
    p = check.provenance
    check.log(f"gpu check ({p['mode']}): {p['gpu'] or 'no GPU'}, torch {p['torch']}, "
              f"commit {p['commit']}, budget {budget:.0f} s")  # fmt: skip
    if sizes.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            check.log("no CUDA device: nothing to check (use --dry-run on a CPU)")
            check.provenance["parts"] = {p: {"status": "skipped", "reason": "no CUDA"} for p in PARTS}
            check.flush()
            return 1
    watchdog = threading.Timer(budget + 20, _overrun, (check,))
    watchdog.daemon = True
    watchdog.start()
    data = work / "data"
    results = [part(check, "setup", lambda: setup(check, wheels, sizes is DRY))]
    results.append(part(check, "tests", lambda: tests(check)))
    results.append(part(check, "decode", lambda: decode(check)))
    results.append(part(check, "train_step", lambda: train_step(check, compile_=False)))
    results.append(part(check, "data", lambda: render(check, data)))
    if results[-1]:
        results.append(part(check, "training", lambda: train_and_evaluate(check, data)))
    else:
        check.provenance["parts"]["training"] = {"status": "skipped", "reason": "no data"}
        results.append(False)
    if sizes.compile_:
        results.append(part(check, "compile", lambda: train_step(check, compile_=True)))
    else:
        check.provenance["parts"]["compile"] = {
            "status": "skipped",
            "reason": "dry run (CPU compile is slow)",
        }
    watchdog.cancel()
    for line in final_table(check):
        check.log(line)
    failed = [p for p, r in check.provenance["parts"].items() if r.get("status") == "failed"]
    check.log(f"done in {time.monotonic() - check.t0:.0f} s; failed parts: {failed or 'none'}")
    check.flush()
    return 0 if all(results) else 1


def final_table(check: Check) -> list[str]:
    """The short summary printed last: parts, training throughput, each run's scores."""
    parts = check.provenance["parts"]
    lines = [
        "parts: " + ", ".join(f"{p} {r.get('status')} {r.get('wall_s', 0):.0f} s" for p, r in parts.items())
    ]
    lines += parts.get("decode", {}).get("cuda_table", [])
    for c in check.step_json.get("eager", {}).get("cells", []):
        hours = f", 30 epochs x 73,248: {c['report_30_epochs_h']:.2f} h" if "report_30_epochs_h" in c else ""
        lines.append(
            f"train step {c['model']} {c['model_config']}: bf16/fp32 {c['bf16_over_fp32']:.2f}{hours}"
        )
    for c in check.step_json.get("compile", {}).get("cells", []):
        if "compile_s" in c:
            lines.append(f"compile {c['model']}: {c['compile_s']:.0f} s, x{c['compiled_over_bf16']:.2f} "
                         f"of eager bf16, break-even {c['break_even_steps']} steps")  # fmt: skip
    for name, r in check.provenance["runs"].items():
        dark = r.get("summary", {}).get("dark", {})
        scores = ", ".join(f"{k} {v:.2f}" for k, v in dark.items())
        lines.append(f"{name}: {r.get('status')}, {r.get('epochs')} epochs, dark: {scores or '-'}")
    return lines


def _overrun(check: Check) -> None:
    """The global deadline passed and a part still runs: write what there is and stop the process."""
    check.log("global deadline passed: writing the outputs and stopping")
    check.flush()
    os._exit(3)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_check.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (at most 8 files of at most 16 MiB)")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (the test suite's)")
    parser.add_argument("--budget-s", type=float, help="global deadline (default 450 s; dry run 120 s)")
    parser.add_argument("--wheels", type=Path, help="prepared folder: wheels and the renderer's data files")
    parser.add_argument(
        "--work", type=Path, help="scratch folder for data and runs (default: a temporary one)"
    )
    parser.add_argument("--prepare", type=Path, help="fill this folder for --wheels and exit")
    parser.add_argument("--unpack", nargs=2, type=Path, metavar=("OUT", "DEST"),
                        help="a check's output folder -> a recorded run (dark.book.record)")  # fmt: skip
    parser.add_argument(
        "--download", nargs="*", default=[], help="with --prepare: wheels to fetch (NAME==VER)"
    )
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare(args.prepare, args.download)
    if args.unpack:
        return unpack(*args.unpack)
    if args.out is None:  # e.g. `make bench`, which runs every benchmarks/*.py without arguments
        print("benchmarks/gpu_check.py is the GPU check, not a benchmark table: it needs --out DIR")
        print("(or --prepare DIR); see benchmarks/README.md. Nothing was run.")
        return 0
    sizes = DRY if args.dry_run else GPU
    budget = args.budget_s or (120.0 if args.dry_run else 450.0)
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gpu-check-")))
        work.mkdir(parents=True, exist_ok=True)
        return run_check(args.out, sizes, budget, args.wheels, argv, work)


if __name__ == "__main__":
    raise SystemExit(main())
