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
from helpers.store.kinds import README_END, README_START, readme_table
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


# --- the financial-resilience questionnaire: one more kind, through the same intake -----------------


def _resilience_file(path, fw, n=14, *, project="council-tax-reduction", hood="ashgrove", extra=None):
    res = fw.resilience
    rows = []
    for i in range(n):
        pre = {s.id: 2 for s in res.statements} | {"fr06": 4}
        post = {s.id: 3 + (i % 2) for s in res.statements} | {"fr06": 2}
        pre |= {"fr07": "yes", "fr08": "no", "fr09": "no"}
        post |= {"fr07": "no" if i < 10 else "yes", "fr08": "yes" if i < 5 else "no", "fr09": "no"}
        for stage, answers in (("pre", pre), ("post", post)):
            rows.append(
                {"respondent_id": f"R{i:03d}", "project": project, "neighbourhood": hood, "stage": stage} | answers
            )
    frame = pd.DataFrame(rows)
    if extra is not None:
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    frame.to_csv(path, index=False)
    return path


def _bad_resilience_file(path, fw):
    """Two respondents' good rows (rows 2-5), then row 6 with an unknown neighbourhood and an answer of 9."""
    extra = {"respondent_id": "X1", "project": "council-tax-reduction", "neighbourhood": "atlantis", "stage": "pre"}
    return _resilience_file(path, fw, n=2, extra=[extra | {"fr01": 9}])


@pytest.fixture
def resilience_db(sample_db, tmp_path):
    db = tmp_path / "workbook.duckdb"
    shutil.copy(sample_db, db)
    return db


def test_importing_resilience_questionnaires_redoes_that_projects_reports_only(resilience_db, fw, tmp_path):
    from helpers.surfaces import batch

    def fingerprints():
        _, every = batch.plan(fw, resilience_db, tmp_path / "reports")
        return {(j.project, j.neighbourhood, j.wave): j.fingerprint for j in every}

    before = fingerprints()
    import_file("resilience", _resilience_file(tmp_path / "resilience.csv", fw), fw, resilience_db)
    after = fingerprints()
    changed = {key[0] for key in before if before[key] != after[key]}
    assert changed == {"council-tax-reduction"}


def test_resilience_import_pairs_and_analysis(resilience_db, fw, tmp_path):
    from helpers.evidence import evidence

    file = _resilience_file(tmp_path / "resilience.csv", fw)
    message = import_file("resilience", file, fw, resilience_db).message
    assert "loaded 28 resilience questionnaires (14 respondents)" in message
    assert "already imported" in import_file("resilience", file, fw, resilience_db).message
    answers = evidence.load_resilience(resilience_db, fw, "council-tax-reduction")
    pairs = evidence.resilience_pairs(answers, fw)
    assert len(pairs) == 14
    # Before: five statements at 2 and the reverse statement fr06 at 4 (turned round to 2): score 2.
    assert pairs["score_before"].eq(2).all()
    # After: five statements at 3 (or 4) and fr06 at 2, turned round to 4: (5 * 3 + 4) / 6 or (5 * 4 + 4) / 6.
    assert sorted(set(pairs["score_after"].round(6))) == [round(19 / 6, 6), 4.0]
    results = evidence.resilience_results(pairs, fw).set_index("measure")
    score = results.loc["score"]
    assert score["n_pairs"] == 14 and score["test"] == "Wilcoxon signed-rank"
    assert score["effect_size"] == pytest.approx(1.0)  # everybody's score rose
    assert score["improved"]
    behind = results.loc["fr07"]  # better: no. 10 moved yes -> no, none the other way.
    assert behind["before"] == 1 and behind["after"] == pytest.approx(4 / 14)
    assert behind["p_value"] == pytest.approx(2 / 2**10) and behind["improved"]


def test_resilience_answers_stored_as_codes_one_row_per_question(resilience_db, fw, tmp_path):
    """Labels and codes in any case are accepted; the table holds one row per question, answers as text."""
    file = tmp_path / "labels.csv"
    file.write_text(
        "Respondent_ID,project,neighbourhood,stage,fr01,fr02,fr03,fr04,fr05,fr06,fr07,fr08,fr09\n"
        "L1,council-tax-reduction,Ashgrove,PRE,strongly agree,4.0,2,,1,5,YES,no,\n"
    )
    assert import_file("resilience", file, fw, resilience_db).rows == 1
    got = _count(resilience_db, "SELECT neighbourhood, stage, item, answer FROM resilience ORDER BY item")
    answers = ["5", "4", "2", None, "1", "5", "yes", "no", None]
    assert got == [("ashgrove", "pre", f"fr0{i}", a) for i, a in enumerate(answers, start=1)]


def test_resilience_same_file_twice_adds_nothing(resilience_db, fw, tmp_path):
    file = _resilience_file(tmp_path / "r.csv", fw, n=3)
    first = import_file("resilience", file, fw, resilience_db)
    tables = _count(resilience_db, "SELECT (SELECT count(*) FROM resilience), (SELECT count(*) FROM imports)")
    again = import_file("resilience", shutil.copy(file, tmp_path / "renamed.csv"), fw, resilience_db)
    assert (first.status, first.rows, again.status, again.rows) == ("loaded", 6, "unchanged", 0)
    assert "already imported as batch" in again.message
    assert _count(resilience_db, "SELECT (SELECT count(*) FROM resilience), (SELECT count(*) FROM imports)") == tables
    history = status(resilience_db)["import history (rows_now: still loaded; fewer once replaced)"]
    assert history.iloc[-1][["kind", "rows", "rows_now"]].tolist() == ["resilience", 6, 6]


