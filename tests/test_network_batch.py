"""The network batch remakes a page only when what it is made from changed (issue 17), deciding as the council's
report batch does: the Parquet export is the same bytes for the same data, a second run makes nothing, a
corrected return remakes only its family's pages, one more council or a framework edit remakes every page,
``--force`` remakes all, and a failed page is never taken as made.

Two synthetic councils (helpers.surfaces.network_sample): two families (Council Tax Reduction, Working Xtra)
at two later waves, so four pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from wording import forbidden, visible_text

from helpers.config import paths
from helpers.store import network, returns
from helpers.surfaces import batch
from helpers.surfaces.cli import build_parser, main
from helpers.surfaces.network_batch import PageOutcome, cli_network_reports, plan_pages, remember
from helpers.surfaces.network_sample import council_return_tables, synthetic_manifest, write_network_sample

PAGES = [
    "council-tax-reduction/6m",
    "council-tax-reduction/12m",
    "working-xtra/6m",
    "working-xtra/12m",
]  # made in this order
ONE_PROCESS = "in this process, by 1 worker(s)"


def _network(fw, folder: Path, councils: int = 2) -> tuple[Path, list[Path]]:
    made = write_network_sample(fw, folder / "returns", councils)
    db = folder / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    return db, made


def _corrected(path: Path, out: Path, project: str, wave: str, by: float) -> Path:
    """The same council's return for the same period, its DiD for ``project`` at ``wave`` moved by ``by``."""
    manifest, tables, _ = returns.read_return(path)
    did = tables["did"]
    rows = (did["project"] == project) & (did["wave"] == wave)
    assert rows.any()
    did.loc[rows, "did"] += by
    manifest = {k: v for k, v in manifest.items() if k not in ("tables", "format")}
    return returns.write_return(out, manifest, tables)


def _stale(fw, db: Path, out: Path) -> list[str]:
    """The pages a run would make now (exported as the command exports)."""
    data = out / "network-data"
    network.export_parquet(db, data)
    pages = plan_pages(fw, data, out, network.families(data))
    return [f"{p.family}/{p.wave}" for p in pages if not batch.is_current(p)]


def _as_made(fw, db: Path, out: Path) -> None:
    """Every page as if made now: a page file and the fingerprint it was made from."""
    data = out / "network-data"
    network.export_parquet(db, data)
    pages = plan_pages(fw, data, out, network.families(data))
    for p in pages:
        Path(p.html).parent.mkdir(parents=True, exist_ok=True)
        Path(p.html).write_text("page")
    for p in pages:
        remember(PageOutcome(p, "done", 0.0, "here"))


def _times(out: Path) -> dict[str, int]:
    return {p.relative_to(out).with_suffix("").as_posix(): p.stat().st_mtime_ns for p in out.glob("*/*.html")}


def test_the_parquet_export_is_the_same_bytes_for_the_same_data(fw, tmp_path):
    """The same returns imported in the other order give the same files, byte for byte; exporting again over
    them leaves them untouched."""
    db, made = _network(fw, tmp_path / "a", councils=3)
    other = tmp_path / "b.duckdb"
    for path in reversed(made):
        assert main(["network", "import", str(path), "--db", str(other)]) == 0
    first = network.export_parquet(db, tmp_path / "first")
    second = network.export_parquet(other, tmp_path / "second")
    assert [p.name for p in first] == [p.name for p in second] and len(first) == 9
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))
    times = {p: p.stat().st_mtime_ns for p in first}
    network.export_parquet(other, tmp_path / "first")
    assert {p: p.stat().st_mtime_ns for p in first} == times


