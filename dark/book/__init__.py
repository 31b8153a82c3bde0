"""The book's machinery: the papermill plan, its executor, recorded runs, provenance, widgets."""
