"""Reading a user's file: CSV or XLSX as text cells, with the row numbers a spreadsheet shows.

:func:`read_file` refuses anything structurally wrong with one plain line (no such file, empty, a PDF or
an old .xls, a damaged workbook, a missing sheet, columns without a header or named twice) and returns
a :class:`RawFile`: every cell as text, header names in lower case without surrounding spaces, blank
rows still counted in the row numbers. A file whose content is CSV text is read as CSV whatever its
extension. CSV details (encodings, delimiters) are in :mod:`helpers.store.csv_reading`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path

import numpy as np
import pandas as pd

from ..config.errors import UserError
from .csv_reading import BOMS, csv_cells


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
    raw = _read_bytes(path)
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
    cells, rows, delimiter, encoding = csv_cells(raw, name, set(known))
    frame, letters = _header_and_rows(cells, name, "the file", rows)
    return RawFile(name, frame, digest, "csv", letters, delimiter=delimiter, encoding=encoding, note=note)


def _read_bytes(path: Path) -> bytes:
    name = str(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a folder; expected a CSV or XLSX file") from None
    except PermissionError:
        raise UserError(f"{name}: cannot read the file (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{name}: cannot read the file ({exc.strerror or exc})") from None


def _is_blank(raw: bytes) -> bool:
    """No bytes, or only white space (after any byte-order mark)."""
    bom = next((b for b in BOMS if raw.startswith(b)), b"")
    if bom and not raw[len(bom) : 4096].strip(b" \t\r\n\x00"):
        return not raw[len(bom) :].strip(b" \t\r\n\x00")
    return not raw or raw.isspace()


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
