"""Trends before the project: the slope test worked by hand, the checks on hand-built parallel and diverging
series (with the placebo worked by hand), too few months, no start, what the ripple's certainty does with them,
and the section on the sample (helpers/methods/trends.py, helpers/evidence/trends.py,
helpers/presentation/sections/trends.py, the pre_trends rule in data/framework/ripple.yaml)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.config import paths
from helpers.config.framework import load_framework
from helpers.evidence import project as proj
from helpers.evidence import ripple, trends
from helpers.methods.trends import MIN_POINTS, slope_difference

# Student's t quantiles for a 95% interval (printed tables): 4 and 6 degrees of freedom.
T95 = {4: 2.776445, 6: 2.446912}


# --- the slope test, by hand ------------------------------------------------------------------------------------


def test_a_slope_difference_and_its_interval_by_the_textbook_formula():
    """Pilot (0, 1); (1, 3); (2, 4); (3, 6): mean t 1.5, Sxx 5, Sxy 8, slope 1.6, residuals -0.1, 0.3, -0.3, 0.1
    (squares sum to 0.2). Comparison 2, 2, 3, 3: Sxy 2, slope 0.4, residuals 0.1, -0.3, 0.3, -0.1 (0.2). So the
    difference is 1.2, s^2 = (0.2 + 0.2) / (8 - 4) = 0.1, se = sqrt(0.1 (1/5 + 1/5)) = 0.2, t = 6 on 4 degrees of
    freedom: interval 1.2 -/+ 2.776445 x 0.2, and p = 1 - 1.5x + 0.5x^3 with x = 6 / sqrt(40) (the t
    distribution on 4 degrees of freedom in closed form)."""
    t = [0, 1, 2, 3]
    found = slope_difference(t, [1, 3, 4, 6], t, [2, 2, 3, 3])
    assert found.pilot_slope == pytest.approx(1.6) and found.comparison_slope == pytest.approx(0.4)
    assert found.difference == pytest.approx(1.2) and found.se == pytest.approx(0.2)
    assert found.df == 4 and (found.n_pilot, found.n_comparison) == (4, 4)
    assert (found.ci_low, found.ci_high) == pytest.approx((1.2 - T95[4] * 0.2, 1.2 + T95[4] * 0.2), abs=1e-6)
    x = 6 / math.sqrt(40)
    assert found.p_value == pytest.approx(1 - 1.5 * x + 0.5 * x**3, rel=1e-6)
    # the fitted lines at t = 0: pilot 3.5 - 1.6 x 1.5 = 1.1, comparison 2.5 - 0.4 x 1.5 = 1.9
    assert (found.pilot_at_zero, found.comparison_at_zero) == pytest.approx((1.1, 1.9))


def test_parallel_lines_differ_by_nothing_and_too_few_points_give_no_test():
    """The same slope (1.6) in both: the difference is 0; the comparison's residuals -0.1, 0.1, 0.1, -0.1 (0.04),
    so s^2 = 0.24 / 4 and se = sqrt(0.06 x 0.4)."""
    t = [0, 1, 2, 3]
    found = slope_difference(t, [1, 3, 4, 6], t, [0.0, 1.8, 3.4, 4.8])
    assert found.difference == pytest.approx(0, abs=1e-12) and found.se == pytest.approx(math.sqrt(0.024))
    assert found.p_value == pytest.approx(1) and found.ci_low == pytest.approx(-T95[4] * math.sqrt(0.024), abs=1e-6)
    assert MIN_POINTS == 4
    assert slope_difference([0, 1, 2], [1, 2, 3], t, [1, 2, 3, 4]) is None  # three points: too short to tell
    assert slope_difference([1, 1, 1, 1], [1, 2, 3, 4], t, [1, 2, 3, 4]) is None  # no spread in time


# --- the checks on hand-built indicators ---------------------------------------------------------------------

PERIODS = ["2024-01", "2024-04", "2024-07", "2024-10", "2025-01", "2025-04", "2025-07"]  # months -12 .. +6


def _rows(indicator: str, hood: str, values: list[float], first: str = "2024-01") -> pd.DataFrame:
    periods = pd.period_range(first, periods=len(values), freq="Q").asfreq("M", how="start").to_timestamp()
    return pd.DataFrame(
        {"indicator": indicator, "neighbourhood": hood, "period": periods, "value": values, "predicted": np.nan}
    )


def _evidence(fw, rows, *, start: str | None = "2025-01", areas=None, survey_waves=("baseline", "6m")):
    """Working Xtra's map with hand-built areas and indicator figures (its start month ``start``)."""
    project = fw.project("working-xtra").model_copy(update={"start": start})
    areas = areas or [("p1", "Pilot One", "pilot"), ("c1", "Comparison One", "comparison")]
    frame = pd.DataFrame(areas, columns=["neighbourhood", "name", "role"])
    indicators = pd.concat(rows, ignore_index=True)
    return proj.build_evidence(fw, project, frame, indicators=indicators, survey_waves=survey_waves)


