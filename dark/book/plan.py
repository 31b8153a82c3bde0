"""The book's execution plan: which notebook runs with which parameters, per profile.

The plan is one YAML file (``notebooks/pipeline.yml``); what a profile means (data sizes, recipe,
seeds, decoder-study sizes, its ``about`` paragraph) is a row of :data:`dark.design.profiles.PROFILES`,
which the plan reads by name::

    paths:                          # templates, expanded with the variables below
      generated: "{work}/data/generated/{profile}"
    steps:
      - id: train-sh-quantized      # unique; the executed notebook is <id>.ipynb
        notebook: 03_train.md       # jupytext source, relative to the plan file
        needs: [data]               # steps whose results this one reads
        outputs: ["{runs}/sh-quantized/config.json"]   # must exist for the step to count as done
        clean: ["{runs}/sh-quantized"]  # removed before re-executing with different inputs
        hide_parameters: false      # true: the book hides the (injected) parameters cells
        parameters:
          model: sh
          seed: "{seed}"
          trials: "{study.trials}"                      # a field of the profile's row

Strings are templates (``str.format`` with ``{work}``, ``{root}``, ``{profile}``, ``{source}``, ``{about}``
(the profile's paragraph), ``{study}`` (its :class:`dark.design.profiles.DecoderStudy`: write
``{study.sigmas}``), ``{report_seed}`` (:data:`dark.design.profiles.REPORT_SEED`), ``{records}`` (the
record folders of the recorded profiles, :func:`dark.record.record.folder`, then the superseded records kept
beside them, :func:`dark.record.record.superseded`), ``{records_digest}`` (what those records show,
:func:`dark.record.record.shown_digest`: the pages that render them re-execute when it changes),
``{run_dirs}`` and the expanded ``paths``), applied recursively inside lists and mappings; a string that is
exactly one ``{name}`` or ``{name.field}`` takes the value as it is (a list or a number stays one; a tuple
becomes a list). A mapping keyed by profile names is refused: per-profile values belong in the profile table,
so that adding a profile is one row there.

Seeds are a dimension of the plan: a step with ``for_each: run`` is repeated for every training of the profile
(:meth:`dark.design.profiles.Profile.runs`, one per cell and seed of the cell) that is not recorded
already (``recorded``: run name -> the recorded run's folder, :func:`dark.record.run_store.match`), with
the extra variables ``{model}``, ``{encoding}``, ``{seed}``, ``{batch_size}`` and ``{input_scale}`` (the
cell's options, ``None``: the recipe's), ``{precision}`` (the cell's where it sets one, else the plan's
below) and ``{run}`` (the run directory's name, :func:`dark.experiment.runs.run_name`); its ``id``
becomes ``<id>-<run>``, and a step that ``needs`` the plain ``<id>`` needs every one of them. ``{run_dirs}``
is the list of every run directory of the profile (recorded ones in the record, the others in ``{runs}``),
``{trained_dirs}`` those that the plan trains, and ``{precision}`` the resolved precision the trainings use
(a record's, else this machine's for the recipe: :func:`dark.record.run_store.own_precision`).

Paths under ``{work}`` are given to the notebooks *relative* to it (the kernels run there), so the
published pages never show the building machine's folders; ``outputs`` and ``clean`` stay absolute.
Nothing here executes anything: :func:`load_plan` returns the resolved steps in dependency order and
:func:`step_hash` fingerprints one of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from dark.codecs import ENCODINGS
from dark.design import profiles as profile_table
from dark.design.paper import MODEL_NAMES
from dark.files import sha256_file
from dark.record.record import folder as record_folder
from dark.record.record import shown_digest
from dark.record.record import superseded as superseded_records
from dark.record.run_store import own_precision

#: bump when the meaning of a stamp changes (forces every step to re-run once)
STAMP_FORMAT = 1


class PlanError(ValueError):
    """The plan file is malformed or does not fit the requested profile."""


@dataclass(frozen=True)
class Step:
    """One papermill execution: a notebook source with resolved parameters."""

    id: str
    notebook: Path
    parameters: dict[str, Any]
    needs: tuple[str, ...] = ()
    outputs: tuple[Path, ...] = ()
    clean: tuple[Path, ...] = ()
    title: str = ""
    hide_parameters: bool = False
    #: the training's run name of a ``for_each: run`` step ("" for the others)
    run: str = ""


@dataclass(frozen=True)
class Plan:
    """A plan resolved for one profile: its steps in dependency order and its variables."""

    profile: str
    about: str
    steps: tuple[Step, ...]
    variables: dict[str, str]

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively (papermill passes lists, numbers and strings; a tuple would arrive
    as its ``str``)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _expand(value: Any, variables: dict[str, Any], where: str) -> Any:
    """Fill ``{templates}``, recursively."""
    if isinstance(value, dict):
        if value and set(value) <= set(profile_table.PROFILES):
            raise PlanError(
                f"{where}: a mapping keyed by profiles ({sorted(value)}); per-profile values belong in "
                "dark/design/profiles.py (a template such as '{study.trials}' reads the profile's row)"
            )
        return {k: _expand(v, variables, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)((?:\.\w+)*)\}", value)
        if whole and whole[1] in variables:
            found = variables[whole[1]]
            for field in filter(None, whole[2].split(".")):
                found = getattr(found, field, PlanError)
            if found is not PlanError and not isinstance(found, str):
                return _plain(found)
        try:
            return value.format(**variables)
        except (AttributeError, KeyError, IndexError, ValueError) as err:
            raise PlanError(
                f"{where}: cannot expand {value!r} ({err!r}; known: {sorted(variables)})"
            ) from err
    return value


def _toposort(steps: list[Step]) -> list[Step]:
    """Dependency order, stable with respect to the file's order; raises on cycles and unknown ids."""
    by_id = {s.id: s for s in steps}
    for s in steps:
        for n in s.needs:
            if n not in by_id:
                raise PlanError(f"step {s.id!r} needs unknown step {n!r}")
    done: list[Step] = []
    seen: set[str] = set()
    visiting: set[str] = set()

    def visit(s: Step) -> None:
        if s.id in seen:
            return
        if s.id in visiting:
            raise PlanError(f"dependency cycle through step {s.id!r}")
        visiting.add(s.id)
        for n in s.needs:
            visit(by_id[n])
        visiting.discard(s.id)
        seen.add(s.id)
        done.append(s)

    for s in steps:
        visit(s)
    return done


