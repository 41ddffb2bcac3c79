"""The dashboards: views and widgets without a browser, then the real thing in Chromium through Voila.

The database is the committed sample with one neighbourhood x wave (Brookside at 6 months) cut to 8
questionnaires, so the small-base rule can be seen. Expected figures come straight from helpers.methods.estimates
on that database, never from the dashboard code.

Browser tests (``-m browser``) start ``python -m helpers dashboard`` on a free port against that database
(:func:`helpers.surfaces.dashboard_server.running`) and drive Debian's Chromium with Playwright; screenshots of each
dashboard go to a temporary folder (its path is printed with ``-s``).
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import time
import warnings
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from dashboard_page import choose, open_dashboard, selection, table

from helpers.config import paths
from helpers.methods import estimates
from helpers.presentation import render, tables
from helpers.presentation.formatting import points_text
from helpers.store import access as analysis
from helpers.store import database as store
from helpers.store import selfeval
from helpers.store.intake import build_database
from helpers.surfaces import dashboard_server, dashboards
from helpers.surfaces.cli import main

SMALL_HOOD, SMALL_WAVE, SMALL_KEEP = "brookside", "6m", 8
LIGHT = ("--pool-size", "1")  # one kernel ready per dashboard: these tests open one page at a time
NOTEBOOKS = ("project.ipynb", "ripple.ipynb", "self_evaluation.ipynb", "fieldwork.ipynb")


# --- data ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dash_db(tmp_path_factory, fw) -> Path:
    """The sample database with Brookside's 6-month wave cut below the minimum base."""
    source = tmp_path_factory.mktemp("dashboard-sample")
    for f in paths.SAMPLE.glob("*.csv"):
        shutil.copy(f, source / f.name)
    survey = pd.read_csv(source / "survey.csv", dtype=str, keep_default_na=False)
    here = survey.index[(survey["neighbourhood"] == SMALL_HOOD) & (survey["wave"] == SMALL_WAVE)]
    survey.drop(index=here[SMALL_KEEP:]).to_csv(source / "survey.csv", index=False)
    db = tmp_path_factory.mktemp("dashboard-db") / "workbook.duckdb"
    build_database(source, fw, db)
    return db


@pytest.fixture(scope="session")
def expected(dash_db, fw) -> SimpleNamespace:
    """The figures helpers.methods.estimates gives for the dashboard database (the known answers)."""
    con = store.connect(dash_db, read_only=True)
    try:
        responses = analysis.load_responses(con, fw)
        population = analysis.load_population(con)
        areas = analysis.load_areas(con)
    finally:
        con.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = estimates.scores(responses, population, fw, require_weights=False)
    did = {p: estimates.did(scores, population, areas, p, fw) for p in fw.project_ids}

    def agree(hood, wave, measure):
        rows = scores[
            (scores["neighbourhood"] == hood)
            & (scores["wave"] == wave)
            & (scores["measure"] == measure)
            & (scores["statistic"] == "agree")
            & scores["weighted"]
        ]
        return rows.iloc[0] if len(rows) else None

    def did_of(project, wave, measure):
        d = did[project]
        return d[(d["wave"] == wave) & (d["measure"] == measure) & (d["statistic"] == "agree")].iloc[0]

    return SimpleNamespace(scores=scores, agree=agree, did=did_of)


@pytest.fixture(scope="session")
def projects(dash_db, fw) -> dashboards.ProjectsData:
    return dashboards.ProjectsData(dash_db, fw)


def _view(projects, sel):
    return dashboards.project_view(projects(sel.project), sel)


def _sel(fw, outcome="place-agency", hood="oakfield", wave="12m", project="working-xtra"):
    return dashboards.Selection(project, hood, wave, outcome)


def _statement_id(fw, label):
    """The statement a table row names by its short label."""
    return next(s.id for s in fw.instrument.statements.items if s.short == label)


