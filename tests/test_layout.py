"""The repository keeps its promises: layout, dependencies in step, docs in step, clean notebooks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import yaml

from helpers.config import paths
from helpers.surfaces.cli import command_reference

ROOT = paths.ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_layout():
    for entry in (
        "notebooks",
        "data",
        "helpers",
        "templates",
        "tests",
        "environment.yml",
        "Makefile",
        "README.md",
        "pyproject.toml",
        ".ci/run",
        ".pre-commit-config.yaml",
    ):
        assert (ROOT / entry).exists(), entry


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    wanted |= {"distributed"} if "dask" in wanted else set()  # conda splits dask[distributed]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            listed.add(_name(dep))
    listed -= {"python", "pip"}
    assert listed == wanted


def test_readme_command_reference_in_step_with_help():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- commands:start -->\n", 1)[1].split("<!-- commands:end -->", 1)[0]
    assert block == command_reference(), "run `python -m helpers docs` to regenerate the README reference"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make run" in readme
    lines = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[-1] == "make test"


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ("run", "test", "lab", "dashboard", "bench", "clean"):
        assert re.search(rf"make {target}\s+\S", out), target


def test_notebooks_committed_without_outputs_and_with_documented_parameters():
    for nb_path in sorted(paths.NOTEBOOKS.rglob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), nb_path
        if nb_path.parent == paths.NOTEBOOKS:
            params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
            assert len(params) == 1, f"{nb_path}: one cell tagged 'parameters'"
            for line in "".join(params[0]["source"]).splitlines():
                assert re.fullmatch(r'\w+ = ("[^"]*"|\d+)  # .+', line), f"{nb_path}: {line!r}"


def test_nbstripout_would_change_nothing():
    """The real tool, as pre-commit runs it: committed notebooks carry no outputs or volatile metadata."""
    notebooks = sorted(str(p) for p in [*paths.NOTEBOOKS.rglob("*.ipynb"), *paths.TEMPLATES.glob("*.ipynb")])
    result = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", *notebooks], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebook_cells_are_thin():
    for nb_path in sorted(paths.NOTEBOOKS.rglob("*.ipynb")):
        for cell in json.loads(nb_path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            lines = [ln for ln in "".join(cell["source"]).splitlines() if ln.strip() and not ln.strip().startswith("#")]
            assert len(lines) <= 8, nb_path
            assert not any(ln.lstrip().startswith(("for ", "def ", "class ", "while ")) for ln in lines), nb_path


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_layers_keep_their_contract():
    """import-linter's contracts in pyproject.toml: each layer imports only the ones below it; methods are pure;
    nothing below presentation draws."""
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_cycles():
    """No helpers module reaches itself through its imports (at any depth, lazy imports included)."""
    import grimp

    graph = grimp.build_graph("helpers")
    imports = {
        m: {d for d in graph.find_modules_directly_imported_by(m) if d.startswith("helpers.")} for m in graph.modules
    }
    cycles = []
    for start in sorted(imports):
        seen, todo = set(), list(imports[start])
        while todo:
            module = todo.pop()
            if module == start:
                cycles.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo += imports.get(module, ())
    assert cycles == []


def test_no_project_file_reads_the_shared_folder():
    shared = "/".join(["..", "shared"])  # spelt out so this file does not match itself
    for path in [*ROOT.joinpath("helpers").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py"), ROOT / "Makefile"]:
        text = path.read_text()
        assert shared not in text and "/work/" + "shared" not in text, path
