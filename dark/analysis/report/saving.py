"""Saving the analysis for the pages that read it: Tables 2 and 3 (CSV + JSON), ``verdicts.json``,
``evidence.csv`` and ``counterfactual.csv``, and reading ``verdicts.json`` back; :func:`save_analysis`
analyses a record's runs and saves it into the record (what a build cut by ``--max-trainings`` leaves)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from dark import metrics
from dark.design import paper
from dark.files import atomic_write
from dark.metrics import Interval

from .along import AXES, axis, crossed_rows, null_rows, seed_matched_rows
from .analysis import Analysis, analyse
from .claims import verdicts
from .counterfactual import counterfactual
from .load import load_runs
from .regime import comparable, regime, regime_text, split_regimes
from .tables import table2, table3
from .text import provenance


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Interval):
        return o.to_dict()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def _flat(t: pd.DataFrame) -> pd.DataFrame:
    flat = t.copy()
    flat.columns = [f"{m}_{f}" for m, f in flat.columns]
    return flat.reset_index()


def scope(a: Analysis) -> dict:
    """What the verdicts rest on, as plain JSON for the first screen: the regime, the trainings (runs,
    seeds per cell, summed wall time, machines), each model's configuration against the report's, and the
    absolute accuracy of the unbiased cells beside the report's Table 2 (DARK's PCKh@0.1 under the report's
    per-axis metric and the standard one, and RMSE)."""
    recs = a.records
    wall = [float(r.config.get("record", {}).get("wall_s") or 0.0) for r in recs]
    models = {}
    for m in dict.fromkeys(r.model for r in recs):
        c = next(r.config for r in recs if r.model == m)
        models[m] = {
            "config": c.get("model_config"), "kwargs": c.get("model_kwargs", {}),
            "parameters": c.get("parameters"), "report": paper.REPORT_MODELS.get(m, ""),
        }  # fmt: skip
    absolute = []
    for m in models:
        for metric, decoder in (("pckh_axis@0.1", "dark_report"), ("pckh@0.1", "dark"), ("rmse", "dark")):
            est = a.values.get((m, "unbiased", decoder), {}).get(metric)
            if est is None:
                continue
            absolute.append({
                "model": m, "metric": metric, "decoder": decoder, "ours": est.value, "low": est.low,
                "high": est.high,
                "report": paper.published(m, "unbiased", "dark").get(metric.replace("_axis", "")),
            })  # fmt: skip
    machines = sorted({str(r.config.get("record", {}).get("machine", "?")) for r in recs})
    return {
        "regime": regime(recs), "runs": len(recs),
        "cells": {f"{m} {e}": len(rs) for (m, e), rs in a.cells.items()}, "wall_s": sum(wall),
        "machines": machines,
        "report": paper.REPORT_REGIME, "models": models, "absolute": absolute,
        "left_out": a.settings.get("left_out", []),
    }  # fmt: skip


def regime_verdicts(records, **kw) -> list[dict]:
    """Every regime of ``records`` but the main one (:func:`dark.analysis.report.regime.split_regimes`:
    another resolution, precision or batch), analysed on its own with the same endpoints, families and
    words: ``[{"regime", "regime_text", "comparable", "axis", "runs", "claims": {claim: {"verdict",
    "by_model", "primary"}}, "crossed", "seed_matched"}]``. ``axis``: the one setting in which the regime
    differs from the main one (:func:`dark.analysis.report.along.axis`); ``crossed``: its quantised cells
    paired with the main regime's unbiased cell where it trained none of its own
    (:func:`~dark.analysis.report.along.crossed_rows`: the report's batch confound); ``seed_matched``:
    the main regime's claim 2 on the seeds of the regime's own pairs
    (:func:`~dark.analysis.report.along.seed_matched_rows`). The claims along the regime (resolution,
    precision, batch) are read from these."""
    out = []
    groups = list(split_regimes(records).values())
    crossed = crossed_rows(records, **kw)
    matched = seed_matched_rows(records, **kw)
    for rs in groups[1:]:
        v = verdicts(analyse(rs, **kw))
        reg = regime(rs)
        ax = axis(regime(groups[0]), reg)
        setting = reg.get(dict(AXES)[ax][0]) if ax else None
        out.append({
            "regime": reg, "regime_text": regime_text(reg), "comparable": comparable(reg), "axis": ax,
            "runs": sorted(r.path.name for r in rs),
            "claims": {str(c): {k: x[k] for k in ("verdict", "by_model", "primary")} for c, x in v.items()},
            "crossed": [r for r in crossed if (r["axis"], r["setting"]) == (ax, setting)],
            "seed_matched": [r for r in matched if (r["axis"], r["setting"]) == (ax, setting)],
        })  # fmt: skip
    return out


def save(out: str | os.PathLike, a: Analysis, regimes: list[dict] | None = None) -> dict[str, Path]:
    """Write ``table2``/``table3`` (CSV + JSON), ``verdicts.json``, ``evidence.csv`` and
    ``counterfactual.csv`` (:func:`dark.analysis.report.counterfactual.counterfactual`) into ``out``.

    ``verdicts.json``: ``{"1": verdict dict, "2": ..., "provenance": str, "intervals": str,
    "counterfactual_missing": [runs without predictions]}``, each verdict dict as
    :func:`dark.analysis.report.claims.verdicts` (its ``primary`` endpoints first) with ``evidence`` as a list
    of records (what the intro and the discussion pages read)."""
    out = Path(out)
    written = {}
    for name, t in {"table2": table2(a), "table3": table3(a)}.items():
        flat = _flat(t)
        atomic_write(out / f"{name}.csv", flat.to_csv(index=False))
        records = json.loads(flat.to_json(orient="records"))
        atomic_write(out / f"{name}.json", json.dumps({"source": paper.SOURCE, "rows": records}, indent=1))
        written[f"{name}.csv"], written[f"{name}.json"] = out / f"{name}.csv", out / f"{name}.json"
    v = verdicts(a)
    payload: dict = {
        str(k): {
            **{kk: vv for kk, vv in r.items() if kk != "evidence"},
            "evidence": r["evidence"].to_dict("records"),
        }
        for k, r in v.items()
    }
    if "2" in payload:  # every quantiser against the A/A placebo, claim 2's null (:func:`null_rows`)
        kw = {k: a.settings[k] for k in ("confidence", "n_resamples", "seed") if k in a.settings}
        payload["2"]["against_null"] = null_rows(a, **kw)
    payload["provenance"] = provenance(a)
    payload["intervals"] = metrics.INTERVALS
    payload["scope"] = scope(a)
    payload["regimes"] = regimes or []  # the other regimes' verdicts (:func:`regime_verdicts`)
    shifts, payload["counterfactual_missing"] = counterfactual(a.records)
    payload["counterfactual"] = json.loads(shifts.to_json(orient="records"))
    atomic_write(out / "counterfactual.csv", shifts.to_csv(index=False))
    written["counterfactual.csv"] = out / "counterfactual.csv"
    atomic_write(out / "verdicts.json", json.dumps(payload, indent=1, default=_json_default))
    ev = pd.concat([r["evidence"] for r in v.values()], ignore_index=True)
    atomic_write(out / "evidence.csv", ev.to_csv(index=False))
    written["verdicts.json"], written["evidence.csv"] = out / "verdicts.json", out / "evidence.csv"
    return written


def save_analysis(dest: str | Path, run_dirs: list[str | Path]) -> Path:
    """Analyse ``run_dirs`` (a record's runs) and save the analysis into ``dest/results``
    (:func:`save`: Tables 2 and 3, ``verdicts.json``, evidence, counterfactual); return
    that folder. What a build that trained part of the profile (``dark book --max-trainings``) leaves, so
    the summary reads the verdicts of every recorded run, as after a whole build."""
    out = Path(dest) / "results"
    shutil.rmtree(out, ignore_errors=True)
    records = load_runs([Path(d) for d in run_dirs])
    save(out, analyse(records), regimes=regime_verdicts(records))
    return out


def load_saved(results: str | os.PathLike) -> dict:
    """``verdicts.json`` as :func:`save` wrote it, the claims keyed ``1`` and ``2`` (ints)."""
    raw = json.loads((Path(results) / "verdicts.json").read_text())
    return {int(k) if k.isdigit() else k: v for k, v in raw.items()}
