"""The network's database: councils' returns loaded side by side (``python -m helpers network import``).

One DuckDB file (default ``data/network.duckdb``, never committed) holds every return imported, each council's
kept by period: ``network_returns`` (a row per council x period: the return's sha256 and its manifest),
``network_projects`` (each project's family and ripple-map hash), ``network_wording`` (each measure's
wording hash) and ``network_<table>`` for every table of a return (:data:`helpers.store.returns.TABLES`), each
row carrying ``council`` and ``period``.

Importing is idempotent: the same return again adds nothing; a different return for a council and period
already held replaces it (a corrected return), in one transaction. A damaged or altered return is refused
before anything is written (:func:`helpers.store.returns.read_return`).

``import_return(db, path)``, ``pooling_rows(db, family)``, ``wording(db)``, ``page_fingerprint(db, family)``
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..config.errors import UserError
from . import database, returns

META = "network_returns"
PROJECTS = "network_projects"
WORDING = "network_wording"


def table_name(name: str) -> str:
    return f"network_{name}"


@dataclass(frozen=True)
class Imported:
    council: str
    period: str
    outcome: str  # "added", "replaced" or "already held"

    @property
    def message(self) -> str:
        said = {
            "added": "imported",
            "replaced": "imported, replacing the return held for that period",
            "already held": "already held; nothing added",
        }[self.outcome]
        return f"{self.council}, {self.period}: {said}"


def _ensure_meta(con) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META} (council VARCHAR, period VARCHAR, sha256 VARCHAR, synthetic BOOLEAN, "
        "framework_version VARCHAR, workbook_version VARCHAR, manifest VARCHAR, PRIMARY KEY (council, period))"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {PROJECTS} (council VARCHAR, period VARCHAR, project VARCHAR, name VARCHAR, "
        "family VARCHAR, ripple_map_sha256 VARCHAR)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {WORDING} (council VARCHAR, period VARCHAR, measure VARCHAR, sha256 VARCHAR)"
    )


def _append(con, table: str, frame: pd.DataFrame) -> None:
    """Add ``frame``'s rows to ``table``, creating it, or adding any column it lacks, first (returns from other
    workbook versions may carry a column more or less: a missing one is blank)."""
    con.register("incoming", frame)
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[
            0
        ]
        if not exists:
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM incoming')
            return
        have = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
        types = {r[0]: r[1] for r in con.execute("DESCRIBE incoming").fetchall()}
        for col in frame.columns:
            if col not in have:
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{col}" {types[col]}')
        if len(frame):
            con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM incoming')
    finally:
        con.unregister("incoming")


def _delete(con, council: str, period: str) -> None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for t in [META, PROJECTS, WORDING, *(table_name(n) for n in returns.TABLES)]:
        if t in tables:
            con.execute(f'DELETE FROM "{t}" WHERE council = ? AND period = ?', [council, period])


def import_return(db: Path | str, path: Path | str) -> Imported:
    """Load one return (checked first) into the network database, in one transaction."""
    manifest, tables, digest = returns.read_return(path)
    council, period = str(manifest["council"]), str(manifest["period"])
    con = database.connect(db)
    try:
        _ensure_meta(con)
        held = con.execute(f"SELECT sha256 FROM {META} WHERE council = ? AND period = ?", [council, period]).fetchone()
        if held and held[0] == digest:
            return Imported(council, period, "already held")
        con.execute("BEGIN TRANSACTION")
        try:
            _delete(con, council, period)
            con.execute(
                f"INSERT INTO {META} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    council,
                    period,
                    digest,
                    bool(manifest.get("synthetic", False)),
                    manifest["framework_version"],
                    str(manifest.get("workbook_version", "")),
                    json.dumps(manifest, sort_keys=True),
                ],
            )
            projects = pd.DataFrame(
                [
                    [council, period, pid, p.get("name", pid), p.get("family") or pid, p.get("ripple_map_sha256", "")]
                    for pid, p in sorted(manifest["projects"].items())
                ],
                columns=["council", "period", "project", "name", "family", "ripple_map_sha256"],
            )
            _append(con, PROJECTS, projects)
            wording = pd.DataFrame(
                [[council, period, m, h] for m, h in sorted(manifest["wording"].items())],
                columns=["council", "period", "measure", "sha256"],
            )
            _append(con, WORDING, wording)
            for name, frame in tables.items():
                try:
                    _append(con, table_name(name), frame.assign(council=council, period=period))
                except duckdb.Error as exc:
                    raise UserError(
                        f"{path}: {name}.parquet does not fit the network's {name} table (a column of another "
                        f"type: {str(exc).splitlines()[0]}); nothing from this return was loaded"
                    ) from None
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return Imported(council, period, "replaced" if held else "added")
    finally:
        con.close()


def _latest(con) -> str:
    """SQL for each council's latest period held."""
    return f"SELECT council, max(period) AS period FROM {META} GROUP BY council"


