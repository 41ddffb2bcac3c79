"""The evidence sections beyond the survey: local indicators, predictions, KPI tiers, high-level indicators,
co-operative stories, sentiment and the financial-resilience check.

Every figure comes from :mod:`helpers.evidence` through :class:`~helpers.evidence.context.ProjectData`
(``data.evidence``, results kept by ``data.result`` under keys that name the wave); these functions choose the
rows of a selection and word them. With ``sel.outcome`` set a section shows only that outcome's indicators,
stories and plans (a dashboard); without it, the whole project's (a report). Stories come only consented (the
data layer keeps no other); sentiment is shown as counts and shares, never an item's words.

**As at the wave.** A section at a wave shows only what was known when that wave's fieldwork ended: indicator
figures and comments dated on or before the wave's month, stories of that wave and earlier
(:meth:`~helpers.evidence.project.ProjectEvidence.up_to`), and says which month that is. At the baseline the
sections describe the starting point and no change. When the survey months are unknown (no start month and
nothing dated to estimate them from), the sections say so and show everything with that caveat.

**Numbers.** A percentage changes in percentage points, a rate (per 1,000 residents) in its own units, a count
as a percentage of its baseline figure (:data:`helpers.evidence.indicators.SCALES`); a change beside two shown
values is worked out from the values as shown; a verdict of a clear change is given only when the interval
printed beside it lies wholly on one side of zero (:func:`helpers.presentation.formatting.clear_as_shown`).
"""

from __future__ import annotations

import re

import pandas as pd

from ...config.framework import RippleLine
from ...evidence import indicators as ind
from ...evidence import sentiment as tones
from ...evidence import stories as told
from ...evidence.context import ProjectData, Selection
from ...evidence.project import ProjectEvidence
from ...evidence.resilience import load_resilience, resilience_pairs, resilience_results
from .. import charts
from .. import formatting as fmt
from ..model import Section, draw
from . import section

BOROUGH = "all"  # the neighbourhood id of borough-wide indicator rows
ROLE_NAMES = {"pilot": "Pilot areas", "comparison": "Comparison areas", "other": "Other areas"}


def _line(data: ProjectData, outcome: str) -> RippleLine:
    """The outcome's line of the project's ripple map."""
    return next(line for line in data.project.ripple if line.outcome == outcome)


def _indicator_ids(data: ProjectData, sel: Selection) -> list[str]:
    """The ripple map's local indicators: all of the project's, or the selected outcome's."""
    if sel.outcome is None:
        return list(data.project.indicator_ids)
    return list(_line(data, sel.outcome).indicators)


def _month(when) -> str:
    return f"{pd.Timestamp(when):%b %Y}"


def _long_month(month: pd.Period) -> str:
    return f"{month.start_time:%B %Y}"


def _place(data: ProjectData, sel: Selection) -> str:
    return data.name_of(sel.neighbourhood) if sel.neighbourhood else f"{data.project.name}'s areas"


def _is_baseline(data: ProjectData, sel: Selection) -> bool:
    return sel.wave is None or sel.wave == data.fw.settings.baseline


# --- as at the wave ----------------------------------------------------------------------------------


def _as_at(data: ProjectData, sel: Selection) -> ProjectEvidence:
    """The project's evidence as at the selected wave (everything when the survey months are unknown)."""
    return data.evidence.up_to(sel.wave)


def _survey_words(data: ProjectData, wave: str) -> str:
    """'the baseline survey', 'the survey at 6 months'."""
    if wave == data.fw.settings.baseline:
        return f"the {fmt.wave_label(data.fw, wave).lower()} survey"
    return f"the survey at {fmt.wave_label(data.fw, wave)}"


def _to_month(data: ProjectData, sel: Selection) -> str:
    """'to January 2025' (the month the wave's fieldwork ended), or '' when the survey months are unknown."""
    month = data.evidence.calendar.month(sel.wave) if sel.wave else None
    return f"to {_long_month(month)}" if month is not None else ""


def _period_sentence(data: ProjectData, sel: Selection, what: str = "figures") -> str:
    """Which period the section's figures cover, in plain words, with the caveat the calendar needs."""
    cal = data.evidence.calendar
    if sel.wave is None:
        return ""
    if not cal.known:
        return (
            f"These {what} are not cut at the survey: the survey waves have no dates yet for this project (no start "
            "month is recorded), so everything collected so far is shown, whichever wave this report is for."
        )
    estimated = (
        ""
        if cal.exact
        else " (a month estimated from the latest figures, as no start month is recorded for the project)"
    )
    return (
        f"These {what} run {_to_month(data, sel)}, when fieldwork for {_survey_words(data, sel.wave)} ended{estimated}."
    )


