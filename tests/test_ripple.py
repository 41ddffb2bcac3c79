"""The ripple: the roll-up rule (framework data) on hand-built examples, the sample's ripple, its sections, the
chart and the CLI (helpers/evidence/ripple.py, helpers/presentation/sections/ripple.py, data/framework/ripple.yaml)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.config import paths
from helpers.config.errors import FrameworkError
from helpers.config.framework import load_framework
from helpers.evidence import ripple
from helpers.evidence.context import project_ripple
from helpers.presentation import charts
from helpers.presentation.render import to_html
from helpers.presentation.sections import Report
from helpers.presentation.sections import ripple as ripple_sections
from helpers.surfaces.cli import main


@pytest.mark.parametrize("method", ["each", "holm"])
def test_line_score_rule(method):
    alpha = 0.05
    assert ripple.line_score([0.1, 0.02], [0.001, 0.5], alpha, method) == (1, 2, 1, 0)  # one clear rise
    assert ripple.line_score([-0.1, 0.02], [0.001, 0.5], alpha, method) == (-1, 2, 0, 1)  # one clear fall
    assert ripple.line_score([0.1, -0.1], [0.001, 0.001], alpha, method) == (0, 2, 1, 1)  # clear both ways: mixed
    assert ripple.line_score([0.1], [np.nan], alpha, method) == (0, 0, 0, 0)  # untestable
    # p = 0.03: clear on its own (below 0.05, as the survey tables show it), not after Holm over two (0.05 / 2)
    expected = (1, 2, 1, 0) if method == "each" else (0, 2, 0, 0)
    assert ripple.line_score([0.1, 0.1], [0.03, 0.5], alpha, method) == expected


def test_each_statement_is_clear_exactly_when_its_own_test_says_so():
    p = [0.049, 0.05, 0.051, np.nan, 0.001]
    assert ripple.clear_flags(p, 0.05, "each").tolist() == [True, False, False, False, True]
    assert ripple.clear_flags(p, 0.05, "holm").tolist() == [False, False, False, False, True]


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
    # (a line pointing the other way is taken off: people-wellbeing (4 - 3) / 7, services-trust (3 - 1) / 4)
    expected = {
        "place-agency": (4 / 6, 4 / 6),
        "place-pride-trust": (2 / 6, 2 / 7),
        "people-wellbeing": ((-4 + 2 + 1) / 7, 1 / 7),
        "services-trust": ((3 - 1) / 4, 2 / 4),
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
    assert i.loc["people", "certainty"] == pytest.approx((1 / 7 + 0) / 2)
    assert i.loc["public-services", "strength"] == pytest.approx(0.5)
    assert i.loc["public-services", "certainty"] == pytest.approx(0.5 / 2)
    assert i.loc["people", "outcomes_in_map"] == 2 and i.loc["people", "outcomes_with_evidence"] == 1
    # place and public services tie at 0.5: the greater certainty wins
    assert ripple.strongest(ideals) == "place"
    assert i.loc["place", "strength_words"] == "strong"  # its survey line agrees (+1)
    # people-wellbeing's survey (-1) and indicators and stories (+1) disagree: mixed, and so is its ideal
    assert o.loc["people-wellbeing", "strength_words"] == "mixed" and o.loc["people-wellbeing", "disagrees"]
    assert i.loc["people", "strength_words"] == "mixed" and i.loc["people", "disagrees"]
    assert o.loc["services-trust", "strength_words"] == "mixed"  # survey +1 against sentiment -1
    assert not o.loc["place-agency", "disagrees"] and o.loc["place-agency", "strength_words"] == "strong"


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
    result = project_ripple(sample_db, fw, project)
    assert result.wave == "12m" and not result.design_mode
    assert result.strongest == expected == fw.project(project).expected_strongest
    assert result.ideals["strength"].between(-1, 1).all()


def test_sample_council_tax_trust_outcome_has_the_planted_survey_rise(sample_db, fw):
    result = project_ripple(sample_db, fw, "council-tax-reduction")
    lines = result.lines.set_index(["outcome", "line"])
    survey = lines.loc[("services-trust", "survey")]
    assert survey["score"] == 1 and survey["detail"].startswith("clearly better for \u2018Trust local services\u2019")
    assert survey["clear_items"] == ("s17",) and "s17" in result.clear_statements()
    assert lines.loc[("services-trust", "indicators")]["score"] == 1  # collection rate, predicted 25 -> about 70
    # Nothing was planted on s07; its fall (p 0.02) is clear by its own test, as the DiD table shows, and the rule
    # does not hide it: the one line scoring -1. Its outcome's indicators point the other way, so it is "mixed".
    negative = result.lines[result.lines["score"] < 0]
    assert list(zip(negative["outcome"], negative["line"], strict=True)) == [("place-pride-trust", "survey")]
    assert negative["clear_items"].iloc[0] == ("s07",)
    o = result.outcomes.set_index("outcome")
    assert o.loc["place-pride-trust", "strength_words"] == "mixed" and o.loc["place-pride-trust", "certainty"] < 0.5
    assert result.ideals.set_index("ideal").loc["place", "strength_words"] == "mixed"


def test_design_mode_shows_the_planned_reach(sample_db, fw):
    result = project_ripple(sample_db, fw, "working-xtra", "baseline")
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
    result = project_ripple(sample_db, fw, "council-tax-reduction")
    fig = charts.ripple_chart(result.ideals, title="test", design=False)
    design = charts.ripple_chart(ripple.planned_reach(fw, "working-xtra"), title="test", design=True)
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


def test_report_sections_word_the_ripple_from_the_rule(sample_db, fw):
    report = Report(sample_db, "working-xtra", "oakfield", "12m", fw)
    brief = report.in_brief()
    assert len(brief.points) in range(3, 7) and brief.points[-1].startswith("What this cannot show")
    section = report.ripple()
    html = to_html(section)
    assert 'alt="Ripple chart for Working Xtra' in html and "guide to the ripple" in html
    note = section.notes[-1]
    assert ripple_sections.rule_words(report.data) in note  # the roll-up's words are written from the rule
    assert "own 95% test" in note and "\u201cmixed\u201d" in note and "\u201cstrong\u201d" in note
    baseline = Report(sample_db, "working-xtra", "oakfield", "baseline", fw)
    assert "nothing has changed yet" in to_html(baseline.in_brief())
    assert "design mode" in to_html(baseline.ripple())


def test_the_rule_words_follow_the_rule(framework_copy, sample_db, fw):
    from helpers.evidence.context import ProjectData

    edited = _with_rule(
        framework_copy,
        lambda d: (
            d["clear"].update(method="holm"),
            d["disagreement"].update(words="pulling both ways", subtract=0.5),
            d.update(survey_must_agree=[]),
        ),
    )
    words = ripple_sections.rule_words(ProjectData(sample_db, "working-xtra", edited))
    assert "allowing for the number of statements" in words and "own 95% test" not in words
    assert "\u201cpulling both ways\u201d" in words and "less 0.5 times the weight" in words
    assert "also need the survey" not in words


def test_summary_says_before_and_after_when_a_project_has_no_comparison_areas(fw, tmp_path):
    import duckdb

    from helpers.store.intake import build_database

    db = tmp_path / "pilots-only.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM areas WHERE project = 'council-tax-reduction' AND role = 'comparison'")
    con.close()
    brief = to_html(Report(db, "council-tax-reduction", "ashgrove", "12m").in_brief())
    assert "before and after only" in brief
    assert "pilots against comparisons" not in brief and "the comparison assumes" not in brief


# --- hand-built evidence: an outcome's lines agree, disagree, or are missing --------------------------


@pytest.mark.parametrize(
    ("scores", "strength", "certainty", "words"),
    [
        ({"survey": 1, "indicators": 1, "stories": 1}, 1.0, 1.0, ("strong", "high")),  # every line agrees
        # one line disagrees: its weight comes off the agreeing weight, and the words say so
        ({"survey": 1, "indicators": -1, "stories": 1}, 3 / 7, (5 - 2) / 7, ("mixed", "moderate")),
        # a clear survey decline against better indicators and a story: certainty falls from 4/7 to 1/7
        ({"survey": -1, "indicators": 1, "stories": 1}, -1 / 7, (4 - 3) / 7, ("mixed", "low")),
        ({"survey": 0, "indicators": 1, "stories": 1}, 3 / 7, 3 / 7, ("moderate", "moderate")),  # survey: no change
        ({"survey": 1, "indicators": None, "stories": None}, 1.0, 4 / 7, ("strong", "moderate")),  # two missing
        # no survey data: nothing for "strong" to contradict
        ({"survey": None, "indicators": 1, "stories": 1}, 1.0, 3 / 7, ("strong", "moderate")),
        ({"survey": None, "indicators": None, "stories": None}, math.nan, 0.0, ("no evidence yet", "low")),
    ],
)
def test_one_outcome_whose_lines_agree_disagree_or_are_missing(fw, scores, strength, certainty, words):
    weights = {"survey": 4, "indicators": 2, "stories": 1}
    lines = pd.DataFrame(
        [
            _line("people-wellbeing", "people", kind, weights[kind], score or 0, has_data=score is not None)
            for kind, score in scores.items()
        ]
    )
    outcomes, _ = ripple.rollup(lines, fw, "working-xtra")
    o = outcomes.set_index("outcome").loc["people-wellbeing"]
    assert o["strength"] == pytest.approx(strength, nan_ok=True)
    assert o["certainty"] == pytest.approx(certainty)
    assert (o["strength_words"], o["certainty_words"]) == words
    assert o["lines_planned"] == 3 and o["lines_with_data"] == sum(v is not None for v in scores.values())


def _did_rows(fw, wave: str, values: dict) -> pd.DataFrame:
    """A hand-built project DiD at ``wave``: every statement unclear (+1 point, p 0.6) unless ``values`` gives
    (did, p-value), or None for a statement suppressed for a small base."""
    rows = []
    for s in fw.instrument.statement_ids:
        found = values.get(s, (0.01, 0.6))
        did, p = found if found is not None else (np.nan, np.nan)
        rows.append(
            {
                "project": "working-xtra",
                "measure": s,
                "statistic": "agree",
                "wave": wave,
                "did": did,
                "ci_low": did - 0.1,
                "ci_high": did + 0.1,
                "p_value": p,
                "significant": bool(p < 0.05),
                "design": "difference-in-differences",
                "suppressed": found is None,
            }
        )
    return pd.DataFrame(rows)


def test_survey_lines_from_a_hand_built_did(fw):
    did = _did_rows(
        fw,
        "12m",
        {
            "s05": (0.12, 0.001),  # place-agency (s04 s05 s12 s02): one clear rise ...
            "s04": (0.10, 0.02),  # ... and one clear on its own (as the DiD table says), not after Holm over four
            "s08": (0.10, 0.001),  # people-wellbeing: a clear rise ...
            "s13": (-0.10, 0.001),  # ... and a clear fall: the line disagrees with itself
            "s16": None,  # services-trust (s16 s17): every statement suppressed
            "s17": None,
        },
    )
    result = ripple.ripple_of(fw, "working-xtra", "12m", None, did, True)
    lines = result.lines.set_index(["outcome", "line"])
    agency = lines.loc[("place-agency", "survey")]
    assert (agency["score"], agency["tested"], agency["clear_up"], agency["clear_down"]) == (1, 4, 2, 0)
    assert agency["clear_items"] == ("s04", "s05") and agency["weight"] == 4
    # the detail names the statements (in the map's order) and what their tests show; the figures are in the items
    assert agency["detail"] == (
        "clearly better for \u2018Skills are valued\u2019 and \u2018Can access skills support\u2019; no clear change "
        "for \u2018Support other residents\u2019 and \u2018In control of my life\u2019"
    )
    wellbeing = lines.loc[("people-wellbeing", "survey")]
    assert (wellbeing["score"], wellbeing["clear_up"], wellbeing["clear_down"]) == (0, 1, 1)
    assert wellbeing["clear_items"] == ("s08", "s13")
    trust = lines.loc[("services-trust", "survey")]
    assert not trust["has_data"] and math.isnan(trust["score"]) and trust["clear_items"] == ()
    assert result.clear_statements() == {"s04", "s05", "s08", "s13"}
    # Without other evidence only the survey lines have data; the rest are planned.
    o = result.outcomes.set_index("outcome")
    assert o.loc["place-agency", "strength"] == 1 and o.loc["place-agency", "certainty"] == pytest.approx(4 / 6)
    assert o.loc["people-wellbeing", "strength"] == 0 and o.loc["people-wellbeing", "certainty"] == 0
    assert math.isnan(o.loc["services-trust", "strength"]) and o.loc["services-trust", "survey"] == "no data"
    assert (o.loc["place-agency", "indicators"], o.loc["place-agency", "survey"]) == ("no data", "+1")
    # The items: one row per statement of each outcome, in the map's order; the statement's own test and Holm's.
    items = result.items.set_index(["outcome", "item"])
    agency_items = result.items[(result.items["outcome"] == "place-agency") & (result.items["line"] == "survey")]
    assert agency_items["item"].tolist() == ["s04", "s05", "s12", "s02"]
    assert items.loc[("place-agency", "s05"), "clear"] and items.loc[("place-agency", "s05"), "significant"]
    # one verdict: an item is clear in the ripple exactly when its own test (the DiD table) says so
    assert (result.items["clear"] == result.items["significant"]).all()
    assert (
        math.isnan(items.loc[("services-trust", "s17"), "effect"]) and not items.loc[("services-trust", "s17"), "clear"]
    )
    assert ripple.ripple_of(fw, "working-xtra", None, None, None, True).items.empty  # design mode: nothing measured


def test_holm_in_the_rule_makes_the_ripple_stricter_than_each_statement(framework_copy, fw):
    holm = _with_rule(framework_copy, lambda d: d["clear"].update(method="holm"))
    did = _did_rows(fw, "12m", {"s05": (0.12, 0.001), "s04": (0.10, 0.02)})
    result = ripple.ripple_of(holm, "working-xtra", "12m", None, did, True)
    agency = result.lines.set_index(["outcome", "line"]).loc[("place-agency", "survey")]
    assert agency["clear_items"] == ("s05",)  # 0.02 > 0.05 / 3 after the first step
    items = result.items.set_index(["outcome", "item"])
    assert items.loc[("place-agency", "s04"), "significant"] and not items.loc[("place-agency", "s04"), "clear"]
    assert "Holm" in ripple.rule_markdown(holm.ripple_rule) and "Holm" not in ripple.rule_markdown(fw.ripple_rule)


def test_an_ideal_is_not_strong_when_its_survey_shows_no_improvement(fw):
    """place-agency: survey no clear change, indicators better (2/6); place-pride-trust: no survey data, indicators
    and a story better (1). The ideal's mean (2/3) is in the "strong" band, but the only survey evidence of the
    ideal shows no improvement, so the rule calls it "moderate"; with the survey clearly up it is "strong"."""
    lines = [
        _line("place-agency", "place", "survey", 4, 0),
        _line("place-agency", "place", "indicators", 2, 1),
        _line("place-pride-trust", "place", "survey", 4, 0, has_data=False),
        _line("place-pride-trust", "place", "indicators", 2, 1),
        _line("place-pride-trust", "place", "stories", 1, 1),
    ]
    _, ideals = ripple.rollup(pd.DataFrame(lines), fw, "working-xtra")
    place = ideals.set_index("ideal").loc["place"]
    assert place["strength"] == pytest.approx((2 / 6 + 1) / 2) and place["strength"] >= 0.5
    assert place["strength_words"] == "moderate" and not place["disagrees"]
    lines[0] = _line("place-agency", "place", "survey", 4, 1)
    _, ideals = ripple.rollup(pd.DataFrame(lines), fw, "working-xtra")
    assert ideals.set_index("ideal").loc["place", "strength_words"] == "strong"


def test_an_ideal_whose_outcomes_lean_opposite_ways_is_mixed_and_less_certain(fw):
    lines = [
        _line("place-agency", "place", "survey", 4, 1),  # +1, certainty 1
        _line("place-pride-trust", "place", "survey", 4, -1),  # -1 with an agreeing indicator: -1/3, certainty 1/3
        _line("place-pride-trust", "place", "indicators", 2, 0),
    ]
    outcomes, ideals = ripple.rollup(pd.DataFrame(lines), fw, "working-xtra")
    assert not outcomes["disagrees"].any()  # each outcome's own lines agree
    place = ideals.set_index("ideal").loc["place"]
    assert place["strength"] == pytest.approx((1 - 4 / 6) / 2)
    assert place["certainty"] == pytest.approx((1 - 4 / 6) / 2)  # the outcome leaning the other way comes off
    assert place["strength_words"] == "mixed" and place["disagrees"]


# --- the rule is framework data ------------------------------------------------------------------------


def _with_rule(framework_copy, change):
    path = framework_copy / "ripple.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_framework(framework_copy)


def test_the_rule_comes_from_ripple_yaml(fw):
    rule = fw.ripple_rule
    assert rule == ripple.RULE
    assert {k: w.weight for k, w in rule.weights.items()} == {
        "survey-did": 4,
        "survey-before-after": 3,
        "indicators": 2,
        "stories": 1,
        "sentiment": 1,
    }
    assert rule.certainty.bands[0].at_least == 2 / 3  # written "2/3" in the file: exact
    assert rule.clear.method == "each"  # one verdict: a statement's own test, as the survey tables show it
    assert (rule.disagreement.subtract, rule.disagreement.words) == (1, "mixed")
    assert rule.survey_must_agree == ("strong", "clear worsening")


def test_an_edited_rule_changes_the_results_and_the_key(framework_copy, fw, hand_lines):
    edited = _with_rule(
        framework_copy,
        lambda d: (d["strength"]["bands"][0].update(at_least=0.7), d["weights"]["stories"].update(weight=3)),
    )
    o = ripple.rollup(hand_lines, edited, "working-xtra")[0].set_index("outcome")
    assert o.loc["place-agency", "strength"] == pytest.approx(4 / 6)
    assert o.loc["place-agency", "strength_words"] == "moderate"  # 'strong' now needs 0.7
    # council-tax-reduction, place: anchors (indicators 2 + stories 3) + pride-trust (survey 4 + indicators 2)
    assert ripple.planned_reach(edited, "council-tax-reduction").set_index("ideal").loc["place", "planned_weight"] == 11
    assert ripple.rule_key(edited.ripple_rule) != ripple.rule_key(fw.ripple_rule)
    assert "| stories | 3 |" in ripple.rule_markdown(edited.ripple_rule)
    assert '0.7 or more "strong"' in ripple.rule_markdown(edited.ripple_rule)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["weights"]["stories"].update(weight=-1),
            r"weights\.stories\.weight: .*greater than or equal to 0",
        ),
        (lambda d: d["weights"]["stories"].update(weight="lots"), r"weights\.stories\.weight: .*valid number.*'lots'"),
        (lambda d: d["weights"].pop("sentiment"), r"weights: .*no weight for sentiment"),
        (lambda d: d["weights"].update(gossip=d["weights"]["stories"]), r"weights\.gossip.*'survey-did'"),
        (lambda d: d["strength"]["bands"][1].update(at_least=0.7), r"strength\.bands: .*bounds must go down"),
        (lambda d: d["strength"]["bands"][0].update(at_least=2), r"strength: .*outside -1 to 1"),
        (lambda d: d["certainty"]["bands"][0].update(at_least="2/0"), r"certainty\.bands\[0\]\.at_least: .*2/3"),
        (lambda d: d["certainty"]["bands"][2].update(above=0.1), r"certainty\.bands: .*last band"),
        (lambda d: d["certainty"]["bands"][1].update(above=0.1), r"certainty\.bands: .*exactly one of at_least"),
        (lambda d: d["clear"].update(method="bonferroni"), r"clear\.method: .*'each' or 'holm'"),
        (lambda d: d["disagreement"].update(subtract=-1), r"disagreement\.subtract: .*greater than or equal to 0"),
        (lambda d: d.pop("disagreement"), r"disagreement: .*required"),
        (lambda d: d.update(survey_must_agree=["huge"]), r"survey_must_agree: .*'huge' not among the strength words"),
    ],
)
def test_a_bad_rule_names_the_file_and_the_key(framework_copy, change, message):
    with pytest.raises(FrameworkError, match=r"^ripple\.yaml: " + message):
        _with_rule(framework_copy, change)


def test_a_missing_rule_file_is_named(framework_copy):
    (framework_copy / "ripple.yaml").unlink()
    with pytest.raises(FrameworkError, match=r"ripple\.yaml: file is missing"):
        load_framework(framework_copy)


def test_docs_state_the_rule_the_framework_has(fw):
    text = ripple.DOC.read_text(encoding="utf-8")
    block = text.split(ripple.RULE_START, 1)[1].split(ripple.RULE_END, 1)[0]
    assert block == ripple.rule_markdown(fw.ripple_rule), "run python -m helpers docs to rewrite it"


# --- the ripple explorer's sections ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wx(sample_db, fw):
    from helpers.evidence.context import ProjectData

    return ProjectData(sample_db, "working-xtra", fw)


def _build(data, name, **selection):
    from helpers.evidence.context import Selection
    from helpers.presentation.sections import build

    return build(data, name, Selection("working-xtra", **selection))


def test_planned_reach_and_an_ideal_in_design_mode(wx, fw):
    reach = _build(wx, "planned_reach").tables[0]
    assert reach.key == "reach" and reach.tidy["outcomes_in_map"].tolist() == [2, 2, 2]
    assert list(reach.display["Outcomes in the ripple map"]) == [f"2 of {len(i.outcomes)}" for i in fw.ideals]
    assert reach.tidy.set_index("ideal").loc["public-services", ["sentiment", "other"]].tolist() == [1, 1]
    people = _build(wx, "ideal_outcomes", ideal="people")
    assert people.title == "Co-operative people: outcomes and their evidence"
    assert [t.key for t in people.tables] == ["outcome-lines"]  # no survey evidence in design mode
    lines = people.tables[0].display
    assert lines.loc[lines["Outcome"] == "Empowered and confident", "Result"].tolist() == [ripple_sections.NOT_IN_MAP]
    assert set(lines.loc[lines["Evidence"] != "", "Result"]) == {"planned"}
    assert len(_build(wx, "expected_ripple").paragraphs) == len(fw.project("working-xtra").ripple_summary)


def test_an_ideals_outcomes_at_a_wave(wx, fw):
    place = _build(wx, "ideal_outcomes", wave="12m", ideal="place")
    survey = next(t for t in place.tables if t.key == "ideal").tidy
    mapped = [ln for ln in fw.project("working-xtra").ripple if fw.ideal_of(ln.outcome).id == "place"]
    assert list(zip(survey["outcome"], survey["measure"], strict=True)) == [
        (ln.outcome, s) for ln in mapped for s in ln.survey
    ]
    did = wx.did
    for r in survey.itertuples():
        row = did[(did["measure"] == r.measure) & (did["statistic"] == "agree") & (did["wave"] == "12m")]
        assert r.did == pytest.approx(row["did"].iloc[0])
    one = _build(wx, "ideal_outcomes", wave="12m", ideal="place", outcome="place-agency")
    assert set(next(t for t in one.tables if t.key == "ideal").tidy["outcome"]) == {"place-agency"}
    assert set(one.tables[-1].tidy["outcome"]) == {"place-agency"}
    by_ideal = _build(wx, "survey_by_ideal", wave="12m").tables[0].display
    assert list(by_ideal["Ideal"]) == [i.name for i in fw.ideals]
    assert by_ideal["Statements"].tolist() == [7, 11, 2]  # distinct statements per ideal in the map


def test_a_wave_without_a_ripple_gives_a_message(wx):
    for name in ("ripple", "in_brief", "ideal_outcomes", "survey_by_ideal"):
        s = _build(wx, name, wave="24m", ideal="place")
        assert [b.kind for b in s.blocks] == ["message"] and "unknown wave '24m'" in s.blocks[0].text, name


# --- the ripple never contradicts the sections it summarises ---------------------------------------------

SAMPLE_REPORTS = [
    (project, hood, wave)
    for project, hoods in (
        ("working-xtra", ("brookside", "oakfield", "hollins", "millbrook")),
        ("council-tax-reduction", ("ashgrove", "westwood", "hollins", "kingsmoor")),
    )
    for hood in hoods
    for wave in ("6m", "12m")
]


@pytest.fixture(scope="module")
def sample_data(sample_db, fw):
    from helpers.evidence.context import ProjectData

    return {p: ProjectData(sample_db, p, fw) for p in ("working-xtra", "council-tax-reduction")}


def test_a_clear_difference_in_differences_counts_for_its_outcome(sample_data, fw):
    """Every statement the DiD table calls clear is clear in the ripple, and moves its outcome's survey line."""
    for project, data in sample_data.items():
        for wave in ("6m", "12m"):
            result = data.ripple(wave)
            did = data.did
            rows = did[(did["wave"] == wave) & (did["statistic"] == "agree") & ~did["suppressed"].astype(bool)]
            rows = rows[rows["measure"].isin(data.project.survey_statements)]
            assert result.clear_statements() == set(rows.loc[rows["significant"].astype(bool), "measure"])
            for line in result.lines[(result.lines["line"] == "survey") & result.lines["has_data"]].itertuples():
                items = result.items[(result.items["outcome"] == line.outcome) & (result.items["line"] == "survey")]
                up = (items["clear"] & (items["effect"] > 0)).any()
                down = (items["clear"] & (items["effect"] < 0)).any()
                assert line.score == (1 if up and not down else -1 if down and not up else 0), (project, wave, line)


