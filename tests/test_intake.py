"""Import: files load whole, counts round-trip, mistakes are refused with row, column and expectation."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from helpers.config import paths
from helpers.config.errors import UserError
from helpers.config.safe_output import write_csv_atomic, write_xlsx_atomic
from helpers.store.intake import PAUSE_ENV, Column, build_database, import_file, parse_column, status
from helpers.surfaces.cli import main


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


# --- transactions, idempotence, --replace, status ----------------------------------------------


def _tables(db) -> dict[str, int]:
    names = ("areas", "population", "survey", "indicators", "stories", "sentiment", "imports")
    return {t: _count(db, f"SELECT count(*) FROM {t}")[0][0] for t in names}


def _survey_copies(tmp_path, copies: int, name: str = "big.csv") -> Path:
    """The sample survey repeated with fresh respondent ids: same neighbourhoods and waves, more rows."""
    raw = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    parts = [raw.assign(respondent_id=raw["respondent_id"] + f"-c{i}") for i in range(copies)]
    path = tmp_path / name
    pd.concat(parts).to_csv(path, index=False)
    return path


def test_killed_import_leaves_the_database_as_it_was(tmp_path, fw):
    """kill -9 inside the transaction (a --replace of every survey row): nothing changes, the file opens."""
    db = _db_with_areas(tmp_path, fw)
    import_file("survey", paths.SAMPLE / "survey.csv", fw, db)
    before = _tables(db)
    big = _survey_copies(tmp_path, 26)  # ~133,000 rows: more than a DuckDB row group, so blocks hit the disk
    env = {k: v for k, v in os.environ.items() if k != "WORKBOOK_DB"}  # see the report: cli --help and $WORKBOOK_DB
    env[PAUSE_ENV] = "120"
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers", "import", "survey", str(big), "--db", str(db), "--replace"],
        cwd=paths.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 90)
        line = proc.stderr.readline() if ready else ""
        if "paused inside the import transaction" not in line:
            proc.wait(timeout=60)
            pytest.fail(f"the import did not reach the test hook: {line}{proc.stderr.read()}")
        proc.kill()  # SIGKILL: no clean-up runs
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _tables(db) == before
    status = subprocess.run(
        [sys.executable, "-m", "helpers", "status", "--db", str(db)],
        cwd=paths.ROOT,
        env={k: v for k, v in env.items() if k != PAUSE_ENV},
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0 and "Traceback" not in status.stderr
    result = import_file("survey", big, fw, db, replace=True)  # and the database still takes an import
    assert result.rows == 26 * before["survey"]
    assert _tables(db)["survey"] == 26 * before["survey"]


def test_same_content_again_adds_nothing_and_says_so(tmp_path, fw, capsys):
    db = _db_with_areas(tmp_path, fw)
    first = tmp_path / "survey.csv"
    shutil.copy(paths.SAMPLE / "survey.csv", first)
    import_file("survey", first, fw, db)
    before = _tables(db)
    renamed = tmp_path / "survey copy.csv"  # the same content under another name is the same file
    shutil.copy(first, renamed)
    for path in (first, renamed):
        assert main(["import", "survey", str(path), "--db", str(db)]) == 0
        out = capsys.readouterr().out
        assert "already imported as batch 3" in out and "nothing added" in out
    assert _tables(db) == before


def _survey_subset(tmp_path, name, hoods, wave="baseline", tweak=None) -> Path:
    raw = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    part = raw[raw["neighbourhood"].isin(hoods) & (raw["wave"] == wave)].copy()
    if tweak:
        part = tweak(part)
    path = tmp_path / name
    part.to_csv(path, index=False)
    return path


def test_a_different_file_for_a_loaded_neighbourhood_and_wave_needs_replace(tmp_path, fw, capsys):
    db = _db_with_areas(tmp_path, fw)
    first = _survey_subset(tmp_path, "first.csv", ["oakfield", "brookside"])
    import_file("survey", first, fw, db)
    brookside = _count(db, "SELECT count(*) FROM survey WHERE neighbourhood = 'brookside'")[0][0]
    # a corrected oakfield baseline: fewer rows, one answer changed
    fixed = _survey_subset(tmp_path, "fixed.csv", ["oakfield"], tweak=lambda f: f.head(50).assign(s01="1"))
    before = _tables(db)
    assert main(["import", "survey", str(fixed), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "oakfield / baseline from first.csv (batch 3)" in err and "--replace" in err
    assert _tables(db) == before
    assert main(["import", "survey", str(fixed), "--db", str(db), "--replace"]) == 0
    assert "replaced earlier data for oakfield / baseline" in capsys.readouterr().out
    assert _count(db, "SELECT count(*), min(s01), max(s01) FROM survey WHERE neighbourhood = 'oakfield'") == [
        (50, 1, 1)
    ]
    assert _count(db, "SELECT count(*) FROM survey WHERE neighbourhood = 'brookside'")[0][0] == brookside
    history = status(db)["import history (rows_now: still loaded; fewer once replaced)"]
    assert history.set_index("file").loc["first.csv", "rows_now"] == brookside
    # the first file again: its oakfield rows were replaced, so it is not "already imported"
    assert main(["import", "survey", str(first), "--db", str(db)]) == 2
    assert "Use --replace" in capsys.readouterr().err


def test_status_lists_waves_in_framework_order(sample_db, fw, capsys):
    tables = status(sample_db, fw)
    wide = tables["rows per neighbourhood x wave"]
    assert list(wide.columns) == ["kind", "neighbourhood", *fw.settings.wave_ids, "total"]
    assert fw.settings.wave_ids == ("baseline", "6m", "12m")  # not alphabetical: 12m would sort first
    survey = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str)
    expected = survey.groupby(["neighbourhood", "wave"]).size()
    rows = wide[wide["kind"] == "survey"].set_index("neighbourhood")
    for (hood, wave), n in expected.items():
        assert rows.at[hood, wave] == n
    assert main(["status", "--db", str(sample_db)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "neighbourhood" in line and "total" in line)
    assert header.index("baseline") < header.index("6m") < header.index("12m")


def test_a_refused_file_never_creates_a_database(tmp_path, fw):
    db = tmp_path / "new.duckdb"
    bad = tmp_path / "areas.csv"
    bad.write_text("neighbourhood,name,project,role\noak,Oak,working-xtra,sometimes\n")
    with pytest.raises(UserError, match="1 of 1 rows are not valid"):
        import_file("areas", bad, fw, db)
    assert not db.exists()


def test_a_programming_error_still_raises(fw):
    """Only a user's mistake becomes a plain message; a bug in the code keeps its traceback."""
    with pytest.raises(ValueError, match="unknown column kind"):
        parse_column(pd.Series(["1"]), Column("x", "no-such-kind"))


