"""helpers.evidence (project, indicators, stories, sentiment) against hand values, and the evidence sections
(helpers.presentation.sections.evidence) on the sample: consent, figures, an outcome's selection."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers.config import paths
from helpers.evidence import indicators, sentiment
from helpers.evidence import project as proj
from helpers.evidence.context import ProjectData, Selection
from helpers.presentation import sections
from helpers.presentation.sections import Report
from helpers.store.intake import build_database

SECRET = "Zanzibar-quokka-7731 must never be published"
SHARED = "Marmalade-heron-2218 shared with consent"


# --- helpers to build small hand-made examples ------------------------------------------------------


def _project(fw, start="2025-01"):
    return fw.project("working-xtra").model_copy(update={"start": start})


def _areas(*rows):
    return pd.DataFrame(rows, columns=["neighbourhood", "name", "role"])


def _series(indicator, hood, values, start="2024-07"):
    periods = pd.period_range(start, periods=len(values), freq="Q").asfreq("M", how="start").to_timestamp()
    return pd.DataFrame(
        {"indicator": indicator, "neighbourhood": hood, "period": periods, "value": values, "predicted": np.nan}
    )


# --- local indicators: direction, noise, prediction -------------------------------------------------


@pytest.fixture
def small_evidence(fw):
    # Quarterly 2024-07, 2024-10, 2025-01 (baseline), 2025-04, 2025-07 (6m, with start 2025-01).
    indicators = pd.concat(
        [
            # crime-asb: lower is better. Pilot falls 50 -> 40 by 6m: 20% better. Comparison flat.
            _series("crime-asb", "p1", [49.0, 51.0, 50.0, 45.0, 40.0]),
            _series("crime-asb", "c1", [50.0, 50.5, 50.0, 50.0, 50.0]),
            # employment-rate: higher is better. Pilot falls 50 -> 45: 10% worse. Comparison flat.
            _series("employment-rate", "p1", [50.0, 50.0, 50.0, 48.0, 45.0]),
            _series("employment-rate", "c1", [50.0, 50.0, 50.0, 50.0, 50.0]),
        ],
        ignore_index=True,
    )
    areas = _areas(("p1", "Pilot One", "pilot"), ("c1", "Comparison One", "comparison"))
    return proj.build_evidence(fw, _project(fw), areas, indicators=indicators)


def test_calendar_from_the_start_month(small_evidence):
    cal = small_evidence.calendar
    assert str(cal.baseline) == "2025-01" and str(cal.month("6m")) == "2025-07" and str(cal.month("12m")) == "2026-01"
    assert "start month" in cal.source


def test_calendar_derived_from_the_latest_dated_month(fw):
    project = fw.project("working-xtra")  # no start
    months = [pd.Period("2025-10", "M"), pd.Period("2026-04", "M")]
    cal = proj.project_calendar(fw, project, dated_months=months, survey_waves=("baseline", "6m", "12m"))
    assert str(cal.baseline) == "2025-04"  # 2026-04 is taken as the 12m survey's month
    assert "derived" in cal.source


def test_indicator_change_is_signed_by_the_better_direction(small_evidence):
    ch = indicators.indicator_changes(small_evidence, "6m").set_index(["indicator", "neighbourhood"])
    crime = ch.loc[("crime-asb", "p1")]
    assert crime["baseline_value"] == 50 and crime["value"] == 40 and crime["change"] == -10
    assert crime["improvement"] == 10 and crime["improvement_pct"] == pytest.approx(20)
    assert crime["better_way"] == "better"  # fewer incidents is better
    jobs = ch.loc[("employment-rate", "p1")]
    assert jobs["improvement_pct"] == pytest.approx(-10) and jobs["better_way"] == "worse"
    assert ch.loc[("crime-asb", "c1")]["better_way"] == "no change"


def test_indicator_test_against_noise_by_hand(small_evidence):
    t = indicators.indicator_tests(small_evidence, "6m").set_index("indicator")
    crime = t.loc["crime-asb"]
    # Changes before baseline, % of the baseline value 50: pilot +4, -2; comparison +1, -1.
    sd = math.sqrt(((4 - 0.5) ** 2 + (-2 - 0.5) ** 2 + (1 - 0.5) ** 2 + (-1 - 0.5) ** 2) / 3)  # sqrt(7)
    se = sd * math.sqrt(1 / 1 + 1 / 1)
    assert crime["noise_sd_pct"] == pytest.approx(sd)
    assert crime["se_pct"] == pytest.approx(se)
    assert crime["net_pct"] == pytest.approx(20)
    assert crime["p_value"] == pytest.approx(math.erfc(20 / se / math.sqrt(2)))
    assert crime["direction"] == "better" and crime["clear"] and crime["design"] == "pilot against comparison"
    jobs = t.loc["employment-rate"]
    assert jobs["direction"] == "worse" and jobs["net_pct"] == pytest.approx(-10)
    # No change before baseline at all: no noise estimate, so never counted as clear.
    assert math.isnan(jobs["noise_sd_pct"]) or jobs["noise_sd_pct"] == 0
    assert not jobs["clear"]


def test_no_comparison_areas_uses_the_prediction(fw):
    series = _series("crime-asb", "p1", [49.0, 51.0, 50.0, 45.0, 40.0])
    series.loc[series["period"] >= "2025-04-01", "predicted"] = [50.0, 48.0]
    ev = proj.build_evidence(fw, _project(fw), _areas(("p1", "Pilot One", "pilot")), indicators=series)
    t = indicators.indicator_tests(ev, "6m").set_index("indicator").loc["crime-asb"]
    assert t["design"] == "against prediction"
    assert t["net_pct"] == pytest.approx(100 * (48 - 40) / 50)  # lower is better: 8 below the prediction


def test_predicted_against_actual_sentence():
    table = pd.DataFrame(
        {
            "indicator": "council-tax-collection",
            "label": "Council tax collection rate",
            "unit": "percent",
            "better": "higher",
            "role": "pilot",
            "period": pd.to_datetime(["2025-07-01", "2026-01-01"]),
            "actual": [48.0, 70.2],
            "predicted": [25.0, 25.0],
            "gap": [23.0, 45.2],
            "neighbourhoods": 2,
        }
    )
    (sentence,) = indicators.predicted_actual_sentences(table)
    assert sentence == (
        "Council tax collection rate: predicted 25%, actual about 70% in the pilot neighbourhoods in "
        "January 2026 (45 points better than predicted)."
    )


def test_sample_council_tax_collection_predicted_25_actual_about_70(sample_db, fw):
    ev = proj.load_project_evidence(sample_db, fw, "council-tax-reduction")
    table = indicators.predicted_vs_actual(ev)
    pilot = table[(table["role"] == "pilot") & table["predicted"].notna()].iloc[-1]
    assert pilot["predicted"] == 25
    assert 66 <= pilot["actual"] <= 74
    assert any("predicted 25%, actual about 7" in s for s in indicators.predicted_actual_sentences(table))


def test_high_level_indicators_per_ideal(fw):
    table = indicators.high_level_indicators(fw, fw.project("council-tax-reduction"))
    assert set(table["ideal"]) == {"Co-operative place", "Co-operative people", "Co-operative public services"}
    assert "% of those who trust the Council to do a good job" in set(table["measure"])
    assert not table["collected"].any()  # the catalogue has no tier-1 indicators yet


# --- sentiment -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tone"),
    [
        ("Thank you, the staff were wonderful and really helpful!", "positive"),
        ("I love how the new scheme works.", "positive"),
        ("This is terrible, I hate waiting weeks for an answer.", "negative"),
        ("The service is not good at all.", "negative"),
        ("The office opens at nine on Tuesdays.", "neutral"),
        ("A letter about the scheme arrived today.", "neutral"),
    ],
)
def test_sentiment_tone_of_hand_labelled_sentences(text, tone):
    compound = sentiment.sentiment_score([text])
    assert sentiment.sentiment_tone(compound).tolist() == [tone]


def test_sentiment_thresholds_are_vaders():
    tones = sentiment.sentiment_tone([0.05, 0.0499, -0.0499, -0.05, 0.9, -0.9]).tolist()
    assert tones == ["positive", "neutral", "neutral", "negative", "positive", "negative"]


def test_sentiment_shares_and_change_by_hand(fw):
    items = []
    # baseline (2025-01): pilots 2 positive 2 negative, comparisons 2 neutral 2 negative
    # 6m (2025-07): pilots 4 positive, comparisons 2 neutral 2 negative
    texts = {"positive": "Wonderful, thank you so much!", "neutral": "The office opens at nine.", "negative": "Awful."}
    plan = {
        ("p1", "2025-01-10"): ["positive", "positive", "negative", "negative"],
        ("c1", "2025-01-12"): ["neutral", "neutral", "negative", "negative"],
        ("p1", "2025-07-03"): ["positive"] * 4,
        ("c1", "2025-07-04"): ["neutral", "neutral", "negative", "negative"],
    }
    for (hood, day), tones in plan.items():
        for k, tone in enumerate(tones):
            items.append((f"{hood}-{day}-{k}", hood, day, "twitter", texts[tone]))
    frame = pd.DataFrame(items, columns=["item_id", "neighbourhood", "date", "channel", "text"])
    areas = _areas(("p1", "Pilot One", "pilot"), ("c1", "Comparison One", "comparison"))
    ev = proj.build_evidence(fw, _project(fw), areas, sentiment=frame)
    assert "text" not in ev.sentiment.columns  # the words never leave the scoring step
    shares = sentiment.sentiment_shares(ev)
    assert shares["suppressed"].all()  # 4 items per group is below the minimum base of 10
    assert shares["items"].tolist() == [4, 4, 4, 4]
    channels = sentiment.sentiment_by_channel(ev)
    assert channels.set_index("channel").loc["twitter"].tolist() == [8, 8]
    change = sentiment.sentiment_change(ev, "6m")
    # pilot net: 0 -> 1; comparison: -0.5 -> -0.5; difference 1.
    assert change["difference"] == pytest.approx(1.0)
    pilot_base_var = np.var([1, 1, -1, -1], ddof=1) / 4
    comp_var = np.var([0, 0, -1, -1], ddof=1) / 4
    assert change["se"] == pytest.approx(math.sqrt(pilot_base_var + 0 + 2 * comp_var))


# --- consent: an unconsented story appears nowhere ----------------------------------------------------


@pytest.fixture(scope="module")
def consent_db(tmp_path_factory, fw):
    """The sample plus two stories with unique phrases: one without consent, one with."""
    folder = tmp_path_factory.mktemp("consent-sample")
    for f in paths.SAMPLE.glob("*.csv"):
        shutil.copy(f, folder / f.name)
    stories = pd.read_csv(folder / "stories.csv", dtype=str)
    extra = pd.DataFrame(
        [
            (
                "wor-oakfield-12m-secret",
                "working-xtra",
                "oakfield",
                "12m",
                "people-wellbeing",
                "A private account",
                f"{SECRET}. The scheme changed everything for my family.",
                "no",
            ),
            (
                "wor-oakfield-12m-shared",
                "working-xtra",
                "oakfield",
                "12m",
                "people-wellbeing",
                "A shared account",
                f"{SHARED}. The scheme helped us find work.",
                "yes",
            ),
        ],
        columns=stories.columns,
    )
    pd.concat([stories, extra], ignore_index=True).to_csv(folder / "stories.csv", index=False)
    db = tmp_path_factory.mktemp("consent-db") / "workbook.duckdb"
    build_database(folder, fw, db)
    return db


# The sections that show evidence: the evidence sections, and the ripple's (they quote stories and sentiment).
SECTIONS = [
    name
    for name, spec in sections.load_all().items()
    if spec.function.__module__.rsplit(".", 1)[-1] in ("evidence", "ripple")
]
EVIDENCE_SECTIONS = {
    "local_indicators": "Local indicators",
    "predicted_against_actual": "Predicted and actual",
    "kpi_tiers": "Key indicators by tier",
    "high_level_indicators": "High-level indicators",
    "stories": "Co-operative stories",
    "sentiment": "Sentiment and reputation",
    "financial_resilience": "Financial resilience",
}


def test_the_evidence_sections_are_registered_under_the_notebooks_headings():
    registered = sections.load_all()
    assert {name: registered[name].title for name in EVIDENCE_SECTIONS} == EVIDENCE_SECTIONS
    assert set(EVIDENCE_SECTIONS) <= set(SECTIONS)


def test_unconsented_story_appears_in_no_section_or_export(consent_db, fw, tmp_path, capsys):
    from helpers.surfaces.cli import main

    report = Report(consent_db, "working-xtra", "oakfield", "12m", fw)
    pages = "\n".join(report.show(name)._repr_html_() for name in SECTIONS)
    assert SECRET not in pages and "Zanzibar" not in pages
    assert "Not for publication" not in pages  # the sample's own unconsented stories
    assert SHARED in pages  # the consented story of the same neighbourhood and wave is shown
    ev = proj.load_project_evidence(consent_db, fw, "working-xtra")
    assert not ev.stories["text"].str.contains("Zanzibar").any()
    assert "wor-oakfield-12m-secret" not in set(ev.stories["story_id"])
    out = tmp_path / "ripple.csv"
    assert main(["ripple", "--project", "working-xtra", "--db", str(consent_db), "--csv", str(out)]) == 0
    assert main(["ripple", "--project", "working-xtra", "--db", str(consent_db)]) == 0
    printed = capsys.readouterr().out
    for text in (out.read_text(), printed):
        assert "Zanzibar" not in text and "Not for publication" not in text


def test_sentiment_text_never_shown(sample_db, fw):
    report = Report(sample_db, "council-tax-reduction", "ashgrove", "12m", fw)
    page = "".join(report.show(name)._repr_html_() for name in ("sentiment", *SECTIONS))
    for text in ("Waited weeks for a reply", "Really helpful staff", "Letter arrived about the scheme"):
        assert text not in page
    assert "positive" in page.lower()


def test_sections_render_for_both_projects(sample_db, fw):
    for project, hood in (("working-xtra", "brookside"), ("council-tax-reduction", "kingsmoor")):
        report = Report(sample_db, project, hood, "6m", fw)
        for name in SECTIONS:
            html = report.show(name)._repr_html_()
            assert html.strip(), name
        assert 'alt="' in report.local_indicators()._repr_html_()
    ctr = Report(sample_db, "council-tax-reduction", "ashgrove", "12m", fw)
    assert "predicted 25%, actual about 7" in ctr.predicted_against_actual()._repr_html_()
    assert (
        "does not use the financial-resilience check"
        in Report(sample_db, "working-xtra", "oakfield", "12m", fw).financial_resilience()._repr_html_()
    )


# --- one outcome: only its indicators and stories ----------------------------------------------------


@pytest.fixture(scope="module")
def working_xtra(sample_db, fw):
    return ProjectData(sample_db, "working-xtra", fw)


def _labels(fw, ids):
    return [fw.indicator_map[i].label for i in ids]


def test_an_outcome_shows_only_its_indicators(working_xtra, fw):
    data, outcome = working_xtra, "people-involvement"  # voter turnout and household churn
    line = next(line for line in data.project.ripple if line.outcome == outcome)
    sel = Selection("working-xtra", "oakfield", "12m", outcome)
    table = sections.build(data, "local_indicators", sel).tables[0]
    assert table.display["Indicator"].tolist() == _labels(fw, line.indicators)
    assert table.tidy["indicator"].tolist() == list(line.indicators)
    everything = sections.build(data, "local_indicators", sel.but(outcome=None)).tables[0]
    assert everything.display["Indicator"].tolist() == _labels(fw, data.project.indicator_ids)
    # The outcome's rows are the report's rows, figure for figure.
    mine = everything.display[everything.display["Indicator"].isin(_labels(fw, line.indicators))]
    assert mine.reset_index(drop=True).equals(table.display)
    chart = sections.build(data, "local_indicators", sel).charts[0].alt
    others = set(_labels(fw, data.project.indicator_ids)) - set(_labels(fw, line.indicators))
    assert all(label in chart for label in _labels(fw, line.indicators))
    assert not any(label in chart for label in others)
    tiers = sections.build(data, "kpi_tiers", sel).tables[0].display
    assert " ".join(tiers.iloc[:, 1]).count(";") == len(line.indicators) - 1
    high = sections.build(data, "high_level_indicators", sel).tables[0].display
    assert set(high["Outcome"]) == {fw.outcomes[outcome].label}


def test_an_outcome_without_indicators_says_so(working_xtra):
    sel = Selection("working-xtra", "oakfield", "12m", "services-trust")
    shown = sections.build(working_xtra, "local_indicators", sel)
    assert not shown.tables and not shown.charts
    assert shown.notes == ["The ripple map names no local indicators for this outcome."]


def test_an_outcome_shows_only_its_stories(working_xtra, fw):
    sample = pd.read_csv(paths.SAMPLE / "stories.csv")
    mine = sample[(sample["consent"] == "yes") & (sample["neighbourhood"] == "oakfield") & (sample["wave"] != "12m")]
    for outcome in ("people-involvement", "place-pride-trust"):
        shown = sections.build(working_xtra, "stories", Selection("working-xtra", "oakfield", "6m", outcome))
        told = {b.text for b in shown.blocks if type(b).__name__ == "Story"}
        expected = set(mine.loc[mine["outcomes"].str.contains(outcome), "text"])
        assert told == expected and told
        assert shown.tables[0].display["Outcome"].tolist() == [fw.outcomes[outcome].label]
    report = sections.build(working_xtra, "stories", Selection("working-xtra", "oakfield", "6m"))
    assert {b.text for b in report.blocks if type(b).__name__ == "Story"} == set(mine["text"])
    none = sections.build(working_xtra, "stories", Selection("working-xtra", "oakfield", "6m", "place-agency"))
    assert "No stories shared with consent for this outcome from Oakfield up to this wave." in none.notes


def test_local_indicators_table_has_the_reports_figures(working_xtra):
    """The sample's employment rate in Oakfield at 12 months, as the report has always shown it."""
    table = sections.build(working_xtra, "local_indicators", Selection("working-xtra", "oakfield", "12m")).tables[0]
    row = table.display.set_index("Indicator").loc["Employment rate, adults 16-64"]
    assert row.tolist() == ["higher", "35% (Jan 2025)", "41% (Jan 2026)", "better", "+15.3%", "+3.0%", "+12.3%", "yes"]
    tidy = table.tidy.set_index("indicator").loc["employment-rate"]
    assert tidy["net_pct"] == pytest.approx(12.3, abs=0.05) and tidy["clear"]


def test_sentiment_shows_the_neighbourhoods_channel_counts(working_xtra):
    shown = sections.build(working_xtra, "sentiment", Selection("working-xtra", "oakfield", "12m"))
    here = next(t for t in shown.tables if t.key == "sentiment-here")
    assert here.display.columns.tolist() == ["Channel", "Items", "From", "To"]
    ev = working_xtra.evidence
    assert here.display["Items"].sum() == (ev.sentiment["neighbourhood"] == "oakfield").sum()