@pytest.mark.parametrize(("project", "hood", "wave"), SAMPLE_REPORTS)
def test_no_sample_summary_contradicts_its_ripple(sample_data, fw, project, hood, wave):
    from helpers.evidence.context import Selection
    from helpers.presentation.sections import build

    data = sample_data[project]
    result = data.ripple(wave)
    brief = build(data, "in_brief", Selection(project, hood, wave))
    text = " ".join(brief.points)
    # The ripple's words per ideal are the ripple table's words, and no other strength words are used.
    table = build(data, "ripple", Selection(project, hood, wave)).tables[0].display.set_index("Ideal")
    ripple_point = next(p for p in brief.points if p.startswith("The ripple"))
    for r in result.ideals.itertuples():
        if pd.isna(r.strength):
            continue
        assert f"{r.label.lower()} {r.strength_words} (certainty {r.certainty_words})" in ripple_point
        assert table.loc[r.label, "Strength (-1 to +1)"].endswith(f"({r.strength_words})")
        # an ideal is never called strong while none of its survey lines shows a clear improvement
        if r.strength_words == "strong":
            survey = result.outcomes[(result.outcomes["ideal"] == r.ideal)]["survey_score"].dropna()
            assert survey.empty or (survey > 0).any(), (r.ideal, survey.tolist())
    # A statement is called clearly better or worse exactly when the ripple counts it as clear.
    project_point = next(p for p in brief.points if p.startswith(("Against the comparison", "There are no")))
    for s in data.project.survey_statements:
        named = f"on \u2018{fw.instrument.statement(s).short}\u2019, by" in project_point
        assert named == (s in result.clear_statements()), (s, project_point)
    assert "strength +" not in text and "strength -" not in text  # no index numbers on page one
    assert "does not count as clear" not in text and "clearest" not in text


