"""The figures of the decoder study: one colour per decoder, one panel per sigma.

matplotlib is imported inside the functions, so that ``from dark import study`` does not load pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dark.codecs import DECODER_LABELS


def decoder_colors(decoders: Sequence[str]) -> dict[str, Any]:
    """One distinct colour per decoder (tab10, then tab20b), ``mle`` in black."""
    import matplotlib.pyplot as plt

    palette = [plt.cm.tab10(i) for i in range(10)] + [plt.cm.tab20b(i) for i in range(20)]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(n for n in decoders if n != "mle")}
    colors["mle"] = "black"
    return colors


def plot_per_sigma(
    df: pd.DataFrame,
    y: str,
    sigmas: Sequence[float],
    colors: Mapping[str, Any],
    ylabel: str,
    bound: str | None = None,
    reference: float | None = None,
    title: str = "sigma = {sigma:g} px",
    xlabel: str = "noise std (peak 1)",
):
    """One log-log panel per sigma of ``df[y]`` against ``noise`` (noisy rows only), a line per decoder.

    ``df`` has the columns of :func:`decoder_rmse`. ``bound``: label of the grey band drawn from
    ``crlb_rmse`` (None: no band); ``reference``: a dashed horizontal line (e.g. 1 for a ratio).
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    sigmas = list(sigmas)
    fig, axes = plt.subplots(1, len(sigmas), figsize=(3.6 * len(sigmas), 3.6), sharey=True, squeeze=False)
    noisy = sorted(float(v) for v in df.noise.unique() if v > 0)
    for ax, s in zip(axes[0], sigmas, strict=True):
        d = df[(df.sigma == s) & (df.noise > 0)]
        for name, g in d.groupby("decoder", sort=False):
            ax.plot(
                g.noise,
                g[y],
                "o-",
                ms=3,
                label=DECODER_LABELS.get(name, name),
                color=colors[name],
                lw=2.5 if name == "mle" else 1.2,
            )
        if bound is not None:
            b = d.drop_duplicates("noise")
            ax.plot(b.noise, b.crlb_rmse, color="grey", lw=7, alpha=0.35, zorder=0, label=bound)
        if reference is not None:
            ax.axhline(reference, color="k", ls="--")
        ax.set(yscale="log", xscale="log", title=title.format(sigma=s), xlabel=xlabel)
        ax.set_xticks(noisy, [f"{v:g}" for v in noisy])
        ax.minorticks_off()
    axes[0, 0].set_ylabel(ylabel)
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig
