"""The evidence sections beyond the survey: local indicators, predictions, KPI tiers, high-level indicators,
co-operative stories, sentiment and the financial-resilience check.

Every figure comes from :mod:`helpers.evidence` through :class:`~helpers.evidence.context.ProjectData`
(``data.evidence``, results kept by ``data.result``); these functions choose the rows of a selection and
word them. With ``sel.outcome`` set a section shows only that outcome's indicators, stories and plans (a
dashboard); without it, the whole project's (a report). Stories come only consented (the data layer keeps
no other); sentiment is shown as counts and shares, never an item's words.
"""

from __future__ import annotations

import pandas as pd

from ...config.framework import RippleLine
from ...evidence import indicators as ind
from ...evidence import sentiment as tones
from ...evidence import stories as told
from ...evidence.context import ProjectData, Selection
from ...evidence.resilience import load_resilience, resilience_pairs, resilience_results
from .. import charts
from .. import formatting as fmt
from ..model import Section, draw
from . import section

BOROUGH = "all"  # the neighbourhood id of borough-wide indicator rows


def _line(data: ProjectData, outcome: str) -> RippleLine:
    """The outcome's line of the project's ripple map."""
    return next(line for line in data.project.ripple if line.outcome == outcome)


def _indicator_ids(data: ProjectData, sel: Selection) -> list[str]:
    """The ripple map's local indicators: all of the project's, or the selected outcome's."""
    if sel.outcome is None:
        return list(data.project.indicator_ids)
    return list(_line(data, sel.outcome).indicators)


def _signed_pct(value: float) -> str:
    """An indicator's improvement as a signed percentage of its baseline value: '+12.3%'."""
    return "" if pd.isna(value) else f"{value:+.1f}%"


def _month(when) -> str:
    return f"{pd.Timestamp(when):%b %Y}"


def _place(data: ProjectData, sel: Selection) -> str:
    return data.name_of(sel.neighbourhood) if sel.neighbourhood else f"{data.project.name}'s areas"


# --- local indicators --------------------------------------------------------------------------------


def _changes(data: ProjectData, wave: str) -> pd.DataFrame:
    return data.result(f"indicator-changes-{wave}", lambda: ind.indicator_changes(data.evidence, wave))


def _tests(data: ProjectData, wave: str) -> pd.DataFrame:
    return data.result(f"indicator-tests-{wave}", lambda: ind.indicator_tests(data.evidence, wave))