def _statements(fw, project, outcome):
    return list(fw.project(project).ripple[fw.project(project).outcome_ids.index(outcome)].survey)


# --- views, without a browser -----------------------------------------------------------------------


def test_agree_rows_statuses():
    def row(hood, weighted, estimate, base, suppressed):
        return {
            "neighbourhood": hood,
            "wave": "12m",
            "measure": "s01",
            "statistic": "agree",
            "base_n": base,
            "estimate": estimate,
            "ci_low": estimate,
            "ci_high": estimate,
            "low_base": base < 30,
            "suppressed": suppressed,
            "weighted": weighted,
        }

    scores = pd.DataFrame(
        [
            row("a", False, 0.5, 100, False),
            row("a", True, 0.4, 100, False),  # weighted: shown
            row("b", False, None, 6, True),
            row("b", True, None, 6, True),  # too few answers
            row("c", False, 0.5, 50, False),  # answers, but no weighted row
        ]
    )
    out = tables.agree_rows(scores, ["a", "b", "c", "d"], ["12m"], ["s01"]).set_index("neighbourhood")
    assert list(out["status"]) == ["ok", "suppressed", "not weighted", "no responses"]
    assert out.loc["a", "estimate"] == 0.4
    assert list(out["suppressed"]) == [False, True, False, False]


def test_project_view_shows_the_figures_helpers_computes(projects, fw, expected):
    sel = _sel(fw)
    view = _view(projects, sel)
    statements = _statements(fw, "working-xtra", "place-agency")
    waves = view.tables["waves"]
    assert list(waves["statement"].unique()) == statements
    for r in waves.itertuples():
        wave = {w.label: w.id for w in fw.settings.waves}[r.wave]
        e = expected.agree("oakfield", wave, r.statement)
        assert r.percent_agree == pytest.approx(round(100 * e["estimate"], 1))
        assert r.interval_low == pytest.approx(round(100 * e["ci_low"], 1))
        assert r.responses == e["base_n"]
    did = view.tables["did"].set_index("statement")
    for s in statements:
        assert did.loc[s, "did_points"] == pytest.approx(round(100 * expected.did("working-xtra", "12m", s)["did"], 1))
    e = expected.agree("oakfield", "12m", "s05")
    assert f"Can access skills support, 12 months: {e['estimate']:.0%}" in view.html  # the chart's text
    assert estimates.PARALLEL_TRENDS_NOTE.split(".")[0] in view.html


def test_small_base_says_fewer_than_ten(projects, fw, expected):
    minimum = fw.settings.thresholds.minimum_base
    assert expected.agree(SMALL_HOOD, SMALL_WAVE, "s05") is None  # could not be weighted: 8 answers
    view = _view(projects, _sel(fw, hood=SMALL_HOOD, wave=SMALL_WAVE))
    assert f"Responses this wave: fewer than {minimum}." in view.html
    waves = view.tables["waves"]
    small = waves[waves["wave"] == "6 months"]
    assert set(small["note"]) == {f"fewer than {minimum} responses"}
    assert small["responses"].isna().all() and small["percent_agree"].isna().all()
    areas = view.tables["areas"]
    assert set(areas.loc[areas["neighbourhood"] == "Brookside (pilot)", "note"]) == {f"fewer than {minimum} responses"}
    # Brookside is left out of the pilot pool at 6 months, so the project's comparison stands on Oakfield alone
    did = view.tables["did"]
    assert set(did["pilot_areas"]) == {"Oakfield"} and set(did["note"]) == {""} and did["did_points"].notna().all()
    assert f"Brookside is left out at 6 months for every statement: fewer than {minimum} answers at 6 months" in (
        view.html
    )


def test_outcome_without_survey_statements(projects, fw):
    view = _view(projects, _sel(fw, outcome="services-learning"))
    assert "No Your Voice statements measure this outcome" in view.html
    assert "waves" not in view.tables


