"""Data intake: read a user's CSV or XLSX, validate it against the framework, load it whole or not at all.

This module is the intake's front door (``from helpers.store.intake import import_file``); the work is
done in one module per step. The flow for one file::

    kinds.kind(name, fw)         -> the kind's columns, keys and table, derived from the framework (kinds.py)
    read_file(path)              -> every cell as text, headers normalised, spreadsheet row numbers kept
                                    (reading.py; CSV encodings and delimiters: csv_reading.py)
    validate(kind, raw, fw)      -> typed values; every bad cell becomes a reject (row, column, value, expected)
                                    (validation.py, parsing.py; checks across rows: consistency.py)
    reference_rejects(...)       -> neighbourhoods in areas, outcome ids in the project's map, ... (consistency.py)
    loading._load(...)           -> one DuckDB transaction; the `imports` table records the file's hash
                                    (loading.py; the rejects CSV: rejects.py)
    status(db)                   -> what is loaded (holdings.py)

Every kind goes this way, the financial-resilience questionnaire (``resilience``) included.

What a file may look like (for users: templates/README.md):

- CSV in UTF-8 (with or without a byte-order mark), Windows-1252 (Excel's "CSV" on Windows) or UTF-16
  (Excel's "Unicode text"); any line endings; comma, semicolon, tab or '|' delimiters, found from the
  header line. Excel's ``sep=;`` first line is understood.
- XLSX: the first worksheet, or ``--sheet NAME`` (exact, else matched ignoring case). A file whose content
  is CSV text is read as CSV whatever its extension, and the message says so.
- Header names may differ from the documented ones in case and surrounding spaces. Blank rows (anywhere)
  are not data and are skipped; row numbers still count them, so a reject's row is the row Excel shows.
- Answers may be the codes or the printed labels of the questionnaire, in any case ("Strongly agree",
  "very good", "Prefer not to say"). Whole numbers written as ``5.0`` are whole numbers; ``4.5`` is not.
- Numbers: ``1,234.5`` (comma thousands) in a comma-separated file. In a semicolon- or tab-separated file
  (European Excel) a comma is the decimal mark: ``12,5`` is 12.5 and ``1.234,5`` is 1234.5; ``1.234``
  with no comma is refused as ambiguous in a column that uses decimal commas elsewhere, and read as
  1234 in a whole-number column.
- Dates: ``YYYY-MM-DD`` (a time after it is dropped), ``DD/MM/YYYY`` (UK day first) or an Excel date cell;
  periods also ``YYYY-MM``. None may lie in the future.

Every check derives from the framework (codes, labels, ranges, waves, projects), expressed once as
:class:`Column` specifications of a :class:`~helpers.store.kinds.Kind`; the row checks run as a pandera
schema built from them (:func:`schema_for`). Validation is vectorised: each column is factorised and only
its distinct values are parsed, so a million-row survey validates in seconds.

Test-only hook: see :data:`PAUSE_ENV` in :mod:`helpers.store.loading`.
"""

from __future__ import annotations

from .consistency import reference_rejects
from .holdings import import_history, loaded_counts, status
from .kinds import Column, Kind, columns_for, kind, kinds
from .loading import PAUSE_ENV, ImportResult, build_database, file_hash, import_file
from .parsing import Parsed, parse_column
from .reading import RawFile, column_letter, read_file
from .rejects import REJECT_COLUMNS
from .validation import Checked, schema_for, validate

__all__ = [
    "PAUSE_ENV",
    "REJECT_COLUMNS",
    "Checked",
    "Column",
    "ImportResult",
    "Kind",
    "Parsed",
    "RawFile",
    "build_database",
    "column_letter",
    "columns_for",
    "file_hash",
    "import_file",
    "import_history",
    "kind",
    "kinds",
    "loaded_counts",
    "parse_column",
    "read_file",
    "reference_rejects",
    "schema_for",
    "status",
    "validate",
]