# --- local indicators on the reader's scale, and the evidence as at the wave ----------------------------------


def _quarterly(indicator, hood, values, start="2024-07"):
    """Quarterly figures from ``start`` (with start 2025-01: 2025-01 is the baseline, 2025-07 the 6-month month)."""
    periods = pd.period_range(start, periods=len(values), freq="Q").asfreq("M", how="start").to_timestamp()
    return pd.DataFrame(
        {"indicator": indicator, "neighbourhood": hood, "period": periods, "value": values, "predicted": np.nan}
    )


def _hand_evidence(fw, indicators, stories=None, sentiment=None):
    from helpers.evidence import project as proj

    project = fw.project("working-xtra").model_copy(update={"start": "2025-01"})
    areas = pd.DataFrame(
        [("p1", "Pilot One", "pilot"), ("c1", "Comparison One", "comparison")],
        columns=["neighbourhood", "name", "role"],
    )
    return proj.build_evidence(fw, project, areas, indicators=indicators, stories=stories, sentiment=sentiment)


# place-pride-trust's indicators: crime-asb, a rate per 1,000 (lower is better); empty-properties, a count (lower is
# better). Quarterly 2024-07 .. 2025-07; the baseline is 2025-01, 6 months 2025-07.
RATE_AND_COUNT = [
    ("crime-asb", "p1", [49.0, 51.0, 50.0, 45.0, 40.0]),  # -10 per 1,000 since the baseline
    ("crime-asb", "c1", [50.0, 50.5, 50.0, 50.0, 50.0]),  # no change
    ("empty-properties", "p1", [98.0, 102.0, 100.0, 95.0, 90.0]),  # -10% of its baseline figure
    ("empty-properties", "c1", [200.0, 200.0, 200.0, 200.0, 196.0]),  # -2%
]


