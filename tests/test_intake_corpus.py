"""The intake corpus: every awkward or bad file in tests/data/intake/ gives the outcome a user should see.

Each case in tests/data/intake/cases.yaml runs through the command line (``helpers.surfaces.cli.main``) against a
fresh copy of a small database, and the test checks the exit status, that the message names the problem,
that no traceback escapes, that a refused file changes nothing in the database, and that the rejects CSV
lists exactly the bad rows (as Excel numbers them) and columns.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from helpers.config import paths
from helpers.store.intake import import_file
from helpers.surfaces.cli import main

CORPUS = Path(__file__).parent / "data" / "intake"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
TABLES = ("areas", "population", "survey", "indicators", "stories", "sentiment", "imports")


def _case_id(case: dict) -> str:
    extra = "-".join(a.strip("-") for a in case.get("args", []))
    return f"{case['kind']}:{case['file']}" + (f"[{extra}]" if extra else "") + f"@{case['db']}"


@pytest.fixture(scope="session")
def start_dbs(tmp_path_factory, fw) -> dict[str, Path | None]:
    """The databases a case may start from, built once: areas only, and areas with population."""
    folder = tmp_path_factory.mktemp("corpus-db")
    areas = folder / "areas.duckdb"
    import_file("areas", paths.SAMPLE / "areas.csv", fw, areas)
    base = folder / "base.duckdb"
    shutil.copy(areas, base)
    import_file("population", paths.SAMPLE / "population.csv", fw, base)
    return {"none": None, "areas": areas, "base": base}


def _typed_cell(text: str) -> object:
    """A CSV cell as someone typing into Excel leaves it: numbers as numbers, 'date:...' as a date."""
    if text.startswith("date:"):
        return datetime.fromisoformat(text[5:])
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text if text != "" else None


def _build(case: dict, target: Path) -> None:
    """Make a file the corpus describes rather than stores (workbooks and odd bytes)."""
    build = case["build"]
    if "bytes" in build:
        target.write_bytes(build["bytes"].encode("latin-1"))
    elif "zip" in build:
        with zipfile.ZipFile(target, "w") as archive:
            for part, text in build["zip"].items():
                archive.writestr(part, text)
    else:
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for spec in build["xlsx"]:
            ws = book.create_sheet(spec["sheet"])
            if "csv" in spec:
                text = (CORPUS / spec["csv"]).read_text(encoding="utf-8")
                rows = list(csv.reader(io.StringIO(text)))
                for number, row in enumerate(rows, start=1):
                    for column, value in enumerate(row, start=1):
                        if value != "":
                            ws.cell(row=number, column=column, value=_typed_cell(value) if number > 1 else value)
            for row in spec.get("rows", []):
                ws.append(row)
        book.save(target)


def _snapshot(db: Path | None) -> dict[str, int] | None:
    if db is None or not db.exists():
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES if t in found}
    finally:
        con.close()


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_corpus_case(case, start_dbs, tmp_path, capsys):
    source = CORPUS / case["file"]
    if "build" in case:
        source = tmp_path / case["file"]
        _build(case, source)
    elif source.exists():  # work on a copy: the rejects CSV is written beside the file by default
        source = shutil.copy(source, tmp_path / case["file"])
    else:
        source = tmp_path / case["file"]
    db = tmp_path / "workbook.duckdb"
    if start_dbs[case["db"]] is not None:
        shutil.copy(start_dbs[case["db"]], db)
    before = _snapshot(db)
    rejects = tmp_path / "rejects.csv"

    code = main(
        ["import", case["kind"], str(source), "--db", str(db), "--rejects", str(rejects), *case.get("args", [])]
    )

    out, err = capsys.readouterr()
    message = out + err
    assert "Traceback" not in message
    assert case["word"].lower() in message.lower(), message
    assert len(message.strip().splitlines()) == 1, f"one plain line expected: {message}"
    if case["outcome"] == "refused":
        assert code == 2, message
        assert message.startswith("error: ")
        assert _snapshot(db) == before, "a refused file must change nothing in the database"
    else:
        assert code == 0, message
        after = _snapshot(db)
        added = after[case["kind"]] - (before or {}).get(case["kind"], 0)
        assert added == case["rows"]
        assert after["imports"] == (before or {}).get("imports", 0) + 1
    if "rejects" in case:
        assert str(rejects) in message, "the message names the rejects file"
        with rejects.open(encoding="utf-8", newline="") as handle:
            listed = list(csv.DictReader(handle))
        assert [[int(r["row"]), r["column"]] for r in listed] == case["rejects"]
        assert all(r["file"] == str(source) and r["expected"] for r in listed)
    elif case["outcome"] != "skipped":
        assert not rejects.exists()
    if "rejects_text" in case:
        assert case["rejects_text"] in rejects.read_text(encoding="utf-8")
    if "check" in case:
        con = duckdb.connect(str(db), read_only=True)
        try:
            got = [list(r) for r in con.execute(case["check"]["sql"]).fetchall()]
        finally:
            con.close()
        assert got == case["check"]["rows"]


def test_corpus_is_large_and_mixed():
    """At least 25 cases, CSV and XLSX, each outcome represented."""
    assert len(CASES) >= 25
    suffixes = {Path(c["file"]).suffix for c in CASES}
    assert {".csv", ".xlsx"} <= suffixes
    assert {c["outcome"] for c in CASES} == {"refused", "loaded", "skipped"}
    stored = {p.name for p in CORPUS.iterdir()} - {"cases.yaml", "make_corpus.py", "__pycache__"}
    used = {c["file"] for c in CASES} | {
        s["csv"] for c in CASES for s in c.get("build", {}).get("xlsx", []) if "csv" in s
    }
    assert stored <= used, f"files in the corpus that no case uses: {sorted(stored - used)}"