def _read(db: Path | str):
    """The network database, read-only; or, given a folder written by :func:`export_parquet`, its Parquet files
    as views of a database in memory (a cluster's workers read those: no one holds a DuckDB file open). A plain
    message when there is neither. Readers use it as ``with _read(db) as con:`` (the connection closes at the
    block's end)."""
    path = Path(db)
    if path.is_dir():
        con = duckdb.connect()
        for f in sorted(path.glob("network_*.parquet")):
            literal = str(f).replace("'", "''")
            con.execute(f"CREATE VIEW \"{f.stem}\" AS SELECT * FROM read_parquet('{literal}')")
        if not (path / f"{META}.parquet").exists():
            con.close()
            raise UserError(f"{db}: not a folder of the network's Parquet files (no {META}.parquet)")
        return con
    if not path.exists():
        raise UserError(f"{db}: no network database yet; load councils' returns with 'network import RETURN...'")
    return database.connect(db, read_only=True)


def export_parquet(db: Path | str, folder: Path | str) -> list[Path]:
    """Every table of the network database as ``folder/<table>.parquet``, each written beside and renamed into
    place, for workers that share the folder (the database file stays with the process that imports).
    Deterministic: the same tables give the same bytes, and a file already holding them is not rewritten."""
    import os

    from ..config.safe_output import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    con = _read(db)
    written = []
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        for t in sorted(t for t in tables if t.startswith("network_")):
            target = folder / f"{t}.parquet"
            tmp = atomic_path(target)
            try:
                literal = str(tmp).replace("'", "''")
                # Rows in a fixed order, so the same tables give the same bytes (DuckDB writes a table in the
                # order it reads it, which parallel scans need not keep); a file whose bytes are already
                # there is left as it is.
                con.execute(f"COPY (SELECT * FROM \"{t}\" ORDER BY ALL) TO '{literal}' (FORMAT parquet)")
                if not target.exists() or target.read_bytes() != tmp.read_bytes():
                    os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            written.append(target)
    finally:
        con.close()
    return written


def page_fingerprint(db: Path | str, family: str) -> str:
    """What the network's pages of one family are made from (``network reports`` remakes a page only when this
    changes): every table's rows, but of the return tables that name a project (``did``, ``ripple``,
    ``indicators``, ``stories``) only the family's projects' rows, with which councils hold rows in them at all.
    Every page shows every council (the councils and their frameworks, the self-evaluation across them), so
    the councils' returns, wording, projects, scores and self-evaluations count whole; a return's ``sha256``
    and its manifest's table hashes do not (they restate the rows, which count themselves), so a corrected
    return whose other families' rows are unchanged leaves those families' pages alone. All of a family's
    waves count for each of its pages: a page at one wave also reads the family's other waves (the areas a
    council's DiD pooled). Rows are taken in a fixed order, so the same data always gives the same hash."""
    with _read(db) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        parts = {}
        for t in sorted(t for t in tables if t.startswith("network_")):
            columns = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            if t == META:
                held = con.execute(f"SELECT * EXCLUDE (sha256) FROM {META} ORDER BY council, period")
                names = [d[0] for d in held.description]
                parts[t] = [
                    {k: _without_table_hashes(v) if k == "manifest" else v for k, v in zip(names, r, strict=True)}
                    for r in held.fetchall()
                ]
            elif t in {table_name(n) for n in returns.TABLES} and "project" in columns:
                mine = (
                    f'FROM "{t}" t JOIN {PROJECTS} p ON p.council = t.council AND p.period = t.period '
                    "AND p.project = t.project WHERE p.family = ?"
                )
                parts[t] = con.execute(f"SELECT t.* {mine} ORDER BY ALL", [family]).fetchall()
                held_by = f'SELECT DISTINCT council, period FROM "{t}" ORDER BY ALL'
                parts[f"{t} held by"] = con.execute(held_by).fetchall()
            else:
                parts[t] = con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall()
    return returns.sha256_of(json.dumps([family, parts], default=str))


