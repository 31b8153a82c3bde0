"""The study's design, fixed before any run: what each profile trains (:mod:`dark.design.profiles`, the
one profile table, and the report's seed), the reproduced report's numbers, names and regime
(:mod:`dark.design.paper`), the two scoring protocols (:mod:`dark.design.protocols`) and the joints, sizes
and strides of the skeleton (:mod:`dark.design.skeleton`).

A room low in the house (the order is :mod:`dark`'s docstring): it may import only the rooms below it
(codecs, metrics, files, provenance; today it imports none), and data, experiment, record, the analysis and
the book all read it.
"""
