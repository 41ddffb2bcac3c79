"""Files the workbook writes for people to open: atomic, and safe to open in a spreadsheet.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab, carriage return or line feed,
possibly after spaces) can run as a formula when the file is opened in Excel, LibreOffice or Google
Sheets ("CSV injection"). Such cells get a leading apostrophe, as OWASP recommends: the text stays
readable (``'=HYPERLINK(...)``) and is never executed. Numbers are left alone: a numeric column is
written as numbers, and text that is exactly a number (``-3``, ``+4.5``, ``-1e3``) cannot run as a
formula, so it is not touched either.

Every CSV and XLSX the workbook writes goes through :func:`write_csv_atomic` or :func:`write_xlsx_atomic`:
written to a temporary file beside the target and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_RISKY = re.compile(r"^[ ]*[=+\-@\t\r\n]")
_PLAIN_NUMBER = re.compile(r"^[ ]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ ]*$")


def neutralise_cell(value: object) -> object:
    """``value`` made inert if it is text a spreadsheet could run as a formula; anything else unchanged."""
    if isinstance(value, str) and _RISKY.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _neutralise_text(column: pd.Series) -> pd.Series:
    """Vectorised :func:`neutralise_cell` for a column of strings (missing values stay missing)."""
    text = column.astype("str")
    risky = text.str.match(_RISKY.pattern, na=False) & ~text.str.match(_PLAIN_NUMBER.pattern, na=False)
    if not risky.any():
        return column
    out = column.astype(object).copy()
    out[risky.to_numpy()] = "'" + text[risky]
    return out


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and header) that could run as a formula made inert; numbers untouched."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
            out[col] = _neutralise_text(series)
        elif series.dtype == object or isinstance(series.dtype, pd.CategoricalDtype):
            out[col] = series.astype(object).map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def atomic_path(target: Path):
    """A temporary file beside ``target`` (same filesystem, so the rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keeps the real suffix last (".12m.x1y2.tmp.ipynb") so tools that check it (papermill) are content.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    return Path(tmp)


def write_text_atomic(text: str, target: Path | str) -> Path:
    target = Path(target)
    tmp = atomic_path(target)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_csv_atomic(frame: pd.DataFrame, target: Path | str) -> Path:
    """Write a CSV (UTF-8, neutralised) via a temporary file and a rename: never half-written."""
    return write_text_atomic(neutralise(frame).to_csv(index=False, lineterminator="\n"), target)


def _excel_value(value: object) -> object:
    """A cell value openpyxl writes as data, never as a formula; numbers stay numbers."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))  # control characters XLSX cannot hold
    return neutralise_cell(text)


def write_xlsx_atomic(
    sheets: pd.DataFrame | Mapping[str, pd.DataFrame], target: Path | str, *, sheet_name: str = "data"
) -> Path:
    """Write one or more frames to an XLSX workbook (one sheet each), neutralised, atomically.

    Numbers (negative ones included) are written as numbers, text as text: a cell that could run as a
    formula is written with a leading apostrophe and the string type, so no spreadsheet evaluates it.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet_name: sheets}
    target = Path(target)
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        ws = book.create_sheet(str(title)[:31])
        ws.append([_excel_value(str(c)) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False, name=None):
            ws.append([_excel_value(v) for v in row])
        for row in ws.iter_rows(min_row=1):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, whatever it starts with
        ws.freeze_panes = "A2"
    return save_workbook_atomic(book, target)


def save_workbook_atomic(book, target: Path | str) -> Path:
    """Save an openpyxl workbook via a temporary file and a rename."""
    target = Path(target)
    tmp = atomic_path(target)
    try:
        book.save(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
