"""Data intake: read a user's CSV or XLSX, validate it against the framework, load it whole or not at all.

The flow for one file::

    read_file(path)              -> every cell as text, headers normalised, spreadsheet row numbers kept
    validate(kind, raw, fw)      -> typed values; every bad cell becomes a reject (row, column, value, expected)
    reference_rejects(...)       -> neighbourhoods in areas, outcome ids in the project's map, ...
    _load(...)                   -> one DuckDB transaction; the `imports` table records the file's hash

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
:class:`Column` specifications; the row checks run as a pandera schema built from them (:func:`schema_for`).
Validation is vectorised: each column is factorised and only its distinct values are parsed, so a
million-row survey validates in seconds.

Test-only hook: when the environment variable ``WORKBOOK_TEST_PAUSE_IN_TRANSACTION`` holds a number of
seconds, an import prints a line to stderr and sleeps that long inside its open transaction, so a test
can kill the process there and check the database is unchanged. Never set it in normal use.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
import os
import re
import sys
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..config import paths
from ..config.errors import FrameworkError, UserError, allowed
from ..config.framework import Framework
from ..config.safe_output import write_csv_atomic
from . import database as store

PAUSE_ENV = "WORKBOOK_TEST_PAUSE_IN_TRANSACTION"
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}
REJECT_COLUMNS = ["file", "row", "column", "value", "expected"]


# --- column specifications derived from the framework -------------------------------------------


@dataclass(frozen=True)
class Column:
    """What one input column may hold (derived from the framework; nothing here is typed twice)."""

    name: str
    kind: str  # text | id | int | float | code | date | period
    nullable: bool = False
    optional: bool = False  # the column itself may be absent from the file
    codes: Mapping[str, object] = field(default_factory=dict)  # accepted spelling (lower case) -> stored code
    picks: tuple[str, ...] = ()  # what a person picks from in a template (printed labels, or codes)
    minimum: float | None = None
    maximum: float | None = None
    expected: str = ""  # what a valid cell holds, in words, for rejects and templates
    help: str = ""  # what the column records (the questionnaire's wording where there is one)


def _or_blank(text: str, nullable: bool) -> str:
    return f"{text}, or blank" if nullable else text


def _choice_column(
    name: str,
    choices: Iterable[tuple[object, str]],
    *,
    nullable: bool = False,
    optional: bool = False,
    help: str = "",
    pick_labels: bool = True,
    expected: str | None = None,
) -> Column:
    """A column holding one of a list of codes; the printed label is accepted too, in any case."""
    choices = list(choices)
    codes: dict[str, object] = {}
    for code, label in choices:
        for spelling in {str(code).strip().lower(), str(label).strip().lower()}:
            if codes.get(spelling, code) != code:
                raise FrameworkError(f"column {name}: '{spelling}' would mean both {codes[spelling]} and {code}")
            codes[spelling] = code
    shown = "; ".join(f"{code} or '{label}'" if str(code) != str(label) else str(code) for code, label in choices)
    return Column(
        name,
        "code",
        nullable=nullable,
        optional=optional,
        codes=codes,
        picks=tuple(str(label if pick_labels else code) for code, label in choices),
        expected=_or_blank(expected or f"one of: {shown}", nullable),
        help=help,
    )


def _scale(choices) -> list[tuple[object, str]]:
    return [(c.code, c.label) for c in choices]


def columns_for(kind: str, fw: Framework) -> list[Column]:
    """The columns a file of this kind must have, in the stored table's order, with what each may hold."""
    ins = fw.instrument
    waves = [(w.id, w.label) for w in fw.settings.waves]
    projects = [(p.id, p.name) for p in fw.projects]
    ident = "an id (letters, digits, '-' or '_')"
    if kind == "areas":
        return [
            Column("neighbourhood", "id", expected=ident, help="the neighbourhood's id, used in every other file"),
            Column("name", "text", expected="the neighbourhood's name", help="the name shown in reports"),
            _choice_column("project", projects, pick_labels=False, help="the project this neighbourhood serves"),
            _choice_column(
                "role",
                [("pilot", "pilot"), ("comparison", "comparison")],
                help="pilot (the project runs here) or comparison (it does not)",
            ),
        ]
    if kind == "population":
        wt = fw.settings.weighting
        gender_labels = {c.code: c.label for c in ins.gender.categories}
        return [
            Column("neighbourhood", "id", expected=ident, help="the neighbourhood's id from the areas file"),
            _choice_column("dimension", [("age_band", "age_band"), ("gender", "gender")], help="age_band or gender"),
            _choice_column(
                "category",
                [(b.id, b.id) for b in wt.age_bands] + [(g, gender_labels.get(g, g)) for g in wt.genders],
                help="an age band or a gender, matching the dimension",
            ),
            Column(
                "population",
                "int",
                minimum=0,
                expected="a whole number of adults, 0 or more",
                help="adults (16+) living in the neighbourhood in this category",
            ),
        ]
    if kind == "survey":
        scale = ins.statements.scale
        first, last = scale[0], scale[-1]
        cols = [
            Column(
                "respondent_id",
                "text",
                expected="the questionnaire's id",
                help="the questionnaire's id, unique within neighbourhood and wave",
            ),
            Column("neighbourhood", "id", expected=ident, help="the neighbourhood's id from the areas file"),
            _choice_column("wave", waves, help="the survey wave"),
            _choice_column("mode", _scale(ins.modes), nullable=True, help="how the questionnaire came back"),
        ]
        statement_expected = (
            f"{first.code}-{last.code} ({first.code} = {first.label}, {last.code} = {last.label}) or the printed label"
        )
        for s in ins.statements.items:
            cols.append(_choice_column(s.id, _scale(scale), nullable=True, help=s.text, expected=statement_expected))
        gh = ins.general_health
        cols.append(_choice_column(gh.id, _scale(gh.scale), nullable=True, help=gh.question))
        h = ins.happiness
        cols.append(
            Column(
                h.id,
                "int",
                nullable=True,
                minimum=h.min,
                maximum=h.max,
                expected=f"a whole number from {h.min} to {h.max}, or blank",
                help=h.question,
            )
        )
        cols += [
            _choice_column(i.id, _scale(ins.years.bands), nullable=True, help=f"{ins.years.question} {i.text} ...")
            for i in ins.years.items
        ]
        hh = ins.household
        cols += [
            Column(
                i.id,
                "int",
                nullable=True,
                minimum=0,
                maximum=hh.max_per_band,
                expected=f"a whole number from 0 to {hh.max_per_band}, or blank",
                help=f"{hh.question} {i.label}",
            )
            for i in hh.items
        ]
        cols.append(
            _choice_column(
                ins.ethnicity.id, _scale(ins.ethnicity.categories), nullable=True, help=ins.ethnicity.question
            )
        )
        cols.append(
            _choice_column(ins.gender.id, _scale(ins.gender.categories), nullable=True, help=ins.gender.question)
        )
        cols.append(
            Column(
                ins.age.id,
                "int",
                nullable=True,
                minimum=ins.age.min,
                maximum=ins.age.max,
                expected=f"age in whole years from {ins.age.min} to {ins.age.max}, or blank",
                help=ins.age.question,
            )
        )
        return cols
    if kind == "indicators":
        return [
            _choice_column(
                "indicator",
                [(i.id, i.label) for i in fw.indicators],
                pick_labels=False,
                expected=f"an indicator id from the framework ({allowed(i.id for i in fw.indicators)})",
                help="the indicator's id (data/framework/indicators.yaml)",
            ),
            Column(
                "neighbourhood", "id", expected=ident + " or 'all'", help="the neighbourhood's id, or all for the area"
            ),
            Column(
                "period",
                "period",
                expected="a month YYYY-MM or a date YYYY-MM-DD (or DD/MM/YYYY), not in the future",
                help="the month or date the value is for",
            ),
            Column("value", "float", expected="a number", help="the indicator's value"),
            Column(
                "predicted",
                "float",
                nullable=True,
                optional=True,
                expected="a number, or blank",
                help="optional: the value expected without the project",
            ),
        ]
    if kind == "stories":
        return [
            Column("story_id", "text", expected="the story's id", help="the story's id, unique"),
            _choice_column("project", projects, pick_labels=False, help="the project the story is about"),
            Column("neighbourhood", "id", expected=ident, help="the neighbourhood's id from the areas file"),
            _choice_column("wave", waves, help="the wave the story belongs to"),
            Column(
                "outcomes",
                "text",
                expected="outcome ids from the project's ripple map, separated by ';'",
                help="outcome ids from the project's ripple map, separated by ';'",
            ),
            Column("title", "text", expected="a title", help="a short title"),
            Column("text", "text", expected="the story's text", help="the story as told"),
            _choice_column(
                "consent",
                [("yes", "yes"), ("no", "no")],
                help="yes if the person agreed to the story being shown; only yes is ever shown",
            ),
        ]
    if kind == "sentiment":
        return [
            Column("item_id", "text", expected="the item's id", help="the item's id, unique"),
            _choice_column("project", projects, pick_labels=False, help="the project the item is about"),
            Column("neighbourhood", "id", expected=ident, help="the neighbourhood's id from the areas file"),
            Column(
                "date",
                "date",
                expected="a date YYYY-MM-DD (or DD/MM/YYYY), not in the future",
                help="the date it was said",
            ),
            Column(
                "channel",
                "text",
                expected="where it was said (e.g. twitter, facebook, tracker)",
                help="where it was said (e.g. twitter, facebook, tracker)",
            ),
            Column("text", "text", expected="the item's text", help="what was said"),
        ]
    raise UserError(_unknown_kind(kind))


