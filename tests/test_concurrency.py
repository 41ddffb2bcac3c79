"""Nothing lost under concurrency (issue 14): self-evaluation saves from several processes at once, two batches
writing to one output folder, an import while another process reads the database.

Real processes throughout (multiprocessing, subprocesses running ``python -m helpers``), a real DuckDB file.
"""

from __future__ import annotations

import html
import multiprocessing
import os
import re
import subprocess
import sys
import time
from datetime import date

import pytest

from helpers.config import paths
from helpers.config.errors import UserError
from helpers.store import database as store
from helpers.store import selfeval

TODAY = date(2025, 6, 30)
SHARED = ("Shared review", date(2025, 3, 31))


@pytest.fixture
def db(tmp_path, fw):
    path = tmp_path / "workbook.duckdb"
    con = store.connect(path)
    store.ensure_schema(con, fw)
    con.close()
    return path


@pytest.fixture
def writable(monkeypatch):
    monkeypatch.setenv(selfeval.ALLOW_WRITE_ENV, "1")


def _assessment(fw, name, day, level, revision=0):
    areas = [a.id for a in fw.self_evaluation.areas]
    return selfeval.Assessment(name, day, dict.fromkeys(areas, level), dict.fromkeys(areas, name), revision)


# --- self-evaluation: optimistic concurrency and history ---------------------------------------------


def test_a_stale_save_is_refused_with_a_plain_message_and_the_first_is_kept(db, fw, writable):
    selfeval.save_assessment(db, fw, _assessment(fw, *SHARED, "aspiring"), today=TODAY)
    mine = selfeval.load_assessment(db, fw, *SHARED)
    theirs = selfeval.load_assessment(db, fw, *SHARED)
    assert mine.revision == theirs.revision == 1
    saved = selfeval.save_assessment(
        db, fw, _assessment(fw, *SHARED, "leading"), editing=SHARED, revision=theirs.revision, today=TODAY
    )
    assert saved.revision == 2
    with pytest.raises(UserError, match=r"someone else saved 'Shared review' dated 2025-03-31 after you opened it.*"):
        selfeval.save_assessment(
            db, fw, _assessment(fw, *SHARED, "developing"), editing=SHARED, revision=mine.revision, today=TODAY
        )
    assert set(selfeval.load_assessment(db, fw, *SHARED).levels.values()) == {"leading"}
    # opened again, at revision 2, the same change saves
    again = selfeval.load_assessment(db, fw, *SHARED)
    assert again.revision == 2
    saved = selfeval.save_assessment(
        db, fw, _assessment(fw, *SHARED, "developing"), editing=SHARED, revision=again.revision, today=TODAY
    )
    assert saved.revision == 3
    kept = selfeval.history(db, *SHARED)
    areas = len(fw.self_evaluation.areas)
    assert len(kept) == 3 * areas  # three saves, every area each time; the refused one is not there
    by_revision = kept.groupby("revision")["level"].agg(set).to_dict()
    assert by_revision == {1: {"aspiring"}, 2: {"leading"}, 3: {"developing"}}
    assert kept.groupby("revision")["saved_at"].nunique().eq(1).all()  # one time per save
    assert kept["saved_at"].is_monotonic_increasing


def test_two_new_assessments_with_the_same_name_and_date_the_second_is_refused(db, fw, writable):
    selfeval.save_assessment(db, fw, _assessment(fw, *SHARED, "aspiring"), today=TODAY)
    with pytest.raises(UserError, match="already exists; open it to edit it"):
        selfeval.save_assessment(db, fw, _assessment(fw, *SHARED, "leading"), today=TODAY)
    assert set(selfeval.history(db, *SHARED)["revision"]) == {1}


def test_an_assessment_saved_before_history_was_kept_is_at_revision_0(db, fw, writable):
    con = store.connect(db)
    con.execute("INSERT INTO self_assessments VALUES ('Old', DATE '2024-01-31', 'governance', 'leading', NULL)")
    con.close()
    old = selfeval.load_assessment(db, fw, "Old", date(2024, 1, 31))
    assert old.revision == 0 and selfeval.history(db, "Old", date(2024, 1, 31)).empty
    saved = selfeval.save_assessment(db, fw, old, editing=old.key, revision=0, today=TODAY)
    assert saved.revision == 1
    with pytest.raises(UserError, match="someone else saved 'Old'"):
        selfeval.save_assessment(db, fw, old, editing=old.key, revision=0, today=TODAY)