def test_what_a_page_is_made_from_decides_which_pages_are_remade(fw, tmp_path, monkeypatch):
    db, made = _network(fw, tmp_path)
    out = tmp_path / "pages"
    assert _stale(fw, db, out) == PAGES  # nothing made yet
    _as_made(fw, db, out)
    assert _stale(fw, db, out) == []
    # A corrected return from council 001: only its Working Xtra DiD at 12 months differs. The family's pages
    # at both waves read it (a page also reads the areas each council's DiD pooled at every wave); the other
    # family's pages show nothing of it.
    fixed = _corrected(made[0], tmp_path / "fixed.zip", "working-xtra", "12m", 0.05)
    assert main(["network", "import", str(fixed), "--db", str(db)]) == 0
    assert _stale(fw, db, out) == ["working-xtra/6m", "working-xtra/12m"]
    _as_made(fw, db, out)
    # One more council: every page lists every council and counts its self-assessment, so every page changes.
    rng = np.random.default_rng(5)
    tables = council_return_tables(rng, fw, 2, {"6m": 0.03, "12m": 0.06}, 0.05, (600, 900))
    third = returns.write_return(tmp_path / "third.zip", synthetic_manifest(fw, "Corby"), tables)
    assert main(["network", "import", str(third), "--db", str(db)]) == 0
    assert _stale(fw, db, out) == PAGES
    _as_made(fw, db, out)
    # The same return again adds nothing, and changes nothing.
    assert main(["network", "import", str(third), "--db", str(db)]) == 0
    assert _stale(fw, db, out) == []
    # A framework edit (a copy of it, edited): every page.
    copy = tmp_path / "framework"
    shutil.copytree(paths.FRAMEWORK, copy)
    monkeypatch.setattr(paths, "FRAMEWORK", copy)
    batch._code_fingerprint.cache_clear()
    try:
        _as_made(fw, db, out)  # (the framework's files are named by their path: made under the copy)
        assert _stale(fw, db, out) == []
        settings = copy / "settings.yaml"
        settings.write_text(settings.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        batch._code_fingerprint.cache_clear()
        assert _stale(fw, db, out) == PAGES
    finally:
        batch._code_fingerprint.cache_clear()


def _run(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["network", "reports", *argv])
    return code, capsys.readouterr().out.strip()


@pytest.mark.slow
def test_a_second_run_makes_nothing_and_a_corrected_return_remakes_its_family(fw, tmp_path, capsys):
    db, made = _network(fw, tmp_path)
    out = tmp_path / "pages"
    args = ("--db", str(db), "--out", str(out))
    code, said = _run(capsys, *args)
    assert code == 0 and said == f"made 4 network pages, 0 unchanged, 0 failed, in {out} {ONE_PROCESS}"
    first = _times(out)
    assert sorted(first) == sorted(PAGES)
    before = (out / "working-xtra" / "12m.html").read_text()

    assert _run(capsys, *args) == (0, f"made 0 network pages, 4 unchanged, 0 failed, in {out}")
    assert _times(out) == first  # not one page touched

    fixed = _corrected(made[0], tmp_path / "fixed.zip", "working-xtra", "12m", 0.05)
    assert main(["network", "import", str(fixed), "--db", str(db)]) == 0
    code, said = _run(capsys, *args)
    assert code == 0 and said.startswith("made 2 network pages, 2 unchanged, 0 failed")
    now = _times(out)
    assert [p for p in PAGES if now[p] != first[p]] == ["working-xtra/6m", "working-xtra/12m"]
    assert (out / "working-xtra" / "12m.html").read_text() != before  # the pooled figures moved

    code, said = _run(capsys, *args, "--force", "--family", "council-tax-reduction")
    assert code == 0 and said.startswith("made 2 network pages, 0 unchanged, 0 failed")
    assert [p for p in PAGES if _times(out)[p] != now[p]] == ["council-tax-reduction/6m", "council-tax-reduction/12m"]


@pytest.mark.slow
def test_a_failed_page_is_never_taken_as_made(fw, tmp_path, capsys):
    """Pages made, then remade (``--force``) with a time limit no page can meet: both fail and keep their old
    file, but no longer count as made from what they would be made from now, so the next ordinary run makes
    them again though nothing has changed since they were first made."""
    db, _ = _network(fw, tmp_path)
    out = tmp_path / "pages"
    args = ("--db", str(db), "--out", str(out), "--family", "working-xtra")
    code, said = _run(capsys, *args)
    assert code == 0 and said.startswith("made 2 network pages, 0 unchanged, 0 failed")
    first = _times(out)
    # the index: a row per kind of scheme by name, a link per page made, the other family's pages not made yet
    index = (out / "index.html").read_text()
    assert '<th scope="row">Working Xtra</th><td><a href="working-xtra/6m.html">6 months</a></td>' in index
    assert '<th scope="row">Council Tax Reduction</th><td>not made yet</td><td>not made yet</td>' in index
    assert forbidden(visible_text(index), fw) == []

    limit = fw.settings.batch.model_copy(update={"timeout_minutes": 0.001})  # 0.06 s
    short = fw.model_copy(update={"settings": fw.settings.model_copy(update={"batch": limit})})
    capsys.readouterr()
    assert cli_network_reports(short, build_parser().parse_args(["network", "reports", *args, "--force"])) == 1
    said = capsys.readouterr().out
    assert said.count("failed: working-xtra, ") == 2
    assert said.strip().endswith(f"made 0 network pages, 0 unchanged, 2 failed, in {out} {ONE_PROCESS}")
    assert _times(out) == first  # a failed page is never half-written: the old file stays

    code, said = _run(capsys, *args)
    assert code == 0 and said.startswith("made 2 network pages, 0 unchanged, 0 failed")
    assert _run(capsys, *args)[1] == f"made 0 network pages, 2 unchanged, 0 failed, in {out}"


def test_this_workbooks_council_is_shown_beside_the_network_once_it_has_sent_a_return(fw, tmp_path):
    db, _ = _network(fw, tmp_path)
    out = tmp_path / "pages"
    data = out / "network-data"
    network.export_parquet(db, data)
    assert {p.council for p in plan_pages(fw, data, out, network.families(data))} == {""}
    rng = np.random.default_rng(7)
    tables = council_return_tables(rng, fw, 2, {"6m": 0.03, "12m": 0.06}, 0.05, (600, 900))
    ours = returns.write_return(tmp_path / "ours.zip", synthetic_manifest(fw, fw.settings.council.name), tables)
    assert main(["network", "import", str(ours), "--db", str(db)]) == 0
    network.export_parquet(db, data)
    assert {p.council for p in plan_pages(fw, data, out, network.families(data))} == {fw.settings.council.name}