def test_the_indicator_line_is_on_the_readers_scale(fw):
    """A rate's net change in its units and a count's in % of its baseline figure, signed so that positive is
    better, with the indicator test's own interval and p-value; the line's detail names indicators by label."""
    from helpers.evidence import indicators

    ev = _hand_evidence(fw, pd.concat([_quarterly(*r) for r in RATE_AND_COUNT], ignore_index=True))
    result = ripple.ripple_of(fw, "working-xtra", "6m", ev, None, True)
    items = result.items[result.items["outcome"] == "place-pride-trust"].set_index("item")
    tests = indicators.indicator_tests(ev, "6m").set_index("indicator")

    crime = items.loc["crime-asb"]
    # pilot -10, comparison 0: net -10 per 1,000, and fewer incidents is better (not the 20% of the baseline value)
    assert crime["effect"] == pytest.approx(10)
    se = tests.loc["crime-asb", "se"]
    assert crime["ci_low"] == pytest.approx(10 - 1.959964 * se) and crime["ci_high"] == pytest.approx(
        10 + 1.959964 * se
    )
    assert crime["p_value"] == tests.loc["crime-asb", "p_value"] and crime["clear"] and crime["n"] == 2

    homes = items.loc["empty-properties"]
    # a count: -10% against -2% of each baseline figure, 8 points fewer empty homes: better
    assert homes["effect"] == pytest.approx(8) and homes["p_value"] == tests.loc["empty-properties", "p_value"]
    assert homes["ci_low"] < 8 < homes["ci_high"]

    line = result.lines.set_index(["outcome", "line"]).loc[("place-pride-trust", "indicators")]
    assert line["score"] == 1 and "crime-asb" in line["clear_items"]
    label = fw.indicator_map["crime-asb"].label
    assert f"clearly better for \u2018{label}" in line["detail"]
    assert "crime-asb" not in line["detail"] and "empty-properties" not in line["detail"]
    # no figures in the detail (the sections write them), so no rounded "-0" either
    assert not any(ch.isdigit() for ch in line["detail"].replace("1,000", ""))

    # worse the other way round: more incidents in the pilot area is a negative effect
    worse = [("crime-asb", "p1", [49.0, 51.0, 50.0, 55.0, 60.0]), *RATE_AND_COUNT[1:2]]
    ev = _hand_evidence(fw, pd.concat([_quarterly(*r) for r in worse], ignore_index=True))
    items = ripple.ripple_of(fw, "working-xtra", "6m", ev, None, True).items.set_index(["outcome", "item"])
    assert items.loc[("place-pride-trust", "crime-asb"), "effect"] == pytest.approx(-10)