def _relative(value: Any, work: str, *bases: str) -> Any:
    """Absolute paths inside ``work`` or one of ``bases`` as paths relative to ``work``, recursively."""
    if isinstance(value, dict):
        return {k: _relative(v, work, *bases) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, work, *bases) for v in value]
    if isinstance(value, str):
        for base in (work, *bases):
            if base and (value == base or value.startswith(base + os.sep)):
                return os.path.relpath(value, work)
    return value


def _step(
    entry: dict,
    step_id: str,
    path: Path,
    variables: dict[str, Any],
    where: str,
) -> Step:
    """One resolved step of the plan file's ``entry`` (with ``variables`` of its run, if any)."""
    notebook = (path.parent / entry["notebook"]).resolve()
    params = _expand(entry.get("parameters") or {}, variables, f"{where}.parameters")
    outputs = _expand(entry.get("outputs") or [], variables, f"{where}.outputs")
    clean = [Path(c) for c in _expand(entry.get("clean") or [], variables, f"{where}.clean")]
    work_dir = Path(variables["work"])
    for c in clean:
        if not c.is_absolute() or work_dir not in c.parents:
            raise PlanError(f"{where}.clean: {c} is not inside the work folder {work_dir}")
    return Step(
        id=step_id,
        notebook=notebook,
        parameters=_relative(params, variables["work"], variables["root"], variables["executed"]),
        needs=tuple(entry.get("needs") or ()),
        outputs=tuple(Path(o) for o in outputs),
        clean=tuple(clean),
        title=str(_expand(entry.get("title", ""), variables, f"{where}.title")),
        hide_parameters=bool(entry.get("hide_parameters", False)),
    )


def _variables(
    row: profile_table.Profile,
    path: Path,
    *,
    work: str | Path,
    root: str | Path | None,
    source: str,
    executed: str | Path | None,
) -> dict[str, Any]:
    """The template variables of a plan resolved for the profile ``row`` (before ``paths`` and runs)."""
    root = Path(root).resolve() if root else path.parent.parent
    return {
        "work": str(Path(work).resolve()),
        "root": str(root),
        "profile": row.name,
        "source": str(source),
        "executed": str(Path(executed).resolve() if executed else root / "book" / "executed" / row.name),
        "about": " ".join(row.about.split()),
        "study": row.study,
        "report_seed": profile_table.REPORT_SEED,
        # the recorded profiles' folders, then the records kept beside those that replaced them
        "records": (records := [str(f) for name in profile_table.PROFILES if (f := record_folder(root, name))]
                    + [str(f) for f in superseded_records(root)]),
        "records_digest": shown_digest(records),
    }  # fmt: skip


def with_fresh_records(plan: Plan) -> Plan:
    """``plan`` with ``{records_digest}`` computed again, after the build wrote its record: executing it
    re-executes the pages that render the records (and the steps that need them), nothing else."""
    digest = shown_digest(plan.variables["records"])
    steps = tuple(
        replace(s, parameters={**s.parameters, "records_digest": digest})
        if "records_digest" in s.parameters
        else s
        for s in plan.steps
    )
    return replace(plan, steps=steps, variables={**plan.variables, "records_digest": digest})


