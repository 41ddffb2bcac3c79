"""Loading a validated file: whole or not at all, once, and swapping another file's rows only when asked.

- One DuckDB transaction per file: the rows and their line in ``imports`` (file name, sha256, row count)
  are written together or not at all, even if the process is killed.
- Idempotent: a file whose content (sha256) is already loaded, and still all there, adds nothing.
- Rows of a kind's scope (a neighbourhood x wave of the survey, a story id, ...) already loaded from
  another file are refused, naming the clash, unless ``replace``, which swaps them in the same transaction.
- Bad rows refuse the whole file unless ``skip_bad_rows``; either way every bad cell is listed in the
  rejects CSV (``FILE.rejects.csv`` beside the file, or ``rejects_path``).

Test-only hook: when the environment variable ``WORKBOOK_TEST_PAUSE_IN_TRANSACTION`` holds a number of
seconds, an import prints a line to stderr and sleeps that long inside its open transaction, so a test
can kill the process there and check the database is unchanged. Never set it in normal use.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from ..config import paths
from ..config.errors import UserError
from ..config.framework import Framework
from . import database as store
from . import form_exports
from .consistency import companion_rejects, reference_rejects
from .kinds import LONG_ANSWER, LONG_ITEM, Kind, kind, known_kinds
from .reading import RawFile, read_file
from .rejects import finish_rejects, write_rejects
from .validation import check_header, validate

PAUSE_ENV = "WORKBOOK_TEST_PAUSE_IN_TRANSACTION"


@dataclass
class ImportResult:
    kind: str
    file: str
    rows: int
    status: str  # loaded | unchanged
    message: str
    rejects_path: Path | None = None
    skipped: int = 0


@dataclass
class _Sorted:
    """A file's rows sorted into those to load and the rejects (with the first problem, for the message)."""

    good: pd.DataFrame
    rejects: pd.DataFrame
    bad_rows: int
    total_rows: int
    first: pd.Series | None


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def import_file(
    kind_name: str,
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
    spec = kind(kind_name, fw)
    path = Path(path)
    db_path = Path(db) if db is not None else paths.DEFAULT_DB
    raw = read_file(path, sheet=sheet, known=[*spec.names, *form_exports.METADATA])
    export = form_exports.recognise(raw, spec)  # a KoboToolbox or ODK Central export of the form
    raw = export.raw if export else raw
    check_header(raw, spec, fw)
    rejects_file = Path(rejects_path) if rejects_path else path.with_name(path.stem + ".rejects.csv")
    # A new database is only created when there is something to load; an existing one is opened for
    # writing at once, so that nobody else can change it between these checks and the load.
    con = store.connect(db_path) if db_path.exists() else None
    try:
        tables = _tables(con)
        areas = _loaded_areas(con, tables, spec, raw.name, db_path)
        # an export with --replace is checked submission by submission even if this very file was loaded
        seen = None if (export and replace) else _already_loaded(con, raw.sha256, spec, tables)
        if seen is not None:
            message = f"{raw.name}: already imported as batch {seen} ({spec.name}); nothing added"
            return ImportResult(spec.name, raw.name, 0, "unchanged", message)
        if export:
            form_exports.read_names(export, con)
        rows = _sort_rows(spec, raw, fw, areas, today)
        _refuse_bad_rows(rows, rejects_file, raw.name, skip_bad_rows)
        con = con or store.connect(db_path)
        try:
            if export:
                return _load_export(con, spec, rows, fw, raw, export, replace, rejects_file)
            batch, replaced = _load(con, spec, rows.good, fw, raw.name, raw.sha256, replace)
        except duckdb.IOException as exc:  # disk full, file locked, ...: the transaction was rolled back
            raise UserError(
                f"{raw.name}: could not write to the database {db_path}; nothing was loaded ({exc})"
            ) from None
    finally:
        if con is not None:
            con.close()
    return _loaded(spec, raw, rows, batch, replaced, rejects_file)


def _loaded_areas(
    con: duckdb.DuckDBPyConnection | None, tables: set[str], spec: Kind, name: str, db_path: Path
) -> pd.DataFrame:
    """The areas table (neighbourhood, project) other kinds are checked against; refuse them if it is empty."""
    if spec.name == "areas":
        return pd.DataFrame(columns=["neighbourhood", "project"])
    if not ("areas" in tables and con.execute("SELECT count(*) FROM areas").fetchone()[0]):
        raise UserError(
            f"{name}: the database {db_path} has no areas yet, so the neighbourhoods cannot be checked; "
            "import the areas file first (python -m helpers import areas FILE)"
        )
    return con.execute("SELECT neighbourhood, project FROM areas").df()


def _sort_rows(spec: Kind, raw: RawFile, fw: Framework, areas: pd.DataFrame, today: date | None) -> _Sorted:
    """Validate the rows and check their references; the rows to load and every reject."""
    checked = validate(spec.name, raw, fw, today=today, areas=areas)
    refs = reference_rejects(spec, checked.typed, fw, areas, raw.name, raw.frame)
    rejects = checked.rejects
    if not refs.empty:
        rejects = finish_rejects([rejects, refs], raw.name, list(spec.columns))
    first = rejects.iloc[0] if not rejects.empty else None  # the first problem (not a knock-on one)
    rejects = companion_rejects(spec, checked.typed, rejects, raw.frame)
    bad_rows = rejects["row"].unique()
    good = checked.typed.loc[~checked.typed.index.isin(bad_rows)]
    return _Sorted(good, rejects, len(bad_rows), checked.total_rows, first)


def _refuse_bad_rows(rows: _Sorted, rejects_file: Path, name: str, skip_bad_rows: bool) -> None:
    """Write the rejects file if there are bad rows; refuse the file unless they may be skipped."""
    if rows.bad_rows:
        write_rejects(rows.rejects, rejects_file, name)
        if not skip_bad_rows:
            first = rows.first
            raise UserError(
                f"{name}: {rows.bad_rows} of {rows.total_rows} rows are not valid, so nothing was "
                f"loaded. Each problem is listed (file, row, column, value, expected) in "
                f"{rejects_file}. First: row {first['row']}, column {first['column']}: got "
                f"'{first['value']}', expected {first['expected']}. Fix the rows or use --skip-bad-rows."
            )
    if rows.good.empty:
        raise UserError(f"{name}: no valid rows to load; every problem is listed in {rejects_file}")


def _loaded(spec: Kind, raw: RawFile, rows: _Sorted, batch: int, replaced: str, rejects_file: Path) -> ImportResult:
    """The result of a load, with its one-line message."""
    loaded = len(rows.good)
    people = f" ({rows.good[spec.people[0]].nunique()} {spec.people[1]})" if spec.people else ""
    note = f"; {rows.bad_rows} bad rows skipped, listed in {rejects_file}" if rows.bad_rows else ""
    swap = f"; replaced earlier data for {replaced}" if replaced else ""
    read_as = f" ({raw.note})" if raw.note else ""
    return ImportResult(
        spec.name,
        raw.name,
        loaded,
        "loaded",
        f"{raw.name}: loaded {loaded} {spec.name} {spec.rows_word}{people} as batch {batch}{swap}{note}{read_as}",
        rejects_file if rows.bad_rows else None,
        int(rows.bad_rows),
    )


def _tables(con: duckdb.DuckDBPyConnection | None) -> set[str]:
    """Names of the tables in the database (none when there is no database yet)."""
    if con is None:
        return set()
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _already_loaded(con: duckdb.DuckDBPyConnection | None, digest: str, spec: Kind, tables: set[str]) -> int | None:
    """The batch that loaded this content, if all its rows are still there (not since replaced)."""
    if con is None or not {"imports", spec.table} <= tables:
        return None
    for batch, rows in con.execute(
        "SELECT batch_id, rows FROM imports WHERE sha256 = ? AND kind = ? ORDER BY batch_id DESC", [digest, spec.name]
    ).fetchall():
        present = con.execute(f"SELECT {spec.stored_rows_sql()} FROM {spec.table} WHERE batch_id = ?", [batch])
        if present.fetchall()[0][0] == rows:
            return batch
    return None


def _pause_for_tests() -> None:
    """Test-only: sleep inside the open transaction so a test can kill the process (see module doc)."""
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        print(f"test hook: paused inside the import transaction for {pause} s", file=sys.stderr, flush=True)
        time.sleep(float(pause))


def stored_rows(spec: Kind, good: pd.DataFrame) -> pd.DataFrame:
    """The rows as the kind's table stores them: as they are, or one row per answer of a long kind."""
    if not spec.long:
        return good[list(spec.table_columns)]
    ids = [c for c in spec.names if c not in spec.long]
    answers = good[list(spec.long)].astype("string")  # a code 3 is stored as '3', blank as NULL
    return pd.concat([good[ids], answers], axis=1).melt(id_vars=ids, var_name=LONG_ITEM, value_name=LONG_ANSWER)


def _load(
    con: duckdb.DuckDBPyConnection, spec: Kind, good: pd.DataFrame, fw: Framework, name: str, digest: str, replace: bool
) -> tuple[int, str]:
    """Load the good rows in one transaction; returns the batch and which earlier rows were replaced."""
    import pyarrow as pa

    # Arrow hands DuckDB the columns without a copy and scans faster than a pandas frame.
    con.register("incoming", pa.Table.from_pandas(stored_rows(spec, good), preserve_index=False))
    try:
        with store.transaction(con):
            store.ensure_schema(con, fw)
            described = _clash(con, spec, name, replace)
            batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM imports").fetchone()[0]
            types = spec.table_columns
            cols = ", ".join(f'"{c}"' for c in types)
            cast = ", ".join(f'CAST("{c}" AS {t})' for c, t in types.items())
            con.execute(f"INSERT INTO {spec.table} ({cols}, batch_id) SELECT {cast}, {batch} FROM incoming")
            con.execute(
                "INSERT INTO imports (batch_id, kind, file_name, sha256, rows, replaced) VALUES (?, ?, ?, ?, ?, ?)",
                [batch, spec.name, os.path.basename(name), digest, len(good), described or None],
            )
            _pause_for_tests()
    finally:
        con.unregister("incoming")
    return batch, described


def _clash(con: duckdb.DuckDBPyConnection, spec: Kind, name: str, replace: bool) -> str:
    """Rows of the incoming scope already loaded from another file: refused, or deleted when ``replace``.

    Returns them described (at most five, then how many more), or "" when there are none. Survey rows that
    came from a form export are another stream and are left alone (:mod:`helpers.store.form_exports`).
    """
    scope = spec.scope
    keys = " AND ".join(f't."{k}" = i."{k}"' for k in scope)
    shown = ", ".join(f't."{k}"' for k in scope)
    others = form_exports.not_export_rows(con) if spec.name == "survey" else ""
    clash = con.execute(
        f"SELECT {shown}, string_agg(DISTINCT m.file_name || ' (batch ' || t.batch_id || ')', ', ') "
        f"FROM {spec.table} t JOIN (SELECT DISTINCT {', '.join(scope)} FROM incoming) i ON {keys} "
        f"JOIN imports m ON m.batch_id = t.batch_id WHERE true{others} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    if not clash:
        return ""
    described = "; ".join(" / ".join(str(v) for v in c[:-1]) + f" from {c[-1]}" for c in clash[:5])
    if len(clash) > 5:
        described += f"; and {len(clash) - 5} more"
    if not replace:
        raise UserError(
            f"{name}: {spec.name} for {' x '.join(scope)} {described} is already loaded from another "
            "file. Use --replace to swap it for this file."
        )
    con.execute(f"DELETE FROM {spec.table} t WHERE EXISTS (SELECT 1 FROM incoming i WHERE {keys}){others}")
    return described


def _load_export(
    con: duckdb.DuckDBPyConnection,
    spec: Kind,
    rows: _Sorted,
    fw: Framework,
    raw: RawFile,
    export: form_exports.FormExport,
    replace: bool,
    rejects_file: Path,
) -> ImportResult:
    """A form export: add its new submissions in one transaction (:func:`helpers.store.form_exports.merge`)."""
    import pyarrow as pa

    incoming = stored_rows(spec, rows.good).assign(_row=rows.good.index.to_numpy())
    con.register("incoming", pa.Table.from_pandas(incoming, preserve_index=False))
    try:
        with store.transaction(con):
            store.ensure_schema(con, fw)
            merged = form_exports.merge(con, spec, raw.name, replace)
            if not merged.new and not merged.described:
                message = (
                    f"{raw.name}: nothing new: all {merged.unchanged} submissions of this {export.tool} export are "
                    "already loaded" + (f"; {merged.kept_note}" if merged.kept_note else "")
                )
                return ImportResult(spec.name, raw.name, 0, "unchanged", message)
            batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM imports").fetchone()[0]
            types = spec.table_columns
            cols = ", ".join(f'"{c}"' for c in types)
            cast = ", ".join(f'CAST(i."{c}" AS {t})' for c, t in types.items())
            con.execute(
                f"INSERT INTO {spec.table} ({cols}, batch_id) SELECT {cast}, {batch} FROM incoming i "
                f"WHERE {form_exports.NEW_ROWS}"
            )
            con.execute(
                "INSERT INTO imports (batch_id, kind, file_name, sha256, rows, replaced) VALUES (?, ?, ?, ?, ?, ?)",
                [batch, spec.name, os.path.basename(raw.name), raw.sha256, merged.new, merged.described or None],
            )
            form_exports.record(con, batch, export.tool)
            _pause_for_tests()
    except duckdb.IOException as exc:
        raise UserError(f"{raw.name}: could not write to the database; nothing was loaded ({exc})") from None
    finally:
        con.unregister("incoming")
    result = _loaded(spec, raw, rows, batch, merged.described, rejects_file)
    result.rows = merged.new
    changes = f"; {merged.described}" if merged.described else ""
    bad = f"; {rows.bad_rows} bad rows skipped, listed in {rejects_file}" if rows.bad_rows else ""
    notes = "; ".join(n for n in (merged.note, export.note) if n)
    result.message = f"{raw.name}: loaded {merged.new} new submissions as batch {batch}{changes}{bad} ({notes})"
    return result


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
    for name in known_kinds(fw):
        found = [source / f"{name}{ext}" for ext in (".csv", ".xlsx") if (source / f"{name}{ext}").exists()]
        if found:
            files[name] = found[0]
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
        for name, path in files.items():
            result = import_file(name, path, fw, tmp)
            counts.append(f"{result.rows} {name}")
        os.replace(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return f"built {db} from {source}: " + ", ".join(counts)