# employment-rate (a percentage: points). Before the start (months -12, -9, -6, -3, 0, a year apart -1 to 0):
# the pilot's changes since its start figure -4.0, -2.9, -2.0, -1.1, 0: Sxx 0.625, Sxy 2.45, slope 3.92 a year,
# residuals -0.04, 0.08, 0, -0.08, 0.04 (0.016).
PILOT = [46.0, 47.1, 48.0, 48.9, 50.0, 52.0, 54.0]
# Parallel: the comparison's changes -4.0, -2.8, -2.1, -1.0, 0: slope 3.92 too, residuals -0.06, 0.16, -0.12, 0,
# 0.02 (0.044): s^2 = 0.06 / 6, se = sqrt(0.01 x (1/0.625 + 1/0.625)).
PARALLEL = [56.0, 57.2, 57.9, 59.0, 60.0, 60.5, 61.0]
# Diverging: the comparison's changes 0.1, -0.1, 0, 0.1, 0: slope 0, residuals 0.08, -0.12, -0.02, 0.08, -0.02
# (0.028): s^2 = 0.044 / 6.
FLAT = [60.1, 59.9, 60.0, 60.1, 60.0, 60.5, 61.0]


def _check(fw, comparison, pilot=PILOT) -> pd.Series:
    rows = [_rows("employment-rate", "p1", pilot), _rows("employment-rate", "c1", comparison)]
    found = trends.pre_trend_tests(_evidence(fw, rows)).set_index("indicator")
    return found.loc["employment-rate"]


def test_parallel_series_moved_alike(fw):
    t = _check(fw, PARALLEL)
    assert t["verdict"] == "alike" and not t["clear"]
    assert (t["pilot_slope"], t["comparison_slope"]) == pytest.approx((3.92, 3.92))
    assert t["difference"] == pytest.approx(0, abs=1e-9) and t["se"] == pytest.approx(math.sqrt(0.01 * 3.2))
    assert t["df"] == 6 and (t["periods_pilot"], t["periods_comparison"]) == (5, 5)
    assert t["ci_high"] == pytest.approx(T95[6] * math.sqrt(0.032), abs=1e-6)
    # The placebo: as if the project had started 6 months earlier (the longest wave is 12 months; half the 12
    # months of figures), July 2024 to January 2025: pilot 50 - 48 = +2.0, comparison 60 - 57.9 = +2.1, net -0.1.
    # Its noise: the quarter-to-quarter steps up to July 2024 (1.1, 0.9; 1.2, 0.7), SD sqrt(0.1475 / 3), se that
    # times sqrt(1/1 + 1/1): z = -0.32, not clear.
    assert t["placebo_start"] == "2024-07"
    assert (t["placebo_pilot_change"], t["placebo_comparison_change"]) == pytest.approx((2.0, 2.1))
    assert t["placebo_net_change"] == pytest.approx(-0.1)
    se = math.sqrt(0.1475 / 3) * math.sqrt(2)
    assert t["placebo_ci_high"] == pytest.approx(-0.1 + 1.959964 * se, abs=1e-5) and not t["placebo_clear"]
    assert t["start"] == "2025-01" and t["start_recorded"]


