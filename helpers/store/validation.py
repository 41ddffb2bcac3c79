"""Validating a file against its kind: header, cell types, codes, ranges, required cells, uniqueness.

:func:`validate` parses every column (:mod:`helpers.store.parsing`), runs a pandera schema built from the
kind's columns (:func:`schema_for`) and the checks across rows (:mod:`helpers.store.consistency`), and
returns the typed rows with one reject per bad cell. Checks against what is already loaded (neighbourhoods
in the areas table, ...) come after, in :func:`helpers.store.consistency.reference_rejects`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..config.errors import UserError
from ..config.framework import Framework
from .consistency import canonical_neighbourhoods, cross_row_rejects
from .kinds import Column, Kind, kind, kinds
from .parsing import Parsed, parse_column
from .reading import RawFile, column_letter
from .rejects import cell_rejects, finish_rejects, reject_frame, shown

ID_PATTERN = r"^[A-Za-z0-9_-]+$"


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


def schema_for(name: str, fw: Framework, today: date | None = None) -> pa.DataFrameSchema:
    """The pandera schema for a kind's typed rows: codes, ranges, required cells, ids, dates, uniqueness."""
    today = today or date.today()
    spec = kind(name, fw)
    columns = {}
    for col in spec.columns:
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
    return pa.DataFrameSchema(columns, unique=list(spec.unique), strict=False, report_duplicates="all")


def check_header(raw: RawFile, spec: Kind, fw: Framework) -> None:
    """Refuse, in one line, a file lacking a required column or holding an unknown one (naming a near miss,
    and the kind the file looks like if it fits another)."""
    known = spec.names
    present = list(raw.frame.columns)
    missing = [c for c in spec.required if c not in present]
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
        other.name
        for other in kinds(fw)
        if other.name != spec.name and set(other.required) <= set(present) and set(present) <= set(other.names)
    ]
    hint = f" This looks like a{'n' if looks and looks[0][0] in 'aeiou' else ''} {looks[0]} file." if looks else ""
    where = f" (sheet '{raw.sheet}')" if raw.sheet else ""
    raise UserError(
        f"{raw.name}{where}: {' and '.join(problems)} for a {spec.name} file; "
        f"expected columns: {', '.join(known)}.{hint}"
    )


def validate(
    name_of_kind: str,
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
    spec = kind(name_of_kind, fw)
    check_header(raw, spec, fw)
    frame = raw.frame
    parsed = _parse_columns(raw, spec)
    keep = ~np.logical_and.reduce([p.blank for p in parsed.values()])  # blank rows are not data
    if not keep.any():
        raise UserError(f"{raw.name}: the file has a header but no data rows")
    index = frame.index[keep]
    typed = pd.DataFrame(
        {c.name: parsed[c.name].values[keep] if c.name in parsed else _absent(c, index) for c in spec.columns},
        index=index,
    )
    if spec.name != "areas" and areas is not None:
        typed["neighbourhood"] = canonical_neighbourhoods(typed["neighbourhood"], areas, spec)
    parts = [_unreadable(frame, col, parsed[col.name], keep) for col in spec.columns if col.name in parsed]
    try:
        schema_for(spec.name, fw, today).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        parts += _schema_rejects(exc.failure_cases, frame, typed, spec, parsed)
    parts = [p for p in parts if not p.empty]
    typed_ok = typed.loc[~typed.index.isin(pd.concat(parts)["row"])] if parts else typed
    parts += cross_row_rejects(spec.name, typed, typed_ok, frame, fw)
    return Checked(spec.name, typed, finish_rejects(parts, raw.name, list(spec.columns)), int(keep.sum()))


def _parse_columns(raw: RawFile, spec: Kind) -> dict[str, Parsed]:
    """Each of the kind's columns the file has, parsed (a semicolon- or tab-separated CSV has decimal commas)."""
    decimal_comma = raw.format == "csv" and raw.delimiter not in (",", None)
    frame = raw.frame
    return {
        col.name: parse_column(frame[col.name], col, decimal_comma=decimal_comma)
        for col in spec.columns
        if col.name in frame.columns
    }


def _unreadable(frame: pd.DataFrame, col: Column, p: Parsed, keep: np.ndarray) -> pd.DataFrame:
    """Rejects for the cells of one column that could not be read as it expects."""
    rows = frame.index[p.bad & keep]
    why = p.why.loc[rows].fillna(col.expected).to_numpy(dtype=object) if p.why is not None else col.expected
    return cell_rejects(frame, rows, col.name, why)


def _absent(col: Column, index: pd.Index) -> pd.Series:
    """An optional column the file leaves out: all blank."""
    dtype = "Float64" if col.kind == "float" else "Int64" if col.kind == "int" else "str"
    return pd.Series(pd.NA if dtype != "str" else None, index=index, dtype=dtype)


def _schema_rejects(
    cases: pd.DataFrame, frame: pd.DataFrame, typed: pd.DataFrame, spec: Kind, parsed: dict[str, Parsed]
) -> list[pd.DataFrame]:
    """pandera's failure cases as rejects, vectorised per column (cells already refused are not repeated)."""
    cases = cases[cases["index"].notna()]
    expected = {c.name: c.expected for c in spec.columns}
    out = []
    unique = cases["check"] == "multiple_fields_uniqueness"
    if unique.any():
        rows = np.unique(cases.loc[unique, "index"].astype("int64"))
        out.append(_duplicate_rejects(rows, frame, typed, list(spec.unique)))
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
        out.append(cell_rejects(frame, rows, column, why))
    return out


def _duplicate_rejects(rows: np.ndarray, frame: pd.DataFrame, typed: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every row of a repeated key (compared as stored: codes, not spellings), naming the other row(s)."""
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
    return reject_frame(rows, lead, shown(frame, rows, lead), expected.to_numpy(dtype=object))
