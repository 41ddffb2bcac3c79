"""The self-evaluation tool: named, dated assessments of the performance areas x 4 levels.

The areas, levels, criteria and which ideals each area serves come from
``data/framework/self_evaluation.yaml``; nothing here re-types them. The form is
:class:`helpers.surfaces.dashboards.SelfEvaluationForm`; this module holds the plain functions it calls, so they
are tested without a browser (``tests/test_selfeval.py``).

Storage: the ``self_assessments`` table of the workbook database, one row per area of an assessment::

    name, assessed_on, area, level, evidence        (primary key: name, assessed_on, area)

``level`` is a level id (``aspiring`` .. ``leading``) or NULL for an area not assessed; ``evidence`` is the
council's own free text (about the council, never about a resident).

and ``self_assessment_history``, append-only, one row per area of every save::

    name, assessed_on, revision, saved_at, area, level, evidence      (revision 1, 2, ... per name and date)

``saved_at`` is when the save was written (UTC): data kept in the database, never shown in a report.

Writing: only when the environment variable ``WORKBOOK_ALLOW_WRITE`` is ``1`` (the dashboard server sets it
with ``--allow-write``). A read-write DuckDB connection is opened at save time and closed at once; reads open
a read-only connection briefly. DuckDB lets one process hold a file read-write *or* many hold it read-only,
so a brief lock conflict with another dashboard kernel is retried for a few seconds before giving up.

Two people saving at once (optimistic concurrency): an assessment opened in the form carries the revision it
was read at; saving it compares that with the latest revision and writes the new rows and the next revision's
history in one transaction, so of two people who opened the same revision, the first to save wins and the
second is told plainly to open it again (their changes are refused, never silently lost or merged). A save
that meets DuckDB's write-write conflict or a locked file is retried with a short, growing, random pause.

Rules:

- A name is 1-80 characters after trimming spaces, with no control characters (line breaks, tabs).
- A date is a real calendar date (``YYYY-MM-DD``), not before 2000-01-01 and not in the future.
- An assessment is identified by its name and date. Saving refuses to overwrite an existing name + date
  unless that assessment is the one being edited (opened in the form). Saving an opened assessment under a
  new name or date makes a new assessment and keeps the original (so last year's can seed this year's).

Roll-up to the ideals (the rule, documented once here and in docs/dashboards.md):
levels score 1 (Aspiring), 2 (Developing), 3 (Achieving), 4 (Leading), in the framework's order. An ideal's
score is the plain mean of the scores of the performance areas that serve it (each area's ``ideals`` in the
framework) and were assessed; areas left "not assessed" are left out of the mean and counted in
``assessed`` (so "2.5 from 3 of 5 areas" is visible). An ideal with no assessed area has no score (blank).
Every area counts once per ideal it serves; areas are not weighted.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import Framework
from . import database as store

ALLOW_WRITE_ENV = "WORKBOOK_ALLOW_WRITE"
TABLE = "self_assessments"
HISTORY = "self_assessment_history"
MAX_NAME_LENGTH = 80
MAX_EVIDENCE_LENGTH = 10_000
EARLIEST_DATE = date(2000, 1, 1)
LOCK_RETRY_SECONDS = 5.0
SAVE_RETRY_SECONDS = 10.0  # a save retried this long on write conflicts and locks, then a plain message
BUSY = (
    f"the database is busy with other saves, so nothing was saved (tried for {SAVE_RETRY_SECONDS:g} seconds); "
    "try again in a moment"
)
HISTORY_COLUMNS = ("revision", "saved_at", "area", "level", "evidence")

AREA_COLUMNS = ("area", "area_name", "level", "level_name", "score")
ROLL_UP_COLUMNS = ("ideal", "ideal_name", "areas", "assessed", "score")
COMPARE_AREA_COLUMNS = ("area", "area_name", "first_level", "second_level", "first_score", "second_score", "change")
COMPARE_IDEAL_COLUMNS = (
    "ideal",
    "ideal_name",
    "areas",
    "first_assessed",
    "second_assessed",
    "first_score",
    "second_score",
    "change",
)


@dataclass(frozen=True)
class Saved:
    """What a save did: the message for the form, and the assessment's key and new revision (to edit it further)."""

    message: str
    key: tuple[str, date]
    revision: int


@dataclass(frozen=True)
class Assessment:
    """One named, dated self-assessment: a level (or None) and evidence text per area id; ``revision`` is the
    save it was read at (0 for one not read from the database, or saved before history was kept)."""

    name: str
    assessed_on: date
    levels: Mapping[str, str | None] = field(default_factory=dict)
    evidence: Mapping[str, str] = field(default_factory=dict)
    revision: int = 0

    @property
    def key(self) -> tuple[str, date]:
        return (self.name, self.assessed_on)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.assessed_on.isoformat()})"


