"""Data-entry templates: built from the framework, and a filled-in template imports without edits."""

from __future__ import annotations

import duckdb
import pytest
from openpyxl import load_workbook

from helpers.config import paths
from helpers.store.intake import columns_for, import_file
from helpers.surfaces.cli import main


def _dropdowns(book, sheet: str = "survey") -> dict[str, list[str]]:
    """Column name -> the choices its dropdown offers (read back from the hidden Lists sheet)."""
    ws, lists = book[sheet], book["Lists"]
    header = [c.value for c in ws[1]]
    out = {}
    for rule in ws.data_validations.dataValidation:
        if rule.type != "list":
            continue
        column = str(rule.sqref).split(":")[0].rstrip("0123456789")
        ref = rule.formula1.split("!")[1].replace("$", "")
        first, last = ref.split(":")
        letter = first.rstrip("0123456789")
        rows = range(int(first[len(letter) :]), int(last[len(letter) :]) + 1)
        name = header[[c.column_letter for c in ws[1]].index(column)]
        out[name] = [lists[f"{letter}{r}"].value for r in rows]
    return out


@pytest.fixture
def db_with_areas(tmp_path, fw):
    db = tmp_path / "w.duckdb"
    import_file("areas", paths.SAMPLE / "areas.csv", fw, db)
    import_file("population", paths.SAMPLE / "population.csv", fw, db)
    return db


def test_survey_template_follows_the_instrument(tmp_path, fw, capsys):
    out = tmp_path / "entry.xlsx"
    assert main(["template", "survey-entry", "--out", str(out), "--db", str(tmp_path / "none.duckdb")]) == 0
    assert "wrote" in capsys.readouterr().out
    book = load_workbook(out)
    assert book.sheetnames[0] == "survey", "the data sheet comes first, so the import reads it by default"
    assert [c.value for c in book["survey"][1]] == list(fw.instrument.survey_columns())
    choices = _dropdowns(book)
    ins = fw.instrument
    for statement in ins.statement_ids:
        assert choices[statement] == [c.label for c in ins.statements.scale]
    assert choices[ins.general_health.id] == [c.label for c in ins.general_health.scale]
    assert choices[ins.gender.id] == [c.label for c in ins.gender.categories]
    assert choices["wave"] == [w.label for w in fw.settings.waves]
    numbers = {str(r.sqref).split(":")[0][:-1]: r for r in book["survey"].data_validations.dataValidation}
    age_letter = [c.column_letter for c in book["survey"][1] if c.value == ins.age.id][0]
    assert numbers[age_letter].type == "whole"
    assert (numbers[age_letter].formula1, numbers[age_letter].formula2) == (str(ins.age.min), str(ins.age.max))
    text = " ".join(str(v) for row in book["Instructions"].iter_rows(values_only=True) for v in row if v)
    assert ins.statement("s01").text in text, "the instructions quote the questionnaire's wording"
    assert "python -m helpers import survey" in text
    assert book["Lists"].sheet_state == "hidden"


def test_a_filled_template_imports_without_edits(tmp_path, fw, db_with_areas, capsys):
    out = tmp_path / "survey-entry.xlsx"
    assert main(["template", "survey-entry", "--out", str(out), "--db", str(db_with_areas)]) == 0
    book = load_workbook(out)
    ws = book["survey"]
    header = [c.value for c in ws[1]]
    assert _dropdowns(book)["neighbourhood"] == sorted(
        {"ashgrove", "brookside", "hollins", "kingsmoor", "millbrook", "oakfield", "westwood"}
    )
    ins = fw.instrument
    scale = [c.label for c in ins.statements.scale]
    people = [
        {
            "respondent_id": "P-001",
            "neighbourhood": "oakfield",
            "wave": fw.settings.waves[0].label,
            "mode": ins.modes[0].label,
            **{s: scale[i % 5] for i, s in enumerate(ins.statement_ids)},
            ins.general_health.id: ins.general_health.scale[0].label,
            ins.happiness.id: 8,
            "years_lived": ins.years.bands[1].label,
            "years_expect": ins.years.bands[-1].label,
            **{item.id: 1 for item in ins.household.items},
            ins.ethnicity.id: ins.ethnicity.categories[-1].label,
            ins.gender.id: ins.gender.categories[-1].label,
            ins.age.id: 67,
        },
        {"respondent_id": "P-002", "neighbourhood": "brookside", "wave": fw.settings.waves[-1].label, "s01": scale[4]},
    ]
    for row, person in enumerate(people, start=2):
        for name, value in person.items():
            ws.cell(row=row, column=header.index(name) + 1, value=value)
    book.save(out)

    assert main(["import", "survey", str(out), "--db", str(db_with_areas)]) == 0
    assert "loaded 2 survey rows" in capsys.readouterr().out
    con = duckdb.connect(str(db_with_areas), read_only=True)
    try:
        got = con.execute(
            "SELECT respondent_id, wave, mode, s01, s05, general_health, happiness, years_lived, years_expect, "
            "hh_0_4, ethnicity, gender, age FROM survey ORDER BY respondent_id"
        ).fetchall()
    finally:
        con.close()
    assert got == [
        ("P-001", "baseline", "post", 1, 5, 1, 8, "1-2", "21+", 1, "prefer_not", "prefer_not", 67),
        ("P-002", "12m", None, 5, None, None, None, None, None, None, None, None, None),
    ]


