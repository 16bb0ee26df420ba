"""Run folders as flat tables (the public import): ``rows``, ``columns``, ``load``, ``export``.

The tables are drawn by :mod:`tsearch.report.tables`, whose docstring lists the columns.
"""

from .report.tables import FORMATS, columns, export, load, rows

__all__ = ["FORMATS", "columns", "export", "load", "rows"]
