"""Every path the workbook uses, built from the repository root (STYLE.md 4)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
FRAMEWORK = DATA / "framework"
PROJECTS = FRAMEWORK / "projects"
SAMPLE = DATA / "sample"
# The workbook database; $WORKBOOK_DB points everything (CLI defaults, notebooks) at another file.
DEFAULT_DB = Path(os.environ.get("WORKBOOK_DB") or DATA / "workbook.duckdb")
# Councils' returns side by side (python -m helpers network); $WORKBOOK_NETWORK_DB points the network verbs and
# the network dashboard at another file (the dashboard server sets it from --network-db).
NETWORK_DB = Path(os.environ.get("WORKBOOK_NETWORK_DB") or DATA / "network.duckdb")
NOTEBOOKS = ROOT / "notebooks"
DASHBOARDS = NOTEBOOKS / "dashboards"
OVERVIEW_NOTEBOOK = NOTEBOOKS / "overview.ipynb"
TEMPLATES = ROOT / "templates"
# A Jupyter data folder (on the dashboard server's JUPYTER_PATH) holding the dashboards' page template,
# voila/templates/workbook: Voila's page with the workbook's styles and nothing fetched from elsewhere.
DASHBOARD_TEMPLATES = TEMPLATES / "jupyter"
REPORTS = ROOT / "reports"


def project_notebook(project_id: str) -> Path:
    """The notebook that reports on one project: notebooks/<project id with _>.ipynb."""
    return NOTEBOOKS / f"{project_id.replace('-', '_')}.ipynb"


def report_html(out: Path, project_id: str, neighbourhood: str, wave: str) -> Path:
    """reports/<project>/<neighbourhood>/<wave>.html (STYLE.md 9)."""
    return out / project_id / neighbourhood / f"{wave}.html"


def work_folder(out: Path) -> Path:
    """What the batch keeps for itself beside the output folder, never inside it (``reports.work`` for
    ``reports``): the executed notebooks, the shared-results cache, each report's fingerprint and failure note,
    the kernels' log. Only what is published lives in the output folder; this one can be deleted at any time
    (the next batch then redoes every report)."""
    out = Path(out)
    return out.with_name(out.name + ".work")


def executed_notebook(out: Path, project_id: str, neighbourhood: str, wave: str) -> Path:
    """The executed notebook kept for debugging in the working folder, never published."""
    return work_folder(out) / "executed" / project_id / neighbourhood / f"{wave}.ipynb"


def state_file(out: Path, published: Path | str, suffix: str) -> Path:
    """The batch's note about a published file, in the working folder: ``.inputs`` (the fingerprint it was
    made from) or ``.failed`` (why the last attempt failed); reports.work/state/<path in reports><suffix>."""
    return work_folder(out) / "state" / (Path(published).relative_to(out).as_posix() + suffix)


def resolve(path: Path | str) -> Path:
    """A user-given path (blank = the default database).

    Relative paths are taken from the repository root, not the current directory.
    """
    if not str(path):
        return DEFAULT_DB
    path = Path(path)
    return path if path.is_absolute() else ROOT / path
