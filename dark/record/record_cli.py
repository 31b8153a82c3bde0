"""``dark record``: check that a record's runs are what was recorded, or hash them once.

``python -m dark record [FOLDER ...]`` verifies every run of each record folder (default: every
``results/*/`` with a ``record.json``, from the repository folder) against its ``SHA256SUMS`` and its digest
(:func:`dark.record.run_hashes.verify`) and names each altered run with its files; exit status 1 when
one is altered or never hashed. ``--rehash`` first writes ``SHA256SUMS`` for the runs recorded before it
existed (:func:`dark.record.run_store.rehash`: only a run whose ``config.json`` still is what its digest
stands for; a run hashed already is verified, never rewritten).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dark.record import run_hashes, run_store
from dark.record.record import RECORD


def records(root: str | Path = ".") -> list[Path]:
    """The record folders under ``root/results`` (those with a ``record.json``), sorted."""
    return sorted(p.parent for p in Path(root, "results").glob(f"*/{RECORD}"))


def cli(argv: list[str] | None = None) -> int:
    """Verify (and with ``--rehash`` hash once) the runs of record folders; print one line per finding."""
    p = argparse.ArgumentParser(prog="dark record", description=__doc__.splitlines()[0])
    p.add_argument(
        "folders", nargs="*", type=Path, help="record folders (default: results/*/ with a record.json)"
    )
    p.add_argument("--rehash", action="store_true", help="hash the runs recorded before SHA256SUMS existed")
    args = p.parse_args(argv)
    folders = args.folders or records()
    if not folders:
        print("dark record: no record folder (results/*/record.json) here")
        return 2
    bad = 0
    for folder in folders:
        stored = run_store.recorded_runs(folder)
        if args.rehash:
            hashed, altered = run_store.rehash(folder)
        else:
            before = set(run_store.unhashed(folder))  # said once below
            found = (r.verify() for name, r in stored.items() if name not in before)
            hashed, altered = [], [a for a in found if a is not None]
        for a in altered:
            print(f"{folder}: ALTERED {a.line()}")
        never = run_store.unhashed(folder)
        if never:
            print(f"{folder}: never hashed: {', '.join(never)} (`{run_hashes.REHASH} {folder}` hashes them)")
        print(f"{folder}: {len(stored)} runs, {len(hashed)} hashed now, {len(altered)} altered, "
              f"{len(never)} never hashed")  # fmt: skip
        bad += len(altered) + len(never)
    return 1 if bad else 0
