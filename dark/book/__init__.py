"""The book's machinery: the papermill plan and its executor, a build on a record (growing it), the summary
page's helpers, the widgets, the assets and the PDF.

The top room but the command line (the order is :mod:`dark`'s docstring): it may import every room below it.
"""
