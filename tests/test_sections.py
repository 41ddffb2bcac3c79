"""Sections (in process, no kernel): privacy, suppression, the unweighted fallback, and the same section on
both surfaces (the batch report and the dashboard)."""

from __future__ import annotations

import duckdb
import pytest

from helpers.config import paths
from helpers.presentation import render
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
    section = report.statement_estimates()
    assert "weighted, 95% Wilson interval" in section.tables[0].caption
    shown = section._repr_html_()  # a report page shows the chart here and the table in its annex
    assert "<table" not in shown and "in the annex" in shown
    assert "weighted, 95% Wilson interval" in render.to_html(section)  # the dashboard shows it beside the chart


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
    for name in ("statement_estimates", "difference_in_differences"):
        full = everything.show(name).tables[0].display
        narrow = one.show(name).tables[0].display
        assert list(narrow["Statement"]) == statements  # in the ripple map's order
        rows = full.set_index("Statement").loc[narrow["Statement"]]
        assert narrow.set_index("Statement").equals(rows), name


# --- page one: the title block and the findings -----------------------------------------------------------


@pytest.fixture(scope="module")
def wx_data(sample_db, fw):
    from helpers.evidence.context import ProjectData

    return ProjectData(sample_db, "working-xtra", fw)


def _page_one(data, hood, wave):
    from helpers.evidence.context import Selection
    from helpers.presentation.sections import build

    sel = Selection(data.project.id, hood, wave)
    return build(data, "header", sel), build(data, "in_brief", sel)


def test_the_title_block_names_council_project_area_role_wave_and_fieldwork(wx_data, fw):
    header, _ = _page_one(wx_data, "hollins", "12m")
    month = wx_data.evidence.calendar.month("12m")
    assert header.paragraphs[:2] == [fw.settings.council.name, "Working Xtra: Hollins Green (comparison area)"]
    n = len(wx_data.responses_here("hollins", "12m"))
    assert f"Survey wave: 12 months; fieldwork {month:%B %Y}" in header.paragraphs[2]
    assert f"Responses this wave: {n}." in header.paragraphs[2]
    assert "(estimated)" in header.paragraphs[2]  # the sample's projects set no start month: it is derived
    assert header.paragraphs[3] == (
        "Hollins Green is a comparison area: Working Xtra does not run here. It shows what happened without the "
        "project, so that the pilot areas' change can be compared with it."
    )
    pilot, _ = _page_one(wx_data, "brookside", "12m")
    assert "Brookside is a pilot area: Working Xtra runs here." in pilot.paragraphs
    assert not any("comparison area" in p for p in pilot.paragraphs)


def test_the_title_block_says_when_the_fieldwork_month_is_not_set(sample_db, fw, monkeypatch):
    import dataclasses

    from helpers.evidence.context import ProjectData, Selection
    from helpers.evidence.project import Calendar
    from helpers.presentation.sections import build

    data = ProjectData(sample_db, "working-xtra", fw)
    undated = dataclasses.replace(data.evidence, calendar=Calendar(None, {}, "no dated data"))
    monkeypatch.setattr(ProjectData, "evidence", property(lambda self: undated))
    header = build(data, "header", Selection("working-xtra", "oakfield", "6m"))
    assert "Survey wave: 6 months; fieldwork month not set." in header.paragraphs[2]