def test_a_six_month_ripple_never_sees_twelve_month_figures(fw, monkeypatch):
    """Figures dated after the 6-month month (and a 12-month story, and later comments) change nothing at 6 months,
    and the tests are given the evidence as at the wave."""
    from helpers.evidence import evidence

    six = pd.concat([_quarterly(*r) for r in RATE_AND_COUNT], ignore_index=True)
    later = pd.concat(
        [
            _quarterly("crime-asb", "p1", [90.0, 95.0], start="2025-10"),  # a 12-month surge: much worse
            _quarterly("empty-properties", "p1", [300.0, 310.0], start="2025-10"),
        ],
        ignore_index=True,
    )
    story = pd.DataFrame(
        [("st1", "p1", "12m", "place-pride-trust", "Later", "A story from the 12-month wave.", "yes")],
        columns=["story_id", "neighbourhood", "wave", "outcomes", "title", "text", "consent"],
    )
    seen = []
    real = evidence.indicator_tests
    monkeypatch.setattr(evidence, "indicator_tests", lambda ev, wave: seen.append(ev) or real(ev, wave))

    before = ripple.ripple_of(fw, "working-xtra", "6m", _hand_evidence(fw, six), None, True)
    after = ripple.ripple_of(
        fw, "working-xtra", "6m", _hand_evidence(fw, pd.concat([six, later], ignore_index=True), story), None, True
    )
    assert seen[-1].indicators["period"].max() < pd.Timestamp("2025-08-01")  # nothing after July 2025
    assert seen[-1].stories.empty  # the 12-month story is not yet told at 6 months
    pd.testing.assert_frame_equal(before.items, after.items)
    pd.testing.assert_frame_equal(before.lines, after.lines)
    pd.testing.assert_frame_equal(before.outcomes, after.outcomes)
    # and at 12 months the later figures count: the surge is clearly worse
    twelve = ripple.ripple_of(
        fw, "working-xtra", "12m", _hand_evidence(fw, pd.concat([six, later], ignore_index=True), story), None, True
    )
    items = twelve.items.set_index(["outcome", "item"])
    assert items.loc[("place-pride-trust", "crime-asb"), "effect"] < 0
    assert twelve.lines.set_index(["outcome", "line"]).loc[("place-pride-trust", "stories"), "score"] == 1