def _without_table_hashes(manifest: str) -> str:
    """A return's manifest as the pages could read it: without each table file's sha256 and row count."""
    held = json.loads(manifest)
    held.pop("tables", None)
    return json.dumps(held, sort_keys=True)


def pooling_rows(db: Path | str, family: str | None = None) -> pd.DataFrame:
    """Each council's DiD rows from its latest return, with the project's family: ``council, period, family,
    project, measure, statistic, wave, did, se, suppressed`` (one family, or all)."""
    with _read(db) as con:
        where, params = ("WHERE p.family = ?", [family]) if family else ("", [])
        return con.execute(
            f"SELECT d.council, d.period, p.family, d.project, d.measure, d.statistic, d.wave, d.did, d.se, "
            f"d.suppressed FROM {table_name('did')} d JOIN ({_latest(con)}) l USING (council, period) "
            f"JOIN {PROJECTS} p ON p.council = d.council AND p.period = d.period AND p.project = d.project "
            f"{where} ORDER BY p.family, d.measure, d.statistic, d.wave, d.council",
            params,
        ).df()


def wording(db: Path | str) -> pd.DataFrame:
    """Each council's wording hash per measure, from its latest return: ``council, measure, sha256``."""
    with _read(db) as con:
        return con.execute(
            f"SELECT w.council, w.measure, w.sha256 FROM {WORDING} w JOIN ({_latest(con)}) l USING (council, period) "
            "ORDER BY w.measure, w.council"
        ).df()


def families(db: Path | str) -> list[str]:
    """The project families the councils' returns name."""
    with _read(db) as con:
        return [r[0] for r in con.execute(f"SELECT DISTINCT family FROM {PROJECTS} ORDER BY family").fetchall()]


def latest_rows(db: Path | str, table: str) -> pd.DataFrame:
    """Every council's rows of one return table (``scores``, ``ripple``, ``self_evaluation`` ...) from its latest
    return, with ``council`` and ``period``; sorted by council."""
    if table not in returns.TABLES:
        raise ValueError(f"not a return table: {table}")
    with _read(db) as con:
        return con.execute(
            f'SELECT t.* FROM "{table_name(table)}" t JOIN ({_latest(con)}) l USING (council, period) '
            "ORDER BY t.council"
        ).df()


def project_families(db: Path | str) -> pd.DataFrame:
    """Each council's projects and their families, every period held: ``council, period, project, family``."""
    with _read(db) as con:
        return con.execute(f"SELECT council, period, project, family FROM {PROJECTS} ORDER BY ALL").df()


def councils(db: Path | str) -> pd.DataFrame:
    """Each council's latest return: ``council, period, synthetic, framework_version, workbook_version``."""
    with _read(db) as con:
        return con.execute(
            f"SELECT r.council, r.period, r.synthetic, r.framework_version, r.workbook_version FROM {META} r "
            f"JOIN ({_latest(con)}) l USING (council, period) ORDER BY r.council"
        ).df()


def ripple_hashes(db: Path | str) -> pd.DataFrame:
    """Each council's ripple-map hash per project, every period: ``council, period, project, ripple_map_sha256``."""
    with _read(db) as con:
        return con.execute(f"SELECT council, period, project, ripple_map_sha256 FROM {PROJECTS} ORDER BY ALL").df()


def project_names(db: Path | str) -> pd.DataFrame:
    """Each council's projects by name, from its latest return: ``council, project, name``."""
    with _read(db) as con:
        return con.execute(
            f"SELECT p.council, p.project, p.name FROM {PROJECTS} p JOIN ({_latest(con)}) l USING (council, period) "
            "ORDER BY ALL"
        ).df()
