"""Saving the analysis for the pages that read it: Tables 2 and 3 (CSV + JSON), ``verdicts.json``,
``evidence.csv`` and ``counterfactual.csv``, and reading ``verdicts.json`` back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from dark import metrics
from dark.analysis import paper
from dark.files import atomic_write
from dark.metrics import Interval

from .analysis import Analysis
from .claims import verdicts
from .counterfactual import counterfactual
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


def save(out: str | os.PathLike, a: Analysis) -> dict[str, Path]:
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
    payload["provenance"] = provenance(a)
    payload["intervals"] = metrics.INTERVALS
    shifts, payload["counterfactual_missing"] = counterfactual(a.records)
    atomic_write(out / "counterfactual.csv", shifts.to_csv(index=False))
    written["counterfactual.csv"] = out / "counterfactual.csv"
    atomic_write(out / "verdicts.json", json.dumps(payload, indent=1, default=_json_default))
    ev = pd.concat([r["evidence"] for r in v.values()], ignore_index=True)
    atomic_write(out / "evidence.csv", ev.to_csv(index=False))
    written["verdicts.json"], written["evidence.csv"] = out / "verdicts.json", out / "evidence.csv"
    return written


def load_saved(results: str | os.PathLike) -> dict:
    """``verdicts.json`` as :func:`save` wrote it, the claims keyed ``1`` and ``2`` (ints)."""
    raw = json.loads((Path(results) / "verdicts.json").read_text())
    return {int(k) if k.isdigit() else k: v for k, v in raw.items()}