def test_only_consented_stories_and_no_sentiment_text(projects, fw):
    sample = pd.read_csv(paths.SAMPLE / "stories.csv")
    ev = projects("working-xtra").evidence
    assert set(ev.stories["story_id"]) <= set(sample.loc[sample["consent"] == "yes", "story_id"])
    assert "text" not in ev.sentiment.columns
    view = _view(projects, _sel(fw, outcome="people-involvement", wave="6m"))
    shown = sample[(sample["consent"] == "yes") & (sample["neighbourhood"] == "oakfield") & (sample["wave"] == "6m")]
    shown = shown[shown["outcomes"].str.contains("people-involvement")]
    assert len(shown) and all(html.escape(t) in view.html for t in shown["text"])
    for text in sample.loc[sample["consent"] == "no", "text"]:
        assert html.escape(text) not in view.html
    for text in pd.read_csv(paths.SAMPLE / "sentiment.csv")["text"]:
        assert html.escape(text) not in view.html


def test_download_link_is_csv_with_formulas_neutralised():
    frame = pd.DataFrame({"label": ['=HYPERLINK("http://x")', "@SUM(A1)", "plain"], "value": [-1.5, 2.0, 3.0]})
    link = render.download_link(frame, "t.csv", "test")
    assert 'download="t.csv"' in link and "Download this table (CSV): test" in link
    text = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", link).group(1)).decode("utf-8")
    assert text.splitlines() == ["label,value", '"\'=HYPERLINK(""http://x"")",-1.5', "'@SUM(A1),2.0", "plain,3.0"]


def test_ripple_design_mode_from_the_framework_alone(projects, fw):
    view = dashboards.ripple_view(projects("working-xtra"), dashboards.DESIGN, "people")
    reach = view.tables["reach"].set_index("ideal")
    # working-xtra.yaml: place-agency, place-pride-trust | people-wellbeing, people-involvement |
    # services-trust, services-learning
    assert list(reach["outcomes_in_map"]) == [2, 2, 2]
    assert list(reach["outcomes"]) == [len(i.outcomes) for i in fw.ideals]
    assert reach.loc["public-services", "sentiment"] == 1 and reach.loc["public-services", "other"] == 1
    assert "ideal" not in view.tables  # no survey evidence in design mode
    for outcome in next(i for i in fw.ideals if i.id == "people").outcomes:
        assert html.escape(f"{outcome.label}: ") in view.html
    assert "Not in this project's ripple map." in html.unescape(view.html)  # people-empowered


def test_ripple_evidence_at_a_wave(projects, fw, expected):
    view = dashboards.ripple_view(projects("working-xtra"), "12m", "place")
    ideal = view.tables["ideal"]
    place = [ln for ln in fw.project("working-xtra").ripple if fw.ideal_of(ln.outcome).id == "place"]
    assert list(zip(ideal["outcome"], ideal["measure"], strict=True)) == [
        (ln.outcome, s) for ln in place for s in ln.survey
    ]
    for r in ideal.itertuples():
        assert r.did == pytest.approx(expected.did("working-xtra", "12m", r.measure)["did"])
    baseline = dashboards.ripple_view(projects("working-xtra"), fw.settings.baseline, "place")
    assert "Showing the planned ripple (design mode)" in baseline.html and "ideal" not in baseline.tables


def test_ripple_design_mode_before_any_data(tmp_path, fw):
    """A project mapped to no neighbourhood yet: the planned ripple, from the framework alone."""
    import duckdb

    db = tmp_path / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM areas WHERE project = 'council-tax-reduction'")
    con.close()
    view = dashboards.ripple_view(dashboards.ProjectsData(db, fw)("council-tax-reduction"), "12m", "place")
    assert "there are no survey responses for Council Tax Reduction at 12 months yet" in view.html
    assert "reach" in view.tables and "ideal" not in view.tables