def test_the_ripple_words_each_indicator_as_the_local_indicators_table_does(sample_data, fw):
    """The ripple's evidence per outcome gives each indicator's difference exactly as "Local indicators" shows it
    (on the indicator's own scale, by label) with the indicator test's verdict, the one the roll-up counts; nothing
    says "-0" and the CSV's evidence names no indicator by its id."""
    from wording import forbidden

    from helpers.evidence.context import Selection
    from helpers.presentation.sections import build

    data = sample_data["council-tax-reduction"]
    for wave in ("6m", "12m"):
        sel = Selection("council-tax-reduction", "ashgrove", wave)
        local = next(t for t in build(data, "local_indicators", sel).tables if "Difference" in t.display.columns)
        shown = local.display.set_index("Indicator")
        tested = local.tidy.set_index("label")
        evidence = " | ".join(build(data, "ripple", sel).tables[1].display["Evidence"])
        for label, row in shown.iterrows():
            t = tested.loc[label]
            way = "better" if (t["net_change"] > 0) == (t["better"] == "higher") else "worse"
            verdict = f"clearly {way}" if t["clear"] else "no clear change"
            assert f"{label} {row['Difference']} ({verdict})" in evidence, (wave, label, row["Difference"], verdict)
            if row["Clear difference?"].startswith("yes"):  # the table's "yes" is always the ripple's clear
                assert row["Clear difference?"] == f"yes, {way}" and t["clear"]
        indicator_words = evidence.split("Local indicators:", 1)[1].split("|", 1)[0]
        assert "%" not in indicator_words  # no longer as a % of the baseline value
        assert not forbidden(evidence, fw)
        csv = " | ".join(data.ripple(wave).outcomes["evidence"])
        assert not forbidden(csv, fw) and "council-tax-collection" not in csv


