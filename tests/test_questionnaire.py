"""The printable questionnaire and the XLSForm match the framework and the intake, question by question."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape

import openpyxl
import pytest

from helpers.presentation.questionnaire import questionnaire_html
from helpers.store import questionnaire_form
from helpers.store.entry_template import build_workbook
from helpers.store.kinds import kind
from helpers.store.xlsform import build_xlsform, form_rows
from helpers.surfaces import dashboard_server
from helpers.surfaces.cli import main

ADMIN = ("respondent_id", "neighbourhood", "wave", "mode")
TICK = re.compile(r'aria-label="([^"]*)" data-column="(\w+)" data-code="([^"]*)"')


def _entry_template(fw):
    """The survey-entry workbook's columns (in order) and each column's dropdown labels."""
    book = build_workbook("survey", fw)
    header = [c.value for c in book["survey"][1]]
    lists = book["Lists"]
    picks = {}
    for column in lists.iter_cols(values_only=True):
        picks[column[0]] = [v for v in column[1:] if v is not None]
    return header, picks


@pytest.mark.parametrize("large_print", [False, True])
def test_paper_form_matches_the_entry_template_question_by_question(fw, large_print):
    html = questionnaire_html(fw, large_print=large_print)
    header, picks = _entry_template(fw)
    order = re.findall(r'data-question="(\w+)"', html)
    assert order == [c for c in header if c not in ADMIN]
    ticks: dict[str, list[tuple[str, str]]] = {}
    for label, column, code in TICK.findall(html):
        ticks.setdefault(column, []).append((unescape(label), unescape(code)))
    spec = {c.name: c for c in kind("survey", fw).columns}
    for column, boxes in ticks.items():
        if column == fw.instrument.happiness.id:  # 0-10: a box per number, keyed as the number
            assert [code for _, code in boxes] == [str(n) for n in range(11)]
            continue
        assert [label for label, _ in boxes] == picks[column], column  # the same labels, in the same order
        for label, code in boxes:  # and each box is the code the intake stores for that label
            assert str(spec[column].codes[label.lower()]) == code
    with_boxes = {c.name for c in spec.values() if c.picks and c.name not in ADMIN}
    assert with_boxes <= set(ticks)


def test_paper_form_says_what_the_framework_says(fw):
    html = questionnaire_html(fw)
    for s in fw.instrument.statements.items:
        assert f'<span class="wording">{s.text}</span>' in html
    assert fw.settings.council.name in html and "For office use" in html and "Respondent reference" in html
    assert "reply-paid envelope" in html and "Thank you for taking part" in html


def _pdf_text(path) -> str:
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


@pytest.mark.browser
@pytest.mark.parametrize("large_print", [False, True])
def test_pdf_holds_every_statement_verbatim(fw, tmp_path, large_print, capsys):
    if dashboard_server.chromium() is None:
        pytest.skip("Chromium is not installed: run `apt-get install -y chromium`")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed: run `apt-get install -y poppler-utils`")
    out = tmp_path / "q.pdf"
    args = ["template", "questionnaire", "--out", str(out)] + (["--large-print"] if large_print else [])
    assert main(args) == 0
    assert out.read_bytes().startswith(b"%PDF") and out.with_suffix(".html").exists()
    text = _pdf_text(out)
    for s in fw.instrument.statements.items:
        assert s.text in text, s.text
    for q in (fw.instrument.general_health.question, fw.instrument.age.question, "Returning your questionnaire"):
        assert q in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    assert main(args) == 2  # never overwritten silently
    assert "--force" in capsys.readouterr().err


def test_without_chromium_the_message_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dashboard_server, "chromium", lambda: None)
    assert main(["template", "questionnaire", "--out", str(tmp_path / "q.pdf")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install chromium" in err and "Traceback" not in err
    assert (tmp_path / "q.html").exists() and not (tmp_path / "q.pdf").exists()


def test_template_option_mistakes(tmp_path, capsys):
    assert main(["template", "questionnaire", "--out", str(tmp_path / "q.docx")]) == 2
    assert "ending in .pdf" in capsys.readouterr().err
    assert main(["template", "survey-entry", "--large-print", "--out", str(tmp_path / "s.xlsx")]) == 2
    assert "--large-print" in capsys.readouterr().err
    assert main(["template", "xlsform", "--mode", "carrier-pigeon", "--out", str(tmp_path / "f.xlsx")]) == 2
    assert "--mode 'carrier-pigeon' is not a mode" in capsys.readouterr().err


# --- the XLSForm -----------------------------------------------------------------------------------------


def _convert(path):
    from pyxform.xls2xform import convert

    return convert(xlsform=str(path), validate=False)


def test_xlsform_converts_with_pyxform(fw, tmp_path, sample_db, capsys):
    out = tmp_path / "form.xlsx"
    assert main(["template", "xlsform", "--out", str(out), "--db", str(sample_db)]) == 0
    assert "XLSForm" in capsys.readouterr().out
    result = _convert(out)
    assert result.warnings == []
    xform = result.xform
    for s in fw.instrument.statements.items:
        assert s.text.replace("&", "&amp;") in xform
    assert "<neighbourhood/>" in xform or "neighbourhood" in xform
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["survey", "choices", "settings"]


def test_xlsform_codes_rules_and_wording_match_the_intake(fw):
    survey, choices = form_rows(fw, {"oakfield": "Oakfield"})
    by_name = {r["name"]: r for r in survey if r["name"]}
    spec = {c.name: c for c in kind("survey", fw).columns}
    asked = [r["name"] for r in survey if r["type"].split(" ")[0] in ("select_one", "integer", "text")]
    assert asked == [c for c in spec if c != "respondent_id"]  # the survey file's order
    lists: dict[str, list[tuple[str, str]]] = {}
    for c in choices:
        lists.setdefault(c["list_name"], []).append((c["name"], c["label"]))
    for q in questionnaire_form.questions(fw):
        row = by_name[q.column]
        assert row["label"] == q.text
        col = spec[q.column]
        if col.kind == "code":
            names = lists[row["type"].split(" ")[1]]
            assert [n for n, _ in names] == [str(v) for v, _ in questionnaire_form.choices_of(col)]
            assert [label for _, label in names] == list(col.picks)
        else:
            assert row["type"] == "integer"
            assert row["constraint"] == f". >= {int(col.minimum)} and . <= {int(col.maximum)}"
        assert row["required"] == ("" if col.nullable else "yes")
    assert by_name["happiness"]["constraint"] == ". >= 0 and . <= 10"
    assert lists["agree"] == [
        ("1", "Strongly disagree"),
        ("2", "Disagree"),
        ("3", "Neither agree nor disagree"),
        ("4", "Agree"),
        ("5", "Strongly agree"),
    ]
    for admin in ("neighbourhood", "wave", "mode"):
        assert by_name[admin]["required"] == "yes"
    assert lists["neighbourhood"] == [("oakfield", "Oakfield")]


def test_xlsform_fixed_wave_and_mode_and_no_areas(fw, tmp_path):
    book, summary = build_xlsform(fw, {}, wave="6m", mode="online")
    path = tmp_path / "f.xlsx"
    book.save(path)
    result = _convert(path)
    assert "'6m'" in result.xform and "'online'" in result.xform
    assert "typed as its id" in summary
    survey, _ = form_rows(fw, {})
    hood = next(r for r in survey if r["name"] == "neighbourhood")
    assert hood["type"] == "text" and "regex" in hood["constraint"]


def test_pyxform_names_the_sheet_and_row_of_a_broken_form(fw, tmp_path):
    from pyxform.errors import PyXFormError

    book, _ = build_xlsform(fw, {})
    ws = book["survey"]
    ws.cell(row=5, column=1, value="select_one no_such_list")
    path = tmp_path / "broken.xlsx"
    book.save(path)
    with pytest.raises(PyXFormError, match=r"\[row : 5\] List name not in choices sheet"):
        _convert(path)
