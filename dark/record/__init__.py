"""The record: a longer profile's finished runs kept in the repository (``results/<record>/``), both halves
in one room: its store of runs and their hashes (:mod:`~dark.record.run_store`,
:mod:`~dark.record.run_hashes`), and ``record.json``, how a record is written, loaded, checked and described
(:mod:`~dark.record.record`), with the ``dark record`` command (:mod:`~dark.record.record_cli`).

Its room sits above the experiment, whose runs it stores, and below the analysis and the book that read it
(the order is :mod:`dark`'s docstring): it imports only the rooms below it, never the analysis (the
analysis of a record's runs is :func:`dark.analysis.report.save_analysis`).
"""
