"""Reports a committee can read: the page in a browser, on paper (A4 PDFs through headless Chromium), the committee
pack, and an output folder that can be shared.

One small batch on the sample database: Working Xtra's Oakfield (a pilot) and Millbrook (a comparison area) at 12
months with ``--pdf``, after the project's overview (whose difference-in-differences the committee pack takes).
Page one of each PDF is saved as a PNG (pdftoppm) to a temporary folder whose path is printed with ``-s``, as the
dashboard tests do with their screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.config import paths
from helpers.surfaces import batch, dashboard_server
from helpers.surfaces.cli import main

PROJECT, PILOT, COMPARISON, WAVE = "working-xtra", "oakfield", "millbrook", "12m"
needs_chromium = pytest.mark.skipif(
    dashboard_server.chromium() is None,
    reason="Chromium is not installed: run `apt-get install -y chromium` (.ci/run does this)",
)


# --- the small batch -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def printed(sample_db, fw, tmp_path_factory):
    """The overview, then two reports and their PDFs and the committee pack (``reports --pdf``)."""
    if dashboard_server.chromium() is None:
        pytest.skip("Chromium is not installed: run `apt-get install -y chromium` (.ci/run does this)")
    out = tmp_path_factory.mktemp("printed") / "reports"
    _, every = batch.plan(fw, sample_db, out, projects=[PROJECT])
    overview = next(j for j in every if j.project == PROJECT and not j.wave)
    saved = os.environ.get("WORKBOOK_CACHE")
    try:  # run_one sets the kernels' cache folder in this process's environment
        assert batch.run_one(overview).status == "done"
    finally:
        os.environ.pop("WORKBOOK_CACHE", None) if saved is None else os.environ.update(WORKBOOK_CACHE=saved)
    args = ["reports", "--db", str(sample_db), "--out", str(out), "--project", PROJECT, "--wave", WAVE]
    code = main([*args, "--neighbourhood", f"{PILOT},{COMPARISON}", "--jobs", "2", "--pdf"])
    return SimpleNamespace(code=code, out=out, args=args, overview=Path(overview.html))


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("print-screenshots")
    print(f"\nprint screenshots: {folder}")
    return folder


def _report(out: Path, hood: str = PILOT) -> Path:
    return paths.report_html(out, PROJECT, hood, WAVE)


def _text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return subprocess.run(["pdftotext", *pages, "-layout", str(pdf), "-"], capture_output=True, text=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def _page_one_png(browser, pdf: Path, html_page: Path | None, target: Path) -> None:
    """Page one as a picture: pdftoppm when installed, else the page in print media (Playwright)."""
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(target)])
        return
    page = browser.new_page(viewport={"width": batch.PRINT_WIDTH_PX, "height": 980})
    try:
        page.goto((html_page or pdf).as_uri())
        page.emulate_media(media="print")
        page.screenshot(path=f"{target}.png")
    finally:
        page.close()


poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils: apt-get install poppler-utils")


# --- the page in a browser ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_the_title_and_every_heading_show_and_the_contents_links_reach_them(printed, playwright_browser):
    """H1 and each section heading are rendered (display, visibility, size), each contents link scrolls its
    heading into view, no code shows, and the skip link appears only on keyboard focus."""
    assert printed.code == 0
    page = playwright_browser.new_page(viewport={"width": 1100, "height": 800})
    try:
        page.goto(_report(printed.out).as_uri())
        headings = page.eval_on_selector_all(
            "main h1, main h2",
            """hs => hs.map(h => { const s = getComputedStyle(h), r = h.getBoundingClientRect();
                 let shown = true;
                 for (let e = h; e; e = e.parentElement) if (getComputedStyle(e).display === 'none') shown = false;
                 return {tag: h.tagName, id: h.id, text: h.textContent.trim(), shown, visibility: s.visibility,
                         width: r.width, height: r.height}; })""",
        )
        assert [h["tag"] for h in headings].count("H1") == 1 and len(headings) >= 9
        for h in headings:
            assert h["shown"] and h["visibility"] == "visible" and h["width"] > 0 and h["height"] > 0, h
        links = page.eval_on_selector_all("nav[aria-label='Contents'] a", "as => as.map(a => a.hash.slice(1))")
        assert links == [h["id"] for h in headings if h["tag"] == "H2"]
        for target in links:
            page.click(f"nav[aria-label='Contents'] a[href='#{target}']")
            page.wait_for_function(
                "id => { const r = document.getElementById(id).getBoundingClientRect();"
                " return r.top >= -1 && r.top < window.innerHeight - r.height; }",
                arg=target,
                timeout=5_000,
            )
        text = page.inner_text("body")
        assert "import helpers" not in text and "Report(" not in text and "report = " not in text
        assert page.eval_on_selector_all(".jp-InputArea, .jp-CodeMirrorEditor, .highlight", "es => es.length") == 0
        skip = page.locator("a.skip")
        assert skip.bounding_box()["width"] <= 1  # out of sight until focused
        page.evaluate("() => window.scrollTo(0, 0)")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.className") == "skip"
        assert skip.bounding_box()["width"] > 50
        page.emulate_media(media="print")
        printed_text = page.evaluate("() => document.body.innerText").strip()
        assert not printed_text.startswith("Skip to the report") and "Skip to the report" not in printed_text
        assert printed_text.startswith("Example Co-operative Council"), printed_text[:80]
    finally:
        page.close()


# --- on paper ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
@poppler
def test_each_report_prints_to_a4_with_its_header_footer_and_page_numbers(
    printed, fw, playwright_browser, artefacts, capsys
):
    counts = {}
    for hood, name in ((PILOT, "Oakfield"), (COMPARISON, "Millbrook")):
        pdf = _report(printed.out, hood).with_suffix(".pdf")
        assert pdf.exists(), "the PDF is written beside its report"
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "pts (A4)" in next(line for line in info.splitlines() if line.startswith("Page size:")), info
        pages = counts[hood] = _pages(pdf)
        assert 1 < pages < 60
        first = _text(pdf, 1, 1)
        assert name in first and "12 months" in first  # the neighbourhood and the wave's label
        assert fw.settings.council.name in first and fw.settings.council.contact in " ".join(first.split())
        assert "Published" in first and f"Page 1 of {pages}" in first
        assert "Skip to the report" not in first and "Contents" not in first.split("In brief")[0]
        assert f"Page {pages} of {pages}" in _text(pdf, pages, pages)
        annex = next(k for k in range(1, pages + 1) if "Annex: how the figures were made" in _text(pdf, k, k))
        assert annex - 1 <= 6, f"{hood}: the main report takes {annex - 1} A4 pages (at most 6), its annex follows"
        _page_one_png(playwright_browser, pdf, _report(printed.out, hood), artefacts / f"{PROJECT}-{hood}-{WAVE}")
    with capsys.disabled():
        print(
            f"\nPDF pages (with the annex): pilot {PILOT} {counts[PILOT]}, comparison {COMPARISON} {counts[COMPARISON]}"
        )


@pytest.mark.slow
@pytest.mark.browser
@poppler
def test_the_committee_pack_has_each_page_one_and_the_difference_in_differences(
    printed, playwright_browser, artefacts, capsys
):
    pack = printed.out / PROJECT / "committee-pack.pdf"
    text = " ".join(_text(pack).split())
    pages = _pages(pack)
    assert pages >= 3  # a part per neighbourhood, then the comparison
    for name in ("Oakfield (pilot area), 12 months", "Millbrook (comparison area), 12 months"):
        assert name in text
    report = _report(printed.out).read_text(encoding="utf-8")
    second = batch._main_content(report).split(batch.SECTION)[2]  # the report's second section: not in the pack
    intro = batch.re.search(r"</h2>\s*<p>(.*?)</p>", second, batch.re.S).group(1)  # its heading's introduction
    intro = " ".join(batch.html.unescape(batch.re.sub(r"<[^>]+>", "", intro)).split())
    assert len(intro) > 40 and intro not in text
    did = batch.section_calling(printed.overview.read_text(encoding="utf-8"), batch.DID_SECTIONS)
    did_heading = batch.html.unescape(batch.re.search(r"<h2[^>]*>(.*?)<a", did).group(1)).strip()
    assert did_heading in text and "has not been made yet" not in text
    _page_one_png(playwright_browser, pack, None, artefacts / f"{PROJECT}-committee-pack")
    with capsys.disabled():
        print(f"\ncommittee pack: {pages} pages")


@pytest.mark.slow
@pytest.mark.browser
def test_a_pdf_is_printed_again_only_when_its_page_changed(printed, capsys):
    pdf = _report(printed.out).with_suffix(".pdf")
    other = _report(printed.out, COMPARISON).with_suffix(".pdf")
    before = pdf.stat().st_mtime_ns, other.stat().st_mtime_ns
    capsys.readouterr()
    assert main([*printed.args, "--neighbourhood", f"{PILOT},{COMPARISON}", "--pdf"]) == 0
    said = capsys.readouterr().out
    assert "2 up to date, running 0" in said and "3 PDFs selected; 3 up to date, printing 0" in said
    assert (pdf.stat().st_mtime_ns, other.stat().st_mtime_ns) == before
    page = _report(printed.out)
    page.write_text(page.read_text(encoding="utf-8") + "<!-- changed -->\n", encoding="utf-8")
    assert main([*printed.args, "--neighbourhood", f"{PILOT},{COMPARISON}", "--pdf"]) == 0
    assert "3 PDFs selected; 2 up to date, printing 1" in capsys.readouterr().out
    assert pdf.stat().st_mtime_ns != before[0] and other.stat().st_mtime_ns == before[1]


@pytest.mark.slow
@pytest.mark.browser
def test_a_pdf_that_fails_is_listed_like_a_failed_report(printed, fw, sample_db, tmp_path, capsys):
    """A page that cannot be printed (here: gone) fails alone: listed with the first line of its error, no
    traceback, no PDF or temporary file, and a note that keeps it out of date."""
    out = tmp_path / "reports"
    jobs, _ = batch.plan(fw, sample_db, out, projects=[PROJECT])
    job = next(j for j in jobs if j.neighbourhood == PILOT and j.wave == WAVE)
    gone = Path(job.html)
    gone.parent.mkdir(parents=True)
    gone.write_text(_report(printed.out).read_text(encoding="utf-8"), encoding="utf-8")
    printing = batch.Printing(
        gone.with_name("gone.html"),
        Path(job.pdf),
        job,
        "PDF",
        paths.state_file(out, job.pdf, ".inputs"),
        paths.state_file(out, job.pdf, ".failed"),
    )
    good = batch.Printing(
        gone, Path(job.pdf).with_name("good.pdf"), job, "PDF", tmp_path / "good.inputs", tmp_path / "good.failed"
    )
    header, footer = batch.header_footer(batch.page_meta(gone.read_text(encoding="utf-8")))
    outcomes = batch._print_all([(printing, header, footer, "x"), (good, header, footer, "y")])
    assert [o.status for o in outcomes] == ["failed", "done"]
    assert outcomes[0].what == "PDF" and "ERR_FILE_NOT_FOUND" in outcomes[0].error
    assert not Path(job.pdf).exists() and not list(out.rglob(".*.tmp*"))
    assert "ERR_FILE_NOT_FOUND" in printing.failed.read_text() and not printing.stamp.exists()
    assert Path(good.target).exists() and good.stamp.read_text().strip() == "y"
    capsys.readouterr()
    assert batch.summarise(outcomes, out) == 1
    said = capsys.readouterr()
    assert "1 PDFs written, 1 failed" in said.out
    assert "ERR_FILE_NOT_FOUND" in said.err and "gone.html" in said.err and "Traceback" not in said.err


# --- a folder that can be shared -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_only_published_files_in_the_output_folder_readable_by_others(printed):
    files = [p for p in printed.out.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert path.suffix in (".html", ".pdf", ".css", ".png", ".svg") and not path.name.startswith("."), path
        assert path.stat().st_mode & 0o777 == batch.file_mode(), f"{path}: {oct(path.stat().st_mode)}"
        if batch.file_mode() == 0o644:  # the usual umask (022): others may read
            assert path.stat().st_mode & 0o044 == 0o044
    assert {p.relative_to(printed.out).as_posix() for p in files} >= {
        "index.html",
        f"{PROJECT}/committee-pack.pdf",
        f"{PROJECT}/overview.html",
        *(f"{PROJECT}/{h}/{WAVE}.{ext}" for h in (PILOT, COMPARISON) for ext in ("html", "pdf")),
    }
    work = paths.work_folder(printed.out)
    assert work.parent == printed.out.parent
    assert (work / "executed" / PROJECT / PILOT / f"{WAVE}.ipynb").exists()
    assert any((work / "cache").glob("*.pkl"))
    assert (paths.state_file(printed.out, _report(printed.out), ".inputs")).exists()


# --- without a kernel or a browser ----------------------------------------------------------------------


def test_pdf_without_chromium_stops_with_how_to_install_it(sample_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dashboard_server, "chromium", lambda: None)
    assert main(["reports", "--db", str(sample_db), "--out", str(tmp_path / "r"), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install chromium" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists() and not paths.work_folder(tmp_path / "r").exists()


def test_an_old_output_folder_is_tidied_into_the_working_folder(tmp_path, fw, sample_db):
    """Reports made before the working folder: fingerprints, failure notes, executed notebooks and the cache
    leave the output folder (the fingerprints kept, so nothing is redone), and private pages become readable."""
    out = tmp_path / "reports"
    page = out / PROJECT / PILOT / f"{WAVE}.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html></html>")
    page.chmod(0o600)
    (out / PROJECT / PILOT / f"{WAVE}.html.inputs").write_text("abc\n")
    (out / PROJECT / PILOT / "6m.html.failed").write_text("ValueError: x\n")
    (out / "_executed" / PROJECT / PILOT).mkdir(parents=True)
    (out / "_executed" / PROJECT / PILOT / f"{WAVE}.ipynb").write_text("{}")
    (out / "_cache").mkdir()
    (out / "_cache" / "x.pkl").write_bytes(b"")
    work = paths.work_folder(out)
    batch._move_out_of_reports(out, work)
    batch.share(out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        f"{PROJECT}/{PILOT}/{WAVE}.html"
    ]
    assert page.stat().st_mode & 0o777 == batch.file_mode()
    assert paths.state_file(out, page, ".inputs").read_text() == "abc\n"
    assert paths.state_file(out, page.with_name("6m.html"), ".failed").exists()
    assert (work / "executed" / PROJECT / PILOT / f"{WAVE}.ipynb").exists()


def test_the_council_contact_is_one_line(fw):
    from pydantic import ValidationError

    from helpers.config.framework import Council

    assert fw.settings.council.contact  # the sample settings name one
    assert Council(name="A council").contact == ""
    with pytest.raises(ValidationError):
        Council(name="A council", contact="line one\nline two")
    with pytest.raises(ValidationError):
        Council(name="A council", contact="x" * 161)


def test_page_one_and_the_sections_are_cut_from_the_page():
    """The markers the template leaves become <section> elements naming the report sections they call; page one
    is what comes before the second; a table is marked breakable only when long."""
    rows = "".join("<tr><td>x</td></tr>" for _ in range(batch.LONG_TABLE + 1))
    page = (
        '<html><head></head><body><nav><!--CONTENTS--></nav><main id="main"><h1 id="T">Title<a class="anchor-link">'
        '</a></h1><p class="lead">header</p><!--wb:calls header-->'
        '<!--wb:section--><h2 id="In-brief">In brief<a class="anchor-link"></a></h2><p>brief</p>'
        "<!--wb:calls in_brief-->"
        '<!--wb:section--><h2 id="About">About<a class="anchor-link"></a></h2><!--wb:calls about-->'
        f'<table border="0" class="dataframe data"><caption>c</caption>{rows}</table>'
        '<!--wb:section--><h2 id="Did">Pilots<a class="anchor-link"></a></h2><!--wb:calls x did_every_wave-->'
        '<table class="dataframe data"><tr><td>1</td></tr></table>'
        "</main></body></html>"
    )
    finished = batch.add_contents(batch.mark_long_tables(batch.add_sections(page)))
    assert finished.count(batch.SECTION) == 3
    assert '<section class="wb-section" data-sections="in_brief" aria-labelledby="In-brief">' in finished
    one = batch.page_one(finished)
    assert "Title" in one and "header" in one and "brief" in one and "About" not in one
    did = batch.section_calling(finished, batch.DID_SECTIONS)
    assert "Pilots" in did and "About" not in did and "In brief" not in did
    assert finished.count('class="dataframe data long"') == 1
    assert '<a href="#In-brief">In brief</a>' in finished
    demoted = batch._demote(one, "p1")
    assert '<h2 id="p1-T">' in demoted and '<h3 id="p1-In-brief">' in demoted


@pytest.mark.browser
@pytest.mark.slow
def test_the_index_filters_by_project_role_and_wave(printed, playwright_browser):
    """The index's dropdowns show only the chosen project's, role's and wave's rows, in a real browser."""
    page = playwright_browser.new_page()
    try:
        page.goto((printed.out / "index.html").as_uri())
        rows = page.locator("#reports tbody tr:visible")
        every = rows.count()
        roles = page.eval_on_selector_all("#reports tbody tr", "rs => rs.map(r => r.dataset.role)")
        page.select_option("select[data-filter='role']", "comparison")
        assert rows.count() == roles.count("comparison") < every
        assert set(
            page.eval_on_selector_all("#reports tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.role)")
        ) == {"comparison"}
        page.select_option("select[data-filter='wave']", "12 months")
        shown = page.eval_on_selector_all("#reports tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.wave)")
        assert shown and set(shown) == {"12 months"}
        page.select_option("select[data-filter='role']", "")
        page.select_option("select[data-filter='wave']", "")
        assert rows.count() == every
    finally:
        page.close()


@pytest.mark.slow
def test_the_index_gives_each_reports_fieldwork_month_and_links_the_method(printed, sample_db, fw):
    """The index's fieldwork month for a 12-month report is the latest dated month of the project's data (the
    sample's projects have no start month, so the 12-month wave is anchored there, and it says 'estimated'),
    as the report's own title block says; and the index links to the method in a report's annex."""
    import duckdb

    project = fw.project(PROJECT)
    with duckdb.connect(str(sample_db), read_only=True) as con:
        ids = list(project.indicator_ids)
        latest_indicator = con.execute(
            f"SELECT max(period) FROM indicators WHERE indicator IN ({', '.join('?' * len(ids))})", ids
        ).fetchone()[0]
        latest_comment = con.execute("SELECT max(date) FROM sentiment WHERE project = ?", [PROJECT]).fetchone()[0]
    latest = max(d for d in (latest_indicator, latest_comment) if d is not None)
    expected = f"{latest:%B %Y} (estimated)"
    index = (printed.out / "index.html").read_text()
    row = next(r for r in index.split("<tr ") if ">Oakfield<" in r and 'data-wave="12 months"' in r)
    assert f"<td>{expected}</td>" in row
    assert f"fieldwork {expected}" in _report(printed.out).read_text()
    method = re.search(r'href="([^"]+)#How-the-figures-were-made"', index)
    assert method and (printed.out / method.group(1)).exists()
    assert 'id="How-the-figures-were-made"' in (printed.out / method.group(1)).read_text()
