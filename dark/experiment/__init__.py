"""The experiment: a run's settings, name and digest (:mod:`~dark.experiment.runs`), training and its
curves, the checkpoint rules, prediction and evaluation, the device.

Its room may import the rooms below it (codecs, metrics, files, provenance, design, data, models; the order
is :mod:`dark`'s docstring) and never the record, the analysis or the book: training (importing
:mod:`dark.experiment.train`) loads no analysis, no pandas and no matplotlib.
"""
