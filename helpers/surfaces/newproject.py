"""A new co-operative project from ``templates/``: its ripple map and its report notebook.

``python -m helpers new-project "Name"`` writes

- ``data/framework/projects/<id>.yaml``: a commented ripple-map skeleton (from ``templates/project.yaml``)
  that validates as it stands, listing the outcome, statement and indicator ids it may use (taken from the
  framework, so they are never typed twice);
- ``notebooks/<id with _>.ipynb``: the project's report notebook (from ``templates/project.ipynb``), with
  the parameters cell the batch expects (project, neighbourhood, wave, db).

The batch and the dashboards find projects from the framework and the areas table, so the new project
needs no code change: map neighbourhoods to it in the areas file and run ``python -m helpers reports``.

Nothing is half-written: both files are rendered and checked first (the framework loads with the new
project in a scratch copy; the notebook declares the batch's parameters), then written each through a
temporary file and a rename; if the second write fails the first is removed.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ..config import paths
from ..config.errors import UserError
from ..config.framework import Framework, load_framework
from ..config.safe_output import write_text_atomic

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
YAML_TEMPLATE = "project.yaml"
NOTEBOOK_TEMPLATE = "project.ipynb"
# What the batch passes to a project report notebook (helpers/batch.py); the template must declare each.
REPORT_PARAMETERS = ("project", "neighbourhood", "wave", "db")


@dataclass(frozen=True)
class NewProject:
    project_id: str
    name: str
    ripple_map: Path
    notebook: Path

    @property
    def message(self) -> str:
        return (
            f"created project {self.project_id} ('{self.name}'): {self.ripple_map} and {self.notebook}. Next: edit "
            f"the ripple map, map neighbourhoods to {self.project_id} in the areas file, then run "
            f"`python -m helpers reports --project {self.project_id}`"
        )


def project_id_for(name: str) -> str:
    """A project id from a name: lower case, other characters become '-' ("Tenant Voice!" -> tenant-voice)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def notebook_path(project_id: str, notebooks_dir: Path) -> Path:
    """The notebook the batch runs for a project (the rule of :func:`helpers.config.paths.project_notebook`)."""
    return Path(notebooks_dir) / paths.project_notebook(project_id).name


def _comment_list(items: list[str]) -> str:
    text = ", ".join(items)
    lines = textwrap.wrap(text, 112, break_on_hyphens=False, break_long_words=False)
    return "\n".join("#   " + line for line in lines)


def render_ripple_map(template: str, fw: Framework, project_id: str, name: str) -> str:
    """The project's YAML: the template with the id, the name and the framework's id lists filled in."""
    outcomes = "\n".join(
        _comment_list([f"{ideal.name}: " + ", ".join(o.id for o in ideal.outcomes)]) for ideal in fw.ideals
    )
    statements = _comment_list([f"{s.id} {s.short}" for s in fw.instrument.statements.items])
    indicators = _comment_list([f"{i.id} ({i.better} is better, tier {i.tier})" for i in fw.indicators])
    replacements = {
        "__OUTCOME_LIST__": outcomes,
        "__STATEMENT_LIST__": statements,
        "__INDICATOR_LIST__": indicators,
        "__PROJECT_ID__": project_id,
        "__PROJECT_NAME_QUOTED__": json.dumps(name, ensure_ascii=False),  # a YAML double-quoted string
        "__PROJECT_NAME__": name,
    }
    text = template
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text


def render_notebook(template: str, project_id: str, name: str, fw: Framework | None = None) -> str:
    """The project's notebook: the template with the id and name filled in, outputs empty, and without the
    sections that do not apply to the project (with ``fw``; see ``helpers.surfaces.notebooks``)."""
    nb = json.loads(template)
    if fw is not None:
        from .notebooks import for_project

        nb = for_project(nb, fw, project_id)
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = source.replace("__PROJECT_ID__", project_id).replace("__PROJECT_NAME__", name)
        cell["source"] = source.splitlines(keepends=True)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _check_name(name: str) -> str:
    name = " ".join(name.split()) if name else ""
    if not name:
        raise UserError('new-project: give the project\'s name, e.g. python -m helpers new-project "Tenant Voice"')
    if any(ch in name for ch in "\r\n"):
        raise UserError("new-project: the name must be one line")
    return name