def test_diverging_series_moved_differently(fw):
    t = _check(fw, FLAT)
    assert t["verdict"] == "differently" and t["clear"]
    assert (t["pilot_slope"], t["comparison_slope"]) == pytest.approx((3.92, 0), abs=1e-9)
    se = math.sqrt(0.044 / 6 * 3.2)
    assert t["difference"] == pytest.approx(3.92) and t["se"] == pytest.approx(se)
    assert (t["ci_low"], t["ci_high"]) == pytest.approx((3.92 - T95[6] * se, 3.92 + T95[6] * se), abs=1e-6)
    # The placebo is clear too: pilot +2.0, comparison 60 - 60 = 0, net +2.0; steps 1.1, 0.9; -0.2, 0.1 (mean
    # 0.475, squares about it 1.1675): se = sqrt(1.1675 / 3) x sqrt(2) = 0.882, z = 2.27, p = 0.023.
    assert t["placebo_net_change"] == pytest.approx(2.0)
    se = math.sqrt(1.1675 / 3) * math.sqrt(2)
    assert t["placebo_p_value"] == pytest.approx(math.erfc(2.0 / se / math.sqrt(2)), rel=1e-6)
    assert t["placebo_clear"]


def test_the_placebo_alone_can_find_a_difference(fw):
    """A pilot series level for six months, then up and down before the start: the straight lines do not differ
    clearly (pilot changes -1, -1, -1, +2, 0 since January 2025's 49: slope 2.0, but residuals 0.2, -0.3, -0.8,
    1.7, -0.8), yet the placebo is clear, and either check counts (a false alarm costs less than a missed
    divergence)."""
    pilot = [48.0, 48.0, 48.0, 51.0, 49.0, 52.0, 54.0]  # steps to July 2024: 0, 0
    comparison = [60.0, 60.1, 60.0, 60.05, 60.0, 60.5, 61.0]  # steps 0.1, -0.1
    t = _check(fw, comparison, pilot)
    assert t["pilot_slope"] == pytest.approx(2.0) and not t["clear"]
    # placebo: pilot 49 - 48 = +1, comparison 60 - 60 = 0, net +1; the steps 0, 0, 0.1, -0.1 have SD sqrt(0.02 / 3)
    se = math.sqrt(0.02 / 3) * math.sqrt(2)
    assert t["placebo_net_change"] == pytest.approx(1.0) and t["placebo_ci_low"] == pytest.approx(1 - 1.959964 * se)
    assert t["placebo_clear"] and t["verdict"] == "differently"


def test_too_few_months_no_comparison_and_no_figures_before_the_start(fw):
    rows = [
        _rows("employment-rate", "p1", [48.0, 49.0, 50.0, 52.0, 54.0], first="2024-07"),  # 3 figures before
        _rows("employment-rate", "c1", [58.0, 59.0, 60.0, 60.5, 61.0], first="2024-07"),
        _rows("volunteering-rate", "p1", PILOT),  # no comparison figures
        _rows("voter-turnout", "p1", [30.0, 31.0], first="2025-04"),  # nothing before the start
        _rows("voter-turnout", "c1", [30.0, 30.0], first="2025-04"),
    ]
    found = trends.pre_trend_tests(_evidence(fw, rows)).set_index("indicator")
    assert found.loc["employment-rate", "verdict"] == "too few" and found.loc["employment-rate", "periods_pilot"] == 3
    assert math.isnan(found.loc["employment-rate", "difference"])
    assert found.loc["volunteering-rate", "verdict"] == "no comparison"
    assert found.loc["voter-turnout", "verdict"] == "no figures"
    assert found.loc["household-churn", "verdict"] == "no figures"  # in the map, never collected
    assert list(found.index) == list(fw.project("working-xtra").indicator_ids)  # the map's order


