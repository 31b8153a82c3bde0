"""The decoder study: every decoder on synthetic heatmaps whose sub-pixel truth is known exactly.

Each table is a tidy ``pandas.DataFrame`` (one row per setting and decoder) that the notebook
``01_decoders`` plots; the decoders are always called through :func:`dark.codecs.decode`, so the study
measures exactly what the library computes. Its rooms, re-exported here (``from dark import study``):

- :mod:`dark.study.trials`: :func:`subseed` (a seed per setting, so a setting's numbers do not depend on
  which other settings are run) and :func:`decode_all` (every decoder on the same maps, paired);
- :mod:`dark.study.curves`: error against noise, offset, kernel size, with the Cramer-Rao bound
  (:func:`decoder_rmse`, :func:`bias_curve`, :func:`threshold_curve`, :func:`kernel_sensitivity`);
- :mod:`dark.study.oracle`: each encoding's own error before any network (:func:`quantisation_error`,
  :func:`oracle_table`, against the analytic :func:`predicted_error` of ``book/codecs.md``);
- :mod:`dark.study.resolution`: each decoder's error and PCKh at several heatmap sizes, the radius scaled
  with the image (:func:`resolution_floor`, against ArgMax's closed form :func:`argmax_within`);
- :mod:`dark.study.timing`: each decoder's cost (:func:`time_decoders`; ``benchmarks/decode.py`` adds
  the per-heatmap reference loop to it);
- :mod:`dark.study.figures`: :func:`decoder_colors` and :func:`plot_per_sigma`, one panel per sigma of
  any of these tables.

Errors are in heatmap px unless a table says input px.

Its room sits below the analysis (which reads the study's resolution floor) and imports only the rooms
below it (today the codecs; the order is :mod:`dark`'s docstring).
"""

from __future__ import annotations

from dark.study.curves import bias_curve, decoder_rmse, kernel_sensitivity, threshold_curve
from dark.study.figures import decoder_colors, plot_per_sigma
from dark.study.oracle import oracle_table, predicted_error, quantisation_error
from dark.study.resolution import argmax_within, resolution_floor
from dark.study.timing import CLOCKS, make_batch, time_decoders
from dark.study.trials import decode_all, subseed

__all__ = [
    "CLOCKS",
    "argmax_within",
    "bias_curve",
    "decode_all",
    "decoder_colors",
    "decoder_rmse",
    "kernel_sensitivity",
    "make_batch",
    "oracle_table",
    "plot_per_sigma",
    "predicted_error",
    "quantisation_error",
    "resolution_floor",
    "subseed",
    "threshold_curve",
    "time_decoders",
]
