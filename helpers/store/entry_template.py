"""Data-entry workbooks (XLSX) built from the framework: fill one in, import it without edits.

``python -m helpers template survey-entry`` writes ``survey-entry.xlsx``:

- sheet 1 (``survey``): the survey file's columns in order, one row per returned questionnaire. Every
  coded question has a dropdown of the printed labels (``Strongly agree``, ``Very good``, ...), numbers
  are limited to their range, the header cells carry the question's wording as a comment, and coded and
  id columns are formatted as Text so Excel cannot turn ``1-2`` into a date.
- ``Instructions``: what each column records, what it accepts, and how to import the file.
- ``Lists`` (hidden): the dropdowns' choices.

The other kinds (``areas``, ``population``, ``indicators``, ``stories``, ``sentiment``, and ``resilience``
where the framework defines the financial-resilience questionnaire) get the same treatment: their header,
dropdowns where the framework knows the choices, and instructions. When the database already holds areas,
the neighbourhood column offers their ids too.

Everything is read from the kind's definition (:func:`helpers.store.kinds.kind`), which derives from the
framework and is what the import checks against, so a template always matches what the import accepts.
See templates/README.md.
"""

from __future__ import annotations

from pathlib import Path

from ..config.errors import UserError
from ..config.framework import Framework
from ..config.safe_output import neutralise_cell, save_workbook_atomic
from . import database as store
from . import kinds
from .kinds import Column
from .reading import column_letter

ENTRY_ROWS = 5000  # rows that carry the dropdowns and number checks (more can be added by copying a row)
TEMPLATES = {
    "survey-entry": "survey",
    "areas": "areas",
    "population": "population",
    "indicators": "indicators",
    "stories": "stories",
    "sentiment": "sentiment",
    "resilience": "resilience",  # where the framework defines the questionnaire (resilience.yaml)
}
ALIASES = {"survey": "survey-entry", **{f"{k}-entry": k for k in TEMPLATES if k != "survey-entry"}}


def template_kind(name: str) -> tuple[str, str]:
    """(template name, input kind) for a name the user typed; a plain message if it is unknown."""
    name = ALIASES.get(name, name)
    if name not in TEMPLATES:
        raise UserError(f"unknown template '{name}'; known: {', '.join(TEMPLATES)}")
    return name, TEMPLATES[name]


def default_output(name: str) -> Path:
    """``survey-entry.xlsx``, ``areas-entry.xlsx``, ... in the current directory."""
    name, _ = template_kind(name)
    return Path(f"{name if name.endswith('-entry') else name + '-entry'}.xlsx")


def known_neighbourhoods(db: Path | str | None) -> list[str]:
    """Neighbourhood ids in the database's areas table (empty if there is no database yet)."""
    if db is None or not Path(db).exists():
        return []
    con = store.connect(db, read_only=True)
    try:
        areas = store.read_table(con, "areas")
    finally:
        con.close()
    return sorted(set(areas["neighbourhood"])) if not areas.empty else []