def test_page_one_tells_each_neighbourhood_its_own_story(wx_data, fw):
    """Brookside (pilot) and Hollins Green (comparison) at 12 months: different findings, each about its own area,
    Brookside's own clear rises named by their labels with their points, as "Change since the baseline" has them."""
    _, brookside = _page_one(wx_data, "brookside", "12m")
    _, hollins = _page_one(wx_data, "hollins", "12m")
    assert brookside.points != hollins.points and 3 <= len(brookside.points) <= 6
    assert brookside.points[0].startswith("In Brookside,") and hollins.points[0].startswith("In Hollins Green,")
    change = wx_data.change
    mine = change[
        (change["neighbourhood"] == "brookside")
        & (change["wave"] == "12m")
        & (change["statistic"] == "agree")
        & change["weighted"]
        & change["measure"].isin(wx_data.project.survey_statements)
        & change["significant"].fillna(False).astype(bool)
    ]
    assert len(mine) == 4 and (mine["difference"].between(0.135, 0.185)).all()  # four statements up 14 to 18 points
    for r in mine.itertuples():
        assert (
            f"\u2018{fw.instrument.statement(r.measure).short}\u2019 +{round(100 * r.difference)} points"
            in (brookside.points[0])
        )
    assert "Working Xtra does not run here" in hollins.points[0]
    assert "comparison areas (this area and Millbrook)" in hollins.points[1]
    assert "pilot areas (this area and Oakfield)" in brookside.points[1]
    assert brookside.points[-1].startswith("What this cannot show")


@pytest.mark.parametrize(
    ("project", "hood", "wave"),
    [
        ("working-xtra", "brookside", "12m"),
        ("working-xtra", "hollins", "12m"),
        ("working-xtra", "millbrook", "6m"),
        ("council-tax-reduction", "ashgrove", "baseline"),
        ("council-tax-reduction", "westwood", "12m"),
    ],
)
def test_page_one_has_no_forbidden_wording_or_index_numbers(sample_db, fw, project, hood, wave):
    import re
    import sys

    from helpers.presentation.render import to_html

    sys.path.insert(0, str(paths.ROOT / "tests"))
    from wording import forbidden, visible_text

    report = Report(sample_db, project, hood, wave)
    text = visible_text(to_html(report.header()) + to_html(report.in_brief()))
    assert forbidden(text, fw) == []
    assert "strength" not in text.lower() and not re.search(r"[+-]0\.\d\d\b", text)  # no index numbers


def test_the_baseline_page_one_describes_the_starting_point(sample_db, fw):
    report = Report(sample_db, "council-tax-reduction", "ashgrove", "baseline")
    brief = report.in_brief()
    text = " ".join(brief.points)
    assert 3 <= len(brief.points) <= 6 and "nothing has changed yet" in brief.points[0]
    scores = report.data.scores
    here = scores[
        (scores["neighbourhood"] == "ashgrove")
        & (scores["wave"] == "baseline")
        & (scores["statistic"] == "agree")
        & scores["weighted"]
        & scores["measure"].isin(report.data.project.survey_statements)
    ].sort_values("estimate")
    top, bottom = here.iloc[-1], here.iloc[0]
    assert f"highest with \u2018{fw.instrument.statement(top['measure']).short}\u2019 {top['estimate']:.0%}" in text
    assert f"\u2018{fw.instrument.statement(bottom['measure']).short}\u2019 {bottom['estimate']:.0%}" in text
    for claim in ("rose", "fell", "clearly better", "clearly worse", "changed clearly", "improved"):
        assert claim not in text, claim
    key = brief.tables[0]
    assert key.key == "key-indicators" and list(key.display.columns) == ["Indicator", "Better when", "Baseline here"]


def test_the_key_indicators_table_says_better_worse_or_no_clear_change(wx_data):
    _, brief = _page_one(wx_data, "brookside", "12m")
    key = next(t for t in brief.tables if t.key == "key-indicators")
    tier2 = [i for i in wx_data.project.indicator_ids if wx_data.fw.indicator_map[i].tier == 2]
    assert key.tidy["indicator"].tolist() == tier2
    verdicts = key.display["Pilot areas against comparison areas"]
    assert set(verdicts) <= {"better", "worse", "no clear change", "no data"}
    result = wx_data.ripple("12m")
    items = result.items[result.items["line"] == "indicators"].drop_duplicates("item").set_index("item")
    for i, word in zip(key.tidy["indicator"], verdicts, strict=True):
        clear, effect = items.loc[i, "clear"], items.loc[i, "effect"]
        assert word == ("better" if clear and effect > 0 else "worse" if clear and effect < 0 else "no clear change")


