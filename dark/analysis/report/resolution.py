"""Why an effect's size depends on the regime: the decoders' grid error and oracle floor at three heatmap
sizes against the PCKh radius (:func:`resolution`, :func:`floor_table`, :func:`grid_text`), claim 1 at every
PCKh radius (:func:`decoder_effects`), and which recorded runs the why page reads (:func:`recorded`,
:func:`runs_text`). The decomposition itself is :mod:`dark.analysis.report.why`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dark import study
from dark.design import paper
from dark.design.protocols import PROTOCOLS
from dark.experiment import runs
from dark.record import record

from .labels import display_name, interval_text
from .load import RunRecord, cells
from .why import _has, combination


def decoder_effects(
    records: Sequence[RunRecord],
    models: Sequence[str],
    alphas: Sequence[str] = ("0.1", "0.5"),
    against: Sequence[str] = ("standard", "argmax"),
    digits: int = 2,
    **kw,
) -> pd.DataFrame:
    """Claim 1's DARK - Standard and DARK - ArgMax at every PCKh radius ``alphas``, per model (its w/o
    quant runs) and protocol (:data:`PROTOCOLS`: its DARK and the row's decoder, its PCKh family), each
    within every run, over the seeds and the test clips (:func:`combination`), beside the report's
    (its Table 2). Rows ``(model, protocol, comparison)``; columns ``PCKh@<alpha>`` (points, with the 95%
    interval), ``report @<alpha>`` and ``trainings``. Comparisons the runs cannot score are left out."""
    out = []
    for model in models:
        cell = [r for r in records if (r.model, r.encoding) == (model, "unbiased")]
        for name, p in PROTOCOLS.items() if cell else ():
            family = p.primary_metric.split("@")[0]
            for role in against:
                row = {"model": paper.MODEL_NAMES.get(model, model), "protocol": name,
                       "comparison": f"DARK - {paper.DECODER_NAMES.get(role, role)}"}  # fmt: skip
                for alpha in alphas:
                    terms = [
                        (1.0, p.decoders["dark"], f"{family}@{alpha}"),
                        (-1.0, p.decoders[role], f"{family}@{alpha}"),
                    ]
                    if not _has(cell, terms):
                        break
                    e = combination(cell, terms, **kw)
                    rep = paper.TABLE2[(model, "unbiased", "dark")][f"pckh@{alpha}"]
                    rep -= paper.TABLE2[(model, "unbiased", role)][f"pckh@{alpha}"]
                    row[f"PCKh@{alpha}"] = interval_text(e.value, e.low, e.high, digits)
                    row[f"report @{alpha}"] = f"{rep:+.{digits}f}"
                    row["trainings"] = str(e.n_seeds) + ("" if e.training_variance else " (test set only)")
                else:
                    out.append(row)
    return pd.DataFrame(out).set_index(["model", "protocol", "comparison"]) if out else pd.DataFrame()


#: the heatmap sizes of the resolution section, as multiples of the runs' own (half, ours, twice: twice
#: ours is the report's 40 x 80 at its input 160 x 320)
SCALES = (0.5, 1.0, 2.0)


def resolution(
    records: Sequence[RunRecord],
    alpha: float = 0.1,
    scales: Sequence[float] = SCALES,
    noise_levels: Sequence[float] = (0.0, 0.05),
    trials: int = 2000,
    seed: int = 0,
) -> dict | None:
    """What decides how much a decoder's grid costs at PCKh@``alpha`` on these runs: their input and
    heatmap sizes (``config.json``; stride = input / heatmap rows), the test split's median head segment
    (input px, from the first run's ``predictions_test.npz``) and the radius ``alpha`` x that head, and
    the decoders' floor on synthetic Gaussians at each heatmap size ``scales`` x ours
    (:func:`dark.study.resolution_floor`, sigma of the runs, the radius scaled with the image).

    Returns ``{"input": (H, W), "heatmap": (H, W), "stride", "head" (median, input px), "radius" (input
    px, at our size), "sizes": [((H, W) heatmap, (H, W) input)], "floor": DataFrame}`` or None when the
    runs keep no sizes or no test predictions."""
    if not records or "heatmap_size" not in records[0].config or "input_size" not in records[0].config:
        return None
    try:
        heads = runs.load_predictions(records[0].path)["head_size"]
    except (FileNotFoundError, KeyError):
        return None
    cfg = records[0].config
    (ih, iw), (hh, hw) = cfg["input_size"], cfg["heatmap_size"]
    stride = ih / hh
    head = float(np.median(np.asarray(heads, dtype=np.float64)))
    sizes = [((round(hh * k), round(hw * k)), (round(ih * k), round(iw * k))) for k in scales]
    floor = study.resolution_floor(
        [hm for hm, _ in sizes], [alpha * head * k for k in scales], noise_levels, trials,
        sigma=float(cfg.get("sigma", 2.0)), stride=stride, seed=seed,
    )  # fmt: skip
    return {"input": (ih, iw), "heatmap": (hh, hw), "stride": stride, "head": head, "radius": alpha * head,
            "alpha": alpha, "sizes": sizes, "floor": floor}  # fmt: skip


def floor_table(res: Mapping, digits: int = 1) -> pd.DataFrame:
    """:func:`resolution`'s floor for the page: per heatmap size (with its input size and radius) and
    noise level, each decoder's PCKh (%) on the synthetic maps."""
    f = res["floor"].copy()
    inputs = {hm: inp for hm, inp in res["sizes"]}
    f["heatmap"] = [f"{h} x {w}" for h, w in zip(f.H, f.W, strict=True)]
    f["input"] = [" x ".join(map(str, inputs[(h, w)])) for h, w in zip(f.H, f.W, strict=True)]
    f["radius (input px)"] = f.radius.round(2)
    f["noise"] = ["none" if n == 0 else f"N(0, {n:g}^2)" for n in f.noise]
    f["decoder"] = [paper.DECODER_NAMES.get(d, d) for d in f.decoder]
    index = ["heatmap", "input", "radius (input px)", "noise"]
    return f.pivot_table(index=index, columns="decoder", values="pckh", sort=False).round(digits)


def grid_text(res: Mapping, digits: int = 2) -> str:
    """The grid errors at our heatmap size against the PCKh radius, in words, every number computed (the
    noiseless row of :func:`resolution`'s floor at our size)."""
    f = res["floor"]
    hh, hw = res["heatmap"]
    ours = f[(f.H == hh) & (f.W == hw) & (f.noise == 0)].set_index("decoder")
    a, s = ours.loc["argmax"], ours.loc["standard"]
    d, (ih, iw) = digits, res["input"]
    return (
        f"Our heatmaps are {hh} x {hw} pixels for an input of {ih} x {iw}, a stride "
        f"of {res['stride']:g} input pixels. ArgMax rounds to the nearest heatmap pixel, so on a perfect map "
        f"its error per axis is up to half a heatmap pixel, {a.max_axis:.{d}f} input pixels here, with a "
        f"root mean square of {a.rmse_axis:.{d}f} (a uniform error over one pixel: stride over the square "
        f"root of 12, {res['stride'] / math.sqrt(12):.{d}f}). Standard's quarter-pixel step halves that: up "
        f"to {s.max_axis:.{d}f} input pixels per axis, {s.rmse_axis:.{d}f} root mean square. The median head "
        f"segment of the test split is {res['head']:.{d}f} input pixels, so the PCKh@{res['alpha']:g} radius "
        f"is {res['radius']:.{d}f} pixels: ArgMax's grid error alone, at most "
        f"{math.hypot(a.max_axis, a.max_axis):.{d}f} pixels along a diagonal, can exceed it, and a perfect "
        f"heatmap decoded by ArgMax scores {a.pckh:.1f}% (the closed form: "
        f"{study.argmax_within(res['radius'], res['stride']):.1f}%), Standard {s.pckh:.1f}% and DARK "
        f"{ours.loc['dark'].pckh:.1f}%."
    )


def recorded(folders: Sequence[str]) -> tuple[str, list[str]] | None:
    """The first of ``folders`` (``results/cpu``, ...; the pipeline's ``{records}``) that holds a record
    with runs: ``(its last two path parts, its run directories)``; None when none does."""
    for folder in folders:
        try:
            rec = record.load(folder)
        except (OSError, ValueError):
            rec = None
        if rec is not None and rec["run_dirs"]:
            return "/".join(Path(folder).parts[-2:]), list(rec["run_dirs"])
    return None


def runs_text(records: Sequence[RunRecord]) -> str:
    """Which trainings a page decomposes: per model and encoding, the count and the seeds (``config.json``)
    and the epochs trained; e.g. ``"SH_4S w/o quant: 8 trainings (seeds ...), ..."``."""
    parts = []
    for (model, encoding), rs in cells(records).items():
        seeds = ", ".join(str(r.seed) for r in rs)
        parts.append(f"{display_name(model, encoding)}: {len(rs)} training{'s' * (len(rs) != 1)} (seed"
                     f"{'s' * (len(rs) != 1)} {seeds})")  # fmt: skip
    epochs = sorted({int(r.config["epochs"]) for r in records if "epochs" in r.config})
    tail = f"; each trained for {' or '.join(map(str, epochs))} epochs" if epochs else ""
    return "; ".join(parts) + tail + "." if parts else "No runs."