def build_workbook(kind: str, fw: Framework, neighbourhoods: list[str] | None = None):
    """The openpyxl workbook for one kind (data sheet first, so the import reads it by default)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    spec = kinds.kind(kind, fw)
    book = Workbook()
    data = book.active
    data.title = kind
    lists = book.create_sheet("Lists")
    lists.sheet_state = "hidden"
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    list_column = 0
    for position, col in enumerate(spec.columns):
        letter = column_letter(position)
        cell = data.cell(row=1, column=position + 1, value=col.name)
        cell.font = Font(bold=True)
        cell.fill = head_fill
        note = f"{col.help}\n\nAccepts: {col.expected}" if col.help else f"Accepts: {col.expected}"
        cell.comment = Comment(note[:2000], "Co-operative Difference Workbook", width=320, height=160)
        data.column_dimensions[letter].width = max(12, min(28, len(col.name) + 4))
        picks = list(col.picks)
        if col.name == "neighbourhood" and neighbourhoods and kind != "areas":
            picks = list(neighbourhoods) + ([spec.whole_area] if spec.whole_area else [])
        if col.kind in ("code", "text", "id"):
            data.column_dimensions[letter].number_format = "@"  # Text: Excel keeps 1-2 as 1-2
        if col.kind in ("date", "period"):
            data.column_dimensions[letter].number_format = "yyyy-mm-dd"
        list_letter = None
        if picks:
            list_column += 1
            list_letter = _write_list(lists, list_column, col.name, picks, Font)
        rule = _entry_rule(col, list_letter, len(picks))
        rule.add(f"{letter}2:{letter}{ENTRY_ROWS + 1}")
        data.add_data_validation(rule)
    data.freeze_panes = "A2"
    _instructions(book, spec, fw, bool(neighbourhoods))
    return book


def _write_list(lists, list_column: int, name: str, picks: list[str], Font) -> str:
    """One dropdown's choices in a column of the hidden Lists sheet; returns that column's letter."""
    lists.cell(row=1, column=list_column, value=name).font = Font(bold=True)
    for i, pick in enumerate(picks, start=2):
        lists.cell(row=i, column=list_column, value=neutralise_cell(pick)).data_type = "s"
    return column_letter(list_column - 1)


def _entry_rule(col: Column, list_letter: str | None, picks: int):
    """The data validation of one column: a dropdown, a number range, or just a prompt."""
    from openpyxl.worksheet.datavalidation import DataValidation

    prompt = {"showInputMessage": True, "promptTitle": col.name[:32], "prompt": (col.help or col.expected)[:255]}
    if list_letter:
        return DataValidation(
            type="list",
            formula1=f"=Lists!${list_letter}$2:${list_letter}${picks + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{col.name}: not in the list",
            error=f"Pick one of the answers in the list{' or leave it blank' if col.nullable else ''}.",
            **prompt,
        )
    if col.kind in ("int", "float"):
        return DataValidation(
            type="whole" if col.kind == "int" else "decimal",
            operator="between" if col.maximum is not None else "greaterThanOrEqual",
            formula1=str(col.minimum if col.minimum is not None else -1e12),
            formula2=str(col.maximum) if col.maximum is not None else None,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{col.name}: out of range",
            error=col.expected[:255],
            **prompt,
        )
    return DataValidation(type="textLength", operator="greaterThanOrEqual", formula1="0", allow_blank=True, **prompt)


def _instructions(book, spec: kinds.Kind, fw: Framework, has_areas: bool) -> None:
    from openpyxl.styles import Alignment, Font

    kind = spec.name
    ws = book.create_sheet("Instructions")
    title = f"{fw.instrument.title}: survey entry" if kind == "survey" else f"{kind} file"
    lines = [
        (title, True),
        (
            f"Fill in the first sheet ('{kind}'), one row per "
            + spec.row
            + ". Keep the header row as it is and do not add columns.",
            False,
        ),
        (
            "Coded answers have a dropdown of the printed labels; the codes are accepted too. "
            "Leave a cell blank when a question was not answered.",
            False,
        ),
        (
            f"Then import it: python -m helpers import {kind} FILE.xlsx (add --sheet NAME if the data is not "
            "on the first sheet). Nothing is loaded unless every row is valid; the problems are listed, with "
            "their row and column, in a FILE.rejects.csv beside it.",
            False,
        ),
    ]
    if kind != "areas" and not has_areas:
        lines.append(("The neighbourhood ids must be those of the areas file already imported.", False))
    row = 1
    for text, bold in lines:
        cell = ws.cell(row=row, column=1, value=neutralise_cell(text))
        cell.font = Font(bold=bold, size=14 if bold else 11)
        row += 1
    row += 1
    for position, head in enumerate(("column", "what it records", "accepts", "required")):
        ws.cell(row=row, column=position + 1, value=head).font = Font(bold=True)
    for col in spec.columns:
        row += 1
        values = (col.name, col.help, col.expected, "optional" if col.nullable or col.optional else "required")
        for position, value in enumerate(values):
            cell = ws.cell(row=row, column=position + 1, value=neutralise_cell(value))
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCD", (18, 70, 70, 10), strict=True):
        ws.column_dimensions[letter].width = width


def write_template(
    name: str,
    fw: Framework,
    out: Path | str | None = None,
    *,
    force: bool = False,
    db: Path | str | None = None,
) -> tuple[Path, str]:
    """Write a data-entry workbook; returns its path and a one-line description."""
    name, kind = template_kind(name)
    target = Path(out) if out is not None else default_output(name)
    if target.suffix.lower() != ".xlsx":
        raise UserError(f"{target}: a template is an Excel workbook; give a file name ending in .xlsx")
    if target.exists() and not force:
        raise UserError(f"{target}: already exists; choose another --out FILE or add --force to overwrite it")
    hoods = known_neighbourhoods(db)
    book = build_workbook(kind, fw, hoods)
    try:
        save_workbook_atomic(book, target)
    except OSError as exc:
        raise UserError(f"{target}: cannot write the template ({exc.strerror or exc})") from None
    cols = kinds.columns_for(kind, fw)
    dropdowns = sum(1 for c in cols if c.picks) + (1 if hoods else 0)
    return target, (
        f"wrote {target}: {len(cols)} columns ({dropdowns} with dropdowns) on sheet '{kind}', and instructions; "
        f"fill it in, then run: python -m helpers import {kind} {target}"
    )