# --- indicator figures in the reader's units ---------------------------------------------------------


def _per(label: str) -> str:
    """A rate's unit from its label: 'per 1,000' (blank when the label names none)."""
    found = re.search(r"\bper ([\d,]+)", label)
    return f" per {found.group(1)}" if found else ""


def _number(scale: str):
    """How a change (or an interval's end) on ``scale`` is written, without its unit: the one rounding rule."""
    if scale == "units":
        return lambda v: fmt.signed(v, 1)
    return lambda v: fmt.points(v / 100)  # points, and differences of percentages


def _change_text(value: float, scale: str, label: str) -> str:
    """A change on its scale with its unit: '+21 points', '-1.8 per 1,000', '+13%'."""
    if pd.isna(value):
        return ""
    if scale == "points":
        return fmt.points_text(value / 100)
    if scale == "units":
        return f"{fmt.signed(value, 1)}{_per(label)}"
    return fmt.percent_change(value / 100)


def _rounded(value: float, scale: str) -> float:
    """A change as its text shows it (the one rounding rule): a rate's to one decimal, the rest whole."""
    return round(value, 1) if scale == "units" else float(round(value))


def _difference_text(t: pd.Series, label: str) -> str:
    """Pilot minus comparison as the reader can check it: the difference of the two changes as shown. A count's
    changes are percentages, so their difference is in points."""
    value = t["net_change"]
    if t["design"] == "pilot against comparison":
        value = _rounded(t["pilot_change"], t["scale"]) - _rounded(t["comparison_change"], t["scale"])
    return _change_text(value, "points" if t["scale"] == "percent" else t["scale"], label)


def _verdict(t: pd.Series) -> str:
    """'yes, better' / 'yes, worse' when the test is clear (its interval, printed by the one rounding rule,
    then excludes zero as the reader sees it)."""
    if pd.isna(t["p_value"]):
        return "cannot tell"
    return f"yes, {t['direction']}" if t["clear"] else "no"


def _interval_text(t: pd.Series) -> str:
    if pd.isna(t["ci_low"]):
        return ""
    return fmt.signed_interval(t["ci_low"], t["ci_high"], 1 if t["scale"] == "units" else 0)


# --- local indicators --------------------------------------------------------------------------------


def _changes(data: ProjectData, wave: str) -> pd.DataFrame:
    return data.result(f"indicator-changes-{wave}", lambda: ind.indicator_changes(data.evidence, wave))


def _tests(data: ProjectData, wave: str) -> pd.DataFrame:
    return data.result(f"indicator-tests-{wave}", lambda: ind.indicator_tests(data.evidence, wave))


def _value_month(value: float, unit: str, when, where: str = "") -> str:
    return f"{ind.format_value(value, unit)} ({_month(when)}{where})"


