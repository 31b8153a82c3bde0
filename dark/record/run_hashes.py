"""A recorded run's files and their sha256: the manifest written when a run is recorded, and the check that
the files still are what was recorded (as git and DVC treat content that no longer matches its hash).

Each run of a record (:mod:`dark.record.run_store`) has ``SHA256SUMS`` (:data:`SUMS`) beside its files:
one line per recorded file, ``<sha256, 64 hex digits>  <file name>``, the format of coreutils' ``sha256sum``,
so ``cd results/cpu/runs/<run> && sha256sum -c SHA256SUMS`` checks a run without the package. It is written
when the run is recorded (:func:`dark.record.run_store.add_run`), or once for runs recorded before it
(``python -m dark record --rehash``, :func:`dark.record.run_store.rehash`), and never rewritten over a
run whose files no longer match it.

:func:`verify` is what every reader of a record asks (:func:`dark.record.record.load`,
:func:`dark.record.run_store.match`, ``python -m dark record``; the analysis asks :func:`verify_run`): a
run is *altered* when a file is missing or its sha256 is not the recorded one, or when its ``config.json`` no
longer is the configuration its recorded digest (:func:`dark.experiment.run_digest.run_digest`, recomputed
here from the config's content on the record's training data and revision) stands for. An altered run is
reported by name and file and never analysed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dark.experiment import runs
from dark.experiment.run_digest import run_digest
from dark.files import atomic_write, sha256_file

#: the per-run manifest of sha256 (``sha256sum`` format)
SUMS = "SHA256SUMS"
#: the command that hashes a record's runs once (those recorded before :data:`SUMS` existed)
REHASH = "python -m dark record --rehash"


@dataclass(frozen=True)
class Altered:
    """A recorded run whose files are not what was recorded.

    Attributes:
        run: the run's name (its folder's).
        files: the files that differ (or are missing; :data:`SUMS` when the run was never hashed).
        reason: what differs, in words.
    """

    run: str
    files: tuple[str, ...]
    reason: str

    def line(self) -> str:
        """``"<run>: <files> <reason>"``, for a build log or an error."""
        return f"{self.run}: {', '.join(self.files)} {self.reason}"

    def as_json(self) -> dict[str, Any]:
        """``{"run", "files", "reason"}`` (``record.json``'s ``"altered"`` entries)."""
        return {"run": self.run, "files": list(self.files), "reason": self.reason}


def write_sums(run_dir: str | os.PathLike, names: Sequence[str]) -> Path:
    """Write ``run_dir/SHA256SUMS``: the sha256 of each of ``names`` (files of ``run_dir``), sorted by name;
    return its path. ``FileNotFoundError`` for a missing file."""
    run_dir = Path(run_dir)
    lines = [f"{sha256_file(run_dir / name)}  {name}\n" for name in sorted(names)]
    return atomic_write(run_dir / SUMS, "".join(lines))


def read_sums(run_dir: str | os.PathLike) -> dict[str, str] | None:
    """``{file name: sha256}`` of ``run_dir/SHA256SUMS``; ``None`` when the run has none."""
    path = Path(run_dir) / SUMS
    if not path.is_file():
        return None
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.lstrip("*")] = digest
    return out


def digest_problem(config: dict[str, Any]) -> str | None:
    """Why ``config`` (a recorded ``config.json``, its ``"record"`` block included) is not the configuration
    its recorded digest stands for; ``None`` when it is, or when it records no digest (a record of schema 1).

    The digest is recomputed from the config's content (:meth:`dark.experiment.runs.RunConfig.from_json`) on
    the training data and revision the block records, so a changed setting (``lr`` doubled) shows."""
    block = config.get(runs.RECORD_KEY) or {}
    if not block.get("digest"):
        return None
    try:
        typed = runs.RunConfig.from_json(config)
    except (TypeError, ValueError) as err:
        return f"does not read as a run configuration ({err})"
    now = run_digest(typed, block.get("training_data", ""), block.get("training_revision"))
    return None if now == block["digest"] else "holds other settings than its recorded digest stands for"


def verify(run_dir: str | os.PathLike, required: Sequence[str] = ()) -> Altered | None:
    """Whether the recorded run ``run_dir`` still is what was recorded: ``None``, or what differs.

    Args:
        run_dir: a run folder of a record (``results/<record>/runs/<run>``).
        required: files that must be in its :data:`SUMS` (the record's files of a run).

    A run without :data:`SUMS` is reported as never hashed (:data:`REHASH` hashes it once), or as altered
    when its ``config.json`` is not what its digest stands for (which :data:`REHASH` never hashes).
    """
    run_dir = Path(run_dir)
    sums = read_sums(run_dir)
    if sums is None and (run_dir / runs.CONFIG).is_file():
        problem = digest_problem(runs.load_config(run_dir))
        if problem:
            return Altered(run_dir.name, (runs.CONFIG,), problem)
    if sums is None:
        return Altered(run_dir.name, (SUMS,), f"is missing: never hashed ({REHASH} {run_dir.parent.parent})")
    unlisted = sorted(set(required) - set(sums))
    if unlisted:
        return Altered(run_dir.name, tuple(unlisted), f"not in {SUMS}")
    missing = [n for n in sorted(sums) if not (run_dir / n).is_file()]
    if missing:
        return Altered(run_dir.name, tuple(missing), "missing since it was recorded")
    changed = [n for n in sorted(sums) if sha256_file(run_dir / n) != sums[n]]
    if changed:
        return Altered(run_dir.name, tuple(changed), f"changed since it was recorded (not its {SUMS})")
    if runs.CONFIG in sums:
        problem = digest_problem(runs.load_config(run_dir))
        if problem:
            return Altered(run_dir.name, (runs.CONFIG,), problem)
    return None


def verify_run(run_dir: str | os.PathLike, required: Sequence[str] = ()) -> Altered | None:
    """:func:`verify` for any run directory: ``None`` for a run never hashed whose ``config.json`` records no
    digest, or one that is what its digest stands for (a work folder's run, not a record's); what differs
    for a recorded one. What the analysis asks before it reads a run
    (:func:`dark.analysis.report.load.load_run`)."""
    run_dir = Path(run_dir)
    if (run_dir / SUMS).is_file():
        return verify(run_dir, required)
    problem = digest_problem(runs.load_config(run_dir)) if (run_dir / runs.CONFIG).is_file() else None
    return Altered(run_dir.name, (runs.CONFIG,), problem) if problem else None