def test_widgets_build_and_redraw_without_a_browser(dash_db, fw, expected):
    d = dashboards.ProjectDashboard(dash_db, fw)
    d.project.value = "working-xtra"
    assert d.neighbourhood.value == "brookside"  # first pilot
    d.neighbourhood.value = "oakfield"
    d.outcome.value = "place-agency"
    waves = d.tables["waves"]
    row = waves[(waves["statement"] == "s05") & (waves["wave"] == "12 months")].iloc[0]
    assert row.percent_agree == pytest.approx(round(100 * expected.agree("oakfield", "12m", "s05")["estimate"], 1))
    assert 'data-selection="working-xtra|oakfield|12m|place-agency"' in d.body.value
    r = dashboards.RippleExplorer(dash_db, fw)
    r.wave.value = dashboards.DESIGN
    assert 'data-selection="council-tax-reduction|design|public-services"' in r.body.value
    import matplotlib.pyplot as plt

    assert not plt.get_fignums()  # every figure was closed


def test_missing_database_is_a_plain_message(tmp_path, fw):
    for cls in (
        dashboards.ProjectDashboard,
        dashboards.RippleExplorer,
        dashboards.SelfEvaluationForm,
        dashboards.FieldworkDashboard,
    ):
        w = cls(tmp_path / "none.duckdb", fw)
        assert "no workbook database" in w.children[0].value


def _text(widget) -> str:
    return html.unescape(widget.value)


def test_self_evaluation_form_read_only_without_allow_write(dash_db, fw, monkeypatch):
    monkeypatch.delenv(selfeval.ALLOW_WRITE_ENV, raising=False)
    form = dashboards.SelfEvaluationForm(dash_db, fw)
    assert form.save_button.disabled and form.name.disabled and form.levels["governance"].disabled
    assert "Read-only" in form.banner.value and "--allow-write" in form.banner.value
    form._save()
    assert "Not saved" in _text(form.status)


def test_self_evaluation_form_saves_opens_and_compares(tmp_path, fw, monkeypatch):
    db = tmp_path / "w.duckdb"
    con = store.connect(db)
    store.ensure_schema(con, fw)
    con.close()
    monkeypatch.setenv(selfeval.ALLOW_WRITE_ENV, "1")
    form = dashboards.SelfEvaluationForm(db, fw)
    assert not form.save_button.disabled
    form.name.value, form.assessed_on.value = "First", date(2025, 1, 31)
    form.levels["governance"].value = "developing"
    form._save()
    assert "Saved 'First' dated 2025-01-31: 1 of 10" in _text(form.status)
    form._new()
    form.name.value, form.assessed_on.value = "Second", date(2025, 6, 30)
    form.levels["governance"].value = "leading"
    form.levels["enterprise"].value = "achieving"
    form._save()
    assert form.first.value == ("First", date(2025, 1, 31)) and form.second.value == ("Second", date(2025, 6, 30))
    ideals = form.comparison_view.tables["ideals"].set_index("ideal")
    assert ideals.loc["public-services", "change"] == 2.0  # governance 2 -> 4, the only area assessed in both
    assert ideals.loc["place", "second_score"] == 3.0
    form._new()
    form.name.value, form.assessed_on.value = "First", date(2025, 1, 31)
    form._save()
    assert "already exists" in _text(form.status)  # a new form cannot overwrite
    form.saved.value = ("First", date(2025, 1, 31))
    form._open()
    assert form.levels["governance"].value == "developing" and form.editing == ("First", date(2025, 1, 31))
    form.levels["governance"].value = "achieving"
    form._save()
    assert "Updated 'First'" in _text(form.status)


