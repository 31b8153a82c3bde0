"""The analysis of the runs: the report's tables, the verdicts and their endpoints
(:mod:`~dark.analysis.report`), the deviations from the report, the figures of the results chapter
(:mod:`~dark.analysis.plots`).

Its room reads every room below it (the runs, the record, the design, the study, the metrics; the order is
:mod:`dark`'s docstring) and only the book and the command line read it.
"""
