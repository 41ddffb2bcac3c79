"""Trends before the project: were the pilot and comparison areas moving alike before it started?

The comparison of pilot and comparison areas (the survey's and the local indicators') assumes that without the
project the two kinds of area would have moved alike. The local indicators' figures from before the project's
start can show whether they did; :mod:`helpers.evidence.trends` makes the checks, this section words them: a
verdict per indicator in plain words, an event-study chart (each kind of area's average change since the start,
by months before and after it), and the figures in a table (in a printed report's annex with the other tables).

The checks use only figures from before the start, so they are the same at every wave; the chart's months
after the start stop at the wave (the report is as at its wave). Without a recorded start month the section
says so and that the check uses the baseline month estimated from the figures; with nothing dated either, that
it cannot be done yet.
"""

from __future__ import annotations

import re

import pandas as pd

from ...evidence import trends
from ...evidence.context import ProjectData, Selection
from ...methods.trends import MIN_POINTS
from .. import charts
from .. import formatting as fmt
from ..model import Section, draw
from . import section


def _indicator_ids(data: ProjectData, sel: Selection) -> list[str]:
    """The ripple map's local indicators: all of the project's, or the selected outcome's."""
    if sel.outcome is None:
        return list(data.project.indicator_ids)
    return [i for line in data.project.ripple if line.outcome == sel.outcome for i in line.indicators]


def _tests(data: ProjectData) -> pd.DataFrame:
    """The checks for every indicator of the map (the same at every wave: only figures before the start)."""
    return data.result("pre-trends", lambda: trends.pre_trend_tests(data.evidence))


def _series(data: ProjectData, sel: Selection) -> pd.DataFrame:
    """The role series as at the wave (nothing after its month)."""
    return data.result(f"pre-trend-series-{sel.wave}", lambda: trends.role_series(data.evidence.up_to(sel.wave)))


# --- a trend in the reader's units --------------------------------------------------------------------


def _per(label: str) -> str:
    """A rate's unit from its label: ' per 1,000' (blank when the label names none)."""
    found = re.search(r"\bper ([\d,]+)", label)
    return f" per {found.group(1)}" if found else ""


def _unit(t: pd.Series) -> str:
    """What the indicator's change is measured in: 'points', 'per 1,000', '% of the start figure'."""
    if t["scale"] == "points":
        return "points"
    if t["scale"] == "percent":
        return "% of the start figure"
    return _per(t["label"]).strip() or "its own units"


def _a_year(value: float, t: pd.Series) -> str:
    """A trend a year, signed, with its unit: '+0.4 points a year', '-1.2% of the start figure a year'."""
    number = fmt.signed(value, 1)
    if t["scale"] == "percent":
        return f"{number}% of the start figure a year"
    return f"{number} {_unit(t)} a year"


def _as_shown(t: pd.Series, pilot: str, comparison: str) -> float:
    """Pilot minus comparison as the reader can check it: the difference of the two figures as shown (the one
    rounding rule: one decimal place)."""
    return round(t[pilot], 1) - round(t[comparison], 1)


def _gap_unit(t: pd.Series) -> str:
    """The unit of a difference between two changes: a count's changes are percentages, so theirs is in points."""
    return "points" if t["scale"] in ("points", "percent") else _unit(t)


def _interval(t: pd.Series, prefix: str = "") -> str:
    return fmt.signed_interval(t[f"{prefix}ci_low"], t[f"{prefix}ci_high"], 1)


def _month(month: str) -> str:
    return fmt.month_year(month) if month else ""


# --- the verdicts in words -----------------------------------------------------------------------------

SHORT = {
    "alike": "moved alike before",
    "differently": "moved differently before",
    "too few": "too few months before to tell",
    "no comparison": "no comparison areas' figures",
    "no figures": "no figures before the start",
}