def test_server_command_hides_code_and_tracebacks_and_binds_localhost(tmp_path, monkeypatch):
    command = dashboard_server.voila_command(8866)
    assert "--strip_sources=True" in command and "--show_tracebacks=False" in command
    assert "--Voila.ip=127.0.0.1" in command and not any("token" in c for c in command)
    assert "--Voila.token=s3cret" in dashboard_server.voila_command(8866, token="s3cret")
    monkeypatch.setenv(selfeval.ALLOW_WRITE_ENV, "1")
    env = dashboard_server.server_environment(tmp_path / "x.duckdb", allow_write=False)
    assert selfeval.ALLOW_WRITE_ENV not in env and env["WORKBOOK_DB"] == str((tmp_path / "x.duckdb").resolve())
    assert dashboard_server.server_environment(tmp_path / "x.duckdb", allow_write=True)[selfeval.ALLOW_WRITE_ENV] == "1"


def test_dashboard_verb_refuses_a_missing_database(tmp_path, capsys):
    assert main(["dashboard", "--db", str(tmp_path / "none.duckdb"), "--port", "1"]) == 2
    assert "no workbook database" in capsys.readouterr().err


# --- in a real browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(playwright_browser, dash_db, tmp_path_factory):
    """The dashboards served from the test database, saving allowed (the self-evaluation round trip)."""
    log = tmp_path_factory.mktemp("server") / "voila.log"
    with dashboard_server.running(dash_db, allow_write=True, log=log, options=LIGHT) as url:
        yield SimpleNamespace(url=url, log=log)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard-screenshots")
    print(f"\ndashboard screenshots: {folder}")
    return folder


def _open(browser, url: str, notebook: str):
    return open_dashboard(browser, url, notebook, timeout_ms=60_000)


