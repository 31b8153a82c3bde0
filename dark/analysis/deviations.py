"""Where this reproduction's implementation differs from the report's public code, as a table.

The report (Chatzitofis et al., MLRC 2020) publishes its configuration in ``moverseai/moai``
(``conf/examples/train_H4D/model_single_stackedhourglass_quant.yaml``, ``model_single_hrnet_quant.yaml``,
``moai/modules/lightning/hourglass.py``). Its text does not state several choices made there. Every
one that is unambiguous is available here as an option; :data:`CHOICES` lists them: what we do, what
the report's code does, the option that selects the report's choice, and how its effect is measured.

:func:`table` turns the list into the book's table. Given the build's ``evaluation.json`` dictionaries
(:func:`dark.analysis.report.load_evaluations`) it fills the effect of every choice this build measured:

- ``("decoder", ours, theirs)``: both decoders read the same heatmaps of every evaluated run; the effect
  is ``ours - theirs`` of each metric, averaged over the runs (point estimates, the runs' own
  intervals are in the results chapter);
- ``("encoding", ours, theirs)``: runs of one model trained with the two encodings (e.g. "quantized"
  and "ceil"), decoded with DARK; the effect is the difference of their metrics;
- ``("metric", ours, theirs)``: both metrics of DARK's coordinates in every evaluated run (e.g.
  Euclidean and per-axis PCKh); the effect is ``ours - theirs`` averaged over the runs;
- ``("checkpoint", "", "")``: the epoch each rule picks, from each run's ``evaluation.json``
  (``run.epochs_by_rule``: the last epoch, ours, the report's);
- ``("epochs", "", "")``: how long the runs trained, against the report's code's ``max_epochs``;
- ``None``: an architecture or data choice; measuring it needs trainings the profile does not run.

Effects measured elsewhere (from the runs' configurations or predictions, e.g. the batch size by
:func:`dark.analysis.report.why.batch_contribution`) are passed to :func:`table` as ``measured``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from dark.codecs import DECODER_LABELS

#: metrics shown in the effect column, with their units (evaluation.json stores PCKh in percent, so a
#: difference of PCKh is in points)
EFFECT_METRICS: tuple[tuple[str, str], ...] = (("rmse", "px"), ("pckh@0.1", "pts"))


@dataclass(frozen=True)
class Choice:
    """One implementation choice: ours, the report's code's, the option, how its effect is measured."""

    key: str
    choice: str
    ours: str
    report: str
    option: str
    effect: tuple[str, str, str] | None = None
    unmeasured: str = "needs trainings this profile does not run"  #: why, when ``effect`` is None


CHOICES: tuple[Choice, ...] = (
    Choice(
        "sh_depth",
        "Stacked Hourglass recursion depth",
        "4 (Newell et al.)",
        "2 (`depth: 2`)",
        '`dark.models.build("sh", "report")` or `depth=2`',
    ),
    Choice(
        "sh_bottleneck",
        "Stacked Hourglass bottleneck width inside",
        "half the block's width (64 of 128)",
        "the block's width (128; `bottleneck_features=features`)",
        '`build("sh", "report")` or `bottleneck="full"`',
    ),
    Choice(
        "sh_upsample",
        "Stacked Hourglass upsampling",
        "nearest",
        "bilinear",
        '`build("sh", "report")` or `upsample="bilinear"`',
    ),
    Choice(
        "output_activation",
        "Heatmap head activation",
        "linear",
        "sigmoid (SH `prediction.activation`, HRNet `head.activation`)",
        '`build("sh", "report")` or `output="sigmoid"` (SH only)',
    ),
    Choice(
        "hrnet_layout",
        "HRNet stages",
        "one exchange module of 4 basic residual units per stage (the report's text)",
        "one module of 4 bottleneck units per stage (`modules: [1, 1, 1]`, `depths: [[4], [4], [4]]`), "
        "as its text says; `[3, 4, 4]` is only in `model_single.yaml`, which no H4D run uses",
        "none: the residual unit is described in `dark.models`",
        unmeasured="no option",
    ),
    Choice(
        "quant_rounding",
        "Quantised targets: rounding",
        "nearest input pixel, floor(x + 0.5) (encoding `quantized`)",
        "up, ceil(x) (`quantize_coords: mode: ceil`)",
        "encoding `ceil` (`dark.codecs.ENCODINGS`)",
        ("encoding", "quantized", "ceil"),
    ),
    Choice(
        "target_grid",
        "Where targets are drawn",
        "on the 80x40 heatmap grid, centre divided by the stride",
        "on the 320x160 input grid, resized to 80x40 with nearest-neighbour interpolation",
        "none",
        unmeasured="no option",
    ),
    Choice(
        "dark_blur",
        "Blur before DARK's Taylor step",
        "the DARK authors' kernel matched to the training sigma (11x11 for sigma 2)",
        "5x5, sigma 1 (`gaussian2d`)",
        "the decoder DARK (report's blur)",
        ("decoder", "dark", "dark_report"),
    ),
    Choice(
        "standard_rule",
        "Standard decoder",
        "argmax + 1/4 px towards the larger neighbour, per sample and axis (HRNet, DarkPose)",
        "argmax + a step towards the global second-highest pixel, scaled by one norm over the whole test "
        "batch (16; SH quant 24) with the x and y scales swapped (`_argmax_sub`)",
        "the decoder Standard (report's code)",
        ("decoder", "standard", "standard_report"),
    ),
    Choice(
        "pckh_axis",
        "PCKh",
        "Euclidean error below alpha x the head segment's length, over the visible joints",
        "per axis: |error| below alpha x the head segment's extent along that axis, both axes counted, "
        "joints whose visibility masks disagree failed (`_calculate_pck`)",
        "metrics `pckh_axis@0.1`, `pckh_axis@0.5` (the protocol `report`, `dark.design.protocols`)",
        ("metric", "pckh@0.5", "pckh_axis@0.5"),
    ),
    Choice(
        "visibility",
        "Which joints are scored",
        "the ground-truth visible joints",
        "ground truth by the field of view, per axis; prediction visible where the blurred heatmap at the "
        "decoded pixel exceeds 0.4 (`visibility_heatmap`)",
        "`dark.codecs.report_visibility`, inside the metric `pckh_axis@<alpha>`",
        unmeasured="part of the per-axis PCKh's effect, which applies it; not separated",
    ),
    Choice(
        "batch_size",
        "Batch size (Stacked Hourglass w/ quant)",
        "the profile's recipe, the same for every cell",
        "24 for SH quant, 16 for its cont twin and for HRNet (`batch_size`)",
        "the training's `batch_size` (a cell option of `dark.design.profiles`)",
        unmeasured="no runs of one cell with both batch sizes",
    ),
    Choice(
        "checkpoint",
        "Evaluated checkpoint",
        "the last epoch (the cosine schedule ends at zero); both best-on-validation rules reported",
        "the best validation per-axis PCKh@0.1 x PCKh@0.5 (`checkpoint: monitor: pckh`)",
        "`evaluation.json`'s `run.epochs_by_rule`",
        ("checkpoint", "", ""),
    ),
    Choice(
        "max_epochs",
        "Training length",
        "the profile's recipe",
        "`max_epochs: 100`",
        "the profile's recipe (`dark.design.profiles`)",
        ("epochs", "", ""),
    ),
)


def _metric(ev: Mapping, decoder: str, metric: str) -> float | None:
    try:
        return float(ev["decoders"][decoder]["metrics"][metric]["value"])
    except (KeyError, TypeError, ValueError):
        return None


def _describe(diffs: dict[str, list[float]], what: str) -> str:
    parts = []
    for metric, unit in EFFECT_METRICS:
        values = diffs.get(metric) or []
        if values:
            mean = sum(values) / len(values)
            parts.append(f"{metric.upper() if metric == 'rmse' else 'PCKh@0.1'} {mean:+.2f} {unit}")
    n = max((len(v) for v in diffs.values()), default=0)
    return f"{', '.join(parts)} (ours - report's, {what}, {n} run{'s' * (n != 1)})" if parts else ""


def _metric_effect(evaluations: Sequence[Mapping], ours: str, theirs: str, decoder: str = "dark") -> str:
    pairs = [(_metric(ev, decoder, ours), _metric(ev, decoder, theirs)) for ev in evaluations]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return f"not measured (no run evaluated `{theirs}`)"
    a, b = (sum(x) / len(pairs) for x in zip(*pairs, strict=True))
    n = len(pairs)
    return (
        f"DARK {ours} {a:.2f}, {theirs} {b:.2f}: {a - b:+.2f} pts "
        f"(ours - report's, same predictions, {n} run{'s' * (n != 1)})"
    )


def _checkpoint_effect(evaluations: Sequence[Mapping]) -> str:
    rules = [ev.get("run", {}).get("epochs_by_rule") for ev in evaluations]
    rules = [r for r in rules if r]
    if not rules:
        return "not measured (runs evaluated before the epoch of each rule was recorded: best epoch)"

    def picks(key: str) -> str:
        return ", ".join("–" if r.get(key) is None else str(r[key]) for r in rules)

    differ = sum(r.get("report") is not None and r.get("report") != r.get("last") for r in rules)
    return (
        f"epochs picked, per run: last {picks('last')}; ours {picks('ours')}; the report's rule "
        f"{picks('report')} ({differ} of {len(rules)} runs would be evaluated at another epoch by it)"
    )


def _epochs_effect(evaluations: Sequence[Mapping]) -> str:
    epochs = sorted({ev.get("run", {}).get("epochs") for ev in evaluations} - {None})
    if not epochs:
        return "not measured (the runs do not say how long they trained)"
    return f"not measured (these runs trained {', '.join(map(str, epochs))} epochs; needs trainings of 100)"


def effect(choice: Choice, evaluations: Sequence[Mapping]) -> str:
    """The measured effect of ``choice`` in ``evaluations`` as one string, or why there is none.

    >>> ev = {"run": {"model": "sh", "encoding": "unbiased"}, "decoders": {
    ...     "dark": {"metrics": {"rmse": {"value": 2.0}, "pckh@0.1": {"value": 50.0}}},
    ...     "dark_report": {"metrics": {"rmse": {"value": 2.5}, "pckh@0.1": {"value": 45.0}}}}}
    >>> effect(CHOICES[7], [ev])
    "RMSE -0.50 px, PCKh@0.1 +5.00 pts (ours - report's, same heatmaps, 1 run)"
    """
    if choice.effect is None:
        return f"not measured ({choice.unmeasured})"
    kind, ours, theirs = choice.effect
    if kind == "metric":
        return _metric_effect(evaluations, ours, theirs)
    if kind == "checkpoint":
        return _checkpoint_effect(evaluations)
    if kind == "epochs":
        return _epochs_effect(evaluations)
    diffs: dict[str, list[float]] = {m: [] for m, _ in EFFECT_METRICS}
    if kind == "decoder":
        for ev in evaluations:
            for m in diffs:
                a, b = _metric(ev, ours, m), _metric(ev, theirs, m)
                if a is not None and b is not None:
                    diffs[m].append(a - b)
        label = DECODER_LABELS.get(theirs, theirs)
        return _describe(diffs, "same heatmaps") or f"not measured (no run evaluated the decoder {label})"
    by = {(ev["run"].get("model"), ev["run"].get("encoding")): ev for ev in evaluations if "run" in ev}
    for model in sorted({m for m, _ in by}, key=str):
        a, b = by.get((model, ours)), by.get((model, theirs))
        if a is None or b is None:
            continue
        for m in diffs:
            x, y = _metric(a, "dark", m), _metric(b, "dark", m)
            if x is not None and y is not None:
                diffs[m].append(x - y)
    return (
        _describe(diffs, "DARK decoder")
        or f"not measured (no runs trained with both `{ours}` and `{theirs}`)"
    )


def table(evaluations: Sequence[Mapping] = (), measured: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per :data:`CHOICES` entry: choice, ours, the report's code, option, effect.

    ``measured``: choice key -> the effect as measured elsewhere (e.g. ``{"batch_size": ...}`` from
    :func:`dark.analysis.report.why.batch_contribution`), shown instead of :func:`effect`'s.

    >>> t = table()
    >>> list(t.columns), len(t) == len(CHOICES)
    (['ours', "the report's code", 'option', 'effect in this build'], True)
    """
    rows = [
        {
            "choice": c.choice,
            "ours": c.ours,
            "the report's code": c.report,
            "option": c.option,
            "effect in this build": (measured or {}).get(c.key) or effect(c, evaluations),
        }
        for c in CHOICES
    ]
    return pd.DataFrame(rows).set_index("choice")
