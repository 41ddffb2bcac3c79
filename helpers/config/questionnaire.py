"""The words around the Your Voice questions (data/framework/questionnaire.yaml), loaded and validated.

The questions, codes and labels are the instrument's (``framework().instrument``); this file holds only
what the printed questionnaire and the tablet and online forms say around them: the introduction, the
sections' headings, the office-use box, how to return the questionnaire and the forms' notes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, field_validator

from . import paths
from .errors import FrameworkError
from .framework import SAFE_LOADER, Framework, Model

FILE_NAME = "questionnaire.yaml"


class Sections(Model):
    statements: str
    wellbeing: str
    years: str
    household: str
    about_you: str
    admin: str


class Office(Model):
    heading: str
    reference: str
    neighbourhood: str


class Return(Model):
    heading: str
    by_mode: dict[str, str] = Field(min_length=1)
    thanks: str


class FormNotes(Model):
    intro_note: str
    end_note: str


class QuestionnaireText(Model):
    introduction: tuple[str, ...] = Field(min_length=1)
    sections: Sections
    office: Office
    return_: Return = Field(alias="return")
    form: FormNotes

    @field_validator("introduction")
    @classmethod
    def _not_blank(cls, paragraphs):
        if any(not p.strip() for p in paragraphs):
            raise ValueError("a paragraph of the introduction is blank")
        return paragraphs

    def filled(self, text: str, fw: Framework) -> str:
        """``text`` with {council} and {area} replaced by the council's name and area."""
        council = fw.settings.council
        return text.replace("{council}", council.name).replace("{area}", council.area)


def load_questionnaire_text(fw: Framework, root: Path | str | None = None) -> QuestionnaireText:
    """Load and check questionnaire.yaml (a plain FrameworkError naming the key for a mistake)."""
    import yaml
    from pydantic import ValidationError

    root = Path(root) if root is not None else paths.FRAMEWORK
    path = root / FILE_NAME
    if not path.exists():
        raise FrameworkError(f"{FILE_NAME}: file is missing from {root}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{FILE_NAME}: not valid YAML: {exc}") from None
    try:
        text = QuestionnaireText.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FrameworkError(f"{FILE_NAME}: {where}: {first['msg']}") from None
    modes = [str(m.code) for m in fw.instrument.modes]
    unknown = [m for m in text.return_.by_mode if m not in modes]
    if unknown:
        raise FrameworkError(
            f"{FILE_NAME}: return.by_mode '{unknown[0]}' is not a mode of instrument.yaml; known: {', '.join(modes)}"
        )
    return text


@cache
def questionnaire_text() -> QuestionnaireText:
    """The repository's questionnaire words, loaded once per process."""
    from .framework import framework

    return load_questionnaire_text(framework())
