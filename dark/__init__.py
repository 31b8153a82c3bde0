"""dark: heatmap coordinate encoding/decoding (DARK) and its reproduction on depth images.

The package is laid out along the data flow, one room per stage:

- :mod:`dark.codecs`: encoders and decoders of heatmaps, paired on one :class:`~dark.codecs.Codec`;
- :mod:`dark.data`: the HUMAN4D reader, the motions, the depth renderer, shards and model input;
- :mod:`dark.models`: the table of models (Stacked Hourglass, HRNet);
- :mod:`dark.experiment`: what a profile means, training, a run's directory and record digest, evaluation;
- :mod:`dark.metrics`: the metric table and the two-level intervals;
- :mod:`dark.analysis`: the scoring protocols, the report's numbers, tables, verdicts, plots;
- :mod:`dark.study`: the decoder study on synthetic heatmaps (Cramer-Rao bound, bias, thresholds);
- :mod:`dark.book`: the papermill plan and executor, recorded runs, provenance, the widgets;
- :mod:`dark.cli`, :mod:`dark.files`, :mod:`dark.design.skeleton`: the command line, atomic files, the joints.

Submodules are imported by their users (``from dark import codecs``); importing ``dark`` itself is
cheap and imports no torch.
"""

__version__ = "0.1.0"
