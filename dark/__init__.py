"""dark: heatmap coordinate encoding/decoding (DARK) and its reproduction on depth images.

The package is a house of rooms, one per stage of the data flow, listed here from the bottom up (of two
rooms on one line, the first is the lower). A module imports its own room and the rooms below it, never one
above (an import inside a function counts too), so every arrow runs one way; ``tests/test_house.py`` reads
this list and checks every import of the package against it:

1. :mod:`dark.codecs`: encoders and decoders of heatmaps, paired on one :class:`~dark.codecs.Codec`;
2. :mod:`dark.metrics`: the metric table and the two-level intervals;
3. :mod:`dark.files`, :mod:`dark.provenance`: atomic files and digests; which code, data and machine made
   a page or a run;
4. :mod:`dark.design`: the study's design: the profile table, the report's numbers, the two scoring
   protocols, the joints;
5. :mod:`dark.data`: the HUMAN4D reader, the motions, the depth renderer, shards and model input;
6. :mod:`dark.models`: the table of models (Stacked Hourglass, HRNet);
7. :mod:`dark.experiment`: a run's settings, directory and digest, training, evaluation;
8. :mod:`dark.record`: the record: its store of finished runs, their hashes, ``record.json``;
9. :mod:`dark.study`: the decoder study on synthetic heatmaps (Cramer-Rao bound, bias, thresholds);
10. :mod:`dark.analysis`: the analysis of the runs: tables, verdicts, plots;
11. :mod:`dark.book`: the papermill plan and executor, the summary page's helpers, the widgets, the PDF;
12. :mod:`dark.cli`, :mod:`dark.__main__`: the command line.

Submodules are imported by their users (``from dark import codecs``); importing ``dark`` itself is
cheap and imports no torch.
"""

__version__ = "0.1.0"