def _unknown_kind(kind: str) -> str:
    near = difflib.get_close_matches(str(kind).lower(), store.KINDS, n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return f"unknown kind '{kind}'{hint}; known: {', '.join(store.KINDS)}"


# Rows that must be unique within a file, and the rows an import "owns" (swapped by --replace).
UNIQUE_KEYS = {
    "areas": ["neighbourhood", "project"],
    "population": ["neighbourhood", "dimension", "category"],
    "survey": ["respondent_id", "neighbourhood", "wave"],
    "indicators": ["indicator", "neighbourhood", "period"],
    "stories": ["story_id"],
    "sentiment": ["item_id"],
}
SCOPE_KEYS = {
    "areas": ["neighbourhood", "project"],
    "population": ["neighbourhood"],
    "survey": ["neighbourhood", "wave"],
    "indicators": ["indicator", "neighbourhood", "period"],
    "stories": ["story_id"],
    "sentiment": ["item_id"],
}


# --- reading ------------------------------------------------------------------------------------


@dataclass
class RawFile:
    """One file's cells as text. ``frame`` index = the row number a spreadsheet shows (header = row 1)."""

    name: str
    frame: pd.DataFrame
    sha256: str
    format: str  # csv | xlsx
    letters: dict[str, str]  # column name -> spreadsheet column letter
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    note: str = ""


BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"SQLite format 3": "a SQLite database",
    b"DUCK": "a DuckDB database",
}
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


