"""helpers/ripple.py: the roll-up rule on a hand-built example, the sample's ripple, the chart and the CLI."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.evidence import ripple
from helpers.presentation.report import ProjectReport
from helpers.surfaces.cli import main


def test_line_score_rule():
    alpha = 0.05
    assert ripple.line_score([0.1, 0.02], [0.001, 0.5], alpha) == (1, 2, 1, 0)  # one clear rise
    assert ripple.line_score([-0.1, 0.02], [0.001, 0.5], alpha) == (-1, 2, 0, 1)  # one clear fall
    assert ripple.line_score([0.1, -0.1], [0.001, 0.001], alpha) == (0, 2, 1, 1)  # clear both ways: mixed
    assert ripple.line_score([0.1, 0.1], [0.03, 0.5], alpha) == (0, 2, 0, 0)  # 0.03 > 0.05 / 2: not clear
    assert ripple.line_score([0.1], [np.nan], alpha) == (0, 0, 0, 0)  # untestable


def _line(outcome, ideal, line, weight, score, has_data=True):
    return {
        "project": "working-xtra",
        "wave": "12m",
        "ideal": ideal,
        "outcome": outcome,
        "line": line,
        "planned": True,
        "measurable": line != "other",
        "has_data": has_data,
        "weight": weight,
        "score": score if has_data else np.nan,
        "tested": 1,
        "clear_up": 0,
        "clear_down": 0,
        "design": "",
        "detail": "",
    }


@pytest.fixture
def hand_lines():
    """Working Xtra's six outcomes with evidence made up so the roll-up can be worked by hand."""
    rows = [
        _line("place-agency", "place", "survey", 4, 1),
        _line("place-agency", "place", "indicators", 2, 0),
        _line("place-pride-trust", "place", "survey", 4, 0),
        _line("place-pride-trust", "place", "indicators", 2, 1),
        _line("place-pride-trust", "place", "stories", 1, 0, has_data=False),
        _line("people-wellbeing", "people", "survey", 4, -1),
        _line("people-wellbeing", "people", "indicators", 2, 1),
        _line("people-wellbeing", "people", "stories", 1, 1),
        _line("people-involvement", "people", "survey", 4, 0, has_data=False),
        _line("people-involvement", "people", "indicators", 2, 0, has_data=False),
        _line("people-involvement", "people", "stories", 1, 0, has_data=False),
        _line("services-trust", "public-services", "survey", 3, 1),  # before-and-after weight
        _line("services-trust", "public-services", "sentiment", 1, -1),
        _line("services-learning", "public-services", "other", 0, 0, has_data=False),
    ]
    return pd.DataFrame(rows)


def test_rollup_by_hand(hand_lines, fw):
    outcomes, ideals = ripple.rollup(hand_lines, fw, "working-xtra")
    o = outcomes.set_index("outcome")
    # strength = sum(w * s) / sum(w) over lines with data; certainty = weight agreeing with the sign / planned weight
    expected = {
        "place-agency": (4 / 6, 4 / 6),
        "place-pride-trust": (2 / 6, 2 / 7),
        "people-wellbeing": ((-4 + 2 + 1) / 7, 4 / 7),
        "services-trust": ((3 - 1) / 4, 3 / 4),
    }
    for outcome, (strength, certainty) in expected.items():
        assert o.loc[outcome, "strength"] == pytest.approx(strength), outcome
        assert o.loc[outcome, "certainty"] == pytest.approx(certainty), outcome
    assert math.isnan(o.loc["people-involvement", "strength"]) and o.loc["people-involvement", "certainty"] == 0
    assert math.isnan(o.loc["services-learning", "strength"]) and o.loc["services-learning", "certainty"] == 0
    assert o.loc["place-pride-trust", "stories"] == "no data" and o.loc["place-agency", "survey"] == "+1"
    assert o.loc["people-wellbeing", "survey"] == "-1" and o.loc["place-agency", "stories"] == ""
    i = ideals.set_index("ideal")
    # ideal strength: mean over outcomes with evidence; certainty: mean over all the ideal's outcomes
    assert i.loc["place", "strength"] == pytest.approx((4 / 6 + 2 / 6) / 2)
    assert i.loc["place", "certainty"] == pytest.approx((4 / 6 + 2 / 7) / 2)
    assert i.loc["people", "strength"] == pytest.approx(-1 / 7)
    assert i.loc["people", "certainty"] == pytest.approx((4 / 7 + 0) / 2)
    assert i.loc["public-services", "strength"] == pytest.approx(0.5)
    assert i.loc["public-services", "certainty"] == pytest.approx(0.75 / 2)
    assert i.loc["people", "outcomes_in_map"] == 2 and i.loc["people", "outcomes_with_evidence"] == 1
    # place and public services tie at 0.5: the greater certainty wins
    assert ripple.strongest(ideals) == "place"
    assert i.loc["place", "strength_words"] == "strong" and i.loc["people", "strength_words"] == "little or none"


