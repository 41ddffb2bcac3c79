"""The embedded store: one DuckDB file (default ``data/workbook.duckdb``, git-ignored).

Tables mirror the input kinds (defined once, in :mod:`helpers.store.kinds`), each with the ``batch_id``
of the import that brought the row, plus ``imports`` (one row per file loaded). Report kernels open the
file read-only so that many can read at once; only imports and the self-evaluation form write.

DuckDB locks the file: one process may hold it read-write, or many read-only, never both. So an import
started while a batch or a dashboard is reading (or a reader started during an import) waits: :func:`connect`
retries for up to ``LOCK_WAIT_SECONDS`` and then stops with a message naming the file and the process that
holds it. Nothing is half-written meanwhile: an import is one transaction, opened only once the lock is had.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from ..config import paths
from ..config.errors import UserError
from ..config.framework import Framework
from .kinds import CORE_KINDS, kinds

LOCK_WAIT_SECONDS = 5.0  # how long an open waits for another process's conflicting lock before giving up
KINDS = CORE_KINDS  # every database has these tables; the framework may define more (kinds.known_kinds)


def _ddl(fw: Framework) -> list[str]:
    statements = [
        """CREATE TABLE IF NOT EXISTS imports (
            batch_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL, rows INTEGER NOT NULL, replaced VARCHAR,
            imported_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE IF NOT EXISTS self_assessments (
            name VARCHAR NOT NULL, assessed_on DATE NOT NULL, area VARCHAR NOT NULL,
            level VARCHAR, evidence VARCHAR, PRIMARY KEY (name, assessed_on, area))""",
        # append-only: every save of an assessment, numbered 1, 2, ... per name and date (helpers/store/selfeval.py)
        """CREATE TABLE IF NOT EXISTS self_assessment_history (
            name VARCHAR NOT NULL, assessed_on DATE NOT NULL, revision INTEGER NOT NULL,
            saved_at TIMESTAMP NOT NULL, area VARCHAR NOT NULL, level VARCHAR, evidence VARCHAR,
            PRIMARY KEY (name, assessed_on, revision, area))""",
    ]
    for kind in kinds(fw):
        cols = ", ".join(f'"{c}" {t}' for c, t in kind.table_columns.items())
        statements.append(f"CREATE TABLE IF NOT EXISTS {kind.table} ({cols}, batch_id INTEGER NOT NULL)")
    return statements


def connect(
    db: Path | str | None = None, *, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open the workbook database. Read-only opens refuse a missing file with a plain message; an open that
    meets another process's conflicting lock retries for up to ``wait`` seconds, then says who holds it."""
    path = Path(db) if db is not None else paths.DEFAULT_DB
    if read_only and not path.exists():
        raise UserError(
            f"{path}: no workbook database here; build it with `make run` "
            "or load files with `python -m helpers import KIND FILE`"
        )
    if path.is_file() and not _is_duckdb_file(path):
        # DuckDB would open a CSV or Parquet file as an in-memory database: an import would "succeed" and vanish.
        raise UserError(f"{path}: not a workbook database (a DuckDB file); give --db a .duckdb file")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not is_locked(exc):
                raise UserError(f"{path}: cannot open the database ({exc})") from None
            if time.monotonic() >= deadline:
                raise UserError(_busy(path, exc, read_only, wait)) from None
        # a random pause, growing, so that two processes waiting for each other do not retry in step
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 0.5)


def is_locked(exc: Exception) -> bool:
    """True for DuckDB's error when another process holds a conflicting lock on the file."""
    return "could not set lock" in str(exc).lower() or "conflicting lock" in str(exc).lower()


def _busy(path: Path, exc: Exception, read_only: bool, wait: float) -> str:
    """The plain message when the file stayed locked: which file, what holds it, what to do."""
    doing = "read" if read_only else "written to"
    return (
        f"{path}: the database is in use by {lock_holder(exc)}, so it could not be {doing} "
        f"(waited {wait:g} seconds); nothing was changed. Wait for it to finish or close it, then try again."
    )


def lock_holder(exc: Exception) -> str:
    """What holds the lock, from DuckDB's message ("... is held in /usr/bin/python3 (PID 123)") and, on Linux,
    the process's command line: 'a batch of reports (process 123)', 'a dashboard or report kernel (...)'."""
    found = re.search(r"\(PID (\d+)\)", str(exc))
    if not found:
        return "another program"
    pid = found.group(1)
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    return f"{_what_runs(command)} (process {pid}{': ' + command[:120] if command else ''})"


def _what_runs(command: str) -> str:
    """A plain name for the kind of program holding the database."""
    if "helpers reports" in command:
        return "a batch of reports"
    if "voila" in command or "helpers dashboard" in command:
        return "the dashboard server"
    if "ipykernel" in command:
        return "a report or dashboard kernel"
    if "helpers import" in command or "helpers build-db" in command:
        return "an import"
    return "another program"


def _is_duckdb_file(path: Path) -> bool:
    """True for an empty file or one that starts with DuckDB's header (the magic bytes at offset 8)."""
    with path.open("rb") as handle:
        head = handle.read(12)
    return not head or head[8:12] == b"DUCK"


def ensure_schema(con: duckdb.DuckDBPyConnection, fw: Framework) -> None:
    for statement in _ddl(fw):
        con.execute(statement)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """All or nothing: commit when the block finishes, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def read_table(con: duckdb.DuckDBPyConnection, kind: str, where: str = "", params=()) -> pd.DataFrame:
    """One kind's rows (without batch_id), sorted by its natural key; empty frame if never loaded."""
    if not has_table(con, kind):
        return pd.DataFrame()
    query = f"SELECT * EXCLUDE (batch_id) FROM {kind} {where}"
    return con.execute(query, list(params)).df()


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()
    return bool(found and found[0])


def data_fingerprint(con, project: str, hoods: list[str]) -> str:
    """Which imported files (and how many of their rows) feed this project's reports: part of each report's
    fingerprint (helpers/surfaces/batch.py) and of the key of its shared results (helpers/config/cache.py)."""
    marks = ", ".join("?" * len(hoods))
    # The financial-resilience questionnaires' table exists only where the framework defines them (and, in a
    # database built before it did, once some have been imported).
    resilience = (
        "UNION ALL SELECT 'resilience', batch_id, count(*) FROM resilience WHERE project = ? GROUP BY ALL"
        if has_table(con, "resilience")
        else ""
    )
    query = f"""
        WITH used AS (
            SELECT 'survey' AS t, batch_id, count(*) AS n FROM survey WHERE neighbourhood IN ({marks}) GROUP BY ALL
            UNION ALL SELECT 'population', batch_id, count(*) FROM population
                      WHERE neighbourhood IN ({marks}) GROUP BY ALL
            UNION ALL SELECT 'areas', batch_id, count(*) FROM areas GROUP BY ALL
            UNION ALL SELECT 'indicators', batch_id, count(*) FROM indicators
                      WHERE neighbourhood IN ({marks}) OR neighbourhood = 'all' GROUP BY ALL
            UNION ALL SELECT 'stories', batch_id, count(*) FROM stories WHERE project = ? GROUP BY ALL
            UNION ALL SELECT 'sentiment', batch_id, count(*) FROM sentiment WHERE project = ? GROUP BY ALL
            {resilience})
        SELECT t, i.sha256, n FROM used JOIN imports i USING (batch_id) ORDER BY ALL"""
    params = [*hoods, *hoods, *hoods, project, project] + ([project] if resilience else [])
    rows = con.execute(query, params).fetchall()
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()
