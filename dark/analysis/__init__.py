"""The analysis: the scoring protocols, the report's numbers, tables, verdicts, plots."""