def _saver(db: str, worker: str, rounds: int, start, results) -> None:
    """One 'browser': alternately edits the shared assessment (open, change, save; reopened when told it is
    stale) and saves a new assessment of its own each round. Records each save that was accepted."""
    from helpers.config.framework import framework

    fw = framework()
    accepted, refused = [], 0
    levels = [lvl.id for lvl in fw.self_evaluation.levels]
    start.wait(timeout=120)  # both processes begin together
    for n in range(rounds):
        level = levels[n % len(levels)]
        opened = selfeval.load_assessment(db, fw, *SHARED)
        try:
            saved = selfeval.save_assessment(
                db, fw, _assessment(fw, *SHARED, level), editing=SHARED, revision=opened.revision, today=TODAY
            )
            accepted.append(("shared", saved.revision, level))
        except UserError as exc:
            assert "open it again" in str(exc), str(exc)
            refused += 1
        own = (f"{worker} {n:03d}", date(2025, 1, 1 + n % 28))
        saved = selfeval.save_assessment(db, fw, _assessment(fw, *own, level), today=TODAY)
        accepted.append((own[0], saved.revision, level))
    results.put((worker, accepted, refused))


def test_two_processes_saving_at_once_lose_nothing(db, fw, writable):
    selfeval.save_assessment(db, fw, _assessment(fw, *SHARED, "aspiring"), today=TODAY)
    rounds = 25
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: nothing of this one's DuckDB
    results, start = context.Queue(), context.Barrier(2)
    workers = [context.Process(target=_saver, args=(str(db), w, rounds, start, results)) for w in ("A", "B")]
    for w in workers:
        w.start()
    outcomes = {}
    for _ in workers:
        worker, accepted, refused = results.get(timeout=300)
        outcomes[worker] = (accepted, refused)
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    shared = sorted(a for acc, _ in outcomes.values() for a in acc if a[0] == "shared")
    refused = sum(r for _, r in outcomes.values())
    # every shared save attempt was either accepted or refused with the plain message
    assert len(shared) + refused == 2 * rounds
    kept = selfeval.history(db, *SHARED)
    areas = len(fw.self_evaluation.areas)
    revisions = sorted(set(kept["revision"]))
    # the first save (revision 1) plus each accepted one, numbered without gaps or repeats
    assert revisions == list(range(1, len(shared) + 2))
    assert [r for _, r, _ in shared] == revisions[1:]
    assert len(kept) == len(revisions) * areas
    # each accepted save is in the history with the levels it saved
    by_revision = kept.groupby("revision")["level"].agg(set).to_dict()
    for _, revision, level in shared:
        assert by_revision[revision] == {level}
    # the latest is the last revision in the history
    latest = selfeval.load_assessment(db, fw, *SHARED)
    assert latest.revision == revisions[-1]
    assert set(latest.levels.values()) == by_revision[revisions[-1]]
    # and every process's own assessments: all 2 x 25 there, each saved once
    saved = selfeval.list_assessments(db)
    assert len(saved) == 1 + 2 * rounds
    for worker, (accepted, _) in outcomes.items():
        own = [a for a in accepted if a[0] != "shared"]
        assert len(own) == rounds and all(revision == 1 for _, revision, _ in own)
        assert all(name.startswith(worker) for name, _, _ in own)


def test_two_forms_open_the_same_assessment_the_second_save_is_told_to_reload(db, fw, writable):
    """Two browsers' forms (the widgets a Voila page shows, each its own kernel in real use)."""
    from helpers.surfaces.dashboards import SelfEvaluationForm

    def said(form) -> str:
        return html.unescape(form.status.value)

    selfeval.save_assessment(db, fw, _assessment(fw, *SHARED, "aspiring"), today=TODAY)
    first, second = SelfEvaluationForm(db, fw), SelfEvaluationForm(db, fw)
    for form in (first, second):
        form.saved.value = SHARED
        form._open()
    first.levels["governance"].value = "leading"
    first._save()
    assert "Updated 'Shared review'" in said(first)
    second.levels["governance"].value = "developing"
    second._save()
    assert "Not saved: someone else saved 'Shared review'" in said(second)
    assert "open it again (reload it)" in said(second)
    assert selfeval.load_assessment(db, fw, *SHARED).levels["governance"] == "leading"
    second._open()  # reopened: the first person's change is there, and the second can now save theirs
    assert second.levels["governance"].value == "leading"
    second.levels["governance"].value = "developing"
    second._save()
    assert "Updated 'Shared review'" in said(second)
    first.levels["enterprise"].value = "leading"
    first._save()  # the first has not reopened since the second saved
    assert "someone else saved" in said(first)
    assert list(selfeval.history(db, *SHARED).groupby("revision").size().index) == [1, 2, 3]


