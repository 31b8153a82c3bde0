"""A training's curves (``curves.png``): loss and validation PCKh per epoch, drawn from ``metrics.jsonl``'s
records as a :class:`matplotlib.figure.Figure` of its own, so training never touches pyplot and importing
:mod:`dark.experiment.train` loads no matplotlib (it loads when a run draws)."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence

from dark.files import atomic_write


def plot_curves(history: Sequence[Mapping], path: str | os.PathLike) -> None:
    """Loss and validation PCKh@0.5 / @0.1 per epoch of ``metrics.jsonl``'s records, written atomically
    to ``path`` (PNG; a :class:`matplotlib.figure.Figure` of its own, so training never touches pyplot)."""
    from matplotlib.figure import Figure  # matplotlib loads when a run draws, not when training imports

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(8, 3), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], "s-", label="validation")
    ax.set(xlabel="epoch", ylabel="heatmap MSE (sum over stacks)", yscale="log")
    ax.legend()
    bx.plot(epochs, [h["val_pckh@0.5"] for h in history], "o-", label="PCKh@0.5")
    bx.plot(epochs, [h["val_pckh@0.1"] for h in history], "s-", label="PCKh@0.1")
    bx.set(xlabel="epoch", ylabel="validation PCKh, DARK (%)", ylim=(0, 100))
    bx.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    atomic_write(path, buffer.getvalue())