def _how_different(data: ProjectData, t: pd.Series) -> str:
    """How the two kinds of area moved apart before the start: the slopes, else the placebo."""
    level = fmt.level(data.fw)
    if t["clear"]:
        shown = _as_shown(t, "pilot_slope", "comparison_slope")
        way = "rose" if shown > 0 else "fell"
        faster = fmt.signed(abs(shown), 1).lstrip("+")
        unit = "% of the start figure" if t["scale"] == "percent" else f" {_unit(t)}"
        return (
            f"the pilot areas' figure {way} by {faster}{unit} a year more than the comparison areas' "
            f"({level} interval {_interval(t)})"
        )
    gap = fmt.signed(_as_shown(t, "placebo_pilot_change", "placebo_comparison_change"), 1)
    return (
        f"had the project started in {_month(t['placebo_start'])}, the pilot areas' change by the start would "
        f"already have differed from the comparison areas' by {gap} {_gap_unit(t)} ({level} interval "
        f"{_interval(t, 'placebo_')})"
    )


def _quoted(labels) -> str:
    return fmt.listed(fmt.quoted(label) for label in labels)


def verdict_points(data: ProjectData, tests: pd.DataFrame) -> list[str]:
    """The verdicts in plain words: the indicators that moved alike together, each that moved differently with
    how, and those that could not be checked, with why."""
    points = []
    alike = tests[tests["verdict"] == "alike"]
    if len(alike):
        points.append(f"Before the project, pilot and comparison areas moved alike on {_quoted(alike['label'])}.")
    for _, t in tests[tests["verdict"] == "differently"].iterrows():
        points.append(
            f"Before the project, pilot and comparison areas moved differently on {fmt.quoted(t['label'])}: "
            f"{_how_different(data, t)}. Read its comparison since the start with care."
        )
    few = tests[tests["verdict"] == "too few"]
    if len(few):
        points.append(
            f"Too few months before the project to tell on {_quoted(few['label'])}: the check needs at least "
            f"{MIN_POINTS} figures from before the start in both kinds of area."
        )
    for verdict, said in (
        ("no comparison", "no comparison areas' figures, so there is nothing to set the pilot areas' trend against"),
        ("no figures", "no figures from before the start"),
    ):
        rows = tests[tests["verdict"] == verdict]
        if len(rows):
            points.append(f"{_quoted(rows['label'])}: {said}.")
    return points


def _start_sentence(data: ProjectData) -> str:
    cal = data.evidence.calendar
    month = fmt.month_year(cal.baseline)
    if cal.exact:
        return (
            f"{data.project.name} started in {month}. For each local indicator with figures from before then, this "
            "asks whether the pilot and comparison areas were moving alike before the project, as the comparison "
            "between them assumes."
        )
    return (
        f"No start month is recorded for {data.project.name}, so the check takes the start to be {month}, the "
        "baseline month estimated from the latest figures. For each local indicator with figures from before "
        "then, it asks whether the pilot and comparison areas were moving alike before the project, as the "
        "comparison between them assumes."
    )


# --- the chart and the table -----------------------------------------------------------------------------


def _chart(data: ProjectData, sel: Selection, tests: pd.DataFrame):
    """The event-study chart as at the wave, and its text alternative (every verdict and trend in words)."""
    series = _series(data, sel)
    series = series[series["indicator"].isin(tests["indicator"])]
    if series.empty:
        return None
    panels = tests.assign(note=[f"{SHORT.get(t['verdict'], '')}\nchange in {_unit(t)}" for _, t in tests.iterrows()])
    fig = charts.pre_trend_chart(series, panels)
    parts = []
    for _, t in tests[tests["indicator"].isin(series["indicator"])].iterrows():
        said = f"{t['label']}: {SHORT.get(t['verdict'], '')} the start"
        if pd.notna(t["difference"]):
            said += (
                f", pilot areas {_a_year(t['pilot_slope'], t)}, comparison areas {_a_year(t['comparison_slope'], t)}"
            )
        parts.append(said)
    upto = data.evidence.calendar.month(sel.wave) if sel.wave else None
    alt = (
        "Each local indicator's average change since the project's start in the pilot and in the comparison areas, "
        f"by months before and after the start{f' up to {fmt.month_year(upto)}' if upto is not None else ''}. "
    )
    return draw(fig, alt + "; ".join(parts) + ".")