def test_a_list_of_points_renders_alike_in_a_report_and_a_dashboard():
    from helpers.presentation.model import Bullets, Section
    from helpers.presentation.render import to_html, view_html

    s = Section().bullets(["fewer <than> 10", "two"], "findings").bullets([])
    assert s.blocks == [Bullets(("fewer <than> 10", "two"), "findings")] and s.points == ["fewer <than> 10", "two"]
    html = to_html(s)
    assert html == '<ul class="findings"><li>fewer &lt;than&gt; 10</li><li>two</li></ul>'
    assert html in view_html([s])


# --- one small comparison area at one wave ----------------------------------------------------------


@pytest.fixture(scope="module")
def millbrook_small_at_6m(tmp_path_factory, fw):
    """The sample with only 8 of Millbrook's 6-month questionnaires (a comparison area of Working Xtra)."""
    db = tmp_path_factory.mktemp("small") / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute(
        "DELETE FROM survey WHERE neighbourhood = 'millbrook' AND wave = '6m' AND respondent_id NOT IN "
        "(SELECT respondent_id FROM survey WHERE neighbourhood = 'millbrook' AND wave = '6m' "
        "ORDER BY respondent_id LIMIT 8)"
    )
    con.close()
    return db


def test_a_small_comparison_area_is_left_out_of_the_pool_not_blanking_it(millbrook_small_at_6m):
    """Working Xtra at 6 months: the comparison pool is Hollins Green alone, so the comparison change is Hollins
    Green's own change (share 1), an independent figure from the change table; the pilot pool is as before."""
    data = Report(millbrook_small_at_6m, "working-xtra", "oakfield", "6m").data
    did = data.did[(data.did["wave"] == "6m") & (data.did["statistic"] == "agree")].set_index("measure")
    assert not did["suppressed"].any()
    assert set(did["comparison_areas"]) == {"hollins"} and set(did["left_out"]) == {"millbrook"}
    assert set(did["pilot_areas"]) == {"brookside;oakfield"}
    change = data.change
    hollins = change[
        (change["neighbourhood"] == "hollins") & (change["wave"] == "6m") & change["weighted"].astype(bool)
    ]
    hollins = hollins[hollins["statistic"] == "agree"].set_index("measure")
    for measure, row in did.iterrows():
        assert row["comparison_change"] == pytest.approx(hollins.loc[measure, "difference"])
        assert row["comparison_se"] == pytest.approx(hollins.loc[measure, "se"])


def test_the_sections_name_the_areas_left_out_and_the_small_areas_report_says_so(millbrook_small_at_6m):
    pilot = Report(millbrook_small_at_6m, "working-xtra", "oakfield", "6m")
    said = pilot.difference_in_differences().paragraphs[0]
    assert "Comparison areas pooled: Hollins Green." in said
    assert "Millbrook is left out at 6 months for every statement: fewer than 10 answers at 6 months." in said
    assert "compare different places" in said  # at 12 months Millbrook is pooled again
    small = Report(millbrook_small_at_6m, "working-xtra", "millbrook", "6m")
    points = small.in_brief().points
    assert points[0].startswith("Fewer than 10 questionnaires came back in Millbrook at 6 months")
    assert "Millbrook" not in points[1].split("the pilot areas")[0].split(";")[0]  # not among the pooled
    page = " ".join(render.to_html(small.show(name)) for name in ("in_brief", "statement_estimates", "ripple"))
    assert "0 of the 0" not in page and "0 of 0" not in page
    assert "too few to show what they said" in render.to_html(small.statement_estimates())