# --- an import while another process reads the database ----------------------------------------------

HOLD = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
    "c.execute('SELECT count(*) FROM imports').fetchone(); print('open', flush=True); sys.stdin.readline(); c.close()"
)


def _helpers(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers", *args],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        **kwargs,
    )


def _imports(db) -> list[tuple]:
    con = store.connect(db, read_only=True)
    try:
        return con.execute("SELECT kind, file_name, rows FROM imports ORDER BY batch_id").fetchall()
    finally:
        con.close()


@pytest.fixture
def empty_db(tmp_path, fw):
    path = tmp_path / "reading.duckdb"
    con = store.connect(path)
    store.ensure_schema(con, fw)
    con.close()
    return path


def test_an_import_while_a_reader_holds_the_database_waits_then_fails_plainly(empty_db):
    """A reader (a report kernel, the dashboard) holds the file read-only: the import waits its few seconds,
    then stops naming the database and the process holding it; nothing is loaded. Once the reader has gone,
    the same import loads the file."""
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(empty_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        start = time.monotonic()
        refused = _helpers("import", "areas", str(paths.SAMPLE / "areas.csv"), "--db", str(empty_db))
        waited = time.monotonic() - start
    finally:
        reader.communicate("\n", timeout=30)
    assert refused.returncode == 2, refused.stderr
    message = refused.stderr.strip()
    assert message.startswith(f"error: {empty_db}: the database is in use by another program (process {reader.pid}")
    assert "could not be written to (waited 5 seconds); nothing was changed" in message
    assert "Traceback" not in refused.stderr
    assert waited >= store.LOCK_WAIT_SECONDS
    assert _imports(empty_db) == []
    loaded = _helpers("import", "areas", str(paths.SAMPLE / "areas.csv"), "--db", str(empty_db))
    assert loaded.returncode == 0, loaded.stderr
    areas = sum(1 for _ in (paths.SAMPLE / "areas.csv").open()) - 1  # the file's rows, less its header
    assert _imports(empty_db) == [("areas", "areas.csv", areas)]


def test_an_import_waits_for_a_brief_reader_and_a_reader_waits_for_the_import(empty_db):
    """A reader that finishes within the wait does not make an import fail; a reader opening during an import's
    transaction waits for it and then sees the whole file loaded, never part of it."""
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(empty_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout.readline().strip() == "open"
    importing = subprocess.Popen(
        [sys.executable, "-m", "helpers", "import", "areas", str(paths.SAMPLE / "areas.csv"), "--db", str(empty_db)],
        cwd=paths.ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "WORKBOOK_TEST_PAUSE_IN_TRANSACTION": "2"},
    )
    time.sleep(1.0)
    reader.communicate("\n", timeout=30)  # the reader goes within the import's wait
    assert "paused inside the import transaction" in importing.stderr.readline()
    start = time.monotonic()
    con = store.connect(empty_db, read_only=True)  # the import holds the file: this waits for it
    try:
        waited = time.monotonic() - start
        rows = con.execute("SELECT count(*) FROM areas").fetchone()[0]
    finally:
        con.close()
    assert importing.wait(timeout=60) == 0
    areas = sum(1 for _ in (paths.SAMPLE / "areas.csv").open()) - 1
    assert rows == areas and waited > 0.5


# --- two batches writing to one output folder -----------------------------------------------------------


def test_a_second_batch_for_the_same_folder_waits_then_stops_plainly(tmp_path):
    """The lock as the batch takes it: a second holder for the same folder waits, then a plain message saying
    when and by which process the first started; another folder is free; Ctrl-C releases the lock."""
    from helpers.surfaces import batch

    out = tmp_path / "reports"
    with batch.writing_to(out, shown="reports"):
        start = time.monotonic()
        with pytest.raises(UserError) as refused, batch.writing_to(out, shown="reports", wait=0.5):
            pass
        assert time.monotonic() - start >= 0.5
        with batch.writing_to(tmp_path / "elsewhere", wait=0):
            pass
    assert re.fullmatch(
        r"another batch is writing to reports/ \(started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+, "
        rf"process {os.getpid()}\); "
        r"wait for it to finish, or use --out to write the reports to another folder",
        str(refused.value),
    ), str(refused.value)
    with pytest.raises(KeyboardInterrupt), batch.writing_to(out):
        raise KeyboardInterrupt
    with batch.writing_to(out, wait=0):  # released by the interrupted batch
        pass
    assert not (paths.work_folder(out) / "batch.lock.note").exists()


@pytest.mark.slow
def test_two_batches_started_together_the_second_stops_and_the_first_finishes_whole(sample_db, tmp_path):
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "helpers", "reports", "--db", str(sample_db), "--out", str(out), "--jobs", "1"]
    cmd += ["--project", "working-xtra", "--neighbourhood", "oakfield", "--wave", "baseline"]
    first = subprocess.Popen(cmd, cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    note = paths.work_folder(out) / "batch.lock.note"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not note.exists():
        time.sleep(0.05)
    second = subprocess.run(cmd, cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    out_first, err_first = first.communicate(timeout=300)
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert f"another batch is writing to {out.as_posix()}/ (started " in second.stderr
    assert f", process {first.pid}); wait for it to finish, or use --out" in second.stderr
    assert first.returncode == 0, err_first
    assert "1 reports written, 0 failed" in out_first
    report = out / "working-xtra" / "oakfield" / "baseline.html"
    assert report.read_text().rstrip().endswith("</html>")
    assert (out / "index.html").exists() and not list(out.rglob(".*.tmp*"))
    assert not note.exists()
    again = subprocess.run(cmd, cwd=paths.ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "1 up to date, running 0" in again.stdout


# --- two browsers on one dashboard server ---------------------------------------------------------------


def _form(browser, url: str):
    """The self-evaluation dashboard in a page of its own (its own kernel), ready for input."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/voila/render/self_evaluation.ipynb", wait_until="commit")
    page.wait_for_selector(".wb-dashboard .widget-dropdown select")
    page.wait_for_selector("#loading", state="hidden")
    return page


def _open_saved(page, label: str) -> None:
    page.get_by_label("Open a saved assessment", exact=True).select_option(label=label)
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_selector(f"text=Opened '{label.split(' (')[0]}'")


def _fill_new(page, name: str, day: str, level: str) -> None:
    page.get_by_role("button", name="Start a new assessment").click()
    page.get_by_label("Assessment name", exact=True).fill(name)
    page.get_by_label("Assessed on", exact=True).fill(day)
    page.get_by_label("Governance and infrastructure: level", exact=True).select_option(label=level)


@pytest.mark.browser
def test_two_browsers_saving_at_once_lose_nothing(db, fw, writable, playwright_browser, tmp_path):
    from helpers.surfaces import dashboard_server

    governance = "Governance and infrastructure: level"
    selfeval.save_assessment(db, fw, _assessment(fw, *SHARED, "aspiring"), today=TODAY)
    with dashboard_server.running(
        db, allow_write=True, log=tmp_path / "voila.log", options=("--pool-size", "1")
    ) as url:
        one, two = _form(playwright_browser, url), _form(playwright_browser, url)
        try:
            # both save a new assessment of their own at the same moment: both are kept
            _fill_new(one, "Cabinet", "2025-04-30", "Leading")
            _fill_new(two, "Scrutiny", "2025-04-30", "Developing")
            save_one = one.get_by_role("button", name="Save assessment")
            save_two = two.get_by_role("button", name="Save assessment")
            save_one.click(no_wait_after=True)
            save_two.click(no_wait_after=True)
            one.wait_for_selector("text=Saved 'Cabinet' dated 2025-04-30")
            two.wait_for_selector("text=Saved 'Scrutiny' dated 2025-04-30")
            # both open the same assessment and change it: the first save is kept, the second told to reload
            for page in (one, two):
                _open_saved(page, "Shared review (2025-03-31)")
            one.get_by_label(governance, exact=True).select_option(label="Leading")
            save_one.click()
            one.wait_for_selector("text=Updated 'Shared review'")
            two.get_by_label(governance, exact=True).select_option(label="Developing")
            save_two.click()
            refused = two.wait_for_selector(".wb-error").inner_text()
            assert refused.startswith("Not saved: someone else saved 'Shared review' dated 2025-03-31 after you")
            assert "open it again (reload it)" in refused
            _open_saved(two, "Shared review (2025-03-31)")
            assert two.get_by_label(governance, exact=True).input_value() == "Leading"
        finally:
            one.close()
            two.close()
    saved = selfeval.list_assessments(db)
    assert sorted(saved["name"]) == ["Cabinet", "Scrutiny", "Shared review"]
    assert selfeval.load_assessment(db, fw, "Cabinet", "2025-04-30").levels["governance"] == "leading"
    assert selfeval.load_assessment(db, fw, "Scrutiny", "2025-04-30").levels["governance"] == "developing"
    kept = selfeval.history(db, *SHARED)
    assert kept.loc[kept["area"] == "governance", ["revision", "level"]].values.tolist() == [
        [1, "aspiring"],
        [2, "leading"],
    ]