def _trend_chart(data: ProjectData, sel: Selection, ids: list[str]):
    """The indicators' series, this neighbourhood bold, as a chart block (the same at every wave)."""
    ev = data.evidence
    series = ind.indicator_series(ev)
    series = series[series["indicator"].isin(ids)]
    fig = charts.indicator_trend_chart(series, neighbourhood=sel.neighbourhood, baseline=ev.calendar.baseline)
    alt_parts = []
    for _, rows in series[series["neighbourhood"] == sel.neighbourhood].groupby("indicator", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        unit = first["unit"]
        alt_parts.append(
            f"{first['label']}: {ind.format_value(first['value'], unit)} to {ind.format_value(last['value'], unit)}"
        )
    name = data.name_of(sel.neighbourhood)
    alt = f"Local indicators over time in {name} (bold) and the project's other areas. " + "; ".join(alt_parts)
    return draw(fig, alt)


def _rows_here(changes: pd.DataFrame, neighbourhood: str) -> pd.DataFrame:
    """The neighbourhood's changes by indicator, with the borough-wide figure where it has none of its own."""
    own = changes[changes["neighbourhood"] == neighbourhood]
    borough = changes[(changes["neighbourhood"] == BOROUGH) & ~changes["indicator"].isin(own["indicator"])]
    return pd.concat([own, borough]).set_index("indicator")


def _here_cells(h: pd.Series | None) -> tuple[str, str, str]:
    """Baseline, wave value and direction in the neighbourhood (blank without data)."""
    if h is None:
        return "", "", ""
    where = ", borough-wide" if h["neighbourhood"] == BOROUGH else ""
    return (
        f"{ind.format_value(h['baseline_value'], h['unit'])} ({_month(h['baseline_period'])}{where})",
        f"{ind.format_value(h['value'], h['unit'])} ({_month(h['period'])}{where})",
        h["better_way"],
    )


def _indicator_tidy(tests: pd.DataFrame, here: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """The numbers behind the local indicators table: the neighbourhood's change and the project-level test."""
    tidy = tests.loc[ids, ["label", "better", "pilot_pct", "comparison_pct", "net_pct", "p_value", "clear", "design"]]
    if not here.empty:
        local = here[["neighbourhood", "baseline_period", "baseline_value", "period", "value", "improvement_pct"]]
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
        clear = "" if pd.isna(t["p_value"]) else ("yes" if t["clear"] else "no")
        pct = (_signed_pct(t[c]) for c in ("pilot_pct", "comparison_pct", "net_pct"))
        rows.append((meta.label, meta.better, *_here_cells(h), *pct, clear))
    head = ["Indicator", "Better when", "Baseline here", f"{wave_label} here", "Moved here"]
    tail = ["Pilot areas (% better)", "Comparison areas (% better)", "Difference", "Beyond noise?"]
    display = pd.DataFrame(rows, columns=head + tail)
    if not sel.neighbourhood:
        display = display.drop(columns=head[2:])
    return display, _indicator_tidy(tests, here, ids)


@section("Local indicators")
def local_indicators(data: ProjectData, sel: Selection) -> Section:
    """The local indicators: this neighbourhood's series and change since baseline, and the project-level test.

    One table for reports and dashboards: change is shown as "% better" (signed so that positive is the
    direction that counts as better, as in the ripple). Without a neighbourhood, no chart and no "here" columns.
    """
    ev, ids, s = data.evidence, _indicator_ids(data, sel), Section()
    plan = _line(data, sel.outcome).indicators_text if sel.outcome else ""
    if not ids:
        if sel.outcome:
            return s.note(plan or "The ripple map names no local indicators for this outcome.")
        return s.note("This project's ripple map names no local indicators.")
    if plan:
        s.text(plan)
    if not ev.indicators["indicator"].isin(ids).any():
        return s.note(
            "No local indicator data has been imported for this project's neighbourhoods yet "
            "(python -m helpers import indicators FILE)."
        )
    if sel.neighbourhood:  # the whole series is shown at every wave: a neighbourhood's chart is drawn once
        suffix = f"-{sel.outcome}" if sel.outcome else ""
        s.blocks.append(
            data.result(f"indicator-trend-{sel.neighbourhood}{suffix}", lambda: _trend_chart(data, sel, ids))
        )
    if sel.wave == data.fw.settings.baseline or ev.calendar.baseline is None:
        return s.note("This is the baseline: changes are measured from here in later waves.")
    display, tidy = _indicator_table(data, sel, ids)
    s.table("indicators", display, f"Local indicators: change since the baseline period, {data.project.name}", tidy)
    return s.note(
        "Change is measured from the latest figure on or before the baseline month to the latest figure on or "
        f"before the {fmt.wave_label(data.fw, sel.wave)} survey month, and shown as a percentage of the baseline "
        "figure, signed so that a positive number is the direction that counts as better. 'Beyond noise' compares "
        "the pilot areas' improvement with the comparison areas' and asks whether the difference is larger than "
        f"the ups and downs the indicator showed before the baseline (two-sided, {fmt.level(data.fw)} level). "
        f"Baseline month: {ev.calendar.source}."
    )


@section("Predicted and actual", same_for="project")
def predicted_against_actual(data: ProjectData, sel: Selection) -> Section:
    """Where a prediction (the value expected without the project) was given: predicted against actual."""
    table = data.result("predicted-vs-actual", lambda: ind.predicted_vs_actual(data.evidence))
    table = table[table["indicator"].isin(_indicator_ids(data, sel))]
    s = Section()
    if table.empty:
        where = "of this outcome" if sel.outcome else "in this project's data"
        return s.note(f"No indicator {where} carries a predicted value.")
    sentences = ind.predicted_actual_sentences(table)
    s.chart(charts.predicted_actual_chart(table), "Predicted against actual. " + " ".join(sentences))
    for sentence in sentences:
        s.text(sentence)
    return s.note(
        "The prediction is the value the council expected without the project, as given in the indicators file "
        "(column predicted). The gap between actual and predicted is the project's effect only if the prediction "
        "was sound; the comparison areas, where shown, are a check on it."
    )


def _tier_alt(series: pd.DataFrame) -> str:
    alt = []
    for tier in (3, 2, 1):
        r = series[(series["tier"] == tier) & (series["role"] == "pilot") & series["improvement_pct"].notna()]
        if r.empty:
            alt.append(f"{ind.TIER_NAMES[tier]}: no data")
            continue
        latest = r[r["period"] == r["period"].max()]["improvement_pct"].mean()
        alt.append(
            f"{ind.TIER_NAMES[tier]}: pilot areas on average {latest:+.0f}% against baseline at the latest period"
        )
    return "KPIs by tier over time. " + "; ".join(alt)


@section("Key indicators by tier", same_for="wave")
def kpi_tiers(data: ProjectData, sel: Selection) -> Section:
    """Seed 002's three tiers of KPIs: specific (3), medium-term (2) and high-level (1), over time."""
    ev, fw, ids = data.evidence, data.fw, _indicator_ids(data, sel)
    rows = []
    for tier in (3, 2, 1):
        names = [fw.indicator_map[i].label for i in ids if fw.indicator_map[i].tier == tier]
        rows.append((ind.TIER_NAMES[tier], "; ".join(names) if names else "none collected yet"))
    table = pd.DataFrame(rows, columns=["Tier", "Indicators in this project's map"])
    s = Section().table("tiers", table, f"{ev.project.name}: KPIs by tier")
    series = ind.indicator_series(ev)
    series = series[series["indicator"].isin(ids)]
    if not series.empty and series["improvement_pct"].notna().any():
        s.chart(charts.tier_chart(series, baseline=ev.calendar.baseline), _tier_alt(series))
    return s.note(
        "Seed 002: specific KPIs (tier 3) test the solution's impact first; medium-term KPIs (tier 2) follow; "
        "high-level KPIs (tier 1: economy, satisfaction, demand) move last. Lines show the improvement since the "
        "baseline as a percentage, in the direction that counts as better."
    )


@section("High-level indicators", same_for="project")
def high_level_indicators(data: ProjectData, sel: Selection) -> Section:
    """Appendix 1's high-level indicators for the ideals and outcomes this project's map (or outcome) reaches."""
    table = ind.high_level_indicators(data.fw, data.project)
    if sel.outcome:
        table = table[table["outcome"] == sel.outcome]
    shown = pd.DataFrame(
        {
            "Ideal": table["ideal"],
            "Outcome": table["label"],
            "High-level measure (Appendix 1)": table["measure"],
            "Collected in the workbook": table["collected"].map({True: "yes", False: "not yet"}),
        }
    )
    return (
        Section()
        .table("high-level", shown, "High-level indicators available per ideal for this project's outcomes", table)
        .note(
            "These long-term measures (seed 000, Appendix 1) show progress over years rather than months. "
            "Add any the council collects to data/framework/indicators.yaml with tier 1 to chart them here."
        )
    )


# --- co-operative stories ----------------------------------------------------------------------------


def _story_table(data: ProjectData, sel: Selection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consented stories per outcome (the selected one, or every outcome of the map) and wave: display, tidy."""
    fw = data.fw
    counts = told.story_counts(data.evidence)
    if sel.outcome:
        counts = counts[counts["outcome"] == sel.outcome]
    planned = [line.outcome for line in data.project.ripple if line.stories]
    outcomes = list(dict.fromkeys(counts["outcome"]))
    wide = counts.pivot(index="outcome", columns="wave", values="stories").reindex(
        index=outcomes, columns=list(fw.settings.wave_ids)
    )
    table = pd.DataFrame(
        {
            "Outcome": [fw.outcomes[o].label for o in outcomes],
            "Stories planned in the map": ["yes" if o in planned else "" for o in outcomes],
            **{w.label: wide[w.id].astype(int).to_numpy() for w in fw.settings.waves},
        }
    )
    return table, counts.reset_index(drop=True)


@section("Co-operative stories")
def stories(data: ProjectData, sel: Selection) -> Section:
    """Consented co-operative stories: counts per outcome and wave, and excerpts from this neighbourhood up to
    this wave (of the selected outcome, when one is)."""
    table, tidy = _story_table(data, sel)
    caption = f"Co-operative stories shared with consent, per outcome and wave ({data.project.name}, all areas)"
    s = Section().table("stories", table, caption, tidy)
    ex = told.story_excerpts(data.evidence, neighbourhood=sel.neighbourhood, up_to_wave=sel.wave, outcome=sel.outcome)
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


def _shares_table(data: ProjectData, shares: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Areas": shares["role"],
            "Wave": shares["wave"].map(lambda w: fmt.wave_label(data.fw, w)),
            "Items": shares["items"],
            **{
                t.capitalize(): [
                    "" if sup else fmt.percent(v) for v, sup in zip(shares[t], shares["suppressed"], strict=True)
                ]
                for t in tones.TONES
            },
        }
    )


def _change_sentence(change: dict) -> str:
    return (
        f"Net tone (positive minus negative) changed by {fmt.points(change['difference'])} points since the "
        f"baseline ({change['design']}); "
        + ("a clear change." if change["clear"] else "not a clear change given the number of comments.")
    )


def _sentiment_project(data: ProjectData, sel: Selection) -> Section:
    """The project-wide part of the sentiment section at the selected wave: tone shares, channels, net change."""
    ev, fw, s = data.evidence, data.fw, Section()
    minimum = fw.settings.thresholds.minimum_base
    shares = tones.sentiment_shares(ev)
    if not shares.empty:
        alt = "; ".join(
            f"{r.role} areas, {r.wave}: "
            + (
                fmt.fewer_than(minimum, "items")
                if r.suppressed
                else f"{fmt.percent(r.positive)} positive, {fmt.percent(r.negative)} negative"
            )
            for r in shares.itertuples()
        )
        s.chart(charts.sentiment_chart(shares, minimum), "Tone of comments by area type and wave. " + alt)
        caption = "Share of comments positive, neutral and negative (pilot and comparison areas pooled)"
        s.table("sentiment", _shares_table(data, shares), caption, shares)
    channels = tones.sentiment_by_channel(ev)
    if not channels.empty:
        shown = channels.rename(columns={"channel": "Channel"} | fmt.wave_labels(fw))
        s.table("sentiment-channels", shown, "Comments per channel and wave (all the project's areas)", channels)
    change = tones.sentiment_change(ev, sel.wave)
    if change["has_data"]:
        s.text(_change_sentence(change))
    return s


def _channels_here(data: ProjectData, sel: Selection, s: Section) -> None:
    """Items collected in the neighbourhood, by channel (counts and dates only)."""
    found = tones.sentiment_channels(data.evidence, sel.neighbourhood)
    place = data.name_of(sel.neighbourhood)
    if found.empty:
        s.note(f"No social media or tracker items collected for {place} yet.")
        return
    tidy = found.assign(**{c: pd.to_datetime(found[c]).dt.strftime("%Y-%m-%d") for c in ("first_date", "last_date")})
    shown = tidy.rename(columns={"channel": "Channel", "items": "Items", "first_date": "From", "last_date": "To"})
    s.table("sentiment-here", shown, f"Items collected about the project in {place}, by channel (counts only)", tidy)


@section("Sentiment and reputation")
def sentiment(data: ProjectData, sel: Selection) -> Section:
    """The sentiment and reputation tracker: tone shares by role and wave, counts by channel for the project and
    for this neighbourhood, the change in net tone. Aggregates only: no item's words are ever shown."""
    s = Section()
    if data.evidence.sentiment.empty:
        return s.note("No sentiment items (social media, reputation tracker) have been imported for this project.")
    plan = _line(data, sel.outcome).sentiment if sel.outcome else ""
    if plan:
        s.text(plan)
    s.extend(data.result(f"sentiment-{sel.wave}", lambda: _sentiment_project(data, sel)))
    if sel.neighbourhood:
        _channels_here(data, sel, s)
    minimum = data.fw.settings.thresholds.minimum_base
    return s.note(
        "Each comment is scored by VADER (vaderSentiment), a maintained sentiment library: compound score 0.05 or "
        "more is positive, -0.05 or less negative, otherwise neutral. Individual comments are never shown; shares "
        f"from fewer than {minimum} comments are not shown. Comments are dated and assigned to the survey wave "
        "whose month they fall in or after."
    )


# --- the financial-resilience check ------------------------------------------------------------------


def _resilience_row(r, minimum: int) -> tuple:
    """One measure's row: medians (score) or shares (yes/no) before and after, the change and the test."""
    if r.suppressed:
        return (r.label, r.test, r.n_pairs, fmt.fewer_than(minimum, "pairs"), "", "", "", "", "")
    score = r.measure == "score"
    value = (lambda v: f"{v:.2f}") if score else fmt.percent
    change = (lambda v: f"{v:+.2f}") if score else (lambda v: f"{fmt.points(v)} points")
    return (
        r.label,
        r.test,
        r.n_pairs,
        value(r.before),
        value(r.after),
        change(r.change) if pd.isna(r.ci_low) else f"{change(r.change)} ({change(r.ci_low)} to {change(r.ci_high)})",
        "" if pd.isna(r.p_value) else f"{r.p_value:.3f}",
        f"{r.effect_size:+.2f}" if score and not pd.isna(r.effect_size) else "",
        "better" if r.improved else ("no clear change" if not r.clear else "worse"),
    )


def _has_resilience_check(fw, project_id: str) -> bool:
    """Whether the framework gives the project the financial-resilience check (resilience.yaml's projects)."""
    return fw.resilience is not None and project_id in fw.resilience.projects


@section("Financial resilience", same_for="project", applies=_has_resilience_check)
def financial_resilience(data: ProjectData, sel: Selection) -> Section:
    """The financial-resilience check (paired before/after answers) where the project uses it."""
    fw, s = data.fw, Section()
    res = fw.resilience
    if res is None or data.project.id not in res.projects:
        return s.note("This project does not use the financial-resilience check.")
    pairs = resilience_pairs(load_resilience(data.db, fw, data.project.id), fw)
    if pairs.empty:
        return s.note(
            f"No paired answers to the {res.title} yet. Ask the people the scheme supports to answer it before "
            "and after the support (data/framework/resilience.yaml) and import their answers with "
            "python -m helpers import resilience FILE."
        )
    results = resilience_results(pairs, fw)
    minimum = fw.settings.thresholds.minimum_base
    columns = ["Measure", "Test", "People (pairs)", "Before", "After", f"Change ({fmt.level(fw)} interval)"]
    columns += ["p-value", "Rank-biserial", "Result"]
    table = pd.DataFrame([_resilience_row(r, minimum) for r in results.itertuples()], columns=columns)
    caption = f"{res.title}: the same people before and after support (all the project's areas)"
    s.table("resilience", table, caption, results)
    return s.note(
        f"{res.note} Each person is compared with themselves. Score: median before and after, the typical change "
        "(Hodges-Lehmann) with its interval, Wilcoxon's signed-rank test, and the rank-biserial correlation "
        "(-1 to +1: the balance of people whose score rose over those whose score fell, weighted by size). "
        "Yes/no questions: share answering yes before and after, McNemar's exact test on the people who changed "
        "answer, and Newcombe's interval for the change. Without a comparison group, a change may also reflect "
        "anything else that changed for these people over the time."
    )