def test_a_count_is_on_the_percent_of_its_start_scale_and_areas_are_averaged(fw):
    """Empty homes (a count) from 200: 192, 194.2, 196, 197.8, 200 is -4, -2.9, -2, -1.1, 0% of the start figure,
    the pilot's series above; two comparison areas' changes (+0.2, -0.2 about the flat series) average to it."""
    rows = [
        _rows("empty-properties", "p1", [192.0, 194.2, 196.0, 197.8, 200.0]),
        _rows("empty-properties", "c1", [100.3, 99.8, 100.0, 100.3, 100.0]),  # +0.3, -0.2, 0, +0.3, 0 %
        _rows("empty-properties", "c2", [49.95, 50.0, 50.0, 49.95, 50.0]),  # -0.1, 0, 0, -0.1, 0 %
    ]
    areas = [("p1", "P", "pilot"), ("c1", "C", "comparison"), ("c2", "D", "comparison")]
    ev = _evidence(fw, rows, areas=areas)
    series = trends.role_series(ev)
    comparison = series[(series["indicator"] == "empty-properties") & (series["role"] == "comparison")]
    assert comparison["change"].tolist() == pytest.approx([0.1, -0.1, 0, 0.1, 0])
    assert comparison["months"].tolist() == [-12, -9, -6, -3, 0] and set(comparison["areas"]) == {2}
    t = trends.pre_trend_tests(ev).set_index("indicator").loc["empty-properties"]
    assert t["scale"] == "percent" and t["difference"] == pytest.approx(3.92)
    assert t["se"] == pytest.approx(math.sqrt(0.044 / 6 * 3.2))


def test_without_a_start_month_the_estimated_baseline_stands_in_and_without_dates_nothing_is_checked(fw):
    rows = [_rows("employment-rate", "p1", PILOT), _rows("employment-rate", "c1", PARALLEL)]
    # no start: the latest figure (July 2025) is taken as the 6-month survey's month, so the baseline is January
    estimated = trends.pre_trend_tests(_evidence(fw, rows, start=None)).set_index("indicator")
    assert estimated.loc["employment-rate", "start"] == "2025-01"
    assert not estimated.loc["employment-rate", "start_recorded"]
    assert estimated.loc["employment-rate", "verdict"] == "alike"
    unknown = trends.pre_trend_tests(_evidence(fw, rows, start=None, survey_waves=()))
    assert (
        set(unknown["verdict"]) == {"no start"}
        and trends.role_series(_evidence(fw, rows, start=None, survey_waves=())).empty
    )


# --- the ripple's certainty -------------------------------------------------------------------------------------

# crime-asb (a rate, lower is better) in place-pride-trust (survey 4, indicators 2, stories 1 planned): after the
# start the pilot falls from 50 to 40 (clearly better), the comparison stays at 60.
AFTER = [45.0, 40.0]
CRIME = {
    "parallel": ([50.0, 49.9, 50.1, 50.0, 50.0, *AFTER], [60.0, 60.1, 59.9, 60.0, 60.0, 60.0, 60.0], "2024-01"),
    "diverging": ([46.0, 47.0, 48.0, 49.0, 50.0, *AFTER], [60.0, 60.1, 59.9, 60.0, 60.0, 60.0, 60.0], "2024-01"),
    "missing": ([50.0, 50.1, 50.0, *AFTER], [60.0, 59.9, 60.0, 60.0, 60.0], "2024-07"),  # 3 figures before
}


def _crime_ripple(fw, case: str, extra=()):
    pilot, comparison, first = CRIME[case]
    rows = [_rows("crime-asb", "p1", pilot, first), _rows("crime-asb", "c1", comparison, first), *extra]
    return ripple.ripple_of(fw, "working-xtra", "6m", _evidence(fw, rows), None, True)


@pytest.mark.parametrize(
    ("case", "verdict", "state", "certainty"),
    [
        ("parallel", "alike", "parallel", 2 / 7),  # the indicators line's full weight over the 7 planned
        ("diverging", "differently", "diverging", 2 * 0.5 / 7),  # half its weight (ripple.yaml: diverging 0.5)
        ("missing", "too few", "untested", 2 / 7),  # could not be checked: untested 1
    ],
)
def test_a_diverging_trend_before_the_start_lowers_the_lines_certainty(fw, case, verdict, state, certainty):
    result = _crime_ripple(fw, case)
    line = result.lines.set_index(["outcome", "line"]).loc[("place-pride-trust", "indicators")]
    assert line["score"] == 1 and line["clear_items"] == ("crime-asb",)  # clearly better in every case
    assert line["pre_trend"] == state and line["certainty_weight"] == pytest.approx(
        2 * (0.5 if case == "diverging" else 1)
    )
    item = result.items.set_index(["outcome", "item"]).loc[("place-pride-trust", "crime-asb")]
    assert item["pre_trend"] == verdict
    o = result.outcomes.set_index("outcome").loc["place-pride-trust"]
    assert o["strength"] == 1 and o["certainty"] == pytest.approx(certainty)  # strength is unchanged
    label = fw.indicator_map["crime-asb"].label
    said = f"moved differently before the project on \u2018{label}\u2019"
    assert (said in line["detail"]) == (case == "diverging")


