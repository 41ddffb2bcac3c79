"""Data intake: read a user's CSV or XLSX, validate it against the framework, load it whole or not at all.

The flow for one file::

    read_rows(file)            -> every cell as text, headers normalised, Excel row numbers kept
    parse + schema(kind)       -> typed values; every bad cell becomes a reject (row, column, value, expected)
    references(kind, db)       -> neighbourhoods in areas, outcome ids in the project's map, ...
    load(kind, frame, db)      -> one DuckDB transaction; the `imports` table records the file's hash

The checks derive from the framework (codes, labels, ranges, waves), validated with pandera, so no
survey wording or code list is typed twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import store
from .errors import UserError, allowed
from .framework import Framework
from .safe_output import write_csv_atomic

ROW_OFFSET = 2  # data row i (0-based) is spreadsheet row i + 2: the header is row 1


# --- column specifications derived from the framework -------------------------------------------


@dataclass(frozen=True)
class Column:
    """What one input column may hold."""

    name: str
    kind: str  # text | int | float | code | date | period
    nullable: bool = False
    optional: bool = False  # the column itself may be absent from the file
    codes: dict[str, object] = field(default_factory=dict)  # accepted spelling (lower) -> stored code
    minimum: float | None = None
    maximum: float | None = None
    expected: str = ""


def _choices(choices) -> dict[str, object]:
    """Accept both the stored code and the printed label, case-insensitively."""
    out: dict[str, object] = {}
    for c in choices:
        out[str(c.code).strip().lower()] = c.code
        out[c.label.strip().lower()] = c.code
    return out


def _code_column(name: str, choices, *, nullable: bool = False, optional: bool = False) -> Column:
    codes = _choices(choices)
    shown = "; ".join(f"{c.code} or '{c.label}'" if str(c.code) != c.label else str(c.code) for c in choices)
    return Column(name, "code", nullable=nullable, optional=optional, codes=codes, expected=f"one of: {shown}")


def _plain_codes(name: str, values, *, nullable: bool = False) -> Column:
    codes = {str(v).lower(): v for v in values}
    return Column(name, "code", nullable=nullable, codes=codes, expected=f"one of: {allowed(values)}")


def columns_for(kind: str, fw: Framework) -> list[Column]:
    """The columns a file of this kind must have, with what each may hold."""
    ins = fw.instrument
    waves = fw.settings.wave_ids
    projects = fw.project_ids
    ident = "an id (letters, digits, '-' or '_')"
    if kind == "areas":
        return [
            Column("neighbourhood", "text", expected=ident),
            Column("name", "text", expected="the neighbourhood's name"),
            _plain_codes("project", projects),
            _plain_codes("role", ("pilot", "comparison")),
        ]
    if kind == "population":
        bands = [b.id for b in fw.settings.weighting.age_bands]
        return [
            Column("neighbourhood", "text", expected=ident),
            _plain_codes("dimension", ("age_band", "gender")),
            _plain_codes("category", [*bands, *fw.settings.weighting.genders]),
            Column("population", "int", minimum=0, expected="a whole number of adults, 0 or more"),
        ]
    if kind == "survey":
        scale = ins.statements.scale
        cols = [
            Column("respondent_id", "text", expected="the questionnaire's id"),
            Column("neighbourhood", "text", expected=ident),
            _plain_codes("wave", waves),
            _code_column("mode", ins.modes, nullable=True),
        ]
        for s in ins.statement_ids:
            col = _code_column(s, scale, nullable=True)
            cols.append(
                Column(
                    **{
                        **col.__dict__,
                        "expected": "1-5 (1 = Strongly disagree, 5 = Strongly agree) or a printed label, or blank",
                    }
                )
            )
        cols.append(_code_column(ins.general_health.id, ins.general_health.scale, nullable=True))
        h = ins.happiness
        cols.append(
            Column(
                h.id,
                "int",
                nullable=True,
                minimum=h.min,
                maximum=h.max,
                expected=f"a whole number from {h.min} to {h.max}, or blank",
            )
        )
        cols += [_code_column(i.id, ins.years.bands, nullable=True) for i in ins.years.items]
        cols += [
            Column(
                i.id,
                "int",
                nullable=True,
                minimum=0,
                maximum=ins.household.max_per_band,
                expected=f"a count from 0 to {ins.household.max_per_band}, or blank",
            )
            for i in ins.household.items
        ]
        cols.append(_code_column(ins.ethnicity.id, ins.ethnicity.categories, nullable=True))
        cols.append(_code_column(ins.gender.id, ins.gender.categories, nullable=True))
        cols.append(
            Column(
                ins.age.id,
                "int",
                nullable=True,
                minimum=ins.age.min,
                maximum=ins.age.max,
                expected=f"age in years from {ins.age.min} to {ins.age.max}, or blank",
            )
        )
        return cols
    if kind == "indicators":
        return [
            _plain_codes("indicator", [i.id for i in fw.indicators]),
            Column("neighbourhood", "text", expected=ident + " or 'all'"),
            Column("period", "period", expected="a month YYYY-MM or a date YYYY-MM-DD, not in the future"),
            Column("value", "float", expected="a number"),
            Column("predicted", "float", nullable=True, optional=True, expected="a number, or blank"),
        ]
    if kind == "stories":
        return [
            Column("story_id", "text", expected="the story's id"),
            _plain_codes("project", projects),
            Column("neighbourhood", "text", expected=ident),
            _plain_codes("wave", waves),
            Column("outcomes", "text", expected="outcome ids from the project's ripple map, separated by ';'"),
            Column("title", "text", expected="a title"),
            Column("text", "text", expected="the story's text"),
            _plain_codes("consent", ("yes", "no")),
        ]
    if kind == "sentiment":
        return [
            Column("item_id", "text", expected="the item's id"),
            _plain_codes("project", projects),
            Column("neighbourhood", "text", expected=ident),
            Column("date", "date", expected="a date YYYY-MM-DD, not in the future"),
            Column("channel", "text", expected="where it was said (e.g. twitter, facebook, tracker)"),
            Column("text", "text", expected="the item's text"),
        ]
    raise UserError(f"unknown kind '{kind}'; known: {', '.join(store.KINDS)}")


# Rows that must be unique within a kind, and the rows an import "owns" (replaced by --replace).
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


def _decode(raw: bytes, name: str) -> str:
    if b"\x00" in raw[:4096]:
        raise UserError(f"{name}: this is not a CSV or Excel file (it holds binary data)")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows


def _sniff_delimiter(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_rows(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Every cell as stripped text (blank = ''), headers lower-cased; index = spreadsheet row number."""
    name = str(path)
    if not path.exists():
        raise UserError(f"{name}: no such file")
    if path.is_dir():
        raise UserError(f"{name}: is a folder, expected a CSV or XLSX file")
    raw = path.read_bytes()
    if not raw.strip():
        raise UserError(f"{name}: the file is empty")
    if raw[:2] == b"PK" or path.suffix.lower() in (".xlsx", ".xlsm"):
        frame = _read_excel(path, raw, sheet)
    else:
        if sheet:
            raise UserError(f"{name}: --sheet applies to Excel files only; this is read as CSV")
        frame = _read_csv(raw, name)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.fillna("").astype(str)
    frame = frame.apply(lambda col: col.str.strip())
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise UserError(f"{name}: column(s) {', '.join(dup)} appear more than once in the header")
    frame.index = pd.RangeIndex(ROW_OFFSET, ROW_OFFSET + len(frame))
    blank = (frame == "").all(axis=1)
    if blank.all():
        raise UserError(f"{name}: the file has a header but no data rows")
    last = blank[~blank].index.max()
    return frame.loc[:last]