def test_resilience_bad_rows_listed_in_the_rejects_file_and_nothing_loaded(resilience_db, fw, tmp_path):
    bad = _bad_resilience_file(tmp_path / "bad.csv", fw)
    with pytest.raises(UserError) as err:
        import_file("resilience", bad, fw, resilience_db)
    message = str(err.value)
    assert "1 of 5 rows are not valid, so nothing was loaded" in message
    assert "First: row 6, column neighbourhood: got 'atlantis'" in message
    rejects = pd.read_csv(tmp_path / "bad.rejects.csv", dtype=str, keep_default_na=False)
    assert list(rejects.columns) == ["file", "row", "column", "value", "expected"]
    assert rejects[["file", "row", "column", "value"]].values.tolist() == [
        [str(bad), "6", "neighbourhood", "atlantis"],
        [str(bad), "6", "fr01", "9"],
    ]
    assert rejects["expected"].iloc[0].startswith("a neighbourhood in the areas table (ashgrove")
    assert rejects["expected"].iloc[1] == "1-5 or a label of the scale, or blank"
    assert _count(resilience_db, "SELECT count(*) FROM resilience")[0][0] == 0


def test_resilience_skip_bad_rows_loads_the_good_ones(resilience_db, fw, tmp_path, capsys):
    bad = _bad_resilience_file(tmp_path / "bad.csv", fw)
    rejects = tmp_path / "elsewhere.csv"
    argv = ["import", "resilience", str(bad), "--db", str(resilience_db), "--skip-bad-rows", "--rejects", str(rejects)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "loaded 4 resilience questionnaires (2 respondents)" in out and "1 bad rows skipped" in out
    assert rejects.exists() and not (tmp_path / "bad.rejects.csv").exists()
    assert _count(resilience_db, "SELECT count(DISTINCT respondent_id) FROM resilience")[0][0] == 2


def test_resilience_duplicate_respondent_and_stage_is_a_reject(resilience_db, fw, tmp_path):
    twice = {"respondent_id": "R000", "project": "council-tax-reduction", "neighbourhood": "ashgrove", "stage": "PRE"}
    file = _resilience_file(tmp_path / "dup.csv", fw, n=1, extra=[twice])
    with pytest.raises(UserError, match="2 of 3 rows are not valid.*First: row 2, column respondent_id: got 'R000'"):
        import_file("resilience", file, fw, resilience_db)
    rejects = pd.read_csv(tmp_path / "dup.rejects.csv", dtype=str)
    assert rejects["row"].tolist() == ["2", "4"]
    assert "is also on row 4" in rejects["expected"].iloc[0]


def test_cli_imports_resilience_answers(resilience_db, fw, tmp_path, capsys):
    file = _resilience_file(tmp_path / "cli.csv", fw, n=3)
    assert main(["import", "resilience", str(file), "--db", str(resilience_db)]) == 0
    assert "loaded 6 resilience questionnaires" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("respondent_id,project\nR1,council-tax-reduction\n")
    assert main(["import", "resilience", str(bad), "--db", str(resilience_db)]) == 2
    assert "missing column(s) neighbourhood, stage" in capsys.readouterr().err


def test_resilience_small_groups_are_suppressed(resilience_db, fw, tmp_path):
    from helpers.evidence import evidence

    import_file("resilience", _resilience_file(tmp_path / "few.csv", fw, n=6), fw, resilience_db)
    pairs = evidence.resilience_pairs(evidence.load_resilience(resilience_db, fw, "council-tax-reduction"), fw)
    results = evidence.resilience_results(pairs, fw)
    assert results["suppressed"].all() and results["change"].isna().all()
    assert (results["n_pairs"] == 6).all()


def test_resilience_reimport_of_other_answers_needs_replace(resilience_db, fw, tmp_path):
    import_file("resilience", _resilience_file(tmp_path / "a.csv", fw, n=3), fw, resilience_db)
    other = _resilience_file(tmp_path / "b.csv", fw, n=4)
    with pytest.raises(UserError, match="already loaded from another file. Use --replace"):
        import_file("resilience", other, fw, resilience_db)
    result = import_file("resilience", other, fw, resilience_db, replace=True)
    assert (
        "loaded 8" in result.message
        and "replaced earlier data for R000 / council-tax-reduction / post" in result.message
    )
    assert _count(resilience_db, "SELECT count(DISTINCT respondent_id), count(*) FROM resilience") == [(4, 8 * 9)]


def test_resilience_needs_the_questionnaire_in_the_framework(fw, tmp_path):
    without = fw.model_copy(update={"resilience": None})
    file = _resilience_file(tmp_path / "r.csv", fw, n=1)
    with pytest.raises(UserError, match="no financial-resilience questionnaire is defined"):
        import_file("resilience", file, without, tmp_path / "w.duckdb")
    with pytest.raises(UserError, match=r"known: areas, population, survey, indicators, stories, sentiment$"):
        import_file("resilence", file, without, tmp_path / "w.duckdb")


# --- the README's table of file formats ----------------------------------------------------------------


def test_readme_file_formats_in_step_with_the_kinds(fw):
    text = (paths.ROOT / "README.md").read_text()
    block = text.split(README_START, 1)[1].split(README_END, 1)[0]
    assert block == readme_table(fw), "run `python -m helpers docs` to regenerate the README's file formats"