def column_letter(position: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the letter a spreadsheet shows above a column."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_file(path: Path | str, *, sheet: str | None = None, known: Iterable[str] = ()) -> RawFile:
    """Read a CSV or XLSX file as text cells; refuse anything structurally wrong with one plain line.

    ``known`` (the expected column names) helps choose a CSV's delimiter.
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a folder; expected a CSV or XLSX file") from None
    except PermissionError:
        raise UserError(f"{name}: cannot read the file (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    if _is_blank(raw):
        raise UserError(f"{name}: the file is empty")
    digest = hashlib.sha256(raw).hexdigest()
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        return _read_xlsx(raw, name, digest, sheet)
    if raw.startswith(OLE2_MAGIC):
        raise UserError(
            f"{name}: an old-style .xls workbook or a password-protected file; "
            "open it in Excel and save it as .xlsx (without a password) or as CSV UTF-8"
        )
    for magic, what in BINARY_MAGIC.items():
        if raw.startswith(magic):
            raise UserError(f"{name}: not a CSV or Excel file (it looks like {what})")
    if sheet is not None:
        raise UserError(f"{name}: --sheet applies to Excel workbooks, but this file is CSV text")
    note = ""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        note = f"read as CSV: the file holds text, not an Excel workbook, despite the {path.suffix} name"
    return _read_csv(raw, name, digest, set(known), note)


def _is_blank(raw: bytes) -> bool:
    """No bytes, or only white space (after any byte-order mark)."""
    bom = next((b for b in BOMS if raw.startswith(b)), b"")
    if bom and not raw[len(bom) : 4096].strip(b" \t\r\n\x00"):
        return not raw[len(bom) :].strip(b" \t\r\n\x00")
    return not raw or raw.isspace()


def _detect_encoding(raw: bytes, name: str) -> str:
    for bom, encoding in BOMS.items():
        if raw.startswith(bom):
            return encoding
    if b"\x00" in raw[:8192]:
        raise UserError(f"{name}: not a CSV or Excel file (it holds binary data)")
    if raw.isascii():
        return "utf-8"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"  # Excel's "CSV" on Windows
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{name}: line {line} holds bytes that are neither UTF-8 nor Windows-1252 text; "
            "save the file as 'CSV UTF-8' (or it is not a CSV file)"
        ) from None


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls > max(2, len(sample) // 100)


def _sniff_delimiter(head: str, known: set[str]) -> str:
    """The delimiter that splits the header into the most known column names (else the most fields)."""
    lines = [line for line in head.splitlines() if line.strip()][:30]
    if not lines:
        return ","
    best, best_score = ",", (-1, -1, -1)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        header = [h.strip().lower() for h in rows[0]]
        counts = {len(r) for r in rows[1:-1]}  # the last line of the head may be cut short
        consistent = int(len(header) > 1 and (not counts or counts == {len(header)}))
        score = (sum(h in known for h in header), consistent, len(header))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(raw: bytes, name: str, digest: str, known: set[str], note: str) -> RawFile:
    encoding = _detect_encoding(raw, name)
    head_bytes = raw[: 1 << 16]
    head = head_bytes.decode(encoding, errors="ignore")
    if _looks_binary(head):
        raise UserError(f"{name}: not a CSV or Excel file (it holds binary data)")
    skip = 0
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].strip()
    hinted = re.fullmatch(r"sep=(.)", first_line, flags=re.IGNORECASE)
    if hinted:  # Excel's "sep=;" line: names the delimiter and is not shown as a row
        delimiter, skip = hinted.group(1), 1
    else:
        delimiter = _sniff_delimiter(head.lstrip("\ufeff"), known)
    fast = _cells_fast(raw, encoding, delimiter, skip, head)
    if fast is not None:
        cells, rows = fast
    else:
        width = len(_header_fields(head, delimiter, skip))
        cells, rows = _cells_exact(raw, name, encoding, delimiter, skip, width), None
    del raw
    frame, letters = _header_and_rows(cells, name, "the file", rows)
    return RawFile(name, frame, digest, "csv", letters, delimiter=delimiter, encoding=encoding, note=note)


def _cells_fast(
    raw: bytes, encoding: str, delimiter: str, skip: int, head: str
) -> tuple[pd.DataFrame, np.ndarray | None] | None:
    """Every cell as a category of text, read by Arrow's multi-threaded CSV reader (a big file in about a second).

    Returns the cells and, when the file has empty lines, the row number Excel shows for each record
    (Arrow skips empty lines; without quotes, a record is a line, so the numbers follow from where the
    empty lines are). Files this cannot number exactly (empty lines and quotes, lines of only spaces,
    ragged rows, UTF-16) are left to :func:`_cells_exact`: None is returned.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if encoding == "utf-16":
        return None  # rare (Excel's "Unicode text"); the exact reader decodes it
    bom = next((b for b in BOMS if raw.startswith(b)), b"")
    start, end = len(bom), _content_end(raw)
    empty_lines = None
    if raw[start : start + 1] in (b"\n", b"\r") or any(
        raw.find(blank, start, end) >= 0 for blank in (b"\n\n", b"\n\r\n", b"\r\r")
    ):
        if b'"' in raw or b"\n" not in raw[start:end]:
            return None  # an empty line may sit inside a quoted value, or lines end in CR alone
        empty_lines = _empty_line_numbers(raw, start, end)
    first = _header_fields(head, delimiter, skip)
    if not first:
        return None
    buffer = pa.py_buffer(raw).slice(len(bom))  # no copy
    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pacsv.read_csv(
            pa.BufferReader(buffer),
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True,
                skip_rows=skip,
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=b'"' in raw),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": text for i in range(len(first))},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError, LookupError):
        return None
    if table.num_columns != len(first):
        return None
    records = table.num_rows
    cells = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    pa.default_memory_pool().release_unused()
    cells.columns = range(cells.shape[1])
    if empty_lines is None:
        return cells, None
    # Record k sits on the k-th line that is neither empty nor the skipped "sep=" line.
    skipped = np.concatenate([np.arange(1, skip + 1), empty_lines])
    lines = np.setdiff1d(np.arange(1, records + len(skipped) + 1), skipped)[:records]
    return cells, lines - skip


def _empty_line_numbers(raw: bytes, start: int, end: int) -> np.ndarray:
    """1-based numbers of the empty lines between ``start`` and ``end`` (lines end in LF or CRLF)."""
    numbers = [1] if raw[start : start + 1] in (b"\n", b"\r") else []
    line, counted = 1, start
    for found in re.finditer(rb"\n(?=\r?\n)", raw[start:end] if end - start < 1 << 16 else memoryview(raw)[start:end]):
        at = start + found.end()  # where the empty line begins
        line += raw.count(b"\n", counted, at)
        counted = at
        numbers.append(line)
    return np.array(numbers, dtype=np.int64)


def _header_fields(head: str, delimiter: str, skip: int) -> list[str]:
    """The cells of the first non-empty line (the header) after ``skip`` lines."""
    lines = [line for line in head.lstrip("\ufeff").splitlines()[skip:] if line.strip()]
    return next(csv.reader(lines[:1], delimiter=delimiter), [])


def _content_end(raw: bytes) -> int:
    """Length of ``raw`` without trailing white space, without copying a big file."""
    end = len(raw)
    while end > 0:
        chunk = raw[max(0, end - 4096) : end]
        stripped = chunk.rstrip(b" \t\r\n")
        if stripped:
            return end - len(chunk) + len(stripped)
        end -= len(chunk)
    return 0


def _cells_exact(raw: bytes, name: str, encoding: str, delimiter: str, skip: int, width: int) -> pd.DataFrame:
    """Every cell as text, read by pandas' parser: exact about blank lines and ragged rows.

    Columns are dictionary-encoded as they are read back, as the fast reader's are, so a big file
    keeps a small footprint while it is validated.
    """
    try:
        cells = pd.read_csv(
            io.BytesIO(raw),
            sep=delimiter,
            header=None,
            names=range(max(width, 1)),  # the header's width, even when empty lines come first
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            skiprows=skip,
            encoding=encoding,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise UserError(
                f"{name}: line {int(line) + skip} has {saw} cells but the header has {want} "
                f"({DELIMITER_NAMES.get(delimiter, delimiter)}-separated); a value that contains the "
                "delimiter must be in double quotes"
            ) from None
        raise UserError(f"{name}: not a readable CSV file ({str(exc).strip().splitlines()[-1]})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{name}: the file is empty") from None
    except UnicodeDecodeError:
        raise UserError(f"{name}: the file mixes text encodings; save it as 'CSV UTF-8'") from None
    for column in cells.columns:
        cells[column] = cells[column].astype("category")
    return cells


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV export would hold (dates as ISO, whole numbers without '.0')."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == clock_time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | clock_time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _read_xlsx(raw: bytes, name: str, digest: str, sheet: str | None) -> RawFile:
    import openpyxl

    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise UserError(f"{name}: not a valid XLSX workbook (the file is damaged); save it again as .xlsx or CSV")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        parts = set(archive.namelist())
    if "xl/workbook.xml" not in parts:
        what = "an OpenDocument spreadsheet" if "content.xml" in parts else "a ZIP archive"
        raise UserError(f"{name}: not an Excel workbook (it is {what}); save it as .xlsx or as CSV")
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged workbook
        raise UserError(f"{name}: not a valid XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheets = [ws.title for ws in book.worksheets]
        if not sheets:
            raise UserError(f"{name}: the workbook has no worksheets")
        if sheet is None:
            chosen = sheets[0]
        elif sheet in sheets:
            chosen = sheet
        else:
            folded = [s for s in sheets if s.strip().casefold() == sheet.strip().casefold()]
            if len(folded) != 1:
                raise UserError(f"{name}: no sheet named '{sheet}'; the workbook's sheets are: {', '.join(sheets)}")
            chosen = folded[0]
        ws = book[chosen]
        ws.reset_dimensions()  # some writers record a wrong size; read to the real end
        rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    cells = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")
    others = [s for s in sheets if s != chosen]
    where = f"sheet '{chosen}'" + (f" (other sheets: {', '.join(others)}; choose one with --sheet)" if others else "")
    frame, letters = _header_and_rows(cells, name, where)
    return RawFile(name, frame, digest, "xlsx", letters, sheet=chosen)


def _first_filled_row(cells: pd.DataFrame) -> int | None:
    """Position of the first row with any non-blank cell (the header), looking at the top rows first."""
    for top in (cells.iloc[:1000], cells):
        filled = np.zeros(len(top), dtype=bool)
        for col in top.columns:
            filled |= (top[col].str.strip() != "").to_numpy()
        if filled.any():
            return int(np.argmax(filled))
    return None


def _header_and_rows(
    cells: pd.DataFrame, name: str, where: str, rows: np.ndarray | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Split text cells (no header) into a header and data rows numbered as a spreadsheet shows them.

    ``rows`` gives each line of ``cells`` its spreadsheet row number (default: 1, 2, 3, ...).
    """
    cells = cells.fillna("")
    if cells.empty:
        raise UserError(f"{name}: {where} is empty")
    start = _first_filled_row(cells)
    if start is None:
        raise UserError(f"{name}: {where} is empty")
    header = [str(h).replace("\ufeff", "").strip().lower() for h in cells.iloc[start]]
    data = cells.iloc[start + 1 :]
    if rows is None:
        data.index = pd.RangeIndex(start + 2, start + 2 + len(data))  # header at row start + 1
    else:
        data.index = pd.Index(rows[start + 1 :], dtype="int64")
    data.columns = range(len(header))
    keep, names, letters = [], [], {}
    for position, head in enumerate(header):
        letter = column_letter(position)
        if head == "":
            if (data[position].str.strip() != "").any():
                raise UserError(f"{name}: column {letter} has values but no header name in {where}")
            continue
        if head in letters:
            raise UserError(
                f"{name}: column {head} appears more than once in the header (columns {letters[head]} and {letter})"
            )
        keep.append(position)
        names.append(head)
        letters[head] = letter
    frame = data[keep]
    frame.columns = names
    if frame.empty:
        raise UserError(f"{name}: {where} has a header but no data rows")
    return frame, letters


# --- parsing cells, one column at a time (vectorised over the column's distinct values) ----------


NUMBER_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
NUMBER_COMMA_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
NUMBER_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
NUMBER_DOTS_AND_COMMA = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+")
NUMBER_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
SPACES = re.compile(r"[\s\u00a0\u202f]")
EXCEL_DATE_LIKE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?: 00:00:00)?|\d{1,2}-[A-Za-z]{3}(?:-\d{2,4})?|[A-Za-z]{3}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}"
)
DATE_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"(\d{4}-\d{2}-\d{2})[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"), "%Y-%m-%d"),  # the date of a time
    (re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), "%d/%m/%Y"),  # UK: day first
)
MONTH_FORMAT = (re.compile(r"\d{4}-\d{2}"), "%Y-%m")
AMBIGUOUS_DOTS = "a number with a decimal comma, as elsewhere in this column: '1.234' could mean 1234 or 1,234"

# Parsing works on a column's distinct values, never row by row: a million-row column of answers has a
# handful of distinct texts, so plain Python over them is cheap and the result is spread back to the rows.


@dataclass
class Parsed:
    """One column's typed values, which cells could not be read, and why (None = the column's expected)."""

    values: pd.Series
    bad: np.ndarray
    blank: np.ndarray
    why: pd.Series | None = None  # per bad row: a more specific expected text


def _number(text: str, *, decimal_comma: bool, whole: bool, comma_column: bool) -> tuple[float | None, str | None]:
    """One distinct text as a number (None if it is not one) and, when useful, a hint for the reject."""
    text = SPACES.sub("", text)
    if decimal_comma:
        if NUMBER_DECIMAL_COMMA.fullmatch(text):
            return float(text.replace(",", ".")), None
        if NUMBER_DOTS_AND_COMMA.fullmatch(text):
            return float(text.replace(".", "").replace(",", ".")), None
        if NUMBER_DOT_THOUSANDS.fullmatch(text):
            if whole:  # a whole-number column: 1.234 can only mean one thousand two hundred and thirty-four
                return float(text.replace(".", "")), None
            if comma_column:
                return None, AMBIGUOUS_DOTS
    elif NUMBER_COMMA_THOUSANDS.fullmatch(text):
        return float(text.replace(",", "")), None
    if NUMBER_PLAIN.fullmatch(text):
        value = float(text)
        return (value, None) if math.isfinite(value) else (None, None)
    return None, None


def _numbers(texts: list[str], *, decimal_comma: bool, whole: bool) -> tuple[np.ndarray, list[str | None]]:
    """Distinct texts as floats (nan where unreadable), with hints."""
    comma_column = decimal_comma and any(
        NUMBER_DECIMAL_COMMA.fullmatch(t) or NUMBER_DOTS_AND_COMMA.fullmatch(t) for t in texts
    )
    values = np.full(len(texts), np.nan)
    hints: list[str | None] = [None] * len(texts)
    for i, text in enumerate(texts):
        if text:
            number, hints[i] = _number(text, decimal_comma=decimal_comma, whole=whole, comma_column=comma_column)
            if number is not None:
                values[i] = number
    return values, hints


def _date(text: str, *, period: bool) -> np.datetime64:
    """One distinct text as a date (NaT if it is not one): ISO, ISO with a time, UK day first, or YYYY-MM."""
    for pattern, fmt in (*DATE_FORMATS, MONTH_FORMAT) if period else DATE_FORMATS:
        found = pattern.fullmatch(text)
        if found:
            try:
                return np.datetime64(datetime.strptime(found.group(found.lastindex or 0), fmt).date(), "s")
            except ValueError:  # 2025-02-30
                return np.datetime64("NaT", "s")
    return np.datetime64("NaT", "s")


def _smallest_int(values: np.ndarray) -> str:
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return "Int8"
    lo, hi = finite.min(), finite.max()
    for dtype, info in (("Int8", np.iinfo(np.int8)), ("Int16", np.iinfo(np.int16)), ("Int32", np.iinfo(np.int32))):
        if info.min <= lo and hi <= info.max:
            return dtype
    return "Int64"


def _suggest(text: str, col: Column) -> str | None:
    """A more helpful expected text for a misspelt code or one of Excel's accidental dates."""
    spellings = {pick.lower(): pick for pick in col.picks}
    for spelling in col.codes:
        spellings.setdefault(spelling, spelling)
    near = difflib.get_close_matches(text.lower(), list(spellings), n=1, cutoff=0.75)
    if near:
        return f"{col.expected}; did you mean '{spellings[near[0]]}'?"
    if EXCEL_DATE_LIKE.fullmatch(text):
        return (
            f"{col.expected}; this looks like a date: Excel may have turned a band such as 1-2 into a date, "
            "so format the column as Text or use the printed labels"
        )
    return None


def _parse_distinct(texts: list[str], col: Column, decimal_comma: bool) -> tuple[object, np.ndarray, list]:
    """Typed values (an array to take from), a bad mask and hints for a column's distinct stripped texts."""
    hints: list[str | None] = [None] * len(texts)
    if col.kind == "code":
        mapped = [col.codes.get(t.lower()) if t else None for t in texts]
        int_codes = all(isinstance(v, int) for v in col.codes.values())
        if int_codes:  # 5.0 (as a pandas export writes it) is the code 5
            allowed_codes = set(col.codes.values())
            for i, text in enumerate(texts):
                if text and mapped[i] is None:
                    number, _ = _number(text, decimal_comma=decimal_comma, whole=True, comma_column=False)
                    if number is not None and number.is_integer() and int(number) in allowed_codes:
                        mapped[i] = int(number)
        bad = np.array([bool(t) and m is None for t, m in zip(texts, mapped, strict=True)], dtype=bool)
        for i in np.flatnonzero(bad)[:2000]:
            hints[i] = _suggest(texts[i], col)
        if int_codes:
            floats = np.array([np.nan if m is None else m for m in mapped], dtype=float)
            return pd.array(floats, dtype="Float64").astype(_smallest_int(floats)), bad, hints
        return pd.array([m if m is not None else None for m in mapped], dtype="str"), bad, hints
    if col.kind in ("int", "float"):
        whole = col.kind == "int"
        numbers, hints = _numbers(texts, decimal_comma=decimal_comma, whole=whole)
        blank = np.array([not t for t in texts], dtype=bool)
        bad = ~blank & np.isnan(numbers)
        if whole:
            finite = np.nan_to_num(numbers)
            bad |= ~np.isnan(numbers) & ((np.floor(finite) != finite) | (np.abs(finite) > 2**53))
            numbers[bad] = np.nan
            return pd.array(numbers, dtype="Float64").astype(_smallest_int(numbers)), bad, hints
        return pd.array(numbers, dtype="Float64"), bad, hints
    if col.kind in ("date", "period"):
        dates = np.array([_date(t, period=col.kind == "period") if t else np.datetime64("NaT", "s") for t in texts])
        bad = np.array([bool(t) for t in texts], dtype=bool) & np.isnat(dates)
        return pd.array(dates.astype("datetime64[s]")), bad, hints
    raise ValueError(f"unknown column kind {col.kind}")


def parse_column(text: pd.Series, col: Column, *, decimal_comma: bool = False) -> Parsed:
    """Typed values for one column of text cells, and which cells could not be read as ``col`` expects.

    The column is factorised and only its distinct values are parsed, then spread back over the rows.
    """
    if isinstance(text.dtype, pd.CategoricalDtype):  # the fast CSV reader's cells come dictionary-encoded
        codes, uniques = text.cat.codes.to_numpy(), text.cat.categories
    else:
        codes, uniques = pd.factorize(text, sort=False)
    if (codes < 0).any():  # a missing cell is a blank one
        uniques = uniques.append(pd.Index([""], dtype="str"))
        codes = np.where(codes < 0, len(uniques) - 1, codes)
    if col.kind in ("text", "id"):  # any text will do: strip it, vectorised (ids may be a million distinct)
        u = pd.Series(uniques, dtype="str").str.strip()
        blank_u = np.array(u == "", dtype=bool)
        values_u = u.where(~blank_u).array
        bad_u = np.zeros(len(u), dtype=bool)
        hints: list[str | None] = []
    else:
        texts = [str(t).strip() for t in uniques]
        blank_u = np.array([not t for t in texts], dtype=bool)
        values_u, bad_u, hints = _parse_distinct(texts, col, decimal_comma)
    values = pd.Series(values_u.take(codes), index=text.index, name=col.name)
    bad = bad_u[codes]
    why = None
    if bad.any() and any(hints[i] is not None for i in np.flatnonzero(bad_u)):
        why = pd.Series(np.array(hints, dtype=object)[codes[bad]], index=text.index[bad])
    return Parsed(values, bad, blank_u[codes], why)


# --- validation ---------------------------------------------------------------------------------


@dataclass
class Checked:
    """A validated file: typed rows (all, in file order) and one record per bad cell."""

    kind: str
    typed: pd.DataFrame  # index = spreadsheet row
    rejects: pd.DataFrame  # file, row, column, value, expected
    total_rows: int

    @property
    def good(self) -> pd.DataFrame:
        return self.typed.loc[~self.typed.index.isin(self.rejects["row"])]


def schema_for(kind: str, fw: Framework, today: date | None = None) -> pa.DataFrameSchema:
    """The pandera schema for a kind's typed rows: codes, ranges, required cells, ids, dates, uniqueness."""
    today = today or date.today()
    columns = {}
    for col in columns_for(kind, fw):
        checks = []
        if col.kind == "code":
            checks.append(pa.Check.isin(sorted(set(col.codes.values()), key=str), error=col.expected))
        if col.kind in ("int", "float") and (col.minimum is not None or col.maximum is not None):
            lo = col.minimum if col.minimum is not None else -np.inf
            hi = col.maximum if col.maximum is not None else np.inf
            checks.append(pa.Check.in_range(lo, hi, error=col.expected))
        if col.kind in ("date", "period"):
            checks.append(pa.Check.le(pd.Timestamp(today), error=f"{col.expected} (today is {today.isoformat()})"))
        if col.kind == "id":
            checks.append(pa.Check.str_matches(ID_PATTERN, error=col.expected))
        columns[col.name] = pa.Column(None, checks=checks, nullable=col.nullable, required=not col.optional)
    return pa.DataFrameSchema(columns, unique=UNIQUE_KEYS[kind], strict=False, report_duplicates="all")


def _check_header(raw: RawFile, cols: list[Column], kind: str, fw: Framework) -> None:
    known = [c.name for c in cols]
    present = list(raw.frame.columns)
    missing = [c.name for c in cols if not c.optional and c.name not in present]
    unknown = [c for c in present if c not in known]
    if not missing and not unknown:
        return
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        described = []
        for c in unknown:
            near = difflib.get_close_matches(c, [k for k in known if k not in present], n=1, cutoff=0.7)
            described.append(f"{c} (column {raw.letters[c]}" + (f"; did you mean {near[0]}?)" if near else ")"))
        problems.append(f"unknown column(s) {', '.join(described)}")
    looks = [
        other
        for other in store.KINDS
        if other != kind
        and {c.name for c in columns_for(other, fw) if not c.optional} <= set(present)
        and set(present) <= {c.name for c in columns_for(other, fw)}
    ]
    hint = f" This looks like a{'n' if looks and looks[0][0] in 'aeiou' else ''} {looks[0]} file." if looks else ""
    where = f" (sheet '{raw.sheet}')" if raw.sheet else ""
    raise UserError(
        f"{raw.name}{where}: {' and '.join(problems)} for a {kind} file; expected columns: {', '.join(known)}.{hint}"
    )


def _reject_frame(rows, column, value, expected) -> pd.DataFrame:
    rows = np.asarray(rows)
    return pd.DataFrame(
        {
            "row": rows.astype("int64"),
            "column": column,
            "value": np.asarray(value, dtype=object) if not np.isscalar(value) else value,
            "expected": np.asarray(expected, dtype=object) if not isinstance(expected, str) else expected,
        }
    )


def _shown(raw_frame: pd.DataFrame, rows, column: str) -> np.ndarray:
    if column not in raw_frame.columns:
        return np.full(len(rows), "", dtype=object)
    return raw_frame[column].loc[rows].str.strip().to_numpy(dtype=object)


def validate(
    kind: str,
    raw: RawFile | pd.DataFrame,
    fw: Framework,
    name: str | None = None,
    today: date | None = None,
    areas: pd.DataFrame | None = None,
) -> Checked:
    """Type, code, range, required-cell, uniqueness and consistency checks (references come later).

    ``areas`` (the loaded areas table) lets a neighbourhood id typed in another case ("Oakfield") be
    stored as the areas file spells it, before uniqueness is checked.
    """
    if isinstance(raw, pd.DataFrame):  # a frame of text cells (index = spreadsheet rows)
        frame = raw
        raw = RawFile(name or "<frame>", frame, "", "csv", {c: column_letter(i) for i, c in enumerate(frame.columns)})
    cols = columns_for(kind, fw)
    _check_header(raw, cols, kind, fw)
    today = today or date.today()
    frame = raw.frame
    decimal_comma = raw.format == "csv" and raw.delimiter not in (",", None)
    parsed: dict[str, Parsed] = {}
    all_blank = np.ones(len(frame), dtype=bool)
    for col in cols:
        if col.name in frame.columns:
            parsed[col.name] = parse_column(frame[col.name], col, decimal_comma=decimal_comma)
            all_blank &= parsed[col.name].blank
    keep = ~all_blank  # blank rows are not data
    if not keep.any():
        raise UserError(f"{raw.name}: the file has a header but no data rows")
    index = frame.index[keep]
    typed = pd.DataFrame(
        {col.name: parsed[col.name].values[keep] if col.name in parsed else _absent(col, index) for col in cols},
        index=index,
    )
    if kind != "areas" and areas is not None:
        typed["neighbourhood"] = _canonical_neighbourhoods(typed["neighbourhood"], areas, kind)
    parts = []
    for col in cols:
        p = parsed.get(col.name)
        if p is None or not p.bad.any():
            continue
        bad = p.bad & keep
        rows = frame.index[bad]
        why = p.why.loc[rows].fillna(col.expected).to_numpy(dtype=object) if p.why is not None else col.expected
        parts.append(_reject_frame(rows, col.name, _shown(frame, rows, col.name), why))
    try:
        schema_for(kind, fw, today).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        parts += _schema_rejects(exc.failure_cases, frame, typed, cols, kind, parsed)
    typed_ok = typed.loc[~typed.index.isin(pd.concat(parts)["row"])] if parts else typed
    parts += _consistency_rejects(kind, typed, typed_ok, frame, fw)
    return Checked(kind, typed, _finish_rejects(parts, raw.name, cols), int(keep.sum()))


def _absent(col: Column, index: pd.Index) -> pd.Series:
    """An optional column the file leaves out: all blank."""
    dtype = "Float64" if col.kind == "float" else "Int64" if col.kind == "int" else "str"
    return pd.Series(pd.NA if dtype != "str" else None, index=index, dtype=dtype)


def _finish_rejects(parts: list[pd.DataFrame], name: str, cols: list[Column]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in REJECT_COLUMNS})
    table = pd.concat(parts, ignore_index=True)
    order = {c.name: i for i, c in enumerate(cols)}
    table["_order"] = table["column"].map(order).fillna(len(order))
    table = table.sort_values(["row", "_order"], kind="stable").drop_duplicates(["row", "column"])
    table.insert(0, "file", name)
    return table[REJECT_COLUMNS].reset_index(drop=True)


def _schema_rejects(
    cases: pd.DataFrame,
    frame: pd.DataFrame,
    typed: pd.DataFrame,
    cols: list[Column],
    kind: str,
    parsed: dict[str, Parsed],
) -> list[pd.DataFrame]:
    """pandera's failure cases as rejects, vectorised per column (cells already refused are not repeated)."""
    cases = cases[cases["index"].notna()]
    expected = {c.name: c.expected for c in cols}
    out = []
    unique = cases["check"] == "multiple_fields_uniqueness"
    if unique.any():
        out.append(_duplicate_rejects(np.unique(cases.loc[unique, "index"].astype("int64")), frame, typed, kind))
    cases = cases[~unique]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        rows = pd.Index(group["index"].astype("int64").unique())
        p = parsed.get(column)
        if p is not None:  # a cell that could not be read is already listed with its reason
            bad_rows = frame.index[p.bad]
            rows = rows[~rows.isin(bad_rows)]
        if rows.empty:
            continue
        why = f"{expected[column]} (this cell must not be blank)" if check == "not_nullable" else str(check)
        out.append(_reject_frame(rows, column, _shown(frame, rows, column), why))
    return out


def _duplicate_rejects(rows: np.ndarray, frame: pd.DataFrame, typed: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Every row of a repeated key (compared as stored: codes, not spellings), naming the other row(s)."""
    keys = UNIQUE_KEYS[kind]
    dup = typed.loc[rows, keys].astype(object)
    dup["_row"] = rows
    groups = dup.groupby(keys, sort=False, dropna=False)["_row"]
    first = groups.transform("min").to_numpy()
    second = dup["_row"].where(groups.cumcount() == 1).groupby([dup[k] for k in keys], dropna=False).transform("max")
    size = groups.transform("size").to_numpy()
    other = np.where(rows == first, second.to_numpy(), first).astype("int64")
    more = size - 2
    where = pd.Series(other.astype(str), dtype=object).radd("row ")
    where = where.where(more <= 0, where + " and " + pd.Series(more.astype(str)) + " more")
    lead, rest = keys[0], keys[1:]
    within = f" within the same {' and '.join(rest)}" if rest else ""
    expected = f"a {lead} used once{within}; the same " + ", ".join(keys) + " is also on " + where
    return _reject_frame(rows, lead, _shown(frame, rows, lead), expected.to_numpy(dtype=object))


def _consistency_rejects(
    kind: str, typed: pd.DataFrame, typed_ok: pd.DataFrame, frame: pd.DataFrame, fw: Framework
) -> list[pd.DataFrame]:
    """Checks across rows: population margins, one name per neighbourhood in areas."""
    out = []
    if kind == "population":
        wt = fw.settings.weighting
        bands = [b.id for b in wt.age_bands]
        genders = list(wt.genders)
        by_dimension = {"age_band": set(bands), "gender": set(genders)}
        # a category must belong to its dimension
        allowed_pairs = pd.MultiIndex.from_tuples([(d, c) for d, cats in by_dimension.items() for c in cats])
        pairs = pd.MultiIndex.from_arrays([typed_ok["dimension"].astype(object), typed_ok["category"].astype(object)])
        mismatch = pd.Series(~pairs.isin(allowed_pairs), index=typed_ok.index)
        if mismatch.any():
            rows = typed_ok.index[mismatch]
            expected = typed_ok.loc[mismatch, "dimension"].map(
                {
                    "age_band": f"an age band ({', '.join(bands)}) for dimension age_band",
                    "gender": f"a gender ({', '.join(genders)}) for dimension gender",
                }
            )
            out.append(_reject_frame(rows, "category", _shown(frame, rows, "category"), expected.to_numpy(object)))
        whole = typed_ok.loc[~mismatch]
        hoods_with_bad = set(typed.loc[~typed.index.isin(whole.index), "neighbourhood"].dropna())
        whole = whole[~whole["neighbourhood"].isin(hoods_with_bad)]
        if not whole.empty:
            present = whole.groupby("neighbourhood")["category"].agg(set)
            needed = set(bands) | set(genders)
            lacking = present.map(lambda got: sorted(needed - got, key=[*bands, *genders].index))
            lacking = lacking[lacking.map(len) > 0]
            if not lacking.empty:
                rows_mask = whole["neighbourhood"].isin(lacking.index)
                rows = whole.index[rows_mask]
                expected = whole.loc[rows_mask, "neighbourhood"].map(
                    lambda h: (
                        f"rows for every age band ({', '.join(bands)}) and gender ({', '.join(genders)}) "
                        f"of neighbourhood {h}; missing: {', '.join(lacking[h])}"
                    )
                )
                out.append(_reject_frame(rows, "category", _shown(frame, rows, "category"), expected.to_numpy(object)))
                whole = whole[~rows_mask]
            totals = whole.groupby(["neighbourhood", "dimension"])["population"].sum().unstack()
            if {"age_band", "gender"} <= set(totals.columns):
                differ = totals[totals["age_band"] != totals["gender"]]
                if not differ.empty:
                    rows_mask = whole["neighbourhood"].isin(differ.index)
                    rows = whole.index[rows_mask]
                    expected = whole.loc[rows_mask, "neighbourhood"].map(
                        lambda h: (
                            f"the age-band total ({differ.at[h, 'age_band']}) to equal the gender total "
                            f"({differ.at[h, 'gender']}) for neighbourhood {h}"
                        )
                    )
                    out.append(
                        _reject_frame(rows, "population", _shown(frame, rows, "population"), expected.to_numpy(object))
                    )
    if kind == "areas":
        names = typed_ok.groupby("neighbourhood")["name"].nunique()
        clash = names[names > 1].index
        if len(clash):
            mask = typed_ok["neighbourhood"].isin(clash)
            rows = typed_ok.index[mask]
            listed = typed_ok[mask].groupby("neighbourhood")["name"].agg(lambda s: "', '".join(sorted(set(s))))
            expected = typed_ok.loc[mask, "neighbourhood"].map(
                lambda h: f"one name for neighbourhood {h} on every row (got '{listed[h]}')"
            )
            out.append(_reject_frame(rows, "name", _shown(frame, rows, "name"), expected.to_numpy(object)))
    return out


def _companion_rejects(kind: str, checked: Checked, rejects: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Population rows load a whole neighbourhood or none of it: the weights need every margin."""
    if kind != "population" or rejects.empty:
        return rejects
    typed = checked.typed
    bad_rows = typed.index.isin(rejects["row"])
    hoods = set(typed.loc[bad_rows, "neighbourhood"].dropna())
    mask = typed["neighbourhood"].isin(hoods) & ~bad_rows
    if not mask.any():
        return rejects
    rows = typed.index[mask]
    first_bad = (
        pd.Series(typed.index[bad_rows], index=typed.index[bad_rows])
        .groupby(typed.loc[bad_rows, "neighbourhood"].to_numpy())
        .min()
    )
    expected = typed.loc[mask, "neighbourhood"].map(
        lambda h: f"every row of neighbourhood {h} to be valid: they load together, and row {first_bad[h]} is not"
    )
    extra = _reject_frame(rows, "neighbourhood", _shown(frame, rows, "neighbourhood"), expected.to_numpy(object))
    extra.insert(0, "file", rejects["file"].iloc[0])
    return pd.concat([rejects, extra], ignore_index=True).sort_values(["row"], kind="stable").reset_index(drop=True)


def _canonical_neighbourhoods(hoods: pd.Series, areas: pd.DataFrame, kind: str) -> pd.Series:
    """Neighbourhood ids as the areas table spells them, where they differ only in case (and unambiguously)."""
    known = sorted(set(areas["neighbourhood"])) + (["all"] if kind == "indicators" else [])
    folded = pd.Series(known, dtype=object).groupby(pd.Series(known, dtype=object).str.lower()).agg(list)
    canonical = {k: v[0] for k, v in folded.items() if len(v) == 1}
    differ = hoods.notna() & ~hoods.isin(known)
    if not differ.any():
        return hoods
    fixed = hoods[differ].str.lower().map(canonical)
    out = hoods.copy()
    out[fixed.index[fixed.notna()]] = fixed[fixed.notna()]
    return out


def reference_rejects(
    checked: Checked, fw: Framework, areas: pd.DataFrame, name: str, frame: pd.DataFrame
) -> pd.DataFrame:
    """Rows that name a neighbourhood, project or outcome the workbook does not know (vectorised).

    ``areas`` is the loaded areas table (neighbourhood, project).
    """
    typed = checked.typed
    kind = checked.kind
    parts = []
    if kind != "areas":
        known = sorted(set(areas["neighbourhood"])) if not areas.empty else []
        hoods = typed["neighbourhood"]
        extra = ["all"] if kind == "indicators" else []
        unknown = hoods.notna() & ~hoods.isin([*known, *extra])
        if unknown.any():
            hint = allowed(known + extra) if known else "none yet: import the areas file first"
            rows = typed.index[unknown]
            parts.append(
                _reject_frame(
                    rows,
                    "neighbourhood",
                    _shown(frame, rows, "neighbourhood"),
                    f"a neighbourhood in the areas table ({hint})",
                )
            )
        if kind in ("stories", "sentiment") and not areas.empty:
            served = pd.MultiIndex.from_arrays([areas["neighbourhood"].astype(object), areas["project"].astype(object)])
            asked = pd.MultiIndex.from_arrays([hoods.astype(object), typed["project"].astype(object)])
            wrong = (
                ~asked.isin(served)
                & ~unknown.to_numpy()
                & typed["project"].notna().to_numpy()
                & hoods.notna().to_numpy()
            )
            if wrong.any():
                serves = areas.groupby("project")["neighbourhood"].agg(lambda s: allowed(sorted(s)))
                rows = typed.index[wrong]
                expected = typed.loc[wrong, "project"].map(
                    lambda p: f"a neighbourhood that serves project {p} in the areas table ({serves.get(p, 'none')})"
                )
                parts.append(
                    _reject_frame(
                        rows, "neighbourhood", _shown(frame, rows, "neighbourhood"), expected.to_numpy(object)
                    )
                )
    if kind == "stories":
        listed = typed["outcomes"].fillna("").str.split(";").explode().str.strip()
        listed = listed[listed != ""]
        tidy = listed.groupby(level=0).agg(";".join)  # "a ; b" is stored as "a;b"
        typed.loc[tidy.index, "outcomes"] = tidy
        project_of = typed["project"].loc[listed.index]
        valid = {(p.id, o) for p in fw.projects for o in p.outcome_ids}
        ok = pd.Series(
            pd.MultiIndex.from_arrays([project_of.astype(object), listed.astype(object)]).isin(list(valid)),
            index=listed.index,
        )
        has_any = pd.Series(False, index=typed.index)
        has_any[listed.index.unique()] = True
        wrong_rows = set(listed.index[~ok]) | set(typed.index[~has_any & typed["outcomes"].notna()])
        wrong = typed.index.isin(list(wrong_rows)) & typed["project"].notna()
        if wrong.any():
            rows = typed.index[wrong]
            unknown_ids = listed[~ok].groupby(level=0).agg(lambda s: ", ".join(s))
            by_project = {p.id: allowed(p.outcome_ids) for p in fw.projects}
            base = typed.loc[wrong, "project"].map(
                lambda p: f"outcome ids of {p}'s ripple map separated by ';' ({by_project[p]})"
            )
            not_in = unknown_ids.reindex(rows)
            expected = base.where(not_in.isna(), base + "; not in it: " + not_in.fillna(""))
            parts.append(_reject_frame(rows, "outcomes", _shown(frame, rows, "outcomes"), expected.to_numpy(object)))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REJECT_COLUMNS[1:])
    table.insert(0, "file", name)
    return table


# --- loading ------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    kind: str
    file: str
    rows: int
    status: str  # loaded | unchanged
    message: str
    rejects_path: Path | None = None
    skipped: int = 0


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def import_file(
    kind: str,
    path: Path | str,
    fw: Framework,
    db: Path | str | None = None,
    *,
    sheet: str | None = None,
    skip_bad_rows: bool = False,
    replace: bool = False,
    rejects_path: Path | None = None,
    today: date | None = None,
) -> ImportResult:
    """Validate one file and load it into the database in one transaction.

    Raises UserError (nothing written to the database) for a structural problem, for bad rows unless
    ``skip_bad_rows`` (the rejects CSV is written either way), or for a conflict with data already
    loaded from another file unless ``replace``.
    """
    if kind not in store.KINDS:
        raise UserError(_unknown_kind(kind))
    path = Path(path)
    db_path = Path(db) if db is not None else paths.DEFAULT_DB
    cols = columns_for(kind, fw)
    raw = read_file(path, sheet=sheet, known=[c.name for c in cols])
    name = raw.name
    _check_header(raw, cols, kind, fw)
    # A new database is only created when there is something to load; an existing one is opened for
    # writing at once, so that nobody else can change it between these checks and the load.
    con = store.connect(db_path) if db_path.exists() else None
    try:
        tables = _tables(con)
        if kind != "areas" and not ("areas" in tables and con.execute("SELECT count(*) FROM areas").fetchone()[0]):
            raise UserError(
                f"{name}: the database {db_path} has no areas yet, so the neighbourhoods cannot be checked; "
                "import the areas file first (python -m helpers import areas FILE)"
            )
        seen = _already_loaded(con, raw.sha256, kind, tables)
        if seen is not None:
            return ImportResult(
                kind, name, 0, "unchanged", f"{name}: already imported as batch {seen} ({kind}); nothing added"
            )
        areas = (
            con.execute("SELECT neighbourhood, project FROM areas").df()
            if kind != "areas"
            else pd.DataFrame(columns=["neighbourhood", "project"])
        )
        checked = validate(kind, raw, fw, today=today, areas=areas)
        refs = reference_rejects(checked, fw, areas, name, raw.frame)
        rejects = checked.rejects
        if not refs.empty:
            rejects = _finish_rejects([rejects.drop(columns="file"), refs.drop(columns="file")], name, cols)
        primary = rejects.iloc[0] if not rejects.empty else None  # the first problem (not a knock-on one)
        rejects = _companion_rejects(kind, checked, rejects, raw.frame)
        bad_rows = rejects["row"].unique()
        good = checked.typed.loc[~checked.typed.index.isin(bad_rows)]
        rejects_file = Path(rejects_path) if rejects_path else path.with_name(path.stem + ".rejects.csv")
        if len(bad_rows):
            _write_rejects(rejects, rejects_file, name)
            if not skip_bad_rows:
                raise UserError(
                    f"{name}: {len(bad_rows)} of {checked.total_rows} rows are not valid, so nothing was "
                    f"loaded. Each problem is listed (file, row, column, value, expected) in "
                    f"{rejects_file}. First: row {primary['row']}, column {primary['column']}: got "
                    f"'{primary['value']}', expected {primary['expected']}. Fix the rows or use --skip-bad-rows."
                )
        if good.empty:
            raise UserError(f"{name}: no valid rows to load; every problem is listed in {rejects_file}")
        if con is None:
            con = store.connect(db_path)
        try:
            loaded, replaced, batch = _load(con, kind, good, fw, name, raw.sha256, replace)
        except duckdb.IOException as exc:  # disk full, file locked, ...: the transaction was rolled back
            raise UserError(f"{name}: could not write to the database {db_path}; nothing was loaded ({exc})") from None
    finally:
        if con is not None:
            con.close()
    note = f"; {len(bad_rows)} bad rows skipped, listed in {rejects_file}" if len(bad_rows) else ""
    swap = f"; replaced earlier data for {replaced}" if replaced else ""
    read_as = f" ({raw.note})" if raw.note else ""
    return ImportResult(
        kind,
        name,
        loaded,
        "loaded",
        f"{name}: loaded {loaded} {kind} rows as batch {batch}{swap}{note}{read_as}",
        rejects_file if len(bad_rows) else None,
        int(len(bad_rows)),
    )


def _tables(con: duckdb.DuckDBPyConnection | None) -> set[str]:
    """Names of the tables in the database (none when there is no database yet)."""
    if con is None:
        return set()
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _already_loaded(con: duckdb.DuckDBPyConnection | None, digest: str, kind: str, tables: set[str]) -> int | None:
    """The batch that loaded this content, if all its rows are still there (not since replaced)."""
    if con is None or not {"imports", kind} <= tables:
        return None
    for batch, rows in con.execute(
        "SELECT batch_id, rows FROM imports WHERE sha256 = ? AND kind = ? ORDER BY batch_id DESC", [digest, kind]
    ).fetchall():
        present = con.execute(f"SELECT count(*) FROM {kind} WHERE batch_id = ?", [batch]).fetchone()[0]
        if present == rows:
            return batch
    return None


def _write_rejects(rejects: pd.DataFrame, target: Path, name: str) -> None:
    try:
        write_csv_atomic(rejects, target)
    except OSError as exc:
        raise UserError(
            f"{name}: has bad rows, but the list of them could not be written to {target} "
            f"({exc.strerror or exc}); choose another place with --rejects FILE"
        ) from None


def _pause_for_tests() -> None:
    """Test-only: sleep inside the open transaction so a test can kill the process (see module doc)."""
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        print(f"test hook: paused inside the import transaction for {pause} s", file=sys.stderr, flush=True)
        time.sleep(float(pause))


def _load(
    con: duckdb.DuckDBPyConnection, kind: str, good: pd.DataFrame, fw: Framework, name: str, digest: str, replace: bool
) -> tuple[int, str, int]:
    scope = SCOPE_KEYS[kind]
    types = store.table_columns(kind, fw)
    table_cols = list(types)
    import pyarrow as pa

    # Arrow hands DuckDB the columns without a copy and scans faster than a pandas frame.
    incoming = pa.Table.from_pandas(good[table_cols], preserve_index=False)
    con.register("incoming", incoming)
    try:
        with store.transaction(con):
            store.ensure_schema(con, fw)
            keys = " AND ".join(f't."{k}" = i."{k}"' for k in scope)
            shown = ", ".join(f't."{k}"' for k in scope)
            clash = con.execute(
                f"SELECT {shown}, string_agg(DISTINCT m.file_name || ' (batch ' || t.batch_id || ')', ', ') "
                f"FROM {kind} t JOIN (SELECT DISTINCT {', '.join(scope)} FROM incoming) i ON {keys} "
                f"JOIN imports m ON m.batch_id = t.batch_id GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            described = "; ".join(" / ".join(str(v) for v in c[:-1]) + f" from {c[-1]}" for c in clash[:5])
            if len(clash) > 5:
                described += f"; and {len(clash) - 5} more"
            if clash and not replace:
                raise UserError(
                    f"{name}: {kind} for {' x '.join(scope)} {described} is already loaded from another "
                    "file. Use --replace to swap it for this file."
                )
            batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM imports").fetchone()[0]
            if clash:
                con.execute(f"DELETE FROM {kind} t WHERE EXISTS (SELECT 1 FROM incoming i WHERE {keys})")
            cols = ", ".join(f'"{c}"' for c in table_cols)
            cast = ", ".join(f'CAST("{c}" AS {t})' for c, t in types.items())
            con.execute(f"INSERT INTO {kind} ({cols}, batch_id) SELECT {cast}, {batch} FROM incoming")
            con.execute(
                "INSERT INTO imports (batch_id, kind, file_name, sha256, rows, replaced) VALUES (?, ?, ?, ?, ?, ?)",
                [batch, kind, os.path.basename(name), digest, incoming.num_rows, described or None],
            )
            _pause_for_tests()
    finally:
        con.unregister("incoming")
    return incoming.num_rows, described if clash else "", batch


# --- what is loaded -----------------------------------------------------------------------------


def loaded_counts(db: Path | str | None = None, fw: Framework | None = None) -> pd.DataFrame:
    """Rows per kind x neighbourhood x wave (tidy; ``wave`` is blank for kinds without waves).

    Sorted by kind (in the order of DESIGN.md), neighbourhood, then wave in the framework's order.
    """
    from ..config.framework import framework

    fw = fw or framework()
    con = store.connect(db, read_only=True)
    try:
        parts = []
        for kind in store.KINDS:
            if not store.has_table(con, kind):
                continue
            wave = "wave" if kind in ("survey", "stories") else "''"
            parts.append(
                con.execute(
                    f"SELECT '{kind}' AS kind, neighbourhood, {wave} AS wave, count(*) AS rows FROM {kind} GROUP BY ALL"
                ).df()
            )
    finally:
        con.close()
    counts = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["kind", "neighbourhood", "wave", "rows"])
    )
    waves = list(fw.settings.wave_ids)
    extra = sorted(set(counts["wave"]) - set(waves) - {""})
    counts["wave"] = pd.Categorical(counts["wave"], categories=["", *waves, *extra], ordered=True)
    counts["kind"] = pd.Categorical(counts["kind"], categories=list(store.KINDS), ordered=True)
    return counts.sort_values(["kind", "neighbourhood", "wave"]).reset_index(drop=True)


def status(db: Path | str | None = None, fw: Framework | None = None) -> dict[str, pd.DataFrame]:
    """What is loaded, as tables to print: rows per kind, per neighbourhood x wave, and the import history.

    In the second table the waves are columns in the framework's order (baseline first); kinds without
    waves (areas, population, indicators, sentiment) fill only the total.
    """
    from ..config.framework import framework

    fw = fw or framework()
    counts = loaded_counts(db, fw)
    out: dict[str, pd.DataFrame] = {}
    per_kind = counts.groupby("kind", observed=False)["rows"].sum().astype("int64")
    out["rows per kind"] = per_kind.rename_axis("kind").reset_index()
    waves = [w for w in counts["wave"].cat.categories if w != ""]
    if counts.empty:
        out["rows per neighbourhood x wave"] = pd.DataFrame(columns=["kind", "neighbourhood", *waves, "total"])
    else:
        wide = counts.pivot_table(
            index=["kind", "neighbourhood"], columns="wave", values="rows", aggfunc="sum", observed=True
        )
        wide = wide.reindex(columns=waves)
        wide["total"] = counts.groupby(["kind", "neighbourhood"], observed=True)["rows"].sum()
        has_waves = wide.index.get_level_values("kind").isin(["survey", "stories"])
        shown = wide.astype("Int64").astype(object)
        shown.loc[has_waves, waves] = shown.loc[has_waves, waves].fillna(0)
        shown.loc[~has_waves, waves] = ""
        out["rows per neighbourhood x wave"] = shown.reset_index()
    con = store.connect(db, read_only=True)
    try:
        if not store.has_table(con, "imports"):
            return out
        batched = [  # every table whose rows record their import's batch (other modules add some)
            r[0]
            for r in con.execute(
                "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'batch_id' "
                "AND table_name <> 'imports' ORDER BY 1"
            ).fetchall()
        ]
        now = " UNION ALL ".join(
            [f'SELECT batch_id, count(*) AS n FROM "{t}" GROUP BY ALL' for t in batched]
            or ["SELECT NULL::INTEGER AS batch_id, 0 AS n WHERE false"]
        )
        history = con.execute(
            "SELECT m.batch_id AS batch, m.kind, m.file_name AS file, m.rows, coalesce(n.n, 0) AS rows_now, "
            "strftime(m.imported_at, '%Y-%m-%d %H:%M') AS imported, coalesce(m.replaced, '') AS replaced "
            f"FROM imports m LEFT JOIN ({now}) n USING (batch_id) ORDER BY m.batch_id"
        ).df()
    finally:
        con.close()
    out["import history (rows_now: still loaded; fewer once replaced)"] = history
    return out


def build_database(source: Path, fw: Framework, db: Path, *, force: bool = False) -> str:
    """Build a fresh database from a folder holding one file per kind (``areas.csv``, ...).

    The database is built beside the target and renamed into place only when every file loaded,
    so a failure leaves any existing database exactly as it was.
    """
    source, db = Path(source), Path(db)
    if db.exists() and not force:
        raise UserError(f"{db}: a database already exists; use --force to replace it with one built from {source}")
    if not source.is_dir():
        raise UserError(f"{source}: no such folder")
    files = {}
    for kind in store.KINDS:
        found = [source / f"{kind}{ext}" for ext in (".csv", ".xlsx") if (source / f"{kind}{ext}").exists()]
        if found:
            files[kind] = found[0]
    for required in ("areas", "population", "survey"):
        if required not in files:
            raise UserError(
                f"{source}: no {required}.csv or {required}.xlsx; "
                "a database needs at least areas, population and survey"
            )
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.building")
    tmp.unlink(missing_ok=True)
    counts = []
    try:
        for kind, path in files.items():
            result = import_file(kind, path, fw, tmp)
            counts.append(f"{result.rows} {kind}")
        os.replace(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return f"built {db} from {source}: " + ", ".join(counts)