def _placebo_cell(t: pd.Series) -> str:
    """'from July 2024: +1.3 points (-1.4 to +4.0)': the placebo's start and its difference by the real start."""
    gap = fmt.signed(_as_shown(t, "placebo_pilot_change", "placebo_comparison_change"), 1)
    interval = f" ({_interval(t, 'placebo_')})" if pd.notna(t["placebo_ci_low"]) else ""
    return f"from {_month(t['placebo_start'])}: {gap} {_gap_unit(t)}{interval}"


def _table(data: ProjectData, tests: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The checks per indicator (display) and their numbers (tidy)."""
    level = fmt.level(data.fw)
    rows = []
    for _, t in tests.iterrows():
        tested = pd.notna(t["difference"])
        placebo = pd.notna(t["placebo_net_change"])
        rows.append(
            (
                t["label"],
                f"{t['periods_pilot']} and {t['periods_comparison']}",
                _a_year(t["pilot_slope"], t) if tested else "",
                _a_year(t["comparison_slope"], t) if tested else "",
                f"{_a_year(_as_shown(t, 'pilot_slope', 'comparison_slope'), t)} ({_interval(t)})" if tested else "",
                _placebo_cell(t) if placebo else "",
                SHORT.get(t["verdict"], ""),
            )
        )
    columns = [
        "Indicator",
        "Figures before the start (pilot and comparison)",
        "Pilot areas' trend",
        "Comparison areas' trend",
        f"Difference ({level} interval)",
        f"As if the project had started earlier: pilot minus comparison by the start ({level} interval)",
        "Before the start",
    ]
    tidy = tests.round(4)
    return pd.DataFrame(rows, columns=columns), tidy


def _method(data: ProjectData) -> str:
    level = fmt.level(data.fw)
    return (
        "How the trends were checked: each area's figures are measured from its own figure at the start (the latest "
        "on or before the start month), in points for a percentage, in a rate's own units and as a percentage of "
        "the start figure for a count, and averaged over the pilot areas and over the comparison areas. Over the "
        "months up to the start, a straight line is fitted to each average, and the difference between the two "
        f"lines' slopes is given a year at a time with its {level} interval. A second check runs the local "
        "indicators' own comparison as if the project had started earlier, ending at the real start: a clear "
        "difference there cannot be the project's doing. Pilot and comparison areas 'moved differently' when "
        "either check is clear, and 'alike' when neither is; 'alike' means no clear difference was found, and "
        "with few figures a real difference could still be missed. Where they moved differently, the ripple "
        "counts a line of local indicators that rests only on such indicators as less certain."
    )


@section("Trends before the project", same_for="wave", annex_tables=True)
def pre_trends(data: ProjectData, sel: Selection) -> Section:
    """Whether the pilot and comparison areas moved alike before the project, on each local indicator of the map
    (or of the selected outcome): the verdicts in words, the event-study chart as at the wave, the table."""
    s, ids = Section(), _indicator_ids(data, sel)
    if not ids:
        return s.note(
            "The ripple map names no local indicators here, so there are no trends before the project to check."
        )
    if not data.evidence.indicators["indicator"].isin(ids).any():
        return s.note("No local indicator figures have been collected for this project's areas yet.")
    if not data.evidence.calendar.known:
        return s.message(
            f"No start month is recorded for {data.project.name} and no figures are dated to estimate one from, so "
            "whether the pilot and comparison areas moved alike before the project cannot be checked yet."
        )
    tests = _tests(data).set_index("indicator").loc[ids].reset_index()
    s.text(_start_sentence(data))
    s.bullets(verdict_points(data, tests))
    chart = data.result(f"pre-trend-chart-{sel.wave}-{sel.outcome}", lambda: _chart(data, sel, tests))
    if chart is not None:
        s.blocks.append(chart)
    display, tidy = _table(data, tests)
    s.table("trends-before", display, f"Trends before the project's start, {data.project.name}", tidy)
    return s.method(_method(data))