@pytest.mark.parametrize("kind", ["areas", "population", "indicators", "stories", "sentiment", "resilience"])
def test_other_kinds_have_templates_with_their_columns(tmp_path, fw, kind, capsys):
    out = tmp_path / f"{kind}.xlsx"
    assert main(["template", kind, "--out", str(out)]) == 0
    book = load_workbook(out)
    assert book.sheetnames == [kind, "Lists", "Instructions"]
    assert [c.value for c in book[kind][1]] == [c.name for c in columns_for(kind, fw)]
    # an untouched template is refused with one plain line, never a traceback
    db = tmp_path / "w.duckdb"
    assert main(["import", kind, str(out), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "no data rows" in err or "no areas yet" in err


def test_a_filled_areas_template_imports(tmp_path, fw, capsys):
    out = tmp_path / "areas.xlsx"
    assert main(["template", "areas", "--out", str(out)]) == 0
    book = load_workbook(out)
    assert _dropdowns(book, "areas")["project"] == list(fw.project_ids)
    ws = book["areas"]
    ws.append(["cafe-row", "Café Row", fw.project_ids[0], "pilot"])
    book.save(out)
    db = tmp_path / "w.duckdb"
    assert main(["import", "areas", str(out), "--db", str(db)]) == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT name FROM areas").fetchall() == [("Café Row",)]
    finally:
        con.close()


def test_a_filled_resilience_template_imports(tmp_path, fw, db_with_areas, capsys):
    out = tmp_path / "resilience-entry.xlsx"
    assert main(["template", "resilience", "--out", str(out), "--db", str(db_with_areas)]) == 0
    book = load_workbook(out)
    res = fw.resilience
    choices = _dropdowns(book, "resilience")
    assert choices["stage"] == [s.id for s in res.stages]
    assert choices[res.statements[0].id] == [c.label for c in res.scale]
    assert choices[res.yes_no[0].id] == ["yes", "no"]
    ws = book["resilience"]
    answers = [res.scale[-1].label] * len(res.statements) + ["no"] * len(res.yes_no)
    for stage in res.stages:
        ws.append(["R1", "council-tax-reduction", "ashgrove", stage.id, *answers])
    book.save(out)
    assert main(["import", "resilience", str(out), "--db", str(db_with_areas)]) == 0
    assert "loaded 2 resilience questionnaires (1 respondents)" in capsys.readouterr().out


def test_template_default_name_and_no_silent_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["template", "survey-entry"]) == 0
    assert (tmp_path / "survey-entry.xlsx").exists()
    capsys.readouterr()
    assert main(["template", "survey-entry"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["template", "survey-entry", "--force"]) == 0
    assert main(["template", "areas"]) == 0 and (tmp_path / "areas-entry.xlsx").exists()
    assert main(["template", "surveys-entry"]) == 2
    err = capsys.readouterr().err
    assert "unknown template" in err and "Traceback" not in err
    assert main(["template", "areas", "--out", str(tmp_path / "notes.txt")]) == 2
    assert "ending in .xlsx" in capsys.readouterr().err
