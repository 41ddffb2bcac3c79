"""Parsing cells, one column at a time, vectorised over the column's distinct values.

:func:`parse_column` turns a column of text cells into typed values as its :class:`~helpers.store.kinds.Column`
expects, and says which cells could not be read and, where it helps, why:

- answers may be the codes or the printed labels, in any case; whole numbers written as ``5.0`` are whole
  numbers, ``4.5`` is not; a misspelt answer gets a "did you mean", one of Excel's accidental dates a hint;
- numbers: ``1,234.5`` (comma thousands) in a comma-separated file; with ``decimal_comma`` (a semicolon- or
  tab-separated file) ``12,5`` is 12.5 and ``1.234,5`` is 1234.5, while ``1.234`` is refused as ambiguous in
  a column that uses decimal commas elsewhere and read as 1234 in a whole-number column;
- dates: ``YYYY-MM-DD`` (a time after it is dropped), ``DD/MM/YYYY`` (UK day first) or an Excel date;
  periods also ``YYYY-MM``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from .kinds import Column

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
