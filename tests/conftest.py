"""Shared fixtures: a database built from the committed sample, once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers import paths
from helpers.framework import framework as load
from helpers.intake import build_database


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


def pytest_collection_modifyitems(config, items):
    """nbval items start real kernels: mark them slow like the batch tests."""
    for item in items:
        if item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid:
            item.add_marker(pytest.mark.slow)