def new_project(
    name: str,
    *,
    project_id: str | None = None,
    framework_dir: Path | str = paths.FRAMEWORK,
    notebooks_dir: Path | str = paths.NOTEBOOKS,
    templates_dir: Path | str = paths.TEMPLATES,
) -> NewProject:
    """Create a new project's ripple map and notebook; refuse an existing id or name with a plain message."""
    framework_dir, notebooks_dir, templates_dir = Path(framework_dir), Path(notebooks_dir), Path(templates_dir)
    name = _check_name(name)
    pid = project_id if project_id is not None else project_id_for(name)
    if not re.fullmatch(ID_PATTERN, pid or ""):
        raise UserError(
            f"new-project: '{pid}' is not a usable project id (lower-case letters and digits, words joined by "
            "'-', e.g. tenant-voice); give one with --id"
        )
    fw = load_framework(framework_dir)
    target = framework_dir / "projects" / f"{pid}.yaml"
    notebook = notebook_path(pid, notebooks_dir)
    if pid in fw.project_ids or target.exists():
        raise UserError(f"new-project: a project with id '{pid}' already exists ({target}); choose another --id")
    same_name = [p for p in fw.projects if p.name.casefold() == name.casefold()]
    if same_name:
        raise UserError(
            f"new-project: a project named '{same_name[0].name}' already exists (id {same_name[0].id}); "
            "choose another name"
        )
    clash = [p.id for p in fw.projects if notebook_path(p.id, notebooks_dir) == notebook]
    if notebook.exists() or clash:
        raise UserError(f"new-project: the notebook {notebook} already exists; choose another --id")
    try:
        yaml_template = (templates_dir / YAML_TEMPLATE).read_text(encoding="utf-8")
        nb_template = (templates_dir / NOTEBOOK_TEMPLATE).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"new-project: the template {exc.filename} is missing") from None
    ripple_map = render_ripple_map(yaml_template, fw, pid, name)
    notebook_text = render_notebook(nb_template, pid, name, fw)
    _validate(framework_dir, pid, ripple_map, notebook_text)
    write_text_atomic(ripple_map, target)
    try:
        notebook.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(notebook_text, notebook)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return NewProject(pid, name, target, notebook)


def _validate(framework_dir: Path, project_id: str, ripple_map: str, notebook_text: str) -> None:
    """Load the framework with the new project in a scratch copy, and check the notebook's parameters."""
    with tempfile.TemporaryDirectory(prefix="new-project-") as scratch:
        copy = Path(scratch) / "framework"
        shutil.copytree(framework_dir, copy)
        (copy / "projects" / f"{project_id}.yaml").write_text(ripple_map, encoding="utf-8")
        try:
            fw = load_framework(copy)
        except UserError as exc:
            raise UserError(
                f"new-project: the new ripple map would not validate, so nothing was written: {exc}"
            ) from None
        fw.project(project_id)
        nb = Path(scratch) / "notebook.ipynb"
        nb.write_text(notebook_text, encoding="utf-8")
        import papermill

        declared = papermill.inspect_notebook(str(nb))
        missing = [p for p in REPORT_PARAMETERS if p not in declared]
        if missing:
            raise UserError(
                f"new-project: the notebook template {NOTEBOOK_TEMPLATE} does not declare the parameter(s) "
                f"{', '.join(missing)} the batch passes, so nothing was written"
            )


def cli_new_project(args) -> int:
    """``python -m helpers new-project NAME [--id ID]``."""
    created = new_project(args.name, project_id=getattr(args, "project_id", None))
    print(created.message)
    return 0