def test_strength_and_certainty_words():
    rule = ripple.RULE
    assert [rule.strength_words(s) for s in (0.5, 0.2, 0.19, -0.19, -0.2, -0.49, -0.5)] == [
        "strong",
        "moderate",
        "little or none",
        "little or none",
        "some worsening",
        "some worsening",
        "clear worsening",
    ]
    assert [rule.certainty_words(c) for c in (1.0, 2 / 3, 0.5, 0.1)] == ["high", "high", "moderate", "low"]


@pytest.mark.parametrize(
    ("project", "expected"), [("working-xtra", "people"), ("council-tax-reduction", "public-services")]
)
def test_sample_ripple_strongest_where_the_framework_expects(sample_db, fw, project, expected):
    result = ripple.project_ripple(sample_db, fw, project)
    assert result.wave == "12m" and not result.design_mode
    assert result.strongest == expected == fw.project(project).expected_strongest
    assert result.ideals["strength"].between(-1, 1).all()


def test_sample_council_tax_trust_outcome_has_the_planted_survey_rise(sample_db, fw):
    result = ripple.project_ripple(sample_db, fw, "council-tax-reduction")
    lines = result.lines.set_index(["outcome", "line"])
    survey = lines.loc[("services-trust", "survey")]
    assert survey["score"] == 1 and "s17" in survey["detail"] and "(clear)" in survey["detail"]
    assert lines.loc[("services-trust", "indicators")]["score"] == 1  # collection rate, predicted 25 -> about 70
    # nothing was planted on s08 or s11 and no outcome line scores -1 from noise
    assert (result.lines["score"].dropna() >= 0).all()


def test_design_mode_shows_the_planned_reach(sample_db, fw):
    result = ripple.project_ripple(sample_db, fw, "working-xtra", "baseline")
    assert result.design_mode
    assert result.ideals["strength"].isna().all() and result.ideals["certainty"].isna().all()
    assert set(result.outcomes["survey"]) == {"planned", ""}
    reach = ripple.planned_reach(fw, "council-tax-reduction").set_index("ideal")
    assert reach["outcomes_in_map"].tolist() == [2, 2, 3]
    # council-tax-reduction, place: anchors (indicators 2 + stories 1) + pride-trust (survey 4 + indicators 2)
    assert reach.loc["place", "planned_weight"] == 9
    assert reach.loc["public-services", "lines_planned"] == 5


def test_ripple_chart_both_modes(sample_db, fw):
    before = plt.get_fignums()
    result = ripple.project_ripple(sample_db, fw, "council-tax-reduction")
    fig = ripple.ripple_chart(result.ideals, title="test", design=False)
    design = ripple.ripple_chart(ripple.planned_reach(fw, "working-xtra"), title="test", design=True)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Co-operative public services" in texts and "certainty" in texts
    assert "planned" in " ".join(t.get_text() for t in design.axes[0].texts)
    plt.close(fig)
    plt.close(design)
    assert plt.get_fignums() == before


def test_cli_ripple_csv(sample_db, tmp_path, capsys):
    out = tmp_path / "ripple.csv"
    assert main(["ripple", "--project", "working-xtra", "--db", str(sample_db), "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote 6 outcome and 3 ideal rows" in printed and "strongest: people" in printed
    table = pd.read_csv(out)
    assert list(table.columns) == list(ripple.RIPPLE_COLUMNS)
    assert table["level"].tolist() == ["outcome"] * 6 + ["ideal"] * 3
    assert table.loc[table["level"] == "ideal", "ideal"].tolist() == ["place", "people", "public-services"]
    assert main(["ripple", "--project", "atlantis", "--db", str(sample_db)]) == 2
    assert "unknown project 'atlantis'" in capsys.readouterr().err
    assert main(["ripple", "--project", "working-xtra", "--wave", "24m", "--db", str(sample_db)]) == 2


def test_report_sections_say_where_the_ripple_is_strongest(sample_db, fw):
    report = ProjectReport(sample_db, "working-xtra", "oakfield", "12m", fw)
    brief = ripple.in_brief(report)._repr_html_()
    assert "strongest on co-operative people" in brief and "What it does not show" in brief
    section = ripple.ripple_section(report)._repr_html_()
    assert 'alt="Ripple chart for Working Xtra' in section and "docs/ripple.md" in section
    baseline = ProjectReport(sample_db, "working-xtra", "oakfield", "baseline", fw)
    assert "nothing has changed yet" in ripple.in_brief(baseline)._repr_html_()
    assert "design mode" in ripple.ripple_section(baseline)._repr_html_()


def test_summary_says_before_and_after_when_a_project_has_no_comparison_areas(fw, tmp_path):
    import duckdb

    from helpers.config import paths
    from helpers.presentation.report import ProjectReport
    from helpers.store.intake import build_database

    db = tmp_path / "pilots-only.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM areas WHERE project = 'council-tax-reduction' AND role = 'comparison'")
    con.close()
    brief = ripple.in_brief(ProjectReport(db, "council-tax-reduction", "ashgrove", "12m"))._repr_html_()
    assert "before and after only" in brief
    assert "pilots against comparisons" not in brief and "the comparison assumes" not in brief
