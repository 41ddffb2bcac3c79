"""Sections (in process, no kernel): privacy, suppression, the unweighted fallback, and the same section on
both surfaces (the batch report and the dashboard)."""

from __future__ import annotations

import duckdb
import pytest

from helpers.config import paths
from helpers.presentation.sections import Report
from helpers.store.intake import build_database


@pytest.fixture(scope="module")
def db_without_millbrook_population(tmp_path_factory, fw):
    db = tmp_path_factory.mktemp("nopop") / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM population WHERE neighbourhood = 'millbrook'")
    con.close()
    return db


def test_a_neighbourhood_without_population_is_reported_unweighted_and_says_why(db_without_millbrook_population):
    report = Report(db_without_millbrook_population, "working-xtra", "millbrook", "12m")
    html = report.statement_estimates()._repr_html_()
    assert "unweighted" in html and "could not be weighted to the neighbourhood" in html
    assert not report.data.weighted("millbrook", "12m")
    profile = report.respondent_profile()._repr_html_()
    assert "could not be weighted" in profile


def test_other_neighbourhoods_stay_weighted(db_without_millbrook_population):
    report = Report(db_without_millbrook_population, "working-xtra", "oakfield", "12m")
    assert report.data.weighted("oakfield", "12m")
    assert "weighted, 95% Wilson interval" in report.statement_estimates()._repr_html_()


def test_profile_suppresses_small_counts_and_shows_no_individual(sample_db):
    report = Report(sample_db, "working-xtra", "oakfield", "12m")
    html = report.respondent_profile()._repr_html_()
    assert "fewer than 10" in html  # e.g. transgender or not-given gender counts
    assert "OAK-12m-" not in html  # no respondent ids
    assert report.data.responses_here("oakfield", "12m")["respondent_id"].str.startswith("OAK-12m").all()


def test_unknown_selection_is_a_plain_error(sample_db):
    from helpers.config.errors import UserError

    with pytest.raises(UserError, match="not mapped to project working-xtra"):
        Report(sample_db, "working-xtra", "ashgrove", "12m").header()
    with pytest.raises(AttributeError, match="no section 'nonsense'"):
        Report(sample_db, "working-xtra", "oakfield", "12m").nonsense()


def test_points_are_signed_whole_numbers_without_negative_zero():
    from helpers.presentation.formatting import points

    assert [points(x) for x in (0.123, -0.004, -0.051, 0.0, 0.995)] == ["+12", "0", "-5", "0", "+100"]


# --- one section, two surfaces ---------------------------------------------------------------------

PARITY = [
    ("working-xtra", "oakfield", "12m", "place-agency"),
    ("working-xtra", "brookside", "6m", "people-involvement"),
    ("council-tax-reduction", "ashgrove", "12m", None),
    ("council-tax-reduction", "kingsmoor", "baseline", None),
]


def _seen(markup: str) -> dict[str, list]:
    """What a reader sees in rendered HTML: each table's caption and cells, and every paragraph's text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    tables = {
        t.get("data-table"): [t.caption.get_text()]
        + [[c.get_text() for c in r.find_all(["th", "td"])] for r in t.find_all("tr")]
        for t in soup.find_all("table")
    }
    paragraphs = [p.get_text() for p in soup.find_all("p") if not p.find("a")]
    images = [i.get("alt") for i in soup.find_all("img")]
    return {"tables": tables, "paragraphs": paragraphs, "charts": images}


@pytest.mark.parametrize("project,hood,wave,outcome", PARITY)
def test_the_report_and_the_dashboard_show_each_section_alike(sample_db, fw, project, hood, wave, outcome):
    """The dashboard's view of a selection holds, section by section, exactly what the report's renderer shows
    for the same selection: the same tables, cells, chart descriptions and sentences."""
    from helpers.presentation import render, sections
    from helpers.surfaces import dashboards

    outcome = outcome or next(line.outcome for line in fw.project(project).ripple if line.survey)
    sel = dashboards.Selection(project, hood, wave, outcome)
    data = dashboards.ProjectsData(sample_db, fw)(project)
    made = dashboards.project_sections(data, sel)
    view = dashboards.project_view(data, sel).html
    report = Report(sample_db, project, hood, wave, outcome=outcome)
    names = [n for n in ("header", *dashboards.SURVEY_VIEW, *dashboards.EVIDENCE_VIEW) if n in sections.load_all()]
    assert len(made) >= len(names)
    seen_in_view = _seen(view)
    for name in names:
        in_report = _seen(render.to_html(report.show(name)))
        for key, cells in in_report["tables"].items():
            assert seen_in_view["tables"][key] == cells, (name, key)
        assert set(in_report["paragraphs"]) <= set(seen_in_view["paragraphs"]), name
        assert set(in_report["charts"]) <= set(seen_in_view["charts"]), name


def test_narrowing_to_an_outcome_keeps_every_figure(sample_db, fw):
    """The dashboard shows one outcome's statements; each row is the report's row for that statement."""
    everything = Report(sample_db, "working-xtra", "oakfield", "12m")
    one = Report(sample_db, "working-xtra", "oakfield", "12m", outcome="place-agency")
    statements = [fw.instrument.statement(s).short for s in fw.project("working-xtra").ripple[0].survey]
    for name in ("statement_estimates", "change_since_baseline", "difference_in_differences"):
        full = everything.show(name).tables[0].display
        narrow = one.show(name).tables[0].display
        assert list(narrow["Statement"]) == statements  # in the ripple map's order
        rows = full.set_index("Statement").loc[narrow["Statement"]]
        assert narrow.set_index("Statement").equals(rows), name