def load_plan(
    path: str | Path,
    profile: str,
    *,
    work: str | Path,
    root: str | Path | None = None,
    source: str = "render",
    executed: str | Path | None = None,
    recorded: Mapping[str, str | Path] | None = None,
    precision: str | None = None,
) -> Plan:
    """Read the plan file and resolve it for ``profile``.

    Args:
        path: the YAML plan (notebook paths in it are relative to its folder).
        profile: a name of :data:`dark.design.profiles.PROFILES`.
        work: the folder that receives generated data and runs (``{work}``).
        root: the repository root (``{root}``); default: the plan file's parent folder's parent.
        source: ``"render"`` or a HUMAN4D root (``{source}``; ``dark book --data-root``).
        executed: where the executed notebooks go (``{executed}``); default
            ``{root}/book/executed/{profile}``.
        recorded: run name -> folder of the profile's trainings that a record holds (not trained again).
        precision: the resolved precision of the trainings (``{precision}``: a record's); ``None``: this
            machine's for the profile's recipe (:func:`dark.record.run_store.own_precision`, what an
            empty record resolves to), so a training step keeps its hash whether or not a record is written.

    Returns:
        the :class:`Plan`, steps in dependency order, all paths absolute.
    """
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise PlanError(f"cannot read the plan {path}: {err}") from err
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or "profiles" in raw:
        raise PlanError(
            f"{path}: expected a mapping with 'paths' and a list of 'steps' (the profiles are the rows of "
            "dark/design/profiles.py)"
        )
    if profile not in profile_table.PROFILES:
        raise PlanError(
            f"unknown profile {profile!r}; dark/design/profiles.py defines {sorted(profile_table.PROFILES)}"
        )
    row = profile_table.PROFILES[profile]
    variables = _variables(row, path, work=work, root=root, source=source, executed=executed)
    for key, template in (raw.get("paths") or {}).items():
        variables[key] = _expand(template, variables, f"paths.{key}")
    recorded = {k: str(Path(v).resolve()) for k, v in (recorded or {}).items()}
    every = row.runs() if any(isinstance(e, dict) and e.get("for_each") for e in raw["steps"]) else []
    runs = [t for t in every if t.name not in recorded]
    where = {t.name: recorded.get(t.name, f"{variables['runs']}/{t.name}") for t in every}
    variables["run_dirs"] = [_relative(where[t.name], variables["work"], variables["root"]) for t in every]
    variables["trained_dirs"] = [_relative(where[t.name], variables["work"]) for t in runs]
    variables["precision"] = precision or own_precision(profile)
    steps: list[Step] = []
    groups: dict[str, list[str]] = {}
    for i, entry in enumerate(raw["steps"]):
        where = f"steps[{i}]"
        if not isinstance(entry, dict) or "id" not in entry or "notebook" not in entry:
            raise PlanError(f"{where}: each step needs an 'id' and a 'notebook'")
        where = f"step {entry['id']!r}"
        if entry.get("profiles") and profile not in entry["profiles"]:
            continue
        each = entry.get("for_each")
        if each not in (None, "run"):
            raise PlanError(f"{where}: for_each must be 'run', got {each!r}")
        if each:  # a step that needs the trainings needs none when every one is recorded
            groups.setdefault(str(entry["id"]), [])
        # a cell's precision replaces the record's; its other options are null where the recipe's apply
        trainings = [
            {
                **t._asdict(), "run": t.name, "precision": t.precision or variables["precision"],
                "model_label": MODEL_NAMES.get(t.model, t.model),
                "encoding_label": ENCODINGS[t.encoding].label if t.encoding in ENCODINGS else t.encoding,
            }
            for t in runs
        ]  # fmt: skip
        for extra in trainings if each else [{}]:
            step_id = f"{entry['id']}-{extra['run']}" if extra else str(entry["id"])
            if extra:
                groups.setdefault(str(entry["id"]), []).append(step_id)
            step = _step(entry, step_id, path, {**variables, **extra}, f"step {step_id!r}")
            steps.append(replace(step, run=extra.get("run", "")))
    steps = [replace(s, needs=tuple(x for n in s.needs for x in groups.get(n, [n]))) for s in steps]
    ids = [s.id for s in steps]
    if len(ids) != len(set(ids)):
        raise PlanError(f"{path}: duplicate step ids in {ids}")
    return Plan(profile=profile, about=variables["about"], steps=tuple(_toposort(steps)), variables=variables)


def step_hash(step: Step, upstream: dict[str, str]) -> str:
    """Fingerprint of one execution: notebook source + parameters + the hashes of the steps it needs.

    ``upstream`` maps each needed step id to that step's own hash, so a change anywhere upstream
    changes every hash downstream of it (and nothing else).
    """
    missing = [n for n in step.needs if n not in upstream]
    if missing:
        raise PlanError(f"step {step.id!r}: no hash for needed steps {missing}")
    payload = {
        "format": STAMP_FORMAT,
        "notebook": sha256_file(step.notebook),
        "parameters": step.parameters,
        "needs": {n: upstream[n] for n in sorted(step.needs)},
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