def _brief_limits(db, project, hood, fw) -> str:
    return next(p for p in Report(db, project, hood, "12m", fw).in_brief().points if p.startswith("What this cannot"))


def test_page_one_mentions_the_resilience_check_only_when_it_has_results(sample_db, fw, tmp_path):
    import shutil

    from helpers.store.intake import import_file

    # Council Tax Reduction has the check, but the sample has no questionnaires: nothing "below" to point to.
    limits = _brief_limits(sample_db, "council-tax-reduction", "ashgrove", fw)
    assert "check below" not in limits and "no financial-resilience questionnaires" in limits
    # Working Xtra does not use the check: it is not mentioned.
    assert "financial-resilience" not in _brief_limits(sample_db, "working-xtra", "oakfield", fw)

    def with_pairs(n: int):
        db = tmp_path / f"with-{n}.duckdb"
        shutil.copy(sample_db, db)
        rows = []
        for i in range(n):
            for stage, score in (("pre", 2), ("post", 3 + i % 2)):
                answers = {s.id: score for s in fw.resilience.statements} | {"fr07": "no", "fr08": "yes", "fr09": "no"}
                rows.append(
                    {"respondent_id": f"R{i:03d}", "project": "council-tax-reduction", "neighbourhood": "ashgrove"}
                    | {"stage": stage}
                    | answers
                )
        pd.DataFrame(rows).to_csv(tmp_path / f"resilience-{n}.csv", index=False)
        import_file("resilience", tmp_path / f"resilience-{n}.csv", fw, db)
        return db

    # Too few pairs: every result withheld, so the check shows no effect yet.
    few = _brief_limits(with_pairs(3), "council-tax-reduction", "ashgrove", fw)
    assert "check below" not in few and "too few people" in few
    # Enough pairs: the check below shows the effect on the people who answered.
    enough = _brief_limits(with_pairs(14), "council-tax-reduction", "ashgrove", fw)
    assert "the financial-resilience check below does" in enough