def test_a_line_that_also_rests_on_an_indicator_that_moved_alike_keeps_its_weight(fw):
    """Crime diverged before the start, but empty homes (also clearly better since) moved alike: the line's result
    stands on a checked indicator, so its weight is whole; its detail still names the one that diverged."""
    homes = [
        _rows("empty-properties", "p1", [100.0, 99.9, 100.1, 100.0, 100.0, 90.0, 80.0]),
        _rows("empty-properties", "c1", [200.0, 200.2, 199.8, 200.0, 200.0, 200.0, 200.0]),
    ]
    result = _crime_ripple(fw, "diverging", homes)
    line = result.lines.set_index(["outcome", "line"]).loc[("place-pride-trust", "indicators")]
    assert set(line["clear_items"]) == {"crime-asb", "empty-properties"}
    assert line["pre_trend"] == "parallel" and line["certainty_weight"] == 2
    assert "moved differently before the project on \u2018Crime" in line["detail"]
    assert result.outcomes.set_index("outcome").loc["place-pride-trust", "certainty"] == pytest.approx(2 / 7)


def _with_pre_trends(framework_copy, **values):
    path = framework_copy / "ripple.yaml"
    data = yaml.safe_load(path.read_text())
    if values:
        data["pre_trends"].update(values)
    else:
        data.pop("pre_trends")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_framework(framework_copy)


def test_the_shares_come_from_ripple_yaml_and_without_the_rule_nothing_changes(framework_copy, fw, sample_db):
    from helpers.evidence.context import ProjectData
    from helpers.presentation.sections.ripple import rule_words

    assert (fw.ripple_rule.pre_trends.diverging, fw.ripple_rule.pre_trends.untested) == (0.5, 1)
    stricter = _with_pre_trends(framework_copy, diverging=0, untested=0.5)
    o = _crime_ripple(stricter, "diverging").outcomes.set_index("outcome")
    assert o.loc["place-pride-trust", "certainty"] == 0
    o = _crime_ripple(stricter, "missing").outcomes.set_index("outcome")
    assert o.loc["place-pride-trust", "certainty"] == pytest.approx(1 / 7)
    assert "counts 0 times its weight" in ripple.rule_markdown(stricter.ripple_rule)
    assert "counts 0 times its weight" in rule_words(ProjectData(sample_db, "working-xtra", stricter))
    assert "counts half its weight towards certainty" in rule_words(ProjectData(sample_db, "working-xtra", fw))
    without = _with_pre_trends(framework_copy)
    assert without.ripple_rule.pre_trends is None and "Trends before" not in ripple.rule_markdown(without.ripple_rule)
    assert "before the project" not in rule_words(ProjectData(sample_db, "working-xtra", without))
    line = (
        _crime_ripple(without, "diverging")
        .lines.set_index(["outcome", "line"])
        .loc[("place-pride-trust", "indicators")]
    )
    assert line["pre_trend"] == "" and line["certainty_weight"] == 2


# --- the section, on the sample ---------------------------------------------------------------------------------


def _sample_slopes(indicator: str, hoods: dict[str, str]) -> tuple[float, float]:
    """An independent check: each role's slope a year before January 2025, from the sample's CSV with numpy
    (each area's % change since its January 2025 figure, averaged by role, a straight line by polyfit)."""
    data = pd.read_csv(paths.SAMPLE / "indicators.csv")
    data = data[(data["indicator"] == indicator) & (data["period"] <= "2025-01")]
    slopes = {}
    for role in ("pilot", "comparison"):
        changes = []
        for hood in [h for h, r in hoods.items() if r == role]:
            s = data[data["neighbourhood"] == hood].sort_values("period")
            changes.append(100 * (s["value"].to_numpy() - s["value"].iloc[-1]) / s["value"].iloc[-1])
        months = [-12, -9, -6, -3, 0]
        slopes[role] = np.polyfit(np.array(months) / 12, np.mean(changes, axis=0), 1)[0]
    return slopes["pilot"], slopes["comparison"]


