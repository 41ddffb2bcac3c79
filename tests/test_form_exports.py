"""KoboToolbox and ODK Central exports of the XLSForm import as they come, keeping the intake's guarantees."""

from __future__ import annotations

import uuid

import duckdb
import pandas as pd
import pytest

from helpers.config import paths
from helpers.config.errors import UserError
from helpers.config.safe_output import write_xlsx_atomic
from helpers.store.intake import import_file
from helpers.surfaces.cli import main

GROUPS = {
    "neighbourhood": "admin",
    "wave": "admin",
    "mode": "admin",
    "general_health": "wellbeing",
    "happiness": "wellbeing",
    "years_lived": "years",
    "years_expect": "years",
    "ethnicity": "about_you",
    "gender": "about_you",
    "age": "about_you",
}


def _group(column: str) -> str:
    if column[0] == "s" and column[1:].isdigit():
        return "statements"
    return "household" if column.startswith("hh_") else GROUPS[column]


def _sample(n: int, hood: str = "oakfield", wave: str = "6m") -> pd.DataFrame:
    s = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    return s[(s.neighbourhood == hood) & (s.wave == wave)].head(n).reset_index(drop=True)


def _uuid(i: int) -> str:
    return str(uuid.UUID(int=i + 1))


def kobo(rows: pd.DataFrame, start: int = 0) -> pd.DataFrame:
    """A KoboToolbox export: start/end first, group/question columns, then its metadata columns."""
    out = pd.DataFrame(
        {"start": "2026-03-01T10:00:00.000+00:00", "end": "2026-03-01T10:09:00.000+00:00"}, index=rows.index
    )
    for c in rows.columns:
        if c != "respondent_id":
            out[f"{_group(c)}/{c}"] = rows[c]
    ids = [_uuid(start + i) for i in range(len(rows))]
    out["meta/instanceID"] = ["uuid:" + i for i in ids]
    out["_id"] = [str(5000 + start + i) for i in range(len(rows))]
    out["_uuid"] = ids
    out["_submission_time"] = "2026-03-01T10:10:00"
    out["_validation_status"] = ""
    out["_notes"] = ""
    out["_status"] = "submitted_via_web"
    out["_submitted_by"] = ""
    out["__version__"] = "vabc123"
    out["_tags"] = ""
    out["_index"] = [str(i + 1) for i in range(len(rows))]
    return out


def odk_central(rows: pd.DataFrame, start: int = 0) -> pd.DataFrame:
    """An ODK Central CSV export: SubmissionDate first, group-question columns, meta-instanceID, KEY and the rest."""
    out = pd.DataFrame({"SubmissionDate": "2026-03-01T10:10:00.000Z"}, index=rows.index)
    for c in rows.columns:
        if c != "respondent_id":
            out[f"{_group(c)}-{c}"] = rows[c]
    ids = ["uuid:" + _uuid(start + i) for i in range(len(rows))]
    out["meta-instanceID"] = ids
    out["KEY"] = ids
    out["SubmitterID"] = "7"
    out["SubmitterName"] = "tablet-3"
    out["AttachmentsPresent"] = "0"
    out["AttachmentsExpected"] = "0"
    out["Status"] = ""
    out["ReviewState"] = ""
    out["DeviceID"] = "collect:abc"
    out["Edits"] = "0"
    out["FormVersion"] = "8a722761ff"
    return out


@pytest.fixture
def db(tmp_path, fw):
    db = tmp_path / "w.duckdb"
    import_file("areas", paths.SAMPLE / "areas.csv", fw, db)
    import_file("population", paths.SAMPLE / "population.csv", fw, db)
    return db


def _rows(db, where: str = "") -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM survey {where} ORDER BY respondent_id").df()
    finally:
        con.close()