@pytest.fixture(scope="module")
def db_with_ethnicity(tmp_path_factory, fw):
    """The sample with census-style counts by ethnic group (80% white, 12% asian, the rest black, mixed or other
    in every neighbourhood) beside the age bands and genders."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("ethnicity")
    for source in paths.SAMPLE.glob("*.csv"):
        (folder / source.name).write_bytes(source.read_bytes())
    pop = pd.read_csv(folder / "population.csv")
    adults = pop[pop["dimension"] == "age_band"].groupby("neighbourhood", sort=False)["population"].sum()
    rows = []
    for hood, n in adults.items():
        white, asian = round(0.8 * n), round(0.12 * n)
        rows += [(hood, "ethnicity", "white", white), (hood, "ethnicity", "asian", asian)]
        rows += [(hood, "ethnicity", "black-mixed-other", n - white - asian)]
    pd.concat([pop, pd.DataFrame(rows, columns=pop.columns)]).to_csv(folder / "population.csv", index=False)
    db = folder / "w.duckdb"
    build_database(folder, fw, db)
    return db


def test_a_project_weighted_to_three_margins_with_a_cap_says_so_in_plain_words(db_with_ethnicity, fw):
    from wording import forbidden, visible_text

    from helpers.methods.weights import rake_weights

    weighting = fw.settings.weighting.model_copy(
        update={"rake_to_by_project": {"working-xtra": ("age_band", "gender", "ethnicity")}, "weight_cap": 3.0}
    )
    fw3 = fw.model_copy(update={"settings": fw.settings.model_copy(update={"weighting": weighting})})
    report = Report(db_with_ethnicity, "working-xtra", "oakfield", "12m", fw=fw3)
    text = report.respondent_profile()._repr_html_()
    assert "each age group, gender and ethnic group counts as much as it does" in text
    # how many answers the cap held back: those whose weight, raked to the three margins without a cap, is over
    # 3 x the mean weight (counted here from the respondents' own weights)
    here = report.data.responses_here("oakfield", "12m")
    uncapped = rake_weights(
        here, report.data.population, weighting.model_copy(update={"weight_cap": None}), project="working-xtra"
    )
    over = int((uncapped["weight"] > 3 * uncapped["weight"].mean()).sum())
    assert over > 0
    assert "No answer may count for more than 3 times the average answer" in text
    assert f"{over} would have counted for more and were held to that" in text
    assert "by age group, gender and ethnic group (raking)" in report.method_note()._repr_html_()
    assert not forbidden(visible_text(text), fw3)
    # another project keeps age group and gender
    other = Report(db_with_ethnicity, "council-tax-reduction", "ashgrove", "12m", fw=fw3).respondent_profile()
    assert "each age group and gender counts" in other._repr_html_()


def test_a_change_in_how_questionnaires_came_back_is_said(tmp_path, fw):
    """Oakfield's 12-month questionnaires by post recorded as online: the online share moves far from the
    baseline's, and the change section says so with both shares, counted here from the sample file."""
    import pandas as pd

    db = tmp_path / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE survey SET mode = 'online' WHERE neighbourhood = 'oakfield' AND wave = '12m' AND mode = 'post'"
        )
    survey = pd.read_csv(paths.SAMPLE / "survey.csv", usecols=["neighbourhood", "wave", "mode"])
    oak = survey[survey["neighbourhood"] == "oakfield"]
    then = (oak.loc[oak["wave"] == "baseline", "mode"] == "online").mean()
    later = oak[oak["wave"] == "12m"]
    now = later["mode"].isin(["online", "post"]).mean()
    notes = Report(db, "working-xtra", "oakfield", "12m").statement_estimates().notes
    said = next(n for n in notes if "came back" in n)
    assert f"online {round(100 * then)}% then, {round(100 * now)}% now" in said
    assert "part of a change may come from who answered how" in said
    assert not [
        n for n in Report(db, "working-xtra", "brookside", "12m").statement_estimates().notes if "came back" in n
    ]