def test_the_section_on_the_sample_says_the_start_is_estimated_and_words_each_verdict(sample_db, fw):
    from wording import forbidden, visible_text

    from helpers.presentation.render import to_html
    from helpers.presentation.sections import Report

    report = Report(sample_db, "council-tax-reduction", "ashgrove", "12m")
    s = report.show("pre_trends")
    assert "No start month is recorded for Council Tax Reduction" in s.paragraphs[0]
    assert "January 2025, the baseline month estimated" in s.paragraphs[0]
    table = s.tables[0]
    assert len(table.display) == len(fw.project("council-tax-reduction").indicator_ids) == 7
    tidy = table.tidy.set_index("indicator")
    pilot, comparison = _sample_slopes(
        "welfare-rights", {"ashgrove": "pilot", "westwood": "pilot", "hollins": "comparison", "kingsmoor": "comparison"}
    )
    assert tidy.loc["welfare-rights", "pilot_slope"] == pytest.approx(pilot, abs=1e-4)
    assert tidy.loc["welfare-rights", "comparison_slope"] == pytest.approx(comparison, abs=1e-4)
    # The sample plants no trend before the start; one indicator in seven crosses the 5% line by chance.
    assert tidy.loc["welfare-rights", "verdict"] == "differently" and (tidy["verdict"] == "alike").sum() == 6
    differently = next(p for p in s.points if "moved differently" in p)
    assert differently.startswith(
        "Before the project, pilot and comparison areas moved differently on \u2018Residents helped by the Welfare"
    )
    shown = table.display.set_index("Indicator").loc["Residents helped by the Welfare Rights Service"]
    # the difference is the two trends as shown: +1.9 - (-0.8) = +2.7, and the interval excludes no change
    assert shown["Pilot areas' trend"].startswith("+1.9") and shown["Comparison areas' trend"].startswith("-0.8")
    assert shown["Difference (95% interval)"] == "+2.7% of the start figure a year (+0.7 to +4.9)"
    assert "2.7% of the start figure a year more" in differently
    assert any(p.startswith("Before the project, pilot and comparison areas moved alike on") for p in s.points)
    assert len(s.charts) == 1 and "Residents helped by the Welfare Rights Service: moved differently" in s.charts[0].alt
    assert s.methods and "straight line" in s.methods[0].text
    html = to_html(s)
    assert forbidden(visible_text(html), fw) == []
    assert forbidden(s.charts[0].alt, fw) == []


def test_the_section_as_at_six_months_and_with_a_recorded_start(sample_db, fw, framework_copy):
    from helpers.presentation.sections import Report

    six = Report(sample_db, "working-xtra", "oakfield", "6m").show("pre_trends")
    assert "up to July 2025" in six.charts[0].alt  # nothing after the wave's month
    did = Report(sample_db, "working-xtra", "oakfield", "6m").show("difference_in_differences")
    assert any("\u201cTrends before the project\u201d in the annex" in p.text for p in did.methods)
    project = framework_copy / "projects" / "working-xtra.yaml"
    project.write_text(project.read_text() + 'start: "2025-01"\n')
    recorded = Report(sample_db, "working-xtra", "oakfield", "12m", fw=load_framework(framework_copy))
    s = recorded.show("pre_trends")
    assert s.paragraphs[0].startswith("Working Xtra started in January 2025.")
    assert "not recorded" not in " ".join(s.paragraphs)
    # an outcome narrows the section to its indicators
    narrowed = Report(sample_db, "working-xtra", "oakfield", "12m", outcome="people-involvement").show("pre_trends")
    assert narrowed.tables[0].display["Indicator"].tolist() == [
        fw.indicator_map["voter-turnout"].label,
        fw.indicator_map["household-churn"].label,
    ]
