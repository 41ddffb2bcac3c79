"""The Your Voice questionnaire as its forms show it: sections of questions, each the survey file's column.

One structure for the printed questionnaire (:mod:`helpers.presentation.questionnaire`), the XLSForm for
tablets and online (:mod:`helpers.store.xlsform`) and, through the same kind, the XLSX data-entry template
(:mod:`helpers.store.entry_template`): every question is a column of the survey kind
(:func:`helpers.store.kinds.kind`), in the kind's order, with the kind's codes and the printed labels, so
what a respondent ticks on paper, taps on a tablet or types online is what the intake accepts, question by
question. The wording is the instrument's (data/framework/instrument.yaml); the words around it are
data/framework/questionnaire.yaml's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.errors import FrameworkError
from ..config.framework import Framework
from ..config.questionnaire import questionnaire_text
from .kinds import Column, kind

ADMIN_COLUMNS = ("neighbourhood", "wave", "mode")  # what the survey team records, not the respondent


@dataclass(frozen=True)
class Question:
    """One question: the survey file's column it fills, its number and wording, and its answers."""

    column: str
    number: str  # as printed: "1.3", "2", "4a"
    text: str  # the instrument's wording (a row of a grid: the row's own words)
    choices: tuple[tuple[object, str], ...] = ()  # (code the intake stores, printed label)
    minimum: int | None = None  # whole-number answers
    maximum: int | None = None
    required: bool = False

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)


@dataclass(frozen=True)
class Section:
    """A part of the questionnaire: a heading, the lead question of a grid (if any) and its questions."""

    id: str  # also the XLSForm group's name (so exports name columns group/question or group-question)
    heading: str
    lead: str  # a grid's question ("To what extent do you agree ..."), else ""
    layout: str  # grid (one scale, many rows) | rows (several items, one question) | single
    questions: tuple[Question, ...]


def choices_of(col: Column) -> tuple[tuple[object, str], ...]:
    """A coded column's (code, label) pairs in the printed order (its picks are the labels)."""
    return tuple((col.codes[str(label).strip().lower()], str(label)) for label in col.picks)


def _question(col: Column, number: str, text: str) -> Question:
    if col.kind == "code":
        return Question(col.name, number, text, choices_of(col), required=not col.nullable)
    return Question(
        col.name,
        number,
        text,
        minimum=int(col.minimum) if col.minimum is not None else None,
        maximum=int(col.maximum) if col.maximum is not None else None,
        required=not col.nullable,
    )


def sections(fw: Framework) -> list[Section]:
    """The respondent's questions in the survey file's order, grouped as the questionnaire prints them."""
    ins = fw.instrument
    words = questionnaire_text().sections
    columns = {c.name: c for c in kind("survey", fw).columns}
    years = {i.id: i.text for i in ins.years.items}
    household = {i.id: i.label for i in ins.household.items}
    out = [
        Section(
            "statements",
            words.statements,
            ins.statements.question,
            "grid",
            tuple(_question(columns[s.id], f"1.{n}", s.text) for n, s in enumerate(ins.statements.items, start=1)),
        ),
        Section(
            "wellbeing",
            words.wellbeing,
            "",
            "single",
            (
                _question(columns[ins.general_health.id], "2", ins.general_health.question),
                _question(columns[ins.happiness.id], "3", ins.happiness.question),
            ),
        ),
        Section(
            "years",
            words.years,
            ins.years.question,
            "rows",
            tuple(_question(columns[i], f"4{letter}", years[i]) for letter, i in zip("abcdefgh", years, strict=False)),
        ),
        Section(
            "household",
            words.household,
            ins.household.question,
            "rows",
            tuple(
                _question(columns[i], f"5{letter}", household[i])
                for letter, i in zip("abcdefgh", household, strict=False)
            ),
        ),
        Section(
            "about_you",
            words.about_you,
            "",
            "single",
            (
                _question(columns[ins.ethnicity.id], "6", ins.ethnicity.question),
                _question(columns[ins.gender.id], "7", ins.gender.question),
                _question(columns[ins.age.id], "8", ins.age.question),
            ),
        ),
    ]
    _check_every_column(fw, out)
    return out


def _check_every_column(fw: Framework, found: list[Section]) -> None:
    """Every answer column of the survey kind once, in the kind's order (a framework change that breaks this
    is named, not silently printed wrong)."""
    expected = [c.name for c in kind("survey", fw).columns if c.name not in ("respondent_id", *ADMIN_COLUMNS)]
    got = [q.column for s in found for q in s.questions]
    if got != expected:
        raise FrameworkError(
            "instrument.yaml: the questionnaire's questions do not match the survey file's columns; "
            f"questionnaire: {', '.join(got)}; survey file: {', '.join(expected)}"
        )


def questions(fw: Framework) -> list[Question]:
    """Every respondent question in order (the survey file's answer columns)."""
    return [q for s in sections(fw) for q in s.questions]


def admin_questions(fw: Framework) -> list[Question]:
    """Neighbourhood, wave and mode, as the survey team records them."""
    columns = {c.name: c for c in kind("survey", fw).columns}
    words = {
        "neighbourhood": "Neighbourhood",
        "wave": "Survey wave",
        "mode": "How did this questionnaire come back?",
    }
    return [_question(columns[c], "", words[c]) for c in ADMIN_COLUMNS]