def _read_csv(raw: bytes, name: str) -> pd.DataFrame:
    text = _decode(raw, name)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=_sniff_delimiter(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UserError(f"{name}: not a readable CSV file ({str(exc).splitlines()[0]})") from None


def _read_excel(path: Path, raw: bytes, sheet: str | None) -> pd.DataFrame:
    name = str(path)
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise UserError(f"{name}: not a valid XLSX workbook (save it as .xlsx or as CSV)")
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise UserError(f"{name}: not a valid XLSX workbook ({exc})") from None
    if sheet is not None and sheet not in book.sheet_names:
        raise UserError(f"{name}: no sheet named '{sheet}'; sheets: {', '.join(book.sheet_names)}")
    frame = book.parse(sheet if sheet is not None else 0, dtype=str, keep_default_na=False)
    return frame.rename(columns=lambda c: "" if str(c).startswith("Unnamed:") else c).loc[
        :, lambda f: [c != "" or f[c].ne("").any() for c in f.columns]
    ]


# --- validation ---------------------------------------------------------------------------------


@dataclass
class Checked:
    """A validated file: the typed good rows and one record per bad cell."""

    kind: str
    good: pd.DataFrame
    rejects: pd.DataFrame  # file, row, column, value, expected
    total_rows: int


def _check_header(frame: pd.DataFrame, cols: list[Column], name: str, kind: str) -> None:
    known = [c.name for c in cols]
    missing = [c.name for c in cols if not c.optional and c.name not in frame.columns]
    unknown = [c for c in frame.columns if c not in known]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if problems:
        raise UserError(f"{name}: {' and '.join(problems)} for a {kind} file; expected columns: {', '.join(known)}")


def _parse_column(text: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    """Typed values and a mask of cells that could not be read as the expected type."""
    blank = text == ""
    if col.kind == "text":
        return text.where(~blank, None), pd.Series(False, index=text.index)
    if col.kind == "code":
        lowered = text.str.lower()
        mapped = lowered.map(col.codes)
        bad = ~blank & mapped.isna()
        values = mapped.where(~bad & ~blank, None)
        if all(isinstance(v, int) for v in col.codes.values()):
            values = pd.to_numeric(values, errors="coerce").astype("Int64")
        else:
            values = values.astype(object)
        return values, bad
    if col.kind in ("int", "float"):
        numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
        bad = ~blank & numbers.isna()
        if col.kind == "int":
            bad |= numbers.notna() & (numbers != np.floor(numbers))
            numbers = numbers.where(~bad)
            return numbers.round().astype("Int64"), bad
        return numbers.astype("Float64"), bad
    if col.kind in ("date", "period"):
        # Excel cells arrive as 'YYYY-MM-DD 00:00:00'; a period may be 'YYYY-MM'.
        cleaned = text.str.replace(r" 00:00:00$", "", regex=True)
        if col.kind == "period":
            cleaned = cleaned.where(~cleaned.str.fullmatch(r"\d{4}-\d{2}"), cleaned + "-01")
        parsed = pd.to_datetime(cleaned, format="%Y-%m-%d", errors="coerce")
        bad = ~blank & parsed.isna()
        return parsed.dt.date.where(parsed.notna(), None), bad
    raise ValueError(f"unknown column kind {col.kind}")


def _schema(cols: list[Column], kind: str, today: date) -> pa.DataFrameSchema:
    columns = {}
    for col in cols:
        checks = []
        if col.kind == "code":
            checks.append(pa.Check.isin(sorted(set(col.codes.values()), key=str), error=col.expected))
        if col.kind in ("int", "float") and (col.minimum is not None or col.maximum is not None):
            lo = col.minimum if col.minimum is not None else -np.inf
            hi = col.maximum if col.maximum is not None else np.inf
            checks.append(pa.Check.in_range(lo, hi, error=col.expected))
        if col.kind in ("date", "period"):
            checks.append(pa.Check(lambda s: s.map(lambda d: d <= today), element_wise=False, error=col.expected))
        if col.kind == "text" and col.name in ("neighbourhood",):
            checks.append(pa.Check.str_matches(r"^[A-Za-z0-9_-]+$", error=col.expected))
        columns[col.name] = pa.Column(None, checks=checks, nullable=col.nullable, required=not col.optional)
    return pa.DataFrameSchema(columns, unique=UNIQUE_KEYS[kind], strict=False, report_duplicates="all")


def validate(kind: str, frame: pd.DataFrame, fw: Framework, name: str, today: date | None = None) -> Checked:
    """Type, range, code and uniqueness checks; references are checked later against the database."""
    cols = columns_for(kind, fw)
    _check_header(frame, cols, name, kind)
    today = today or date.today()
    typed = pd.DataFrame(index=frame.index)
    rejects = []
    for col in cols:
        if col.name not in frame.columns:
            typed[col.name] = None
            continue
        values, bad = _parse_column(frame[col.name], col)
        typed[col.name] = values
        for row in frame.index[bad]:
            rejects.append((row, col.name, frame.at[row, col.name], col.expected))
    unparsed = {(r[0], r[1]) for r in rejects}
    try:
        _schema(cols, kind, today).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        rejects += _schema_rejects(exc.failure_cases, frame, cols, kind, unparsed)
    rejects += _consistency_rejects(kind, typed, frame)
    table = pd.DataFrame(rejects, columns=["row", "column", "value", "expected"])
    table.insert(0, "file", name)
    table = table.drop_duplicates().sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    bad_rows = set(table["row"])
    good = typed.loc[[r for r in typed.index if r not in bad_rows]]
    return Checked(kind=kind, good=good, rejects=table, total_rows=len(frame))


def _schema_rejects(cases: pd.DataFrame, frame: pd.DataFrame, cols: list[Column], kind: str, unparsed) -> list:
    expected = {c.name: c.expected for c in cols}
    out = []
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            continue
        row = int(case.index)
        if case.check == "multiple_fields_uniqueness":
            keys = UNIQUE_KEYS[kind]
            value = " / ".join(frame.at[row, k] for k in keys if k in frame.columns)
            out.append((row, ", ".join(keys), value, f"a unique {' + '.join(keys)}: this one appears more than once"))
            continue
        column = case.column
        if (row, column) in unparsed:
            continue
        shown = frame.at[row, column] if column in frame.columns else ""
        why = "a value (this cell must not be blank)" if case.check == "not_nullable" else expected[column]
        if case.check == "not_nullable":
            why = f"{expected[column]} (this cell must not be blank)"
        out.append((row, column, shown, why))
    return out


def _consistency_rejects(kind: str, typed: pd.DataFrame, frame: pd.DataFrame) -> list:
    """Checks across rows: a population's age-band total must equal its gender total."""
    out = []
    if kind == "population" and typed["population"].notna().any():
        totals = typed.groupby(["neighbourhood", "dimension"])["population"].sum().unstack()
        for hood, row in totals.iterrows():
            age, gender = row.get("age_band"), row.get("gender")
            if pd.notna(age) and pd.notna(gender) and age != gender:
                for r in typed.index[typed["neighbourhood"] == hood]:
                    out.append(
                        (
                            r,
                            "population",
                            frame.at[r, "population"],
                            f"the age-band total ({age}) to equal the gender total ({gender}) for neighbourhood {hood}",
                        )
                    )
            elif pd.isna(age) or pd.isna(gender):
                missing = "age_band" if pd.isna(age) else "gender"
                for r in typed.index[typed["neighbourhood"] == hood]:
                    out.append(
                        (
                            r,
                            "dimension",
                            frame.at[r, "dimension"],
                            f"rows for both dimensions (age_band and gender) for neighbourhood "
                            f"{hood}; {missing} rows are missing",
                        )
                    )
    return out


def reference_rejects(checked: Checked, fw: Framework, con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """Rows that name a neighbourhood, project or outcome the workbook does not know."""
    good = checked.good
    rows = []
    if checked.kind != "areas" and "neighbourhood" in good.columns:
        areas = store.read_table(con, "areas")
        known = set(areas["neighbourhood"]) if not areas.empty else set()
        extra = {"all"} if checked.kind == "indicators" else set()
        unknown = good.index[~good["neighbourhood"].isin(known | extra)]
        hint = allowed(sorted(known)) if known else "none yet: import the areas file first"
        rows += [
            (r, "neighbourhood", good.at[r, "neighbourhood"], f"a neighbourhood in the areas table ({hint})")
            for r in unknown
        ]
    if checked.kind == "stories":
        for r in good.index:
            project = fw.project(good.at[r, "project"])
            ids = [o.strip() for o in str(good.at[r, "outcomes"]).split(";") if o.strip()]
            wrong = [o for o in ids if o not in project.outcome_ids]
            if wrong or not ids:
                rows.append(
                    (
                        r,
                        "outcomes",
                        good.at[r, "outcomes"],
                        f"outcome ids of {project.id}'s ripple map separated by ';' ({allowed(project.outcome_ids)})",
                    )
                )
    table = pd.DataFrame(rows, columns=["row", "column", "value", "expected"])
    table.insert(0, "file", name)
    return table


# --- loading ------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    kind: str
    file: str
    rows: int
    status: str  # loaded | unchanged | refused
    message: str
    rejects_path: Path | None = None


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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

    Raises UserError (nothing written) for a structural problem, for bad rows unless
    ``skip_bad_rows``, or for a conflict with data already loaded unless ``replace``.
    """
    path = Path(path)
    name = str(path)
    if kind not in store.KINDS:
        raise UserError(f"unknown kind '{kind}'; known: {', '.join(store.KINDS)}")
    frame = read_rows(path, sheet)
    digest = file_hash(path)
    con = store.connect(db)
    try:
        store.ensure_schema(con, fw)
        seen = con.execute("SELECT batch_id FROM imports WHERE sha256 = ? AND kind = ?", [digest, kind]).fetchone()
        if seen:
            return ImportResult(
                kind, name, 0, "unchanged", f"{name}: already imported as batch {seen[0]} ({kind}); nothing added"
            )
        checked = validate(kind, frame, fw, name, today)
        refs = reference_rejects(checked, fw, con, name)
        rejects = pd.concat([checked.rejects, refs], ignore_index=True) if not refs.empty else checked.rejects
        rejects = rejects.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
        bad_rows = set(rejects["row"])
        good = checked.good.loc[[r for r in checked.good.index if r not in bad_rows]]
        rejects_file = rejects_path or path.with_name(path.stem + ".rejects.csv")
        if bad_rows:
            write_csv_atomic(rejects, rejects_file)
            n_bad = len(bad_rows)
            if not skip_bad_rows:
                raise UserError(
                    f"{name}: {n_bad} of {checked.total_rows} rows are not valid, so nothing was "
                    f"loaded. Each problem is listed (file, row, column, value, expected) in "
                    f"{rejects_file}. First: row {rejects.at[0, 'row']}, column "
                    f"{rejects.at[0, 'column']}: got '{rejects.at[0, 'value']}', expected "
                    f"{rejects.at[0, 'expected']}. Fix the rows or use --skip-bad-rows."
                )
        if good.empty:
            raise UserError(f"{name}: no valid rows to load; problems are listed in {rejects_file}")
        loaded, replaced = _load(con, kind, good, name, digest, replace)
    finally:
        con.close()
    note = f"; {len(bad_rows)} bad rows skipped, listed in {rejects_file}" if bad_rows else ""
    swap = f"; replaced earlier data for {replaced}" if replaced else ""
    return ImportResult(
        kind,
        name,
        loaded,
        "loaded",
        f"{name}: loaded {loaded} {kind} rows{swap}{note}",
        rejects_file if bad_rows else None,
    )


def _load(con, kind: str, good: pd.DataFrame, name: str, digest: str, replace: bool) -> tuple[int, str]:
    scope = SCOPE_KEYS[kind]
    table_cols = list(good.columns)  # columns_for() lists them in the table's order
    incoming = good[table_cols].reset_index(drop=True)
    con.register("incoming", incoming)
    try:
        keys = " AND ".join(f't."{k}" = i."{k}"' for k in scope)
        clash = con.execute(
            f"SELECT DISTINCT {', '.join(f't.{k}' for k in scope)} FROM {kind} t "
            f"JOIN (SELECT DISTINCT {', '.join(scope)} FROM incoming) i ON {keys} ORDER BY ALL"
        ).fetchall()
        described = "; ".join(" / ".join(str(v) for v in c) for c in clash[:5])
        if clash and not replace:
            more = f" and {len(clash) - 5} more" if len(clash) > 5 else ""
            raise UserError(
                f"{name}: {kind} for {' x '.join(scope)} {described}{more} is already loaded from "
                "another file. Use --replace to swap it for this file."
            )
        with store.transaction(con):
            batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM imports").fetchone()[0]
            if clash:
                con.execute(f"DELETE FROM {kind} t WHERE EXISTS (SELECT 1 FROM incoming i WHERE {keys})")
            cols = ", ".join(f'"{c}"' for c in table_cols)
            con.execute(f"INSERT INTO {kind} ({cols}, batch_id) SELECT {cols}, {batch} FROM incoming")
            con.execute(
                "INSERT INTO imports (batch_id, kind, file_name, sha256, rows, replaced) VALUES (?, ?, ?, ?, ?, ?)",
                [batch, kind, os.path.basename(name), digest, len(incoming), described or None],
            )
    finally:
        con.unregister("incoming")
    return len(incoming), described if clash else ""


def status(db: Path | str | None = None) -> dict[str, pd.DataFrame]:
    """What is loaded: rows per kind, survey responses per neighbourhood x wave, import history."""
    con = store.connect(db, read_only=True)
    try:
        out: dict[str, pd.DataFrame] = {}
        counts = []
        for kind in store.KINDS:
            n = con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0] if store.has_table(con, kind) else 0
            counts.append((kind, n))
        out["kinds"] = pd.DataFrame(counts, columns=["kind", "rows"])
        if store.has_table(con, "survey"):
            out["survey"] = con.execute(
                "SELECT neighbourhood, wave, count(*) AS responses FROM survey GROUP BY ALL ORDER BY ALL"
            ).df()
        if store.has_table(con, "imports"):
            out["imports"] = con.execute(
                "SELECT batch_id, kind, file_name, rows, replaced FROM imports ORDER BY batch_id"
            ).df()
        return out
    finally:
        con.close()


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