def _screenshot(page, path: Path) -> None:
    """The whole dashboard: Voila scrolls inside a container, so grow the window to its height first."""
    height = page.evaluate("() => document.querySelector('.wb-dashboard').scrollHeight") + 700
    page.set_viewport_size({"width": 1280, "height": min(height, 16000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_dashboard_loads_without_errors(server, playwright_browser, notebook, screenshots):
    start = time.monotonic()
    page = _open(playwright_browser, server.url, notebook)
    try:
        assert time.monotonic() - start < 60
        assert page.locator(".voila-error").count() == 0
        content = page.content()
        assert "Traceback" not in content and "import helpers" not in content  # no errors, no code
        assert page.locator(".wb-dashboard select").count() >= 2
        _screenshot(page, screenshots / f"{Path(notebook).stem}.png")
    finally:
        page.close()


@pytest.mark.browser
def test_project_dashboard_figures_follow_the_selection(server, playwright_browser, fw, expected, screenshots):
    page = _open(playwright_browser, server.url, "project.ipynb")
    try:
        choose(page, "Project", "Working Xtra")
        choose(page, "Neighbourhood", "Oakfield (pilot)")
        assert selection(page) == "working-xtra|oakfield|12m|place-agency"
        images_12m = page.eval_on_selector_all(".wb-body figure img", "imgs => imgs.map(i => i.src)")
        waves = table(page, "waves")
        for r in waves.itertuples(index=False):
            measure = _statement_id(fw, r.Statement)
            wave = {w.label: w.id for w in fw.settings.waves}[r.Wave]
            e = expected.agree("oakfield", wave, measure)
            assert r[3] == f"{e['estimate']:.0%}" and r.Responses == str(e["base_n"])
            assert r.Interval == f"{e['ci_low']:.0%} to {e['ci_high']:.0%}"
        did = table(page, "did").set_index("Statement")
        for s in _statements(fw, "working-xtra", "place-agency"):
            d = expected.did("working-xtra", "12m", s)
            assert did.loc[fw.instrument.statement(s).short, "Difference-in-differences"] == points_text(d["did"])
        choose(page, "Outcome", "Co-operative people: Involvement and helping others")
        images_other = page.eval_on_selector_all(".wb-body figure img", "imgs => imgs.map(i => i.src)")
        # three survey charts (by wave, by area, difference-in-differences), then the outcome's evidence charts
        assert len(images_other) >= 3 and not set(images_other[:3]) & set(images_12m)  # every survey chart redrawn
        did = table(page, "did").set_index("Statement")
        for s in _statements(fw, "working-xtra", "people-involvement"):
            d = expected.did("working-xtra", "12m", s)
            assert did.loc[fw.instrument.statement(s).short, "Difference-in-differences"] == points_text(d["did"])
        _screenshot(page, screenshots / "project-working-xtra-oakfield-12m.png")
    finally:
        page.close()


@pytest.mark.browser
def test_project_dashboard_small_base_and_download(server, playwright_browser, fw, screenshots):
    minimum = fw.settings.thresholds.minimum_base
    page = _open(playwright_browser, server.url, "project.ipynb")
    try:
        choose(page, "Project", "Working Xtra")  # Brookside is the first pilot
        choose(page, "Survey wave", "6 months")
        assert f"Responses this wave: fewer than {minimum}." in page.inner_text(".wb-body")
        waves = table(page, "waves")
        at_6m = waves[waves["Wave"] == "6 months"]
        assert set(at_6m["% agree"]) == {f"fewer than {minimum} responses"}
        assert set(at_6m["Responses"]) == {f"fewer than {minimum}"}
        _screenshot(page, screenshots / "project-small-base.png")
        with page.expect_download() as info:
            page.locator(".wb-body a.wb-download").first.click()
        csv = pd.read_csv(info.value.path())
        assert info.value.suggested_filename == "working-xtra-brookside-6m-place-agency-waves.csv"
        assert set(csv.loc[csv["wave"] == "6 months", "note"]) == {f"fewer than {minimum} responses"}
        assert csv.loc[csv["wave"] == "6 months", "responses"].isna().all()
    finally:
        page.close()


@pytest.mark.browser
def test_ripple_explorer_design_mode_and_ideals(server, playwright_browser, fw, expected, screenshots):
    page = _open(playwright_browser, server.url, "ripple.ipynb")
    try:
        choose(page, "Project", "Working Xtra")
        choose(page, "Survey wave", "Design: before any data")
        reach = table(page, "reach")
        assert list(reach["Outcomes in the ripple map"]) == [f"2 of {len(i.outcomes)}" for i in fw.ideals]
        assert page.locator(".wb-body table[data-table='ideal']").count() == 0
        choose(page, "Ideal", "Co-operative people")
        shown = page.locator(".wb-body").inner_text()
        for outcome in next(i for i in fw.ideals if i.id == "people").outcomes:
            assert f"{outcome.label}: " in shown
        choose(page, "Survey wave", "12 months")
        ideal = table(page, "ideal")
        for r in ideal.itertuples(index=False):
            measure = _statement_id(fw, r.Statement)
            assert r[2] == points_text(expected.did("working-xtra", "12m", measure)["did"])
        _screenshot(page, screenshots / "ripple-working-xtra-people-12m.png")
    finally:
        page.close()


@pytest.mark.browser
def test_keyboard_changes_a_selection(server, playwright_browser):
    page = _open(playwright_browser, server.url, "project.ipynb")
    try:
        page.locator("body").focus()
        for _ in range(30):  # Tab reaches the controls
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement?.tagName") == "SELECT":
                break
        assert page.evaluate("() => document.activeElement?.tagName") == "SELECT"
        wave = page.get_by_label("Survey wave", exact=True)
        wave.focus()
        before = selection(page)
        page.keyboard.press("ArrowUp")
        page.wait_for_function(
            "before => document.querySelector('.wb-body .wb-view')?.dataset.selection !== before", arg=before
        )
        assert selection(page).endswith("|6m|place-pride-trust")
    finally:
        page.close()


@pytest.mark.browser
def test_self_evaluation_round_trip(server, playwright_browser, dash_db, fw, screenshots):
    page = _open(playwright_browser, server.url, "self_evaluation.ipynb")
    evidence = "Cabinet minutes, March 2025; =SUM(A1) stays text"
    try:
        assert "Saving is on" in page.inner_text(".wb-selfeval")
        page.get_by_label("Assessment name", exact=True).fill("Browser test")
        page.get_by_label("Assessed on", exact=True).fill("2025-03-31")
        page.get_by_label("Governance and infrastructure: level", exact=True).select_option(label="Achieving")
        page.get_by_label("Co-production: level", exact=True).select_option(label="Leading")
        page.get_by_label("Governance and infrastructure: evidence", exact=True).fill(evidence)
        page.get_by_role("button", name="Save assessment").click()
        page.wait_for_selector(".wb-saved")
        assert "Saved 'Browser test' dated 2025-03-31: 2 of 10 areas assessed." in page.inner_text(".wb-saved")

        page.reload(wait_until="commit")  # a fresh kernel: what was saved must come back from DuckDB
        page.wait_for_selector(".wb-dashboard .widget-dropdown select")
        page.wait_for_selector("#loading", state="hidden")
        page.get_by_label("Open a saved assessment", exact=True).select_option(label="Browser test (2025-03-31)")
        page.get_by_role("button", name="Open", exact=True).click()
        page.wait_for_selector("text=Opened 'Browser test'")
        assert page.get_by_label("Governance and infrastructure: level", exact=True).input_value() == "Achieving"
        assert page.get_by_label("Co-production: level", exact=True).input_value() == "Leading"
        assert page.get_by_label("Democratic engagement: level", exact=True).input_value() == "not assessed"
        assert page.get_by_label("Governance and infrastructure: evidence", exact=True).input_value() == evidence
        assert page.get_by_label("Assessment name", exact=True).input_value() == "Browser test"

        page.get_by_label("Co-production: level", exact=True).select_option(label="Developing")
        page.get_by_role("button", name="Save assessment").click()
        page.wait_for_selector("text=Updated 'Browser test'")

        page.get_by_role("button", name="Start a new assessment").click()
        page.get_by_label("Assessment name", exact=True).fill("Browser test later")
        page.get_by_label("Assessed on", exact=True).fill("2025-06-30")
        page.get_by_label("Governance and infrastructure: level", exact=True).select_option(label="Leading")
        page.get_by_label("Enterprise and social economy: level", exact=True).select_option(label="Developing")
        page.get_by_role("button", name="Save assessment").click()
        page.wait_for_selector("text=Saved 'Browser test later'")
        page.wait_for_selector(".wb-body table[data-table='ideals']")
        shown = table(page, "ideals").set_index("Ideal")
        first = selfeval.load_assessment(dash_db, fw, "Browser test", "2025-03-31")
        second = selfeval.load_assessment(dash_db, fw, "Browser test later", "2025-06-30")
        assert first.levels["co-production"] == "developing" and first.evidence["governance"] == evidence
        for r in selfeval.compare_ideals(fw, first, second).itertuples():
            assert shown.loc[r.ideal_name, "Change"] == ("" if pd.isna(r.change) else f"{r.change:+.2f}")
        _screenshot(page, screenshots / "self-evaluation.png")
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_no_serious_accessibility_violations(server, playwright_browser, notebook, serious_violations):
    page = _open(playwright_browser, server.url, notebook)
    try:
        assert serious_violations(page) == []
    finally:
        page.close()


@pytest.mark.browser
def test_read_only_server_refuses_to_save(playwright_browser, dash_db, tmp_path, screenshots):
    with dashboard_server.running(dash_db, allow_write=False, log=tmp_path / "voila.log", options=LIGHT) as url:
        page = _open(playwright_browser, url, "self_evaluation.ipynb")
        try:
            text = page.inner_text(".wb-selfeval")
            assert "Read-only" in text and "--allow-write" in text
            assert page.get_by_role("button", name="Save assessment").is_disabled()
            assert page.get_by_label("Assessment name", exact=True).is_disabled()
            assert page.get_by_label("Governance and infrastructure: level", exact=True).is_disabled()
            _screenshot(page, screenshots / "self-evaluation-read-only.png")
        finally:
            page.close()
