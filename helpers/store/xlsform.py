"""The Your Voice instrument as an XLSForm (survey, choices and settings sheets) for tablets and online forms.

An XLSForm is the spreadsheet ODK Collect, KoboToolbox, ODK Central and Enketo turn into a form. This one is
built from :func:`helpers.store.questionnaire_form.sections`, so it asks exactly the printed
questionnaire's questions in its order, with the instrument's wording, and stores the intake's codes:

- choice names are the codes the survey file stores (``1``-``5``, ``very_good``... as instrument.yaml codes
  them), choice labels the printed labels, so an export in either (KoboToolbox "XML values" or "labels")
  imports as it is;
- whole-number answers carry the intake's ranges as constraints (happiness 0-10, household counts 0-20,
  age 16-120); the statements' five answers are a choice list, so nothing else can be picked;
- neighbourhood, wave and mode are fields of the form, required as the intake requires them (mode too: a
  form always knows how it came back). The neighbourhood is a list of the areas' ids (names shown) when
  the database has areas, else an id checked as the intake checks it. ``wave`` and ``mode`` given when the
  form is written become fixed values (``calculate``), not questions: one form per deployment;
- every part is a group named as the questionnaire's section, so exports name columns ``group/question``
  (KoboToolbox) or ``group-question`` (ODK Central); ``import survey`` reads both.

The form's version is a fingerprint of its content: the same framework writes the same form.
"""

from __future__ import annotations

import hashlib
import json

from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..config.questionnaire import questionnaire_text
from .questionnaire_form import Question, admin_questions, sections

FORM_ID = "your_voice"
SURVEY_HEADER = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "constraint",
    "constraint_message",
    "appearance",
    "calculation",
)
CHOICES_HEADER = ("list_name", "name", "label")
ID_REGEX = "^[A-Za-z0-9_-]+$"  # the intake's id rule (helpers.store.validation.ID_PATTERN)
NOTE_NAMES = ("intro", "thanks")  # notes: never data columns in an export
GROUP_NAMES = ("admin", "statements", "wellbeing", "years", "household", "about_you")
SHARED_LISTS = {"statements": "agree", "years": "years_band"}


def _row(**cells) -> dict:
    return {h: cells.get(h, "") for h in SURVEY_HEADER}


def _list_name(section_id: str, q: Question) -> str:
    return SHARED_LISTS.get(section_id, q.column)


def _question_rows(section_id: str, q: Question, lists: dict[str, tuple]) -> list[dict]:
    required = "yes" if q.required else ""
    if q.is_choice:
        name = _list_name(section_id, q)
        lists.setdefault(name, q.choices)
        appearance = "likert" if section_id == "statements" else ""
        return [_row(type=f"select_one {name}", name=q.column, label=q.text, required=required, appearance=appearance)]
    constraint = f". >= {q.minimum} and . <= {q.maximum}"
    return [
        _row(
            type="integer",
            name=q.column,
            label=q.text,
            hint=f"A whole number from {q.minimum} to {q.maximum}",
            required=required,
            constraint=constraint,
            constraint_message=f"Please give a whole number from {q.minimum} to {q.maximum}",
        )
    ]


def _admin_rows(
    fw: Framework, neighbourhoods: dict[str, str], wave: str | None, mode: str | None, lists: dict[str, tuple]
) -> list[dict]:
    rows = []
    fixed = {"wave": wave, "mode": mode}
    for q in admin_questions(fw):
        if q.column == "neighbourhood":
            if neighbourhoods:
                lists["neighbourhood"] = tuple(neighbourhoods.items())
                rows.append(_row(type="select_one neighbourhood", name=q.column, label=q.text, required="yes"))
            else:
                rows.append(
                    _row(
                        type="text",
                        name=q.column,
                        label=q.text,
                        hint="The neighbourhood's id from the areas file",
                        required="yes",
                        constraint=f"regex(., '{ID_REGEX}')",
                        constraint_message="Letters, digits, '-' or '_' only: the neighbourhood's id",
                    )
                )
            continue
        codes = [str(c) for c, _ in q.choices]
        value = fixed[q.column]
        if value is not None:
            if value not in codes:
                raise UserError(f"--{q.column} '{value}' is not a {q.column} of the framework; known: {allowed(codes)}")
            rows.append(_row(type="calculate", name=q.column, calculation=f"'{value}'"))
        else:
            lists[q.column] = q.choices
            rows.append(_row(type=f"select_one {q.column}", name=q.column, label=q.text, required="yes"))
    return rows


def form_rows(
    fw: Framework, neighbourhoods: dict[str, str] | None = None, *, wave: str | None = None, mode: str | None = None
) -> tuple[list[dict], list[dict]]:
    """The survey sheet's rows and the choices sheet's rows."""
    words = questionnaire_text()
    lists: dict[str, tuple] = {}
    survey = [_row(type="note", name="intro", label=words.filled(words.form.intro_note, fw))]
    survey.append(_row(type="begin_group", name="admin", label=words.sections.admin))
    survey += _admin_rows(fw, neighbourhoods or {}, wave, mode, lists)
    survey.append(_row(type="end_group", name="admin"))
    for section in sections(fw):
        label = section.lead or section.heading
        appearance = "field-list" if section.layout in ("grid", "rows") else ""
        survey.append(_row(type="begin_group", name=section.id, label=label, appearance=appearance))
        for q in section.questions:
            survey += _question_rows(section.id, q, lists)
        survey.append(_row(type="end_group", name=section.id))
    survey.append(_row(type="note", name="thanks", label=words.filled(words.form.end_note, fw)))
    choices = [
        {"list_name": name, "name": str(code), "label": str(label)}
        for name, pairs in lists.items()
        for code, label in pairs
    ]
    return survey, choices


def build_xlsform(
    fw: Framework, neighbourhoods: dict[str, str] | None = None, *, wave: str | None = None, mode: str | None = None
):
    """The openpyxl workbook (survey, choices, settings) and a few words on what it holds."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    survey, choices = form_rows(fw, neighbourhoods, wave=wave, mode=mode)
    version = hashlib.sha256(json.dumps([survey, choices], sort_keys=True).encode()).hexdigest()[:10]
    settings = [{"form_title": fw.instrument.title, "form_id": FORM_ID, "version": version}]
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in (
        ("survey", SURVEY_HEADER, survey),
        ("choices", CHOICES_HEADER, choices),
        ("settings", tuple(settings[0]), settings),
    ):
        ws = book.create_sheet(title)
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([row[h] for h in header])
        for line in ws.iter_rows():
            for cell in line:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.column_dimensions["C"].width = 60
    asked = sum(1 for r in survey if r["type"].startswith(("select_one", "integer", "text")))
    where = f"neighbourhood from a list of {len(neighbourhoods)}" if neighbourhoods else "neighbourhood typed as its id"
    fixed = ", ".join(f"{k} fixed as {v}" for k, v in (("wave", wave), ("mode", mode)) if v)
    return book, f"{asked} fields, {where}" + (f", {fixed}" if fixed else "") + f", version {version}"
