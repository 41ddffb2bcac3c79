"""helpers/newproject.py: a new project's ripple map and notebook; refusals; nothing half-written; a batch run.

Every test writes into tmp_path (a copy of data/framework, or a copy of the repository for the batch
run), never into the repository itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import papermill
import pytest

from helpers.config import paths
from helpers.config.errors import UserError
from helpers.config.framework import load_framework
from helpers.evidence import ripple
from helpers.surfaces import newproject


@pytest.fixture
def dirs(framework_copy, tmp_path):
    return {"framework_dir": framework_copy, "notebooks_dir": tmp_path / "notebooks"}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_project_id_from_name():
    assert newproject.project_id_for("Tenant Voice") == "tenant-voice"
    assert newproject.project_id_for("  Food Co-op: Phase 2! ") == "food-co-op-phase-2"


def test_new_project_files_validate_and_declare_the_batch_parameters(dirs, fw):
    created = newproject.new_project("Tenant Voice", **dirs)
    assert created.project_id == "tenant-voice"
    assert created.ripple_map == dirs["framework_dir"] / "projects" / "tenant-voice.yaml"
    assert created.notebook == dirs["notebooks_dir"] / "tenant_voice.ipynb"
    loaded = load_framework(dirs["framework_dir"])
    project = loaded.project("tenant-voice")
    assert project.name == "Tenant Voice" and len(project.ripple) == 3
    assert set(loaded.project_ids) == set(fw.project_ids) | {"tenant-voice"}
    text = created.ripple_map.read_text()
    assert "place-workforce" in text and "s17 Trust local services" in text  # id lists come from the framework
    assert "__" not in text  # every placeholder filled
    declared = papermill.inspect_notebook(str(created.notebook))
    assert set(declared) >= set(newproject.REPORT_PARAMETERS)
    assert declared["project"]["default"] == '"tenant-voice"'
    nb = json.loads(created.notebook.read_text())
    assert "".join(nb["cells"][0]["source"]).startswith("# Tenant Voice: the co-operative difference")
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    # design mode straight away: the planned ripple from the map alone
    reach = ripple.planned_reach(loaded, "tenant-voice").set_index("ideal")
    assert reach["outcomes_in_map"].tolist() == [1, 1, 1]


def test_refuses_an_existing_id_or_name_and_writes_nothing(dirs):
    before = _files(dirs["framework_dir"])
    with pytest.raises(UserError, match="a project with id 'working-xtra' already exists"):
        newproject.new_project("Working Xtra Two", project_id="working-xtra", **dirs)
    with pytest.raises(UserError, match="a project named 'Working Xtra' already exists \\(id working-xtra\\)"):
        newproject.new_project("working xtra", project_id="wx2", **dirs)
    with pytest.raises(UserError, match="not a usable project id"):
        newproject.new_project("!!!", **dirs)
    assert _files(dirs["framework_dir"]) == before
    assert not dirs["notebooks_dir"].exists()
    newproject.new_project("Tenant Voice", **dirs)
    with pytest.raises(UserError, match="already exists"):
        newproject.new_project("Tenant Voice", **dirs)


def test_refuses_when_the_notebook_exists(dirs):
    dirs["notebooks_dir"].mkdir()
    (dirs["notebooks_dir"] / "tenant_voice.ipynb").write_text("{}")
    with pytest.raises(UserError, match="the notebook .*tenant_voice.ipynb already exists"):
        newproject.new_project("Tenant Voice", **dirs)
    assert not (dirs["framework_dir"] / "projects" / "tenant-voice.yaml").exists()


def test_a_template_that_would_not_validate_writes_nothing(dirs, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(paths.TEMPLATES, templates, ignore=shutil.ignore_patterns("report"))
    yaml_template = templates / "project.yaml"
    yaml_template.write_text(yaml_template.read_text().replace("outcome: services-trust", "outcome: services-rust"))
    with pytest.raises(UserError, match="would not validate, so nothing was written.*services-rust"):
        newproject.new_project("Tenant Voice", templates_dir=templates, **dirs)
    assert not (dirs["framework_dir"] / "projects" / "tenant-voice.yaml").exists()
    assert not dirs["notebooks_dir"].exists()


def test_a_failed_notebook_write_removes_the_ripple_map(dirs, monkeypatch):
    real = newproject.write_text_atomic

    def failing(text, target):
        if str(target).endswith(".ipynb"):
            raise OSError("disk full")
        return real(text, target)

    monkeypatch.setattr(newproject, "write_text_atomic", failing)
    with pytest.raises(OSError, match="disk full"):
        newproject.new_project("Tenant Voice", **dirs)
    assert not (dirs["framework_dir"] / "projects" / "tenant-voice.yaml").exists()
    assert not list(dirs["framework_dir"].glob("projects/.*"))  # no temporary file left behind


@pytest.mark.slow
def test_new_project_round_trip_through_the_batch(tmp_path):
    """In a copy of the repository: new-project, a database mapping two neighbourhoods to it, one batch report."""
    repo = tmp_path / "repo"
    for part in ("helpers", "templates", "data/framework"):
        shutil.copytree(paths.ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "notebooks").mkdir()
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("WORKBOOK_DB", None)

    def run(*args):
        done = subprocess.run(
            [sys.executable, "-m", "helpers", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "created project tenant-voice" in run("new-project", "Tenant Voice")
    assert (repo / "data/framework/projects/tenant-voice.yaml").exists()
    assert (repo / "notebooks/tenant_voice.ipynb").exists()
    refused = subprocess.run(
        [sys.executable, "-m", "helpers", "new-project", "Tenant Voice"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "already exists" in refused.stderr

    data = tmp_path / "data"
    data.mkdir()
    for name in ("population.csv", "survey.csv", "indicators.csv"):
        shutil.copy(paths.SAMPLE / name, data / name)
    areas = pd.read_csv(paths.SAMPLE / "areas.csv")
    new_rows = pd.DataFrame(
        [("oakfield", "Oakfield", "tenant-voice", "pilot"), ("millbrook", "Millbrook", "tenant-voice", "comparison")],
        columns=areas.columns,
    )
    pd.concat([areas, new_rows], ignore_index=True).to_csv(data / "areas.csv", index=False)
    pd.DataFrame(
        [
            (
                "ten-1",
                "tenant-voice",
                "oakfield",
                "6m",
                "people-empowered",
                "Shared",
                "Quince-lantern-5521 with consent.",
                "yes",
            ),
            (
                "ten-2",
                "tenant-voice",
                "oakfield",
                "6m",
                "people-empowered",
                "Private",
                "Obsidian-walrus-9043 private.",
                "no",
            ),
        ],
        columns=["story_id", "project", "neighbourhood", "wave", "outcomes", "title", "text", "consent"],
    ).to_csv(data / "stories.csv", index=False)
    db = tmp_path / "workbook.duckdb"
    run("build-db", "--from", str(data), "--db", str(db))
    out = tmp_path / "reports"
    run(
        "reports",
        "--project",
        "tenant-voice",
        "--neighbourhood",
        "oakfield",
        "--wave",
        "12m",
        "--db",
        str(db),
        "--out",
        str(out),
        "--jobs",
        "1",
    )
    page = (out / "tenant-voice" / "oakfield" / "12m.html").read_text()
    assert "Tenant Voice" in page and "The ripple" in page and "In brief" in page
    assert "Quince-lantern-5521" in page  # the consented story is shown
    executed = paths.executed_notebook(out, "tenant-voice", "oakfield", "12m").read_text()
    for text in (page, executed, (out / "index.html").read_text()):
        assert "Obsidian-walrus-9043" not in text  # the unconsented one appears nowhere
    csv = tmp_path / "ripple.csv"
    run("ripple", "--project", "tenant-voice", "--db", str(db), "--csv", str(csv))
    assert "Obsidian" not in csv.read_text() and len(pd.read_csv(csv)) == 6