def _trend_chart(data: ProjectData, sel: Selection, ids: list[str]):
    """The indicators' series as at the wave, this neighbourhood bold, as a chart block."""
    ev = _as_at(data, sel)
    series = ind.indicator_series(ev)
    series = series[series["indicator"].isin(ids)]
    fig = charts.indicator_trend_chart(series, neighbourhood=sel.neighbourhood, baseline=ev.calendar.baseline)
    alt_parts = []
    for _, rows in series[series["neighbourhood"] == sel.neighbourhood].groupby("indicator", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        unit = first["unit"]
        alt_parts.append(
            f"{first['label']}: {_value_month(first['value'], unit, first['period'])} to "
            f"{_value_month(last['value'], unit, last['period'])}"
        )
    name, upto = data.name_of(sel.neighbourhood), _to_month(data, sel)
    alt = f"Local indicators over time{' ' + upto if upto else ''} in {name} (bold) and the project's other areas. "
    return draw(fig, alt + "; ".join(alt_parts))


def _latest(rows: pd.DataFrame) -> pd.DataFrame:
    """Each indicator x neighbourhood's latest figure in ``rows``."""
    return rows.sort_values("period").groupby(["indicator", "neighbourhood"], as_index=False).last()


def _rows_here(frame: pd.DataFrame, neighbourhood: str) -> pd.DataFrame:
    """The neighbourhood's rows by indicator, with the borough-wide figure where it has none of its own."""
    own = frame[frame["neighbourhood"] == neighbourhood]
    borough = frame[(frame["neighbourhood"] == BOROUGH) & ~frame["indicator"].isin(own["indicator"])]
    return pd.concat([own, borough]).set_index("indicator")


def _where(row: pd.Series) -> str:
    return ", borough-wide" if row["neighbourhood"] == BOROUGH else ""


def _starting_table(data: ProjectData, sel: Selection, ev: ProjectEvidence, ids: list[str]):
    """The figures at the baseline (or, with no survey months, the latest): here, and the role averages."""
    fw = data.fw
    latest = _latest(ev.indicators[ev.indicators["indicator"].isin(ids)])
    here = _rows_here(latest, sel.neighbourhood) if sel.neighbourhood else pd.DataFrame()
    means = latest.groupby(["indicator", "role"])["value"].mean()
    rows, tidy = [], []
    for i in ids:
        meta = fw.indicator_map[i]
        h = here.loc[i] if i in here.index else None
        role_means = [means.get((i, role), float("nan")) for role in ("pilot", "comparison")]
        rows.append(
            (
                meta.label,
                meta.better,
                "" if h is None else _value_month(h["value"], meta.unit, h["period"], _where(h)),
                *(ind.format_value(m, meta.unit) for m in role_means),
            )
        )
        tidy.append(
            (i, meta.label, meta.unit, None if h is None else h["value"], None if h is None else _month(h["period"]))
            + tuple(role_means)
        )
    place = data.name_of(sel.neighbourhood) if sel.neighbourhood else ""
    display = pd.DataFrame(
        rows,
        columns=["Indicator", "Better when", place or "here", "Pilot areas (average)", "Comparison areas (average)"],
    )
    if not sel.neighbourhood:
        display = display.drop(columns=["here"])
    columns = ["indicator", "label", "unit", "value_here", "period_here", "pilot_mean", "comparison_mean"]
    return display, pd.DataFrame(tidy, columns=columns).round(4)


def _here_cells(h: pd.Series | None, meta) -> tuple[str, str, str]:
    """Baseline, wave value and the change between them as shown (blank without data)."""
    if h is None:
        return "", "", ""
    where = _where(h)
    before, after = (ind.shown_value(h[c], meta.unit) for c in ("baseline_value", "value"))
    change = ind.on_scale(after - before, before, meta.unit) if meta.unit != "count" else h["change_on_scale"]
    text = _change_text(float(change), ind.scale_of(meta.unit), meta.label)
    way = "no change" if text.startswith("0") else h["better_way"]
    return (
        _value_month(h["baseline_value"], meta.unit, h["baseline_period"], where),
        _value_month(h["value"], meta.unit, h["period"], where),
        f"{text}, {way}" if way != "no change" else "no change",
    )


def _indicator_tidy(tests: pd.DataFrame, here: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """The numbers behind the local indicators table: the neighbourhood's change and the project-level test."""
    columns = ["label", "unit", "scale", "better", "pilot_change", "comparison_change", "net_change"]
    columns += ["ci_low", "ci_high", "p_value", "clear", "design"]
    tidy = tests.loc[ids, columns]
    if not here.empty:
        local = here[["neighbourhood", "baseline_period", "baseline_value", "period", "value", "change_on_scale"]]
        local = local.rename(columns={"change_on_scale": "change_here"})
        tidy = tidy.join(local.assign(**{c: local[c].map(_month) for c in ("baseline_period", "period")}))
    return tidy.rename_axis("indicator").reset_index().round(4)


def _indicator_table(data: ProjectData, sel: Selection, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The local indicators table (display) and its numbers (tidy), one row per indicator."""
    fw, wave_label = data.fw, fmt.wave_label(data.fw, sel.wave)
    tests = _tests(data, sel.wave).set_index("indicator")
    here = _rows_here(_changes(data, sel.wave), sel.neighbourhood) if sel.neighbourhood else pd.DataFrame()
    rows = []
    for i in ids:
        meta, t = fw.indicator_map[i], tests.loc[i]
        h = here.loc[i] if i in here.index else None
        rows.append(
            (
                meta.label,
                meta.better,
                *_here_cells(h, meta),
                _change_text(t["pilot_change"], t["scale"], meta.label),
                _change_text(t["comparison_change"], t["scale"], meta.label),
                _difference_text(t, meta.label),
                _interval_text(t),
                _verdict(t),
            )
        )
    head = ["Indicator", "Better when", "Baseline here", f"{wave_label} here", "Change here"]
    tail = ["Pilot areas: change", "Comparison areas: change", "Difference", f"{fmt.level(fw)} interval"]
    display = pd.DataFrame(rows, columns=[*head, *tail, "Clear difference?"])
    if not sel.neighbourhood:
        display = display.drop(columns=head[2:])
    return display, _indicator_tidy(tests, here, ids)


def _design_note(data: ProjectData, sel: Selection, ids: list[str]) -> str:
    """Which indicators are compared with a prediction or with nothing (no comparison areas' figures)."""
    tests = _tests(data, sel.wave).set_index("indicator").loc[ids]
    words = []
    for design, said in (
        ("against prediction", "the difference is the pilot areas' figure minus the council's prediction"),
        ("before and after", "the difference is the pilot areas' own change, with nothing to compare it with"),
    ):
        labels = [data.fw.indicator_map[i].label for i in tests.index[tests["design"] == design]]
        if labels:
            words.append(f"For {'; '.join(labels)}: {said}.")
    return " ".join(words)


def _indicator_method(data: ProjectData, sel: Selection) -> str:
    cal = data.evidence.calendar
    return (
        f"Change is from the latest figure on or before the baseline month ({_long_month(cal.baseline)}) to the "
        f"latest on or before {_long_month(cal.month(sel.wave))}. Percentages change in percentage points, rates "
        "(per 1,000 residents) in their own units and counts as a percentage of their baseline figure; the "
        "difference between the pilot and comparison areas' percentage changes is in points. 'Clear difference' "
        "asks whether the pilot areas moved differently from the comparison areas by more than the indicator's "
        f"usual ups and downs before the baseline: yes when the {fmt.level(data.fw)} interval lies wholly above or "
        "below zero; 'cannot tell' when there are too few earlier figures to know the usual ups and downs."
    )


@section("Local indicators", annex_tables=True, dashboard="evidence")
def local_indicators(data: ProjectData, sel: Selection) -> Section:
    """The local indicators as at the wave: this neighbourhood's series, and at a later wave the change since the
    baseline here and the project-level comparison; at the baseline, the starting figures.

    Changes are in the indicator's own terms (points, a rate's units, % for counts) with their sign: a fall is
    negative, and 'Better when' says which way counts as better. Without a neighbourhood, no chart and no
    "here" columns.
    """
    ids, s = _indicator_ids(data, sel), Section()
    plan = _line(data, sel.outcome).indicators_text if sel.outcome else ""
    if not ids:
        if sel.outcome:
            return s.note(plan or "The ripple map names no local indicators for this outcome.")
        return s.note("This project's ripple map names no local indicators.")
    if plan:
        s.text(plan)
    if not data.evidence.indicators["indicator"].isin(ids).any():
        return s.note("No local indicator figures have been collected for this project's areas yet.")
    ev = _as_at(data, sel)
    if not ev.indicators["indicator"].isin(ids).any():
        return s.note(f"No local indicator figures are dated {_to_month(data, sel)} yet.")
    s.text(_period_sentence(data, sel))
    if sel.neighbourhood:
        suffix = f"-{sel.outcome}" if sel.outcome else ""
        key = f"indicator-trend-{sel.neighbourhood}-{sel.wave}{suffix}"
        s.blocks.append(data.result(key, lambda: _trend_chart(data, sel, ids)))
    if not ev.calendar.known or _is_baseline(data, sel):
        display, tidy = _starting_table(data, sel, ev, ids)
        if not ev.calendar.known:
            caption = f"Local indicators: the latest figures, {data.project.name}"
            s.table("indicators", display, caption, tidy)
            return s.note("Changes since the baseline are measured once the survey months are known.")
        caption = f"Local indicators at the baseline ({_long_month(ev.calendar.baseline)}), {data.project.name}"
        s.table("indicators", display, caption, tidy)
        return s.note(
            "This is the starting point: later reports measure change from these figures. Each figure is the latest "
            "on or before the baseline month."
        )
    display, tidy = _indicator_table(data, sel, ids)
    caption = f"Local indicators: change since the baseline, {_to_month(data, sel)}, {data.project.name}"
    s.table("indicators", display, caption, tidy)
    design = _design_note(data, sel, ids)
    if design:
        s.note(design)
    return s.method(_indicator_method(data, sel))


@section("Predicted and actual", same_for="wave")
def predicted_against_actual(data: ProjectData, sel: Selection) -> Section:
    """Where a prediction (the value expected without the project) was given: predicted against actual, as at
    the wave."""
    ids, s = _indicator_ids(data, sel), Section()

    def predictions(ev: ProjectEvidence) -> pd.DataFrame:
        table = ind.predicted_vs_actual(ev)
        return table[table["indicator"].isin(ids)]

    table = data.result(f"predicted-vs-actual-{sel.wave}", lambda: ind.predicted_vs_actual(_as_at(data, sel)))
    table = table[table["indicator"].isin(ids)]
    if table.empty:
        if predictions(data.evidence).empty:
            where = "of this outcome" if sel.outcome else "in this project"
            return s.note(f"No local indicator {where} has a predicted figure.")
        return s.note(
            f"No predicted figure is given for a month up to {_long_month(data.evidence.calendar.month(sel.wave))}: "
            "the council's predictions are compared with actual figures in later reports."
        )
    s.text(_period_sentence(data, sel))
    sentences = ind.predicted_actual_sentences(table)
    s.chart(charts.predicted_actual_chart(table), "Predicted against actual. " + " ".join(sentences))
    for sentence in sentences:
        s.text(sentence)
    return s.note(
        "The prediction is the figure the council expected without the project. The gap between actual and "
        "predicted is the project's effect only if the prediction was sound; the comparison areas, where shown, "
        "are a check on it."
    )


def _tier_alt(data: ProjectData, sel: Selection, ids: list[str]) -> str:
    """The tier chart in words: each tier's indicators' change in the pilot areas, in their own terms."""
    tests = _tests(data, sel.wave).set_index("indicator")
    parts = []
    for tier in (3, 2, 1):
        mine = [i for i in ids if data.fw.indicator_map[i].tier == tier]
        said = [
            f"{label} {_change_text(tests.loc[i, 'pilot_change'], tests.loc[i, 'scale'], label)}"
            for i, label in ((i, data.fw.indicator_map[i].label) for i in mine)
            if i in tests.index and pd.notna(tests.loc[i, "pilot_change"])
        ]
        parts.append(f"{ind.TIER_NAMES[tier]}: {'; '.join(said) if said else 'no figures'}")
    return (
        f"Key indicators by tier, pilot areas, change since the baseline {_to_month(data, sel)}. " + ". ".join(parts)
    ).strip() + "."


@section("Key indicators by tier", same_for="wave")
def kpi_tiers(data: ProjectData, sel: Selection) -> Section:
    """The three tiers of KPIs: specific (3), medium-term (2) and high-level (1), and their change as at the wave."""
    ev, fw, ids = _as_at(data, sel), data.fw, _indicator_ids(data, sel)
    rows = []
    for tier in (3, 2, 1):
        names = [fw.indicator_map[i].label for i in ids if fw.indicator_map[i].tier == tier]
        rows.append((ind.TIER_NAMES[tier], "; ".join(names) if names else "none collected yet"))
    table = pd.DataFrame(rows, columns=["Tier", "Indicators in this project's map"])
    s = Section().table("tiers", table, f"{data.project.name}: key indicators by tier")
    series = ind.indicator_series(ev)
    series = series[series["indicator"].isin(ids)]
    if _is_baseline(data, sel) or not ev.calendar.known:
        return s.note(
            "Specific indicators (tier 3) should show the project's effect first; medium-term ones (tier 2) follow; "
            "high-level ones (tier 1: the economy, satisfaction, demand) move last. "
            + (
                "This is the starting point: later reports chart each tier's change since the baseline."
                if ev.calendar.known
                else "Their change since the baseline is charted once the survey months are known."
            )
        )
    if not series.empty and series["improvement_pct"].notna().any():
        s.text(_period_sentence(data, sel))
        s.chart(charts.tier_chart(series, baseline=ev.calendar.baseline), _tier_alt(data, sel, ids))
    return s.note(
        "Specific indicators (tier 3) should show the project's effect first; medium-term ones (tier 2) follow; "
        "high-level ones (tier 1: the economy, satisfaction, demand) move last. So that indicators of different "
        "kinds share one scale, the chart shows each one's change in the pilot areas as a percentage of its "
        "baseline figure, with up meaning better; the local indicators table gives each change in its own terms."
    )


@section("High-level indicators", same_for="wave")
def high_level_indicators(data: ProjectData, sel: Selection) -> Section:
    """The framework's high-level indicators for the ideals and outcomes this project's map (or outcome) reaches,
    and whether the workbook has figures for them as at the wave."""
    table = ind.high_level_indicators(data.fw, data.project, _as_at(data, sel).indicators)
    if sel.outcome:
        table = table[table["outcome"] == sel.outcome]
    shown = pd.DataFrame(
        {
            "Ideal": table["ideal"],
            "Outcome": table["label"],
            "High-level measure": table["measure"],
            "Collected yet?": table["collected"].map({True: "yes", False: "not yet"}),
        }
    )
    collected = (
        "None of them is collected in this workbook yet."
        if not table["collected"].any()
        else "Those marked 'yes' have figures in this workbook."
    )
    return (
        Section()
        .table("high-level", shown, "High-level indicators per ideal for this project's outcomes", table)
        .note(f"These long-term measures show progress over years rather than months. {collected}")
    )


# --- co-operative stories ----------------------------------------------------------------------------


def _story_table(data: ProjectData, sel: Selection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consented stories per outcome (the selected one, or every outcome of the map) and wave, up to the
    selected wave: display, tidy."""
    fw = data.fw
    waves = [w for w in fw.settings.waves if sel.wave is None or w.id in _waves_up_to(data, sel.wave)]
    counts = told.story_counts(_as_at(data, sel))
    counts = counts[counts["wave"].isin([w.id for w in waves])]
    if sel.outcome:
        counts = counts[counts["outcome"] == sel.outcome]
    planned = [line.outcome for line in data.project.ripple if line.stories]
    outcomes = list(dict.fromkeys(counts["outcome"]))
    wide = counts.pivot(index="outcome", columns="wave", values="stories").reindex(
        index=outcomes, columns=[w.id for w in waves]
    )
    table = pd.DataFrame(
        {
            "Outcome": [fw.outcomes[o].label for o in outcomes],
            "Stories planned in the map": ["yes" if o in planned else "" for o in outcomes],
            **{w.label: wide[w.id].astype(int).to_numpy() for w in waves},
        }
    )
    return table, counts.reset_index(drop=True)


def _waves_up_to(data: ProjectData, wave: str) -> list[str]:
    waves = list(data.fw.settings.wave_ids)
    return waves[: waves.index(wave) + 1]


@section("Co-operative stories", dashboard="evidence")
def stories(data: ProjectData, sel: Selection) -> Section:
    """Consented co-operative stories up to this wave: counts per outcome and wave, and excerpts from this
    neighbourhood (of the selected outcome, when one is)."""
    table, tidy = _story_table(data, sel)
    upto = ""
    if sel.wave:
        upto = " at the baseline" if _is_baseline(data, sel) else f" up to {fmt.wave_label(data.fw, sel.wave)}"
    caption = f"Co-operative stories shared with consent, per outcome and wave{upto} ({data.project.name}, all areas)"
    s = Section().table("stories", table, caption, tidy)
    ev = _as_at(data, sel)
    ex = told.story_excerpts(ev, neighbourhood=sel.neighbourhood, up_to_wave=sel.wave, outcome=sel.outcome)
    if ex.empty:
        which = " for this outcome" if sel.outcome else ""
        plan = _line(data, sel.outcome).stories if sel.outcome else ""
        s.note(
            f"No stories shared with consent{which} from {_place(data, sel)} up to this wave."
            + (f" The ripple map plans: {plan}" if plan else "")
        )
    for r in ex.itertuples():
        s.story(f"{r.title} ({fmt.wave_label(data.fw, r.wave)}; {r.outcomes})", r.excerpt)
    return s.note(
        "Stories are shown only when the person gave consent; they show how a change happened for someone, "
        "not how often it happens."
    )


# --- sentiment ---------------------------------------------------------------------------------------


def _channel_name(channel: str) -> str:
    """A channel as a reader reads it: 'reputation-tracker' -> 'Reputation tracker', 'facebook' -> 'Facebook'."""
    words = re.sub(r"[-_]+", " ", str(channel)).strip()
    return words[:1].upper() + words[1:] if words else "Not given"


def _role_name(role: str) -> str:
    return ROLE_NAMES.get(role, str(role).capitalize())


def _shares_table(data: ProjectData, shares: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Areas": shares["role"].map(_role_name),
            "Wave": shares["wave"].map(lambda w: fmt.wave_label(data.fw, w)),
            "Comments": shares["items"],
            **{
                t.capitalize(): [
                    "" if sup else fmt.percent(v) for v, sup in zip(shares[t], shares["suppressed"], strict=True)
                ]
                for t in tones.TONES
            },
        }
    )


def _change_sentence(data: ProjectData, change: dict) -> str:
    """The change in net tone, its interval and a verdict that agrees with the interval as shown."""
    against = (
        "relative to the comparison areas"
        if change["design"] == "pilot against comparison"
        else "(there are no comparison areas' comments to compare with)"
    )
    clear = change["clear"] and fmt.clear_as_shown(change["ci_low"], change["ci_high"])
    return (
        f"Net tone (the share of comments positive minus the share negative) in the pilot areas moved "
        f"{fmt.points_text(change['difference'])} since the baseline {against} ({fmt.level(data.fw)} interval "
        f"{fmt.interval(change['ci_low'], change['ci_high'], fmt.points)}): "
        + ("a clear change." if clear else "not a clear change, given the number of comments.")
    )


def _sentiment_project(data: ProjectData, sel: Selection) -> Section:
    """The project-wide part of the sentiment section as at the selected wave: tone shares, channels, net change."""
    ev, fw, s = _as_at(data, sel), data.fw, Section()
    minimum = fw.settings.thresholds.minimum_base
    shares = tones.sentiment_shares(ev)
    if not shares.empty:
        named = shares.assign(
            role=shares["role"].map(lambda r: _role_name(r).lower()),
            wave=shares["wave"].map(lambda w: fmt.wave_label(fw, w)),
        )
        alt = "; ".join(
            f"{r.role.capitalize()} at {r.wave.lower()}: "
            + (
                fmt.fewer_than(minimum, "comments")
                if r.suppressed
                else f"{fmt.percent(r.positive)} positive, {fmt.percent(r.negative)} negative"
            )
            for r in named.itertuples()
        )
        s.chart(charts.sentiment_chart(named, minimum), "Tone of comments by area type and wave. " + alt + ".")
        caption = f"Share of comments positive, neutral and negative, {_to_month(data, sel) or 'so far'}"
        s.table("sentiment", _shares_table(data, shares), caption, shares)
    channels = tones.sentiment_by_channel(ev)
    if not channels.empty:
        shown = channels.assign(channel=channels["channel"].map(_channel_name))
        shown = shown.rename(columns={"channel": "Where from"} | fmt.wave_labels(fw))
        s.table(
            "sentiment-channels", shown, "Comments by where they came from and wave (all the project's areas)", channels
        )
    if not _is_baseline(data, sel):
        change = tones.sentiment_change(ev, sel.wave)
        if change["has_data"]:
            s.text(_change_sentence(data, change))
    elif not shares.empty:
        s.text("This is the starting point: later reports compare the tone of comments with these figures.")
    return s


def _channels_here(data: ProjectData, sel: Selection, s: Section) -> None:
    """Comments collected in the neighbourhood up to the wave, by channel (counts and dates only)."""
    found = tones.sentiment_channels(_as_at(data, sel), sel.neighbourhood)
    place = data.name_of(sel.neighbourhood)
    if found.empty:
        s.note(f"No comments from social media or the reputation tracker collected for {place} {_to_month(data, sel)}.")
        return
    tidy = found.assign(**{c: pd.to_datetime(found[c]).dt.strftime("%Y-%m-%d") for c in ("first_date", "last_date")})
    shown = tidy.assign(
        channel=tidy["channel"].map(_channel_name),
        **{c: pd.to_datetime(found[c]).map(lambda d: f"{d.day} {d:%b %Y}") for c in ("first_date", "last_date")},
    )
    shown = shown.rename(
        columns={"channel": "Where from", "items": "Comments", "first_date": "From", "last_date": "To"}
    )
    caption = f"Comments about the project from {place}, by where they came from (counts only)"
    s.table("sentiment-here", shown, caption, tidy)


@section("Sentiment and reputation", dashboard="evidence")
def sentiment(data: ProjectData, sel: Selection) -> Section:
    """The sentiment and reputation tracker as at the wave: tone shares by role and wave, counts by channel for
    the project and for this neighbourhood, the change in net tone. Aggregates only: no item's words are ever
    shown."""
    s = Section()
    if data.evidence.sentiment.empty:
        return s.note("No comments from social media or a reputation tracker have been collected for this project yet.")
    plan = _line(data, sel.outcome).sentiment if sel.outcome else ""
    if plan:
        s.text(plan)
    cal = data.evidence.calendar
    s.text(_period_sentence(data, sel, "comments"))
    if not cal.known:
        s.note("Without survey months, comments cannot be placed in a wave, so no tone shares are shown yet.")
    s.extend(data.result(f"sentiment-{sel.wave}", lambda: _sentiment_project(data, sel)))
    if sel.neighbourhood:
        _channels_here(data, sel, s)
    minimum = data.fw.settings.thresholds.minimum_base
    return s.note(
        "Each comment is given a tone by a standard word-scoring method: positive, neutral or negative. Individual "
        f"comments are never shown, and shares from fewer than {minimum} comments are not shown. A comment counts "
        "towards the first survey wave whose fieldwork month it falls in or comes before."
    )


# --- the financial-resilience check ------------------------------------------------------------------


def _resilience_row(r, minimum: int) -> tuple:
    """One measure's row: medians (score) or shares (yes/no) before and after, the change and the test."""
    if r.suppressed:
        return (r.label, r.test, fmt.fewer_than(minimum, ""), fmt.fewer_than(minimum, "pairs"), "", "", "", "", "")
    score = r.measure == "score"
    value = (lambda v: f"{v:.2f}") if score else fmt.percent
    number = (lambda v: fmt.signed(v, 2)) if score else fmt.points
    change = number(r.change) + ("" if score else (" point" if number(r.change) in ("+1", "-1") else " points"))
    has_interval = not pd.isna(r.ci_low)
    interval_clear = has_interval and fmt.clear_as_shown(r.ci_low, r.ci_high, number)
    clear = bool(r.clear) and (not has_interval or interval_clear)
    better = (r.change > 0) == (r.better == "higher")
    unclear = "borderline: not clear" if has_interval and bool(r.clear) != interval_clear else "no clear change"
    return (
        r.label,
        r.test,
        r.n_pairs,
        value(r.before),
        value(r.after),
        f"{change} ({fmt.interval(r.ci_low, r.ci_high, number)})" if has_interval else change,
        "" if pd.isna(r.p_value) else f"{r.p_value:.3f}",
        fmt.signed(r.effect_size, 2) if score and not pd.isna(r.effect_size) else "",
        ("better" if better else "worse") if clear else unclear,
    )


def _has_resilience_check(fw, project_id: str) -> bool:
    """Whether the framework gives the project the financial-resilience check (resilience.yaml's projects)."""
    return fw.resilience is not None and project_id in fw.resilience.projects


@section("Financial resilience", same_for="project", applies=_has_resilience_check)
def financial_resilience(data: ProjectData, sel: Selection) -> Section:
    """The financial-resilience check (paired before/after answers) where the project uses it. The answers are
    not dated by wave, so the section is the same at every wave and says so."""
    fw, s = data.fw, Section()
    res = fw.resilience
    if res is None or data.project.id not in res.projects:
        return s.note("This project does not use the financial-resilience check.")
    pairs = resilience_pairs(load_resilience(data.db, fw, data.project.id), fw)
    if pairs.empty:
        return s.message(
            "No financial-resilience questionnaires have been collected yet, so there is no before-and-after result "
            "for the people the scheme supports. The questionnaire asks the same people the same questions before "
            "and after their support."
        )
    results = resilience_results(pairs, fw)
    minimum = fw.settings.thresholds.minimum_base
    columns = ["Measure", "Test", "People (pairs)", "Before", "After", f"Change ({fmt.level(fw)} interval)"]
    columns += ["p-value", "Balance of rises over falls", "Result"]
    table = pd.DataFrame([_resilience_row(r, minimum) for r in results.itertuples()], columns=columns)
    caption = f"{res.title}: the same people before and after support (all the project's areas)"
    hidden = results["suppressed"].astype(bool)  # a count of people below the minimum, like its figures
    s.table("resilience", table, caption, results.assign(n_pairs=results["n_pairs"].astype("Int64").mask(hidden)))
    return s.note(
        f"{res.note} Each person is compared with themselves. Score: the middle (median) score before and after, "
        "the typical change with its interval, and the balance of people whose score rose over those whose score "
        "fell (-1 to +1, weighted by size). Yes/no questions: the share answering yes before and after, and the "
        "change in that share with its interval, tested on the people who changed answer. A result is 'better' or "
        "'worse' only when the test is clear and the interval lies wholly on one side of zero; 'borderline' when "
        "the two disagree. Without a comparison group, a change may "
        "also reflect anything else that changed for these people over the time. The answers are not tied to a "
        "survey wave, so this shows every pair collected so far."
    )