# --- validation ---------------------------------------------------------------------------------


def writing_allowed() -> bool:
    """True when the server was started with ``--allow-write`` (``WORKBOOK_ALLOW_WRITE=1``)."""
    return os.environ.get(ALLOW_WRITE_ENV) == "1"


def check_name(name: object) -> str:
    """The name trimmed of surrounding spaces; a plain UserError if blank, too long or multi-line."""
    text = str(name or "").strip()
    if not text:
        raise UserError("give the assessment a name (for example 'Cabinet review 2025')")
    if len(text) > MAX_NAME_LENGTH:
        raise UserError(f"the assessment name has {len(text)} characters; use at most {MAX_NAME_LENGTH}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise UserError("the assessment name must be one line of text (no line breaks or tabs)")
    return text


def check_date(value: object, *, today: date | None = None) -> date:
    """A real date between 2000-01-01 and today; accepts a date or ``YYYY-MM-DD`` text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise UserError("choose the date of the assessment (YYYY-MM-DD)")
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise UserError(f"'{value}' is not a date; write it as YYYY-MM-DD, for example 2025-03-31") from None
    if not isinstance(value, date):
        raise UserError(f"'{value}' is not a date; write it as YYYY-MM-DD")
    today = today or date.today()
    if value > today:
        raise UserError(f"the assessment date {value.isoformat()} is in the future; use the day it was made")
    if value < EARLIEST_DATE:
        raise UserError(f"the assessment date {value.isoformat()} is before {EARLIEST_DATE.isoformat()}")
    return value


def check_assessment(fw: Framework, assessment: Assessment, *, today: date | None = None) -> Assessment:
    """A cleaned copy (trimmed name, date checked, every area present) or a plain UserError."""
    se = fw.self_evaluation
    areas = [a.id for a in se.areas]
    levels = [lvl.id for lvl in se.levels]
    for area in [*assessment.levels, *assessment.evidence]:
        if area not in areas:
            raise UserError(f"unknown performance area '{area}'; known: {allowed(areas)}")
    clean_levels: dict[str, str | None] = {}
    clean_evidence: dict[str, str] = {}
    names = {a.id: a.name for a in se.areas}
    for area in areas:
        level = assessment.levels.get(area) or None
        if level is not None and level not in levels:
            raise UserError(f"{names[area]}: unknown level '{level}'; known: {allowed(levels)}")
        text = str(assessment.evidence.get(area) or "").strip()
        if len(text) > MAX_EVIDENCE_LENGTH:
            raise UserError(
                f"{names[area]}: the evidence has {len(text)} characters; use at most {MAX_EVIDENCE_LENGTH}"
            )
        clean_levels[area] = level
        clean_evidence[area] = text
    return Assessment(
        check_name(assessment.name), check_date(assessment.assessed_on, today=today), clean_levels, clean_evidence
    )


# --- storage ------------------------------------------------------------------------------------


def _open(db: Path | str, *, read_only: bool, wait: float = LOCK_RETRY_SECONDS) -> duckdb.DuckDBPyConnection:
    """A connection, retrying briefly while another process holds a conflicting lock on the file."""
    path = Path(db)
    if not path.exists():
        raise UserError(f"{path}: no workbook database here; build it with `make run` or `python -m helpers build-db`")
    try:
        return store.connect(path, read_only=read_only, wait=wait)
    except UserError as exc:
        raise UserError(f"{exc}; try again in a moment") from None


def _read(db: Path | str, query: str, params: list) -> pd.DataFrame:
    con = _open(db, read_only=True)
    try:
        if not store.has_table(con, TABLE):
            return pd.DataFrame()
        return con.execute(query, params).df()
    finally:
        con.close()


def list_assessments(db: Path | str) -> pd.DataFrame:
    """Saved assessments, newest first: ``name, assessed_on, areas_assessed``."""
    frame = _read(
        db,
        f"SELECT name, assessed_on, count(level) AS areas_assessed FROM {TABLE} "
        "GROUP BY name, assessed_on ORDER BY assessed_on DESC, name",
        [],
    )
    if frame.empty:
        return pd.DataFrame(columns=["name", "assessed_on", "areas_assessed"])
    frame["assessed_on"] = pd.to_datetime(frame["assessed_on"]).dt.date
    frame["areas_assessed"] = frame["areas_assessed"].astype(int)
    return frame.reset_index(drop=True)


def load_assessment(db: Path | str, fw: Framework, name: str, assessed_on: date | str) -> Assessment:
    """The saved assessment with this name and date (and the revision it is at), or a UserError naming the
    ones that exist. Rows and revision are read on one connection, so they belong together."""
    day = check_date(assessed_on, today=date.max)
    con = _open(db, read_only=True)
    try:
        rows = pd.DataFrame()
        if store.has_table(con, TABLE):
            query = f"SELECT area, level, evidence FROM {TABLE} WHERE name = ? AND assessed_on = ?"
            rows = con.execute(query, [name, day]).df()
        revision = _revision(con, name, day) if not rows.empty else 0
    finally:
        con.close()
    if rows.empty:
        saved = list_assessments(db)
        known = [f"{n} ({d.isoformat()})" for n, d in zip(saved["name"], saved["assessed_on"], strict=True)]
        raise UserError(
            f"no saved assessment named '{name}' dated {day.isoformat()}; saved: {allowed(known) if known else 'none'}"
        )
    areas = {a.id for a in fw.self_evaluation.areas}
    levels = {r.area: (r.level if isinstance(r.level, str) else None) for r in rows.itertuples() if r.area in areas}
    evidence = {
        r.area: (r.evidence if isinstance(r.evidence, str) else "") for r in rows.itertuples() if r.area in areas
    }
    return Assessment(name, day, levels, evidence, revision)


def _revision(con: duckdb.DuckDBPyConnection, name: str, day: date) -> int:
    """The latest revision saved of this assessment; 0 if none (or saved before history was kept)."""
    if not store.has_table(con, HISTORY):
        return 0
    query = f"SELECT coalesce(max(revision), 0) FROM {HISTORY} WHERE name = ? AND assessed_on = ?"
    return int(con.execute(query, [name, day]).fetchone()[0])


def history(db: Path | str, name: str, assessed_on: date | str) -> pd.DataFrame:
    """Every save of one assessment, oldest first, one row per area: ``revision, saved_at, area, level,
    evidence`` (empty if it has none)."""
    day = check_date(assessed_on, today=date.max)
    con = _open(db, read_only=True)
    try:
        if not store.has_table(con, HISTORY):
            return pd.DataFrame(columns=list(HISTORY_COLUMNS))
        query = (
            f"SELECT {', '.join(HISTORY_COLUMNS)} FROM {HISTORY} WHERE name = ? AND assessed_on = ? "
            "ORDER BY revision, area"
        )
        return con.execute(query, [name, day]).df()
    finally:
        con.close()


def save_assessment(
    db: Path | str,
    fw: Framework,
    assessment: Assessment,
    *,
    editing: tuple[str, date] | None = None,
    revision: int | None = None,
    today: date | None = None,
) -> Saved:
    """Save (or, when ``editing`` is its own key, replace) an assessment and add the save to its history.

    ``revision`` is the revision the edited assessment was opened at (``Assessment.revision``): if someone
    has saved it since, the save is refused and the message says to open it again. Also refused with a
    UserError when writing is not enabled, when the name or date is invalid, or when another assessment
    already has this name and date (unless it is the one being edited).
    """
    if not writing_allowed():
        raise UserError(
            "saving is switched off: this dashboard server was started without --allow-write, so the form is read-only"
        )
    clean = check_assessment(fw, assessment, today=today)
    found, saved = _retrying(db, lambda con: _write(con, fw, clean, editing, revision))
    assessed = sum(level is not None for level in clean.levels.values())
    verb = "Updated" if found else "Saved"
    areas = len(fw.self_evaluation.areas)
    message = f"{verb} '{clean.name}' dated {clean.assessed_on.isoformat()}: {assessed} of {areas} areas assessed."
    return Saved(message, clean.key, saved)


def _write(
    con: duckdb.DuckDBPyConnection,
    fw: Framework,
    clean: Assessment,
    editing: tuple[str, date] | None,
    revision: int | None,
) -> tuple[bool, int]:
    """Compare and set, in one transaction: (whether it replaced a saved assessment, the revision written)."""
    key = [clean.name, clean.assessed_on]
    store.ensure_schema(con, fw)
    with store.transaction(con):
        found = con.execute(f"SELECT count(*) FROM {TABLE} WHERE name = ? AND assessed_on = ?", key).fetchone()[0]
        if found and editing != clean.key:
            raise UserError(
                f"an assessment named '{clean.name}' dated {clean.assessed_on.isoformat()} already exists; "
                "open it to edit it, or choose another name or date"
            )
        latest = _revision(con, *key)
        if found and revision is not None and latest != revision:
            raise UserError(
                f"someone else saved '{clean.name}' dated {clean.assessed_on.isoformat()} after you opened it, "
                "so your changes were not saved; open it again (reload it) to see theirs, then make your changes again"
            )
        saved_at = datetime.now(UTC).replace(tzinfo=None)
        areas = [a.id for a in fw.self_evaluation.areas]
        rows = [(*key, a, clean.levels[a], clean.evidence[a] or None) for a in areas]
        con.execute(f"DELETE FROM {TABLE} WHERE name = ? AND assessed_on = ?", key)
        con.executemany(f"INSERT INTO {TABLE} (name, assessed_on, area, level, evidence) VALUES (?, ?, ?, ?, ?)", rows)
        con.executemany(
            f"INSERT INTO {HISTORY} (name, assessed_on, revision, saved_at, area, level, evidence) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*key, latest + 1, saved_at, *row[2:]) for row in rows],
        )
    return bool(found), latest + 1


def _retrying(db: Path | str, write):
    """``write(con)`` on a fresh read-write connection, retried with a short, growing, random pause while
    another process holds the file or DuckDB reports a write-write conflict; then a plain message."""
    deadline = time.monotonic() + SAVE_RETRY_SECONDS
    pause = 0.02
    while True:
        con = _open(db, read_only=False, wait=max(0.0, deadline - time.monotonic()))
        try:
            return write(con)
        except (duckdb.TransactionException, duckdb.IOException) as exc:
            if isinstance(exc, duckdb.IOException) and not store.is_locked(exc):
                raise UserError(f"{db}: could not save ({exc}); nothing was saved") from None
            if time.monotonic() >= deadline:
                raise UserError(BUSY) from None
        finally:
            con.close()
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 0.5)


# --- scores, roll-up and comparison -------------------------------------------------------------


def level_scores(fw: Framework) -> dict[str, int]:
    """Level id -> score: 1 for the first level (Aspiring) up to 4 (Leading)."""
    return {lvl.id: n for n, lvl in enumerate(fw.self_evaluation.levels, start=1)}


def area_levels(fw: Framework, assessment: Assessment) -> pd.DataFrame:
    """One row per performance area (framework order): ``area, area_name, level, level_name, score``."""
    scores = level_scores(fw)
    names = {lvl.id: lvl.name for lvl in fw.self_evaluation.levels}
    rows = []
    for area in fw.self_evaluation.areas:
        level = assessment.levels.get(area.id) or None
        rows.append(
            (area.id, area.name, level, names.get(level, "not assessed"), float(scores[level]) if level else None)
        )
    out = pd.DataFrame(rows, columns=list(AREA_COLUMNS))
    out["score"] = out["score"].astype(float)
    return out


def roll_up(fw: Framework, assessment: Assessment) -> pd.DataFrame:
    """One row per ideal: ``ideal, ideal_name, areas, assessed, score`` (the rule is in the module docstring)."""
    levels = area_levels(fw, assessment).set_index("area")["score"]
    rows = []
    for ideal in fw.ideals:
        serving = [a.id for a in fw.self_evaluation.areas if ideal.id in a.ideals]
        scores = levels.reindex(serving).dropna()
        rows.append((ideal.id, ideal.name, len(serving), len(scores), float(scores.mean()) if len(scores) else None))
    out = pd.DataFrame(rows, columns=list(ROLL_UP_COLUMNS))
    out["score"] = out["score"].astype(float)
    return out


def compare_areas(fw: Framework, first: Assessment, second: Assessment) -> pd.DataFrame:
    """Per area: both levels, both scores and ``change`` = second - first (blank if either is not assessed)."""
    return _side_by_side(
        area_levels(fw, first),
        area_levels(fw, second),
        ["area", "area_name"],
        {"level": "level_name", "score": "score"},
        COMPARE_AREA_COLUMNS,
    )


def compare_ideals(fw: Framework, first: Assessment, second: Assessment) -> pd.DataFrame:
    """Per ideal: both roll-up scores (with the areas assessed) and ``change`` = second - first."""
    return _side_by_side(
        roll_up(fw, first),
        roll_up(fw, second),
        ["ideal", "ideal_name", "areas"],
        {"assessed": "assessed", "score": "score"},
        COMPARE_IDEAL_COLUMNS,
    )


def _side_by_side(a: pd.DataFrame, b: pd.DataFrame, same: list[str], paired: dict[str, str], columns) -> pd.DataFrame:
    """Two tables with the same rows, side by side: the ``same`` columns from ``a``; for each ``paired``
    name, its column from ``a`` as ``first_<name>`` and from ``b`` as ``second_<name>``; ``change`` = b's
    score - a's. In the order of ``columns``."""
    out = {c: a[c] for c in same}
    for name, column in paired.items():
        out[f"first_{name}"] = a[column]
        out[f"second_{name}"] = b[column]
    out["change"] = b["score"] - a["score"]
    return pd.DataFrame(out)[list(columns)]
