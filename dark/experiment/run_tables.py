"""The training chapter's tables: one run's settings, and every profile's recipe beside the models.

``settings_markdown(config)`` is the run's :class:`dark.experiment.runs.RunConfig` (and what its training
measured) as a Markdown table; ``recipes_table()`` the recipes of :data:`dark.design.profiles.PROFILES`
with every model's configuration in each (:data:`dark.models.CONFIGS`), one row per profile.
"""

from __future__ import annotations

import pandas as pd

from dark import codecs, models
from dark.design import paper, profiles
from dark.experiment.runs import RunConfig

__all__ = ["recipes_table", "settings_markdown"]


def settings_markdown(config: RunConfig) -> str:
    """``| setting | value |`` rows: model, arguments, parameters, targets, sizes, optimiser, epochs,
    seed and device (the last three measured by the training; ``?`` where it has not run)."""
    m = config.measured
    parameters, n_train = (f"{m.parameters:,}", f"{m.n_train:,}") if m else ("?", "?")
    shown = {
        "model": f"{paper.MODEL_NAMES.get(config.model, config.model)} ({config.model_config} configuration)",
        "model arguments": ", ".join(f"{k}={v}" for k, v in config.model_kwargs.items()),
        "parameters": parameters,
        "targets": f"{codecs.ENCODINGS[config.encoding].label}, sigma {config.sigma} heatmap px",
        "input / heatmaps": "{}x{} / {}x{} (stride {} px of the 160x320 map)".format(
            *config.input_size, *config.heatmap_size, config.heatmap_stride
        ),
        "optimiser": f"Adam, lr {config.lr}, betas {config.betas}, weight decay {config.weight_decay}, "
        f"{config.schedule} schedule",
        "epochs x batch": f"{config.epochs} x {config.batch_size} ({n_train} training images)",
        "seed": config.seed,
        "device": f"{m.device} ({m.world_size} process(es), {config.precision})" if m else config.precision,
    }
    return "\n".join(["| setting | value |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in shown.items())])


def recipes_table() -> pd.DataFrame:
    """One row per profile: its :class:`dark.design.profiles.Recipe` fields, then one column per model of
    :data:`dark.models.MODELS` with the constructor arguments of the profile's model configuration."""
    recipes = pd.DataFrame({name: vars(p.recipe) for name, p in profiles.PROFILES.items()}).T
    for name in models.MODELS:
        recipes[name] = [
            ", ".join(f"{k}={v}" for k, v in models.CONFIGS[name][profiles.PROFILES[p].model_config].items())
            for p in recipes.index
        ]
    return recipes
