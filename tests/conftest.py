"""Shared fixtures: a database built from the committed sample, once per test session; a real Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers.config import paths
from helpers.config.framework import framework as load
from helpers.store.intake import build_database
from helpers.surfaces import dashboard_server


@pytest.fixture(scope="session")
def fw():
    return load()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, fw) -> Path:
    """A workbook database built from data/sample/ (the same path `make run` takes)."""
    db = tmp_path_factory.mktemp("db") / "workbook.duckdb"
    build_database(paths.SAMPLE, fw, db)
    return db


@pytest.fixture(scope="session", autouse=True)
def _notebooks_use_sample_db(tmp_path_factory):
    """Point notebooks (nbval kernels inherit the environment) at a sample database, never the user's."""
    db = tmp_path_factory.mktemp("nbval") / "workbook.duckdb"
    build_database(paths.SAMPLE, load(), db)
    os.environ["WORKBOOK_DB"] = str(db)
    yield
    os.environ.pop("WORKBOOK_DB", None)


@pytest.fixture
def framework_copy(tmp_path) -> Path:
    """A writable copy of data/framework/ to corrupt in tests."""
    target = tmp_path / "framework"
    shutil.copytree(paths.FRAMEWORK, target)
    return target


AXE = paths.ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def playwright_browser():
    """Debian's Chromium driven by Playwright (browser tests)."""
    chromium = dashboard_server.chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed: run `apt-get install -y chromium` (.ci/run does this)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (in the dev extras)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(dashboard_server.CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def serious_violations():
    """``check(page)``: axe-core's serious and critical accessibility violations on the page, one line each."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci --prefix tests/browser`")

    def check(page) -> list[str]:
        page.add_script_tag(path=str(AXE))
        return page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}) ${v.nodes[0].html.slice(0, 120)}`)"
        )

    return check


def pytest_collection_modifyitems(config, items):
    """nbval items start real kernels: mark them slow like the batch tests."""
    for item in items:
        if item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid:
            item.add_marker(pytest.mark.slow)