def test_kobo_csv_export_loads_with_submission_ids(db, fw, tmp_path):
    rows = _sample(15)
    path = tmp_path / "kobo.csv"
    kobo(rows).to_csv(path, sep=";", index=False)  # KoboToolbox's default CSV: semicolons
    result = import_file("survey", path, fw, db)
    assert result.rows == 15 and "KoboToolbox export" in result.message and "_uuid" in result.message
    stored = _rows(db)
    assert sorted(stored["respondent_id"]) == sorted(_uuid(i) for i in range(15))
    first = stored.set_index("respondent_id").loc[_uuid(0)]
    assert int(first["s01"]) == int(rows.loc[0, "s01"]) and first["neighbourhood"] == "oakfield"
    assert first["wave"] == "6m" and int(first["age"]) == int(rows.loc[0, "age"])


def test_odk_central_export_and_rejected_submissions(db, fw, tmp_path):
    export = odk_central(_sample(10))
    export.loc[3, "ReviewState"] = "rejected"
    path = tmp_path / "central.csv"
    export.to_csv(path, index=False)
    result = import_file("survey", path, fw, db)
    assert result.rows == 9 and "ODK Central export" in result.message and "1 submissions rejected" in result.message
    ids = set(_rows(db)["respondent_id"])
    assert _uuid(0) in ids and _uuid(3) not in ids  # "uuid:" taken off: the same id as KoboToolbox gives


def test_labels_export_as_xlsx_with_names(db, fw, tmp_path):
    """KoboToolbox's "labels" export: printed labels for answers and the neighbourhood's name."""
    rows = _sample(6)
    export = kobo(rows)
    agree = {str(c.code): c.label for c in fw.instrument.statements.scale}
    for c in [c for c in export.columns if c.startswith("statements/")]:
        export[c] = export[c].map(lambda v: agree.get(v, v))
    export["admin/neighbourhood"] = "Oakfield"
    export["admin/wave"] = "6 months"
    path = tmp_path / "labels.xlsx"
    write_xlsx_atomic(export, path)
    assert import_file("survey", path, fw, db).rows == 6
    stored = _rows(db)
    assert set(stored["neighbourhood"]) == {"oakfield"} and set(stored["wave"]) == {"6m"}
    assert int(stored.set_index("respondent_id").loc[_uuid(0), "s02"]) == int(rows.loc[0, "s02"])


def test_a_later_export_adds_only_the_new_submissions(db, fw, tmp_path):
    rows = _sample(20)
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    kobo(rows.head(12)).to_csv(first, sep=";", index=False)
    kobo(rows).to_csv(later, sep=";", index=False)
    assert import_file("survey", first, fw, db).rows == 12
    again = import_file("survey", first, fw, db)
    assert again.status == "unchanged" and again.rows == 0  # the same export: nothing added
    result = import_file("survey", later, fw, db)
    assert result.rows == 8 and "12 submissions already loaded skipped" in result.message
    assert len(_rows(db)) == 20
    assert import_file("survey", later, fw, db).status == "unchanged"
    # the earlier export again: nothing new, and the 8 it lacks are kept (--replace would remove them)
    older = import_file("survey", first, fw, db)
    assert older.status == "unchanged" and len(_rows(db)) == 20


def test_an_edited_submission_is_refused_unless_replace(db, fw, tmp_path):
    rows = _sample(10)
    kobo(rows).to_csv(tmp_path / "a.csv", sep=";", index=False)
    import_file("survey", tmp_path / "a.csv", fw, db)
    edited = kobo(rows)
    edited.loc[4, "statements/s03"] = "1" if rows.loc[4, "s03"] != "1" else "2"
    edited = pd.concat([edited, kobo(_sample(12).tail(2), start=10)])
    edited.to_csv(tmp_path / "b.csv", sep=";", index=False)
    with pytest.raises(UserError, match=r"row 6: submission .* \(s03 differ\).*--replace"):
        import_file("survey", tmp_path / "b.csv", fw, db)
    assert len(_rows(db)) == 10  # nothing loaded
    result = import_file("survey", tmp_path / "b.csv", fw, db, replace=True)
    assert result.rows == 3 and "1 edited submissions updated" in result.message
    stored = _rows(db).set_index("respondent_id")
    assert len(stored) == 12 and str(stored.loc[_uuid(4), "s03"]) == edited.iloc[4]["statements/s03"]


