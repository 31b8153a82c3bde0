"""The GPU check: ``dark book --profile gpu`` within a lent GPU machine's limits, after its CUDA tests.

For a bare machine with an NVIDIA GPU, its own PyTorch and no network (``benchmarks/README.md``). Parts,
each a command within its limit and the deadline (a failing part is logged, the next still runs): ``setup``
(wheels), ``imports``, ``tests`` (CUDA tests), ``decode`` (its CUDA table), ``book`` (``python -m dark book
--profile gpu --max-trainings N --no-build`` on a copy of ``results/gpu``, the record that travelled with
the tree), ``finish`` (after a book stopped at its limit, ``--max-trainings 0``) and ``pack``: ``--out``
gets ``gpu_check.log``, ``provenance.json`` and ``record.tar.gz``, each under 16 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dark.provenance import git_state  # noqa: E402
from dark.record import record  # noqa: E402

#: a file that comes back from the GPU machine holds at most this (and at most 8 files come back)
MAX_BYTES = 16 << 20
#: pybullet_data files the renderer reads (dark.data.motions): the URDF humanoid and the mocap clips
PYBULLET_FILES = ("__init__.py", "humanoid/humanoid.urdf", "data/motions/humanoid3d_{clip}.txt")
#: what ``dark book`` imports beyond the GPU image's packages (papermill, jupytext, ipykernel, their needs)
BOOK_WHEELS = """asttokens comm debugpy entrypoints executing fastjsonschema ipykernel ipython
ipython_pygments_lexers jedi jsonschema jsonschema-specifications jupyter_client jupyter_core jupytext
matplotlib-inline mdit-py-plugins nbclient nbformat nest-asyncio2 papermill parso pexpect platformdirs
prompt_toolkit ptyprocess pure_eval pyzmq referencing rpds-py stack-data tenacity tornado traitlets
wcwidth""".split()
#: what imports, and the machine (the last line it prints: torch and CUDA versions, the GPU or null)
IMPORTS = """import json, torch, papermill, jupytext, ipykernel, pybullet_data, dark
c = torch.cuda.is_available()
print(json.dumps([torch.__version__, torch.version.cuda, c and torch.cuda.get_device_name()]))"""
#: GPU check and dry run (CPU): the profile trained, trainings per check, decode's repeats, deadline (s)
MODES = {False: ("gpu", 2, 10, 560.0), True: ("smoke", 2, 1, 900.0)}


class Check:
    """What ``--out`` receives, rewritten at every log line: the log and the provenance."""

    def __init__(self, out: Path, budget: float, profile: str) -> None:
        self.out, self.t0, self.deadline = out, time.monotonic(), time.monotonic() + budget
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.prov = dict(profile=profile, argv=sys.argv[1:], started_utc=started, budget_s=budget, parts={})
        self.lines, self.env = [], {**os.environ, "PYTHONUNBUFFERED": "1"}
        out.mkdir(parents=True, exist_ok=True)

    def log(self, text: str) -> None:
        self.lines.append(f"[{time.monotonic() - self.t0:5.0f} s] {text}")
        print(self.lines[-1], flush=True)
        self.prov["wall_s"] = round(time.monotonic() - self.t0, 1)
        log = "\n".join(self.lines).encode()[-MAX_BYTES:]  # a long log keeps its end
        for name, data in (("gpu_check.log", log), ("provenance.json", json.dumps(self.prov).encode())):
            (self.out / f".{name}").write_bytes(data)
            (self.out / f".{name}").replace(self.out / name)

    def run(self, name: str, args: list, limit: float, reserve: float = 30.0) -> tuple[bool, str]:
        """One part: ``args`` within ``limit`` and the deadline less ``reserve`` s; ``(passed, output)``."""
        limit = min(limit, self.deadline - reserve - time.monotonic())
        part = self.prov["parts"][name] = {"status": "skipped (deadline)"}
        if limit < 5:
            self.log(f"{name}: skipped (deadline)")
            return False, ""
        self.log(f"{name}: $ {' '.join(map(str, args))} (limit {limit:.0f} s)")
        t0, kw = time.monotonic(), {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        proc = subprocess.Popen(list(map(str, args)), cwd=ROOT, env=self.env, start_new_session=True, **kw)
        try:
            text = proc.communicate(timeout=limit)[0]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # papermill's kernel too
            text = proc.communicate()[0] + f"\n[killed after {limit:.0f} s]"
        part.update(status="ok" if proc.returncode == 0 else "failed", exit=proc.returncode)
        part["wall_s"] = round(time.monotonic() - t0, 1)
        self.log(f"{text.rstrip()}\n{name}: {part['status']} (exit {proc.returncode}) in {part['wall_s']} s")
        return proc.returncode == 0, text


def setup(check: Check, work: Path, wheels: Path | None) -> bool:
    """Prepared wheels, renderer data, this tree on ``PYTHONPATH``; the commit prepared as ``DARK_COMMIT``."""
    paths = [work / "site", wheels, ROOT] if wheels else [ROOT]  # wheels: pip's, and a pybullet_data package
    if wheels is not None:
        found = sorted(wheels.glob("*.whl"))
        pip = [sys.executable, *"-m pip install -q --no-index --no-deps --no-compile --target".split()]
        if found and not check.run("setup", [*pip, work / "site", *found], 120)[0]:
            return False
        check.env.setdefault("DARK_COMMIT", json.loads((wheels / "prepared.json").read_text())["commit"])
    check.env["PYTHONPATH"] = os.pathsep.join(map(str, [*paths, *filter(None, [os.getenv("PYTHONPATH")])]))
    ok, text = check.run("imports", [sys.executable, "-c", IMPORTS], 60)
    check.prov["machine"] = json.loads(text.strip().splitlines()[-1]) if ok else [None] * 3
    return ok


def book(check: Check, work: Path, profile: str, trainings: int, home: Path | None) -> bool:
    """The next ``trainings`` of ``profile`` by ``dark book`` into a copy of ``home``, its record here."""
    if home is not None and home.is_dir() and not (work / "record").exists():
        shutil.copytree(home, work / "record")
    args = [sys.executable, *"-m dark book --no-build --quiet --profile".split(), profile, "--work-dir", work]
    args += ["--book-dir", work / "book", "--record", work / "record", "--max-trainings"]
    if check.run("book", [*args, trainings], 1e9, reserve=90)[0]:  # finish and pack need the rest
        return True
    check.run("finish", [*args, 0], 120, reserve=15)
    return False


def pack(check: Check, grown: Path, home: Path | None) -> bool:
    """``record.tar.gz``: the runs the record ``grown`` gained over ``home`` (the one that travelled: new,
    or their ``SHA256SUMS`` differ), its record.json and analysis (``results/``); False past 16 MiB."""
    held = {r.parent.name: r.read_bytes() for r in home.glob("runs/*/SHA256SUMS")} if home else {}
    runs = sorted(grown.glob("runs/[!.]*/"))
    new = [r for r in runs if held.get(r.name) != (r / "SHA256SUMS").read_bytes()]
    with tarfile.open(check.out / ".record.tar.gz", "w:gz") as tar:
        for path in [p for p in [*new, grown / "record.json", grown / "results"] if p.exists()]:
            tar.add(path, arcname=str(path.relative_to(grown)))
    (check.out / ".record.tar.gz").replace(check.out / "record.tar.gz")
    size = (check.out / "record.tar.gz").stat().st_size
    check.prov["parts"]["pack"] = {"status": ("failed", "ok")[size <= MAX_BYTES], "bytes": size}
    check.log(f"pack: {[r.name for r in new]} in {size} bytes (at most {MAX_BYTES} come back)")
    return size <= MAX_BYTES


def unpack(out: Path, dest: Path) -> int:
    """Extract ``out/record.tar.gz`` into the record ``dest`` and load it (:func:`dark.record.record.load`
    refuses runs missing or not what was recorded: files against their ``SHA256SUMS``, digests)."""
    with tarfile.open(out / "record.tar.gz") as tar:
        shutil.rmtree(dest / "results", ignore_errors=True)
        tar.extractall(dest, filter="data")
    print(f"{dest}: {len(record.load(dest)['runs'])} runs recorded")
    return 0


def prepare(folder: Path, download: list[str] | None) -> int:
    """Fill ``folder`` for ``--wheels``: pybullet_data's renderer files (1 MiB, not its 100 MiB wheel),
    CPython 3.12 wheels of ``download`` ([]: :data:`BOOK_WHEELS` as requirements-lock.txt pins them)."""
    import pybullet_data

    from dark.data.motions import MOCAP_CLIPS

    src, dest = Path(pybullet_data.getDataPath()), folder / "pybullet_data"
    for rel in [*PYBULLET_FILES[:2], *(PYBULLET_FILES[2].format(clip=c) for c in MOCAP_CLIPS)]:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest / rel)
    shutil.copy2(next(src.parent.glob("pybullet-*.dist-info/LICENSE.txt")), dest / "LICENSE.txt")  # zlib
    if download is not None:
        pins = dict(x.split("==") for x in (ROOT / "requirements-lock.txt").read_text().split() if "==" in x)
        where = [f"--platform=manylinux{t}_x86_64" for t in ("_2_17", "_2_27", "_2_28", "2014")]
        pip = [sys.executable, *"-m pip download --no-deps --only-binary=:all: --python-version=3.12".split()]
        names = [n if "==" in n else f"{n}=={pins[n]}" for n in download or BOOK_WHEELS]
        subprocess.run([*pip, "--implementation=cp", *where, "-d", str(folder), *names], check=True)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    (folder / "prepared.json").write_text(json.dumps({"commit": git_state()[0], "bytes": size}))
    print(f"{folder}: {size / 2**20:.1f} MiB (at most 64 MiB travel with a run)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The check (``--dry-run``: on the CPU, the smoke profile), ``--prepare`` or ``--unpack``; 0: passed."""
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_check.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (3 files of at most 16 MiB)")
    parser.add_argument("--dry-run", action="store_true", help="the smoke profile on the CPU")
    parser.add_argument("--trainings", type=int, help="dark book --max-trainings (default 2)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("tests", "decode"), help="parts left out")
    parser.add_argument("--wheels", type=Path, help="a folder made by --prepare")
    parser.add_argument("--prepare", type=Path, help="fill this folder for --wheels and exit")
    parser.add_argument("--download", nargs="*", help="with --prepare: NAME==VER wheels; none: BOOK_WHEELS")
    parser.add_argument("--unpack", nargs=2, type=Path, metavar=("OUT", "DEST"), help="OUT's runs -> DEST")
    args = parser.parse_args(argv)
    if args.prepare or args.unpack:
        return prepare(args.prepare, args.download) if args.prepare else unpack(*args.unpack)
    if args.out is None:
        parser.error("the check needs --out DIR")
    (profile, trainings, repeats, budget), work = MODES[args.dry_run], Path(tempfile.mkdtemp(prefix="gpu-"))
    check, home = Check(args.out, budget, profile), record.folder(ROOT, profile)
    ok = setup(check, work, args.wheels)
    if not args.dry_run and not check.prov["machine"][2]:
        check.log("no CUDA device: nothing to check (use --dry-run on a CPU)")
        return 1
    if "tests" not in args.skip:
        files = [p for p in sorted(ROOT.glob("tests/test_*.py")) if "cuda.is_available()" in p.read_text()]
        pytest = [sys.executable, *"-m pytest -q -rs -p no:cacheprovider -k".split(), "cuda or device"]
        ok &= check.run("tests", [*pytest, "--continue-on-collection-errors", *files], 120)[0]
    if "decode" not in args.skip:
        ok &= check.run("decode", [sys.executable, "benchmarks/decode.py", "--repeats", repeats], 90)[0]
    ok &= book(check, work, profile, args.trainings or trainings, home) & pack(check, work / "record", home)
    check.log(f"done; parts: { {p: r['status'] for p, r in check.prov['parts'].items()} }")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
