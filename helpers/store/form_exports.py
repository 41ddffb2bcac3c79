"""Survey exports from KoboToolbox and ODK Central, imported as they come: ``python -m helpers import survey EXPORT``.

The form is ``python -m helpers template xlsform`` (:mod:`helpers.store.xlsform`). Its exports differ from a
survey file in three ways, which :func:`recognise` undoes before the intake's usual checks run:

- **Column names** carry the form's groups: ``statements/s01`` (KoboToolbox), ``statements-s01`` (ODK
  Central), or none (KoboToolbox without "include groups in headers"). The last part is the survey file's
  column; a header that is nothing of the form's is still refused as unknown, naming its column letter.
- **Metadata columns**: KoboToolbox's ``_id``, ``_uuid``, ``_submission_time``, ``_index``, ``_status``,
  ``_validation_status``, ``_submitted_by``, ``__version__``, ``start``, ``end``, ``today``, ``deviceid``,
  ``meta/instanceID``, ``formhub/uuid``...; ODK Central's ``SubmissionDate``, ``KEY``, ``meta-instanceID``,
  ``SubmitterID``, ``SubmitterName``, ``AttachmentsPresent``, ``AttachmentsExpected``, ``Status``,
  ``ReviewState``, ``DeviceID``, ``Edits``, ``FormVersion``. They are recognised (any one marks the file as an
  export) and left out. Submissions a reviewer rejected (ODK Central ``ReviewState`` rejected, KoboToolbox
  ``_validation_status`` not approved) are left out too, and the message says how many.
- **No respondent id**: the submission's id is the respondent id (KoboToolbox ``meta/rootUuid``, else
  ``_uuid``; ODK Central ``KEY``; else ``meta/instanceID``, else ``_id``), without its ``uuid:`` prefix, so
  the same submission has the same id in every export of it.

Answers may be the choice names (the intake's codes) or the labels (KoboToolbox "labels" exports), as in
any survey file; a neighbourhood given by its name (a labels export) is read as its id.

**A later export adds only the new submissions.** An export is a growing file: each download holds every
submission so far. So an export never clashes with data already loaded the way a second survey file for
the same neighbourhood x wave does (``--replace`` needed); instead (:func:`merge`):

- submissions already loaded from an earlier export, with the same answers, are skipped; the new ones
  are added, as one import (batch), in one transaction. Re-importing the same export adds nothing.
- a submission already loaded with *different* answers (edited on the server after the earlier export)
  refuses the whole file, naming its row and the columns that changed, unless ``--replace``, which takes
  this export's answers.
- submissions loaded from an earlier export but missing from this one (deleted on the server, or a
  filtered download) are kept, and the message says how many; ``--replace`` removes them, so the
  neighbourhood x waves of this export then hold exactly its submissions.
- rows from survey files that are not exports (paper questionnaires keyed into ``template survey-entry``)
  are a separate stream: an export never replaces them and they never block it (a mixed-mode wave loads
  both); only a submission id equal to such a row's respondent id, in the same neighbourhood and wave, is
  refused. Likewise a survey file's ``--replace`` swaps only the rows of other survey files.

Which imports were exports is recorded in the ``form_exports`` table (``export_batch``: the import's batch
id; ``tool``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import duckdb
import pandas as pd

from ..config.errors import UserError
from .kinds import Kind
from .reading import RawFile

TABLE = "form_exports"
KOBO_METADATA = {
    "_id",
    "_uuid",
    "_submission_time",
    "_index",
    "_status",
    "_validation_status",
    "_submitted_by",
    "_notes",
    "_tags",
    "_attachments",
    "_geolocation",
    "_xform_id_string",
    "_parent_table_name",
    "_parent_index",
    "__version__",
    "_version_",
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "simserial",
    "subscriberid",
    "phonenumber",
    "audit",
}
ODK_CENTRAL_METADATA = {
    "submissiondate",
    "key",
    "submitterid",
    "submittername",
    "attachmentspresent",
    "attachmentsexpected",
    "status",
    "reviewstate",
    "deviceid",
    "edits",
    "formversion",
}
META_GROUPS = ("meta", "formhub")  # meta/instanceID, meta-instanceID, formhub/uuid, ...
METADATA = KOBO_METADATA | ODK_CENTRAL_METADATA
MARKERS = {"_id", "_uuid", "_submission_time", "_index", "_status", "submissiondate", "key"}
SUBMISSION_IDS = ("meta/rootuuid", "meta-rootuuid", "_uuid", "key", "meta/instanceid", "meta-instanceid", "_id")
NOT_DATA = ("intro", "thanks")  # the form's notes (helpers.store.xlsform.NOTE_NAMES)
REJECTED = {"reviewstate": ("rejected",), "_validation_status": ("validation_status_not_approved", "not approved")}


@dataclass
class FormExport:
    """An export recognised: the tool, the column the respondent ids came from, and the file as a survey file."""

    tool: str
    id_column: str
    raw: RawFile
    left_out: int = 0  # submissions a reviewer rejected

    @property
    def note(self) -> str:
        rejected = f"; {self.left_out} submissions rejected in review left out" if self.left_out else ""
        return f"a {self.tool} export: respondent ids from {self.id_column}{rejected}"


def _is_metadata(header: str) -> bool:
    if header in KOBO_METADATA or header in ODK_CENTRAL_METADATA:
        return True
    first = re.split(r"[/-]", header, maxsplit=1)[0]
    return first in META_GROUPS and first != header


def _marked(headers: list[str]) -> bool:
    return any(h in MARKERS or (_is_metadata(h) and h.startswith(META_GROUPS)) for h in headers)


def _tool(headers: list[str]) -> str:
    if "submissiondate" in headers or "key" in headers or any(h.startswith("meta-") for h in headers):
        return "ODK Central"
    return "KoboToolbox"


def recognise(raw: RawFile, spec: Kind) -> FormExport | None:
    """The file as a survey file if it is a KoboToolbox or ODK Central export of the form, else None."""
    headers = list(raw.frame.columns)
    if spec.name != "survey" or not _marked(headers):
        return None
    known = set(spec.names)
    frame, letters, origin = raw.frame, {}, {}
    keep = {}
    for h in headers:
        if _is_metadata(h) and h not in known:
            continue
        target = h if h in known else re.split(r"[/-]", h)[-1]
        if target in NOT_DATA:
            continue
        if target not in known:
            target = h  # not the form's: the intake refuses it as an unknown column, with its letter
        if target in keep:
            raise UserError(
                f"{raw.name}: columns {origin[target]} (column {raw.letters[origin[target]]}) and {h} (column "
                f"{raw.letters[h]}) are both the question {target}; export the form once, without repeated groups"
            )
        keep[target], origin[target], letters[target] = frame[h], h, raw.letters[h]
    id_column = next((c for c in SUBMISSION_IDS if c in headers), None)
    if "respondent_id" not in keep:
        if id_column is None:
            raise UserError(
                f"{raw.name}: looks like a form export (it has {', '.join(h for h in headers if _is_metadata(h))}) "
                "but has no submission id column (_uuid, KEY, meta/instanceID or _id) to use as the respondent id; "
                "export it again with all the metadata columns"
            )
        keep["respondent_id"] = frame[id_column].astype(str).str.strip().str.replace(r"^uuid:", "", regex=True)
        letters["respondent_id"] = raw.letters[id_column]
    else:
        id_column = origin["respondent_id"]
    out = pd.DataFrame(keep, index=frame.index)
    rejected = pd.Series(False, index=frame.index)
    for column, values in REJECTED.items():
        if column in headers:
            rejected |= frame[column].astype(str).str.strip().str.lower().isin(values)
    out = out.loc[~rejected]
    normalised = replace(raw, frame=out, letters=letters)
    return FormExport(_tool(headers), id_column, normalised, int(rejected.sum()))


def read_names(export: FormExport, con: duckdb.DuckDBPyConnection | None) -> None:
    """A neighbourhood given by its name in the areas table (a labels export) is read as its id."""
    if con is None or "neighbourhood" not in export.raw.frame:
        return
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'areas'").fetchone()[0]
    if not found:
        return
    names = {
        str(n).strip().lower(): h for h, n in con.execute("SELECT DISTINCT neighbourhood, name FROM areas").fetchall()
    }
    export.raw.frame["neighbourhood"] = _ids_for_names(export.raw.frame["neighbourhood"], names)


def _ids_for_names(hoods: pd.Series, names: dict[str, str]) -> pd.Series:
    """A neighbourhood given by its name (a labels export) as its id; ids and anything else unchanged."""
    ids = set(names.values())
    folded = hoods.astype(str).str.strip()
    mapped = folded.str.lower().map(names)
    use = mapped.notna() & ~folded.isin(ids)
    return hoods.where(~use, mapped)


# --- loading: add the new submissions ---------------------------------------------------------------------


@dataclass
class Merge:
    """What an export adds to the database (:func:`merge`)."""

    new: int  # submissions to insert (new, or edited and replaced)
    unchanged: int  # already loaded with the same answers
    edited: int  # already loaded with other answers, replaced (only with --replace)
    missing: int  # loaded from earlier exports of these neighbourhood x waves but not in this one
    removed: bool  # the missing ones were deleted (--replace)

    @property
    def described(self) -> str:
        parts = []
        if self.edited:
            parts.append(f"{self.edited} edited submissions updated")
        if self.missing and self.removed:
            parts.append(f"{self.missing} submissions no longer in the export removed")
        return "; ".join(parts)

    @property
    def kept_note(self) -> str:
        if not self.missing or self.removed:
            return ""
        return (
            f"{self.missing} submissions loaded from an earlier export are not in this one and were kept "
            "(--replace removes them)"
        )

    @property
    def note(self) -> str:
        skipped = f"{self.unchanged} submissions already loaded skipped" if self.unchanged else ""
        return "; ".join(p for p in (skipped, self.kept_note) if p)


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (export_batch INTEGER PRIMARY KEY, tool VARCHAR NOT NULL)")


def not_export_rows(con: duckdb.DuckDBPyConnection, alias: str = "t") -> str:
    """SQL (``AND ...``) keeping only rows that did not come from a form export (empty if none ever did)."""
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]).fetchone()
    return f" AND {alias}.batch_id NOT IN (SELECT export_batch FROM {TABLE})" if found and found[0] else ""


def _shown(rows: list[tuple], what) -> str:
    shown = "; ".join(what(r) for r in rows[:5])
    return shown + (f"; and {len(rows) - 5} more" if len(rows) > 5 else "")


def merge(con: duckdb.DuckDBPyConnection, spec: Kind, name: str, replace: bool) -> Merge:
    """Inside the import's transaction, with the export's rows registered as ``incoming`` (with ``_row``, the
    spreadsheet row): refuse clashes, delete what ``replace`` replaces, and say what to insert: the rows of
    ``incoming`` for which :data:`NEW_ROWS` holds."""
    ensure_table(con)
    clash = con.execute(
        f"""SELECT i._row, i.respondent_id, i.neighbourhood, i.wave, m.file_name FROM incoming i
            JOIN {spec.table} s USING (respondent_id, neighbourhood, wave) JOIN imports m ON m.batch_id = s.batch_id
            WHERE s.batch_id NOT IN (SELECT export_batch FROM {TABLE}) ORDER BY i._row"""
    ).fetchall()
    if clash:
        raise UserError(
            f"{name}: "
            + _shown(
                clash, lambda r: f"row {r[0]}: respondent id {r[1]} ({r[2]} / {r[3]}) is already loaded from {r[4]}"
            )
            + "; that file is not a form export, so the same id cannot be a submission too. Nothing was loaded."
        )
    types = spec.table_columns
    changed = ", ".join(
        f"""CASE WHEN s."{c}" IS DISTINCT FROM CAST(i."{c}" AS {t}) THEN '{c}' END""" for c, t in types.items()
    )
    earlier = con.execute(
        f"""SELECT i._row, i.respondent_id, m.file_name, s.batch_id,
                   list_filter([{changed}], lambda x: x IS NOT NULL) AS changed
            FROM incoming i JOIN {spec.table} s ON s.respondent_id = i.respondent_id
            JOIN {TABLE} f ON f.export_batch = s.batch_id JOIN imports m ON m.batch_id = s.batch_id ORDER BY i._row"""
    ).fetchall()
    edited = [r for r in earlier if r[4]]
    if edited and not replace:
        raise UserError(
            f"{name}: "
            + _shown(
                edited,
                lambda r: (
                    f"row {r[0]}: submission {r[1]} was loaded from {r[2]} (batch {r[3]}) with other answers "
                    f"({', '.join(r[4])} differ)"
                ),
            )
            + ". It was edited after that export. Nothing was loaded; use --replace to take this export's answers."
        )
    in_scope = f"""FROM {spec.table} s JOIN {TABLE} f ON f.export_batch = s.batch_id
        WHERE EXISTS (SELECT 1 FROM incoming i WHERE i.neighbourhood = s.neighbourhood AND i.wave = s.wave)
        AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.respondent_id = s.respondent_id)"""
    missing = con.execute(f"SELECT count(*) {in_scope}").fetchone()[0]
    if replace:
        con.execute(
            f"""DELETE FROM {spec.table} t WHERE t.batch_id IN (SELECT export_batch FROM {TABLE}) AND (
                EXISTS (SELECT 1 FROM incoming i WHERE i.neighbourhood = t.neighbourhood AND i.wave = t.wave
                        AND NOT EXISTS (SELECT 1 FROM incoming j WHERE j.respondent_id = t.respondent_id))
                OR t.respondent_id IN ({", ".join("?" * len(edited)) or "NULL"}))""",
            [r[1] for r in edited],
        )
    new = con.execute(f"SELECT count(*) FROM incoming i WHERE {NEW_ROWS}").fetchone()[0]
    return Merge(int(new), len(earlier) - len(edited), len(edited), int(missing), replace and missing > 0)


NEW_ROWS = f"""NOT EXISTS (SELECT 1 FROM survey s JOIN {TABLE} f ON f.export_batch = s.batch_id
    WHERE s.respondent_id = i.respondent_id)"""
"""The condition (on ``incoming i``) for a row :func:`merge` leaves to insert: no export row has its id."""


def record(con: duckdb.DuckDBPyConnection, batch: int, tool: str) -> None:
    con.execute(f"INSERT INTO {TABLE} (export_batch, tool) VALUES (?, ?)", [batch, tool])
