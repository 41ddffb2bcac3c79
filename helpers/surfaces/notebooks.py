"""The project notebooks' convention: the standard sections of ``templates/project.ipynb``, in its order.

A project notebook is the template with the project's name and id filled in: its setup cell, then for each
standard section a Markdown cell headed ``## <the section's title>`` and a code cell ``report.<section>()``.
A section that does not apply to the project (``applies`` in the section registry: the financial-resilience
check for a project the framework does not give it to) is left out. A project may add cells of its own
between them: tag each such cell ``project-own`` (JupyterLab: the property inspector's cell tags), so that
:func:`check_notebook` (and the test that runs it on every project notebook) knows it is meant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..config.errors import UserError
from ..config.framework import Framework
from ..presentation import sections

OWN_TAG = "project-own"
CALL = re.compile(r"report\.(\w+)\(\)")


@dataclass(frozen=True)
class StandardCell:
    heading: str  # the Markdown heading line, "## Title"
    section: str  # the section's registered name


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _own(cell: dict) -> bool:
    return OWN_TAG in cell.get("metadata", {}).get("tags", [])


def standard_cells(notebook: dict) -> tuple[str, list[StandardCell]]:
    """The setup cell's source and the (heading, section) pairs of a notebook, in order."""
    cells = [c for c in notebook["cells"] if not _own(c)]
    code = [c for c in cells if c["cell_type"] == "code" and "parameters" not in c.get("metadata", {}).get("tags", [])]
    setup = _source(code[0]) if code else ""
    found = []
    for before, cell in zip(cells, cells[1:], strict=False):
        match = CALL.fullmatch(_source(cell).strip()) if cell["cell_type"] == "code" else None
        if match and before["cell_type"] == "markdown":
            found.append(StandardCell(_source(before).splitlines()[0].strip(), match.group(1)))
    return setup, found


applies = sections.applies


def for_project(notebook: dict, fw: Framework, project_id: str) -> dict:
    """The template notebook without the sections that do not apply to ``project_id`` (heading and call)."""
    cells, skip = [], set()
    for i, cell in enumerate(notebook["cells"]):
        match = CALL.fullmatch(_source(cell).strip()) if cell["cell_type"] == "code" else None
        if match and match.group(1) in sections.load_all() and not applies(fw, project_id, match.group(1)):
            skip |= {i, i - 1} if i and notebook["cells"][i - 1]["cell_type"] == "markdown" else {i}
    cells = [dict(c) for i, c in enumerate(notebook["cells"]) if i not in skip]
    if all(str(c.get("id", "")).isdigit() for c in cells):  # numbered as nbstripout numbers them
        for number, cell in enumerate(cells):
            cell["id"] = str(number)
    return {**notebook, "cells": cells}


def check_notebook(path: Path, template: Path, fw: Framework, project_id: str) -> list[str]:
    """What keeps ``path`` from following the template for ``project_id``: one plain sentence per problem."""
    try:
        mine, standard = json.loads(path.read_text(encoding="utf-8")), json.loads(template.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read the notebook ({exc})") from None
    registered = sections.load_all()
    setup, cells = standard_cells(mine)
    want_setup, wanted = standard_cells(for_project(standard, fw, project_id))
    problems = []
    if setup != want_setup:
        problems.append(f"{path.name}: the first code cell should be the template's:\n{want_setup}")
    unknown = [c.section for c in cells if c.section not in registered]
    problems += [f"{path.name}: report.{name}() is not a section" for name in unknown]
    if [c.section for c in cells] != [c.section for c in wanted]:
        problems.append(
            f"{path.name}: sections {[c.section for c in cells]} should be, in this order, "
            f"{[c.section for c in wanted]} (as templates/project.ipynb, leaving out those that do not apply)"
        )
    for cell in cells:
        if cell.section in registered and cell.heading != f"## {registered[cell.section].title}":
            problems.append(
                f"{path.name}: report.{cell.section}() should be under '## {registered[cell.section].title}'"
            )
    shown = {c.section for c in cells}
    for cell in mine["cells"]:
        text = _source(cell).strip()
        plain = cell["cell_type"] == "code" and not _own(cell) and text != setup
        if plain and "report." in text and not CALL.fullmatch(text):
            problems.append(f"{path.name}: a cell calls the report differently ({text!r}); use report.<section>()")
    problems += [
        f"{path.name}: the section {n} does not apply to {project_id}"
        for n in shown
        if n in registered and not applies(fw, project_id, n)
    ]
    return problems
