"""CSV import with row-level validation: all rows or none, every problem located by row and column.

The parts: :mod:`~matcher.ingest.importer` (``import_csv``: the read–check–write pipeline),
:mod:`~matcher.ingest.cells` (parsing one cell), :mod:`~matcher.ingest.checks` (one check per
kind of row), :mod:`~matcher.ingest.lookups` (batched look-ups of existing rows and places) and
:mod:`~matcher.ingest.report` (what a run says back).
"""

from matcher.ingest.cells import JAPANESE_LEVEL_WORDS, parse_bool, parse_japanese_level
from matcher.ingest.importer import COLUMNS, KINDS, import_csv
from matcher.ingest.lookups import ChapterFinder
from matcher.ingest.report import ImportReport, RowError

__all__ = [
    "KINDS",
    "COLUMNS",
    "JAPANESE_LEVEL_WORDS",
    "RowError",
    "ImportReport",
    "ChapterFinder",
    "import_csv",
    "parse_japanese_level",
    "parse_bool",
]
