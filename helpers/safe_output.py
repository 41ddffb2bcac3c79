"""Files the workbook writes for people to open: atomic, and safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return) can run as a
formula when the CSV is opened in Excel. Such text cells are prefixed with an apostrophe, the
convention OWASP recommends, so the text stays readable and is never executed. Numbers are left
alone (a negative number is a number, not a formula).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell that could run as a formula made inert."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def atomic_path(target: Path):
    """A temporary file beside ``target`` (same filesystem, so the rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
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
