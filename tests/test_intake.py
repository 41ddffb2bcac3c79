"""Import: files load whole, counts round-trip, mistakes are refused with row, column and expectation."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from helpers import paths
from helpers.cli import main
from helpers.errors import UserError
from helpers.intake import build_database, import_file


def _count(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_round_trip_counts(sample_db):
    for kind in ("areas", "population", "survey", "indicators", "stories", "sentiment"):
        expected = len(pd.read_csv(paths.SAMPLE / f"{kind}.csv", dtype=str))
        assert _count(sample_db, f"SELECT count(*) FROM {kind}")[0][0] == expected, kind
    survey = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str)
    expected = survey.groupby(["neighbourhood", "wave"]).size().to_dict()
    got = dict(
        ((h, w), n) for h, w, n in _count(sample_db, "SELECT neighbourhood, wave, count(*) FROM survey GROUP BY ALL")
    )
    assert got == expected


def test_answers_stored_as_codes_and_blanks_as_null(sample_db):
    raw = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    first = raw.iloc[0]
    row = _count(sample_db, f"SELECT s01, s06, age FROM survey WHERE respondent_id = '{first.respondent_id}'")[0]
    expect = tuple(None if first[c] == "" else int(first[c]) for c in ("s01", "s06", "age"))
    assert row == expect


def _db_with_areas(tmp_path, fw):
    db = tmp_path / "w.duckdb"
    import_file("areas", paths.SAMPLE / "areas.csv", fw, db)
    import_file("population", paths.SAMPLE / "population.csv", fw, db)
    return db


def test_labels_accepted_as_well_as_codes(tmp_path, fw):
    db = _db_with_areas(tmp_path, fw)
    raw = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False).head(3)
    raw.loc[0, "s01"] = "Strongly agree"
    raw.loc[0, "general_health"] = "very good"
    raw.loc[0, "gender"] = "Prefer not to say"
    raw.columns = [c.upper() if c == "s02" else c for c in raw.columns]  # header case does not matter
    path = tmp_path / "labels.csv"
    raw.to_csv(path, index=False)
    import_file("survey", path, fw, db)
    row = _count(
        db, f"SELECT s01, general_health, gender FROM survey WHERE respondent_id = '{raw.loc[0, 'respondent_id']}'"
    )
    assert row == [(5, 1, "prefer_not")]


def test_bad_rows_refuse_the_whole_file_and_list_each_problem(tmp_path, fw):
    db = _db_with_areas(tmp_path, fw)
    raw = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False).head(20)
    raw.loc[3, "s05"] = "7"  # spreadsheet row 5
    raw.loc[10, "wave"] = "18m"  # spreadsheet row 12
    path = tmp_path / "bad.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(UserError, match="2 of 20 rows are not valid, so nothing was loaded"):
        import_file("survey", path, fw, db)
    assert _count(db, "SELECT count(*) FROM survey")[0][0] == 0
    rejects = pd.read_csv(tmp_path / "bad.rejects.csv")
    assert rejects[["row", "column", "value"]].values.tolist() == [[5, "s05", "7"], [12, "wave", "18m"]]
    assert "1-5" in rejects.loc[0, "expected"]


def test_structural_problems_one_plain_line(tmp_path, fw, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["import", "survey", str(empty), "--db", str(tmp_path / "x.duckdb")]) == 2
    assert "the file is empty" in capsys.readouterr().err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("neighbourhood,name,project,role,colour\noakfield,Oakfield,working-xtra,pilot,red\n")
    assert main(["import", "areas", str(wrong), "--db", str(tmp_path / "x.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "unknown column(s) colour" in err and "Traceback" not in err


def test_same_file_twice_adds_nothing(tmp_path, fw):
    db = _db_with_areas(tmp_path, fw)
    again = import_file("areas", paths.SAMPLE / "areas.csv", fw, db)
    assert again.status == "unchanged"
    assert _count(db, "SELECT count(*) FROM areas")[0][0] == len(pd.read_csv(paths.SAMPLE / "areas.csv"))


def test_build_database_refuses_to_overwrite(tmp_path, fw):
    db = tmp_path / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    with pytest.raises(UserError, match="already exists"):
        build_database(paths.SAMPLE, fw, db)
