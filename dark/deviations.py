"""Where this reproduction's implementation differs from the report's public code, as a table.

The report (Chatzitofis et al., MLRC 2020) publishes its configuration in ``moverseai/moai``
(``conf/examples/train_H4D/model_single_stackedhourglass_quant.yaml``, ``model_single_hrnet_quant.yaml``,
``moai/modules/lightning/hourglass.py``). Its text does not state several choices made there. Every
one that is unambiguous is available here as an option; :data:`CHOICES` lists them: what we do, what
the report's code does, the option that selects the report's choice, and how its effect is measured.

:func:`table` turns the list into the book's table. Given the build's ``evaluation.json`` dictionaries
(:func:`dark.report.load_evaluations`) it fills the effect of every choice this build measured:

- ``("decoder", ours, theirs)``: both decoders read the same heatmaps of every evaluated run; the effect
  is ``ours - theirs`` of each metric, averaged over the runs (point estimates, the runs' own
  intervals are in the results chapter);
- ``("encoding", ours, theirs)``: runs of one model trained with the two encodings (e.g. "quantized"
  and "ceil"), decoded with DARK; the effect is the difference of their metrics;
- ``None``: an architecture or data choice; measuring it needs trainings the profile does not run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

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
        "one exchange module of 4 basic units per stage (the report's text)",
        "3, 4, 4 modules of 2-4 bottlenecks 128 wide inside (`modules`, `depths`)",
        "none: described in `dark.models` (the configuration contradicts the text)",
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
        "decoder `dark_report`",
        ("decoder", "dark", "dark_report"),
    ),
    Choice(
        "standard_rule",
        "Standard decoder",
        "argmax + 1/4 px towards the larger neighbour (HRNet, DarkPose)",
        "argmax + 1/4 px towards the global second-highest pixel",
        "decoder `standard_top2`",
        ("decoder", "standard", "standard_top2"),
    ),
    Choice(
        "visibility",
        "Which joints are scored",
        "the ground-truth visible joints",
        "joints whose blurred predicted heatmap exceeds 0.4 (`visibility_heatmap`)",
        "an evaluation option (dark.evaluate)",
        unmeasured="not evaluated in this build",
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
    diffs: dict[str, list[float]] = {m: [] for m, _ in EFFECT_METRICS}
    if kind == "decoder":
        for ev in evaluations:
            for m in diffs:
                a, b = _metric(ev, ours, m), _metric(ev, theirs, m)
                if a is not None and b is not None:
                    diffs[m].append(a - b)
        return _describe(diffs, "same heatmaps") or f"not measured (no run evaluated decoder `{theirs}`)"
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


def table(evaluations: Sequence[Mapping] = ()) -> pd.DataFrame:
    """One row per :data:`CHOICES` entry: choice, ours, the report's code, option, effect.

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
            "effect in this build": effect(c, evaluations),
        }
        for c in CHOICES
    ]
    return pd.DataFrame(rows).set_index("choice")