# --- formula neutralisation (CSV and XLSX) ---------------------------------------------------------

RISKY = ["=1+1", "+44 20 7946 0000", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", '  =HYPERLINK("x")', "\tx", "plain"]


def test_csv_output_neutralises_formulas_but_not_numbers(tmp_path):
    frame = pd.DataFrame(
        {"text": RISKY, "number": [-3.5, -1, 0, 2, 1e-3, -100, 7], "number_as_text": ["-3", "+4.5", "-1e3"] + [""] * 4}
    )
    path = write_csv_atomic(frame.assign(**{"=head": 1}), tmp_path / "out.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back["text"].tolist() == ["'" + t for t in RISKY[:-1]] + ["plain"]
    assert back["number"].tolist() == ["-3.5", "-1.0", "0.0", "2.0", "0.001", "-100.0", "7.0"]
    assert back["number_as_text"].tolist()[:3] == ["-3", "+4.5", "-1e3"]
    assert "'=head" in back.columns


def test_xlsx_output_neutralises_formulas_but_not_numbers(tmp_path):
    from openpyxl import load_workbook

    frame = pd.DataFrame({"text": RISKY, "number": [-3.5, -1, 0, 2, 1e-3, -100, 7]})
    path = write_xlsx_atomic({"results": frame}, tmp_path / "out.xlsx")
    ws = load_workbook(path)["results"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells), "no cell is a formula"
    texts = [ws.cell(row=r, column=1).value for r in range(2, len(RISKY) + 2)]
    assert texts == ["'" + t for t in RISKY[:-1]] + ["plain"]
    numbers = [ws.cell(row=r, column=2).value for r in range(2, len(RISKY) + 2)]
    assert numbers == [-3.5, -1, 0, 2, 1e-3, -100, 7]
    assert all(ws.cell(row=r, column=2).data_type == "n" for r in range(2, len(RISKY) + 2))