def test_replace_makes_the_database_match_the_export(db, fw, tmp_path):
    rows = _sample(10)
    kobo(rows).to_csv(tmp_path / "all.csv", sep=";", index=False)
    kobo(rows.head(7)).to_csv(tmp_path / "fewer.csv", sep=";", index=False)
    import_file("survey", tmp_path / "all.csv", fw, db)
    kept = import_file("survey", tmp_path / "fewer.csv", fw, db)
    assert "3 submissions loaded from an earlier export are not in this one and were kept" in kept.message
    assert len(_rows(db)) == 10
    removed = import_file("survey", tmp_path / "fewer.csv", fw, db, replace=True)
    assert "3 submissions no longer in the export removed" in removed.message
    assert len(_rows(db)) == 7


def test_paper_and_online_streams_share_a_neighbourhood_and_wave(db, fw, tmp_path):
    paper = _sample(30).tail(10).copy()  # keyed from paper: their own respondent ids
    paper.to_csv(tmp_path / "paper.csv", index=False)
    kobo(_sample(5)).to_csv(tmp_path / "online.csv", sep=";", index=False)
    import_file("survey", tmp_path / "paper.csv", fw, db)
    assert import_file("survey", tmp_path / "online.csv", fw, db).rows == 5  # no clash with the paper file
    corrected = paper.copy()
    corrected.loc[corrected.index[0], "s01"] = "5"
    corrected.to_csv(tmp_path / "paper2.csv", index=False)
    with pytest.raises(UserError, match="already loaded from another file"):
        import_file("survey", tmp_path / "paper2.csv", fw, db)  # paper vs paper: the usual rule
    import_file("survey", tmp_path / "paper2.csv", fw, db, replace=True)
    assert len(_rows(db)) == 15  # --replace swapped the paper rows only; the online ones stay
    clash = kobo(_sample(5))
    clash["_uuid"] = paper["respondent_id"].head(5).to_numpy()  # a submission id equal to a paper id
    clash.to_csv(tmp_path / "clash.csv", sep=";", index=False)
    with pytest.raises(UserError, match="not a form export, so the same id cannot be a submission too"):
        import_file("survey", tmp_path / "clash.csv", fw, db)


def test_bad_exports_name_the_file_row_and_column(db, fw, tmp_path, capsys):
    export = kobo(_sample(5))
    export.loc[2, "wellbeing/happiness"] = "11"
    path = tmp_path / "bad.csv"
    export.to_csv(path, sep=";", index=False)
    assert main(["import", "survey", str(path), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "row 4, column happiness: got '11', expected a whole number from 0 to 10" in err and "Traceback" not in err
    rejects = pd.read_csv(tmp_path / "bad.rejects.csv")
    assert list(rejects[["row", "column"]].itertuples(index=False, name=None)) == [(4, "happiness")]
    assert _rows(db).empty

    unknown = kobo(_sample(3)).assign(**{"extra/q99": "x"})
    unknown.to_csv(path, sep=";", index=False)
    assert main(["import", "survey", str(path), "--db", str(db)]) == 2
    assert "unknown column(s) extra/q99 (column" in capsys.readouterr().err

    twice = kobo(_sample(3))
    twice["other/s01"] = twice["statements/s01"]
    twice.to_csv(path, sep=";", index=False)
    assert main(["import", "survey", str(path), "--db", str(db)]) == 2
    assert "are both the question s01" in capsys.readouterr().err

    no_id = kobo(_sample(3)).drop(columns=["_uuid", "_id", "meta/instanceID"])
    no_id.to_csv(path, sep=";", index=False)
    assert main(["import", "survey", str(path), "--db", str(db)]) == 2
    assert "no submission id column" in capsys.readouterr().err

    central = odk_central(_sample(3))
    central.loc[1, "admin-neighbourhood"] = "atlantis"
    central.to_csv(path, index=False)
    assert main(["import", "survey", str(path), "--db", str(db)]) == 2
    assert "row 3, column neighbourhood: got 'atlantis'" in capsys.readouterr().err
    assert _rows(db).empty
