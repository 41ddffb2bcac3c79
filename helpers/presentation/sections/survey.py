"""The Your Voice survey sections: who answered, % agreeing, change, difference-in-differences, well-being.

Every figure comes from :class:`~helpers.evidence.context.ProjectData` (weights, estimates, change, DiD);
these functions choose the rows of a selection and word them. Counts and shares below the minimum base are
never shown; nothing here returns an individual's answers or demographics.
"""

from __future__ import annotations

import pandas as pd

from ...evidence.context import ProjectData, Selection
from ...methods import disclosure, estimates, power
from .. import charts
from .. import formatting as fmt
from ..model import Section
from ..tables import (
    STATUS_NONE,
    STATUS_OK,
    STATUS_SUPPRESSED,
    STATUS_UNWEIGHTED,
    agree_rows,
    agree_shown,
    agree_tidy,
    cell,
    dots_alt,
    in_order,
    profile_shown,
    questionnaires_shown,
)
from . import section

# Why a neighbourhood x wave could not be weighted is for the analyst (the batch log and the CLI name it); a
# reader is told what it means.
UNWEIGHTED_NOTE = (
    "These answers could not be weighted to the neighbourhood's population (the population figures are missing, "
    "or a whole age group or gender did not answer), so the figures here are unweighted: they describe the people "
    "who answered and may not represent every resident."
)


def _weighting_word(data: ProjectData, sel: Selection) -> str:
    if data.weighted(sel.neighbourhood, sel.wave):
        return "weighted"
    return "UNWEIGHTED: the answers could not be weighted"


def _rows_here(data: ProjectData, frame: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """This neighbourhood x wave's rows, weighted when it could be weighted."""
    here = (frame["neighbourhood"] == sel.neighbourhood) & (frame["wave"] == sel.wave)
    return frame[here & (frame["weighted"] == data.weighted(sel.neighbourhood, sel.wave))]


def _labels(data: ProjectData) -> dict[str, str]:
    return {s: fmt.statement_label(data.fw, s) for s in data.fw.instrument.statement_ids}


@section("The project and this neighbourhood")
def header(data: ProjectData, sel: Selection) -> Section:
    """The report's title block: the council, the project, the neighbourhood and its role, the survey wave with
    its fieldwork month (the project's calendar) and the responses this wave; a comparison area's report says
    in one sentence what it is for."""
    fw, project = data.fw, data.project.name
    s = Section().text(fw.settings.council.name, "lead")
    name = data.name_of(sel.neighbourhood) if sel.neighbourhood else ""
    role = data.role_of(sel.neighbourhood) if sel.neighbourhood else ""
    s.text(f"{project}: {name} ({role} area)" if name else f"{project}: all its areas", "lead")
    if sel.wave:
        when = "fieldwork " + fmt.fieldwork_month(data.evidence.calendar, sel.wave)
        n = len(data.responses_here(sel.neighbourhood, sel.wave)) if sel.neighbourhood else len(data.responses)
        answered = "none yet" if n == 0 else fmt.count_or_fewer(n, fw.settings.thresholds.minimum_base)
        s.text(f"Survey wave: {fmt.wave_label(fw, sel.wave)}; {when}. Responses this wave: {answered}.")
    if role == "comparison":
        s.text(
            f"{name} is a comparison area: {project} does not run here. It shows what happened without the project, "
            "so that the pilot areas' change can be compared with it."
        )
    elif role == "pilot":
        s.text(f"{name} is a pilot area: {project} runs here.")
    if sel.outcome:
        outcome = fw.outcomes[sel.outcome]
        s.text(f"Outcome: {outcome.label} ({fw.ideal_of(sel.outcome).name}): {fmt.outcome_wording(fw, sel.outcome)}")
    return s


@section("About the project", same_for="project")
def about(data: ProjectData, sel: Selection) -> Section:
    p = data.project
    return (
        Section()
        .text(f"The issue. {p.issue}")
        .text(f"The co-operative solution. {p.solution}")
        .text("Key indicators: " + "; ".join(p.key_indicators))
    )


@section("Analysing the ripple", same_for="project")
def ripple_map(data: ProjectData, sel: Selection) -> Section:
    """The project's "analysing the ripple" table: outcome -> how it is measured."""
    fw, labels = data.fw, _labels(data)
    rows = []
    for line in data.project.ripple:
        methods = []
        if line.survey:
            methods.append("Your Voice: " + "; ".join(labels[s] for s in line.survey))
        methods += [text for text in (line.indicators_text, line.stories, line.sentiment, line.other) if text]
        rows.append((fw.ideal_of(line.outcome).name, fmt.outcome_wording(fw, line.outcome), " | ".join(methods)))
    table = pd.DataFrame(rows, columns=["Ideal", "Outcome", "How it is measured"])
    return Section().table(
        "ripple-map", table, f"{data.project.name}: analysing the ripple, as the framework sets it out"
    )


def _profile_rows(data: ProjectData, sel: Selection) -> pd.DataFrame:
    fw = data.fw
    here = data.responses_here(sel.neighbourhood, sel.wave)
    bands = fw.settings.weighting.age_bands
    age = pd.cut(
        here[fw.instrument.age.id].astype("Float64"),
        [b.min - 0.5 for b in bands] + [bands[-1].max + 0.5],
        labels=[b.id for b in bands],
    )
    gender = {c.code: c.label for c in fw.instrument.gender.categories}
    modes = {c.code: c.label for c in fw.instrument.modes}
    parts = [
        ("Age band", age.astype(object).where(age.notna(), "not given")),
        ("Gender", here[fw.instrument.gender.id].map(gender).fillna("not given")),
        ("How returned", here["mode"].map(modes).fillna("not given")),
    ]
    rows = [(q, category, int(n)) for q, values in parts for category, n in values.value_counts().items()]
    return pd.DataFrame(rows, columns=["question", "answer", "respondents"])


@section("Who answered")
def respondent_profile(data: ProjectData, sel: Selection) -> Section:
    """Who answered this wave: counts by age band, gender and mode; small counts hidden so that none can be
    worked out from the total (``tables.profile_shown``)."""
    minimum = data.fw.settings.thresholds.minimum_base
    total = len(data.responses_here(sel.neighbourhood, sel.wave))
    table = profile_shown(_profile_rows(data, sel), total, minimum)
    name, questionnaires = data.name_of(sel.neighbourhood), fmt.count_or_fewer(total, minimum)
    caption = f"Who answered in {name}, {fmt.wave_label(data.fw, sel.wave)} ({questionnaires} questionnaires)"
    s = Section().table("who-answered", table, caption)
    if (table["Respondents"] == fmt.NOT_SHOWN).any():
        s.note(fmt.not_shown_note(minimum))
    if not data.weighted(sel.neighbourhood, sel.wave):
        return s.note(UNWEIGHTED_NOTE)
    summary = data.weighting
    row = summary[(summary["neighbourhood"] == sel.neighbourhood) & (summary["wave"] == sel.wave)]
    if not row.empty:
        r = row.iloc[0]
        s.text(
            f"Weighting: answers are weighted so that each {fmt.listed(data.weighting_margins)} counts as much as "
            f"it does among the neighbourhood's adults. Because some answers count for more than others, the "
            f"{fmt.count_or_fewer(r['respondents'], minimum)} questionnaires are as precise as about "
            f"{r['effective_n']:.0f} answers from "
            "a simple random sample would be; the intervals in this report allow for that."
            + ("" if r["converged"] else " Warning: the weighting did not fully match the population.")
            + _trimming_words(data, sel)
        )
    return s


def _trimming_words(data: ProjectData, sel: Selection) -> str:
    """With a weight cap: how many answers it held back here and what precision it bought ('' without one)."""
    cap = data.fw.settings.weighting.weight_cap
    if cap is None:
        return ""
    d = data.weighting_diagnostics
    here = d[(d["neighbourhood"] == sel.neighbourhood) & (d["wave"] == sel.wave)].set_index("stage")
    if len(here) < 2 or not here["converged"].all():
        return ""
    held = int(here.iloc[0]["at_or_over_cap"])
    if held == 0:
        return f" No answer counts for more than {cap:g} times the average answer, the most the weighting allows."
    return (
        f" No answer may count for more than {cap:g} times the average answer, so that a few answers cannot sway "
        f"the figures: {held} would have counted for more and were held to that (without this limit the "
        f"questionnaires would be as precise as about {here.iloc[0]['effective_n']:.0f} answers)."
    )


def _estimate_table(rows: pd.DataFrame, minimum: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Statement": rows["label"],
            "Responses": [
                fmt.fewer_than(minimum, "") if s else str(int(b))
                for s, b in zip(rows["suppressed"], rows["base_n"], strict=True)
            ],
            "% agree": [
                fmt.fewer_than(minimum) if s else fmt.percent(e)
                for s, e in zip(rows["suppressed"], rows["estimate"], strict=True)
            ],
            "Interval": [
                "" if s else fmt.interval(lo, hi)
                for s, lo, hi in zip(rows["suppressed"], rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "Low base": [
                "yes" if b and not s else "" for b, s in zip(rows["low_base"], rows["suppressed"], strict=True)
            ],
        }
    )


@section("How residents feel", annex_tables=True)
def statement_estimates(data: ProjectData, sel: Selection) -> Section:
    """Weighted % agreeing with each statement in the ripple map (or the outcome's), with intervals, and after
    the baseline its change since the baseline: one chart of two panels sharing the statements' rows."""
    th = data.fw.settings.thresholds
    rows = _statement_rows(data, _rows_here(data, data.scores, sel), sel)
    if rows.empty or rows["suppressed"].all():
        name, wave = data.name_of(sel.neighbourhood), fmt.wave_label(data.fw, sel.wave)
        return Section().message(
            f"Fewer than {th.minimum_base} residents in {name} answered at {wave}: too few to show what they said."
        )
    weighted = data.weighted(sel.neighbourhood, sel.wave)
    word = "weighted" if weighted else "unweighted"
    name, level, wave = data.name_of(sel.neighbourhood), fmt.level(data.fw), fmt.wave_label(data.fw, sel.wave)
    alt = "; ".join(
        f"{r.label}: "
        + (
            fmt.fewer_than(th.minimum_base)
            if r.suppressed
            else f"{fmt.percent(r.estimate)} ({fmt.interval(r.ci_low, r.ci_high)})"
        )
        for r in rows.itertuples()
    )
    alt = f"Share agreeing ({word}) with interval. {alt}"
    if sel.wave == data.fw.settings.baseline:
        title = f"% agreeing, {name}, {wave} ({word}, {level} interval)"
        s = Section().chart(charts.estimate_dots(rows, title=title, minimum_base=th.minimum_base), alt)
        changes = None
    else:
        changes = _statement_rows(data, _rows_here(data, data.change, sel), sel)
        fig = charts.estimates_and_changes(
            rows,
            changes,
            title=f"{name}, {wave} ({word}, {level} interval)",
            minimum_base=th.minimum_base,
            headings=("% agreeing", "Change since the baseline"),
        )
        moved = "; ".join(
            f"{r.label}: " + ("not shown (small base)" if pd.isna(r.difference) else fmt.points_text(r.difference))
            for r in changes.itertuples()
        )
        head = f"Share agreeing ({word}) with its interval, and its change since the baseline"
        s = Section().chart(fig, f"{head}. Share agreeing: {alt.split('. ', 1)[1]}. Change since the baseline: {moved}")
    tidy = rows[["measure", "label", "base_n", "estimate", "ci_low", "ci_high", "suppressed", "low_base"]]
    tidy = tidy.assign(weighted=weighted).rename(columns={"measure": "statement", "label": "statement_text"})
    tidy.loc[tidy["suppressed"], ["base_n", "estimate", "ci_low", "ci_high"]] = None
    s.table(
        "agree",
        _estimate_table(rows, th.minimum_base),
        f"% agree (4 or 5) per statement, {word}, {level} Wilson interval",
        tidy=tidy,
    )
    if changes is not None:
        s.table(
            "change",
            _difference_table(changes, "Change", th.minimum_base),
            f"Change in % agree, {wave} against the baseline ({word})",
            tidy=_difference_tidy(changes, "change"),
        )
        s.method(
            f"A change is 'clear' when its interval excludes zero (p-value below {1 - th.confidence_level:.2f}). "
            "The two waves are independent samples."
        )
    if not weighted:
        s.note(UNWEIGHTED_NOTE)
    if rows["low_base"].any():
        s.note(f"Grey points: fewer than {th.low_base} responses (low base): read with care.")
    if changes is not None and (moved := _mode_mix_note(data, sel)):
        s.note(moved)
    return s


MODE_SHIFT = 0.15  # a way of returning the questionnaire whose share moves this much between waves is said


def _mode_shares(data: ProjectData, hood: str, wave: str) -> dict[str, float]:
    """Each way the questionnaires came back -> its share of the wave's questionnaires in the neighbourhood, for
    the ways "Who answered" shows (a small count, and one held back beside it, is left out: a share of the
    published total would give it away)."""
    minimum = data.fw.settings.thresholds.minimum_base
    rows = _profile_rows(data, Selection(data.project.id, hood, wave))
    rows = rows[rows["question"] == "How returned"].reset_index(drop=True)
    total = int(rows["respondents"].sum())
    if total < minimum:
        return {}
    hidden = disclosure.protect_frame(rows, "respondents", [[]], minimum)["hidden"]
    return {r.answer: r.respondents / total for r, h in zip(rows.itertuples(), hidden, strict=True) if not h}


def _mode_mix_note(data: ProjectData, sel: Selection) -> str:
    """When how the questionnaires came back (post, placed, online) moved a lot since the baseline: say so, since
    people may answer differently on paper, online or in person ('' otherwise)."""
    then = _mode_shares(data, sel.neighbourhood, data.fw.settings.baseline)
    now = _mode_shares(data, sel.neighbourhood, sel.wave)
    moved = [m for m in then if m in now and abs(now[m] - then[m]) >= MODE_SHIFT]
    if not moved:
        return ""
    said = "; ".join(f"{m.lower()} {fmt.percent(then[m])} then, {fmt.percent(now[m])} now" for m in moved)
    return (
        f"How the questionnaires came back has changed since the baseline ({said}). People may answer differently "
        "on paper, online or in person, so part of a change may come from who answered how."
    )


def _statement_rows(data: ProjectData, frame: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """The % agree rows of ``frame`` for the selection's statements, in the framework's order, labelled."""
    statements = data.statements(sel.outcome)
    rows = frame[frame["measure"].isin(statements) & (frame["statistic"] == "agree")].copy()
    rows = in_order(rows, measure=statements)
    rows["label"] = rows["measure"].map(_labels(data))
    return rows


@section("How residents answered, wave by wave", dashboard="survey")
def statements_by_wave(data: ProjectData, sel: Selection) -> Section:
    """This neighbourhood's % agree, wave by wave up to the chosen wave."""
    fw, minimum = data.fw, data.fw.settings.thresholds.minimum_base
    statements, waves = data.statements(sel.outcome), fmt.wave_labels(fw)
    name = data.name_of(sel.neighbourhood)
    upto = list(waves)[: list(waves).index(sel.wave) + 1]
    rows = agree_rows(data.scores, [sel.neighbourhood], upto, statements)
    rows["label"] = rows["measure"].map(_labels(data))
    rows["name"] = name
    rows["wave_label"] = rows["wave"].map(waves)
    rows = in_order(rows, measure=statements, wave=list(waves))
    return _agree_by_group(
        rows,
        ("Wave", "wave_label"),
        minimum,
        key="waves",
        title=f"% agreeing, {name}, by wave (weighted, {fmt.level(fw)} interval)",
        alt=f"Share agreeing (weighted) in {name} by wave. ",
        caption=f"% agree (4 or 5) in {name}, wave by wave, weighted, {fmt.level(fw)} Wilson interval",
    )


def _agree_by_group(rows: pd.DataFrame, group: tuple[str, str], minimum: int, *, key, title, alt, caption) -> Section:
    """A dot chart of % agreeing per statement and group (wave or area) where figures can be shown, and the
    table beside it; ``group`` is the table's column heading and the column of ``rows`` it shows."""
    s = Section()
    drawn = rows[rows["status"].isin([STATUS_OK, "suppressed"])].assign(group=lambda f: f[group[1]])
    if not drawn.empty:
        s.chart(charts.estimate_dots(drawn, title=title, minimum_base=minimum), alt + dots_alt(rows, group[1], minimum))
    return s.table(key, agree_shown(rows, minimum, group), caption, tidy=agree_tidy(rows, minimum))


@section("Pilot and comparison areas", same_for="wave", dashboard="survey")
def areas_side_by_side(data: ProjectData, sel: Selection) -> Section:
    """% agree in each of the project's pilot and comparison areas at the chosen wave."""
    fw, minimum = data.fw, data.fw.settings.thresholds.minimum_base
    statements, wave_label = data.statements(sel.outcome), fmt.wave_label(fw, sel.wave)
    shown_as = {r.neighbourhood: f"{r.name} ({r.role})" for r in data.areas.itertuples()}
    rows = agree_rows(data.scores, data.neighbourhoods, [sel.wave], statements)
    rows["label"] = rows["measure"].map(_labels(data))
    rows["name"] = rows["neighbourhood"].map(shown_as)
    rows["role"] = rows["neighbourhood"].map(data.role_of)
    rows["wave_label"] = wave_label
    rows = in_order(rows, measure=statements)
    level = fmt.level(fw)
    return _agree_by_group(
        rows,
        ("Area", "name"),
        minimum,
        key="areas",
        title=f"% agreeing at {wave_label}: pilot and comparison areas ({level} interval)",
        alt=f"Share agreeing (weighted) at {wave_label} by area. ",
        caption=f"% agree (4 or 5) at {wave_label} in each {data.project.name} area, weighted, {level} Wilson interval",
    )


def _difference_rows(data: ProjectData, frame: pd.DataFrame, value: str, sel: Selection) -> pd.DataFrame:
    return _statement_rows(data, frame, sel).rename(columns={value: "difference"})


def _difference_table(rows: pd.DataFrame, head: str, minimum: int, notes: list[str] | None = None) -> pd.DataFrame:
    blank = rows["difference"].isna()
    notes = notes or [fmt.fewer_than(minimum)] * len(rows)
    return pd.DataFrame(
        {
            "Statement": rows["label"],
            head: [n if b else fmt.points_text(d) for b, d, n in zip(blank, rows["difference"], notes, strict=True)],
            **fmt.significance_columns(rows, blank),
        }
    )


def _difference_tidy(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "statement": rows["measure"],
            "statement_text": rows["label"],
            f"{value}_points": (100 * rows["difference"]).round(1),
            "interval_low": (100 * rows["ci_low"]).round(1),
            "interval_high": (100 * rows["ci_high"]).round(1),
            "p_value": rows["p_value"].round(4),
            "clear_change": rows["significant"],
        }
    )


def _did_notes(data: ProjectData, rows: pd.DataFrame, sel: Selection) -> list[str]:
    """Why a DiD is blank: no area of a role could be pooled (each had a small base or no answers)."""
    minimum = data.fw.settings.thresholds.minimum_base
    empty = {"pilot": rows["pilot_areas"] == "", "comparison": rows["comparison_areas"] == ""}
    if data.before_and_after():
        empty["comparison"] = pd.Series(False, index=rows.index)
    return [
        ""
        if pd.notna(d)
        else f"no {' or '.join(r for r in ('pilot', 'comparison') if empty[r][i])} area had {minimum} or more "
        "answers at both waves"
        if empty["pilot"][i] or empty["comparison"][i]
        else "not available for this wave"
        for i, d in zip(rows.index, rows["difference"], strict=True)
    ]


def _names(data: ProjectData, ids: str) -> str:
    """';'-separated neighbourhood ids as a reader names them: 'Ashgrove and Westwood'."""
    return fmt.listed([data.name_of(i) for i in ids.split(";") if i])


def _why_left_out(data: ProjectData, hood: str, measures: list[str], wave: str) -> str:
    """Why a neighbourhood was left out of a pool: a small base or no answers, at the baseline or the wave."""
    minimum, baseline = data.fw.settings.thresholds.minimum_base, data.fw.settings.baseline
    waves = [baseline, wave]
    found = agree_rows(data.scores, [hood], waves, measures)
    reasons = []
    for w in waves:
        status = set(found.loc[found["wave"] == w, "status"])
        label = "the baseline" if w == baseline else fmt.wave_label(data.fw, w)
        if STATUS_SUPPRESSED in status:
            reasons.append(f"fewer than {minimum} answers at {label}")
        elif STATUS_UNWEIGHTED in status:
            reasons.append(f"the answers at {label} could not be weighted")
        elif not status or status == {STATUS_NONE}:
            reasons.append(f"no answers at {label}")
    return " and ".join(reasons) or "no published figure at both waves"


def _pooled_areas(data: ProjectData, rows: pd.DataFrame, sel: Selection) -> list[str]:
    """Which areas each role pools at this wave, which are left out and why, and whether another wave pools
    different areas (then the two waves' figures compare different places)."""
    shown = rows[rows["measure"].notna()]
    out = []
    for role in ("pilot", "comparison"):
        if role == "comparison" and data.before_and_after():
            continue
        used = shown[f"{role}_areas"].mode()
        if len(used) and used.iloc[0]:
            out.append(f"{role.capitalize()} areas pooled: {_names(data, used.iloc[0])}.")
    measures = list(shown["measure"])
    left = sorted({h for ids in shown["left_out"] for h in ids.split(";") if h})
    wave = fmt.wave_label(data.fw, sel.wave)
    for hood in left:
        count = sum(hood in ids.split(";") for ids in shown["left_out"])
        which = "every statement" if count == len(shown) else f"{count} of the {len(shown)} statements"
        why = _why_left_out(data, hood, measures, sel.wave)
        out.append(f"{data.name_of(hood)} is left out at {wave} for {which}: {why}.")
    other = _other_waves_pools(data, sel, shown)
    if other:
        out.append(other)
    return out


def _pooled_set(frame: pd.DataFrame) -> tuple[str, str]:
    """The areas most statements pool, per role."""
    return tuple(frame[c].mode().iloc[0] if len(frame) else "" for c in ("pilot_areas", "comparison_areas"))


def _other_waves_pools(data: ProjectData, sel: Selection, shown: pd.DataFrame) -> str:
    """A sentence when another later wave pools different areas than this one, else ''."""
    did, here = data.did, _pooled_set(shown)
    for wave in data.survey_waves:
        if wave in (data.fw.settings.baseline, sel.wave):
            continue
        there = _pooled_set(did[(did["wave"] == wave) & did["measure"].isin(shown["measure"])])
        if there != here:
            return (
                f"At {fmt.wave_label(data.fw, wave)} the pools hold different areas, so the figures at the two "
                "waves compare different places."
            )
    return ""


@section("Pilot against comparison areas", same_for="wave", annex_tables=True, dashboard="survey")
def difference_in_differences(data: ProjectData, sel: Selection) -> Section:
    """Pilot change minus comparison change for the project, with the assumption in words."""
    s = Section()
    if sel.wave == data.fw.settings.baseline:
        return s.note("Difference-in-differences needs a later wave; this is the baseline.")
    did = data.did
    rows = _difference_rows(data, did[did["wave"] == sel.wave], "did", sel)
    before_after = data.before_and_after()
    head = "Pilot change (before and after only)" if before_after else "Difference-in-differences"
    notes = _did_notes(data, rows, sel)
    if rows["difference"].notna().any():
        fig = charts.difference_bars(
            rows,
            title=f"{data.project.name}: {head.lower()}, {fmt.wave_label(data.fw, sel.wave)}",
            xlabel="percentage points",
        )
        alt = "; ".join(
            f"{r.label}: " + (n or "not shown" if pd.isna(r.difference) else fmt.points_text(r.difference))
            for r, n in zip(rows.itertuples(), notes, strict=True)
        )
        s.chart(fig, f"{head} by statement. " + alt)
    table = _difference_table(rows, head, data.fw.settings.thresholds.minimum_base, notes)
    table.insert(1, "Pilot change", [fmt.maybe(v, fmt.points) for v in rows["pilot_change"]])
    table.insert(2, "Comparison change", [fmt.maybe(v, fmt.points) for v in rows["comparison_change"]])
    tidy = _difference_tidy(rows, "did").assign(
        wave=fmt.wave_label(data.fw, sel.wave),
        design=rows["design"].to_numpy(),
        pilot_change_points=(100 * rows["pilot_change"]).round(1).to_numpy(),
        comparison_change_points=(100 * rows["comparison_change"]).round(1).to_numpy(),
        pilot_areas=[_names(data, ids) for ids in rows["pilot_areas"]],
        comparison_areas=[_names(data, ids) for ids in rows["comparison_areas"]],
        note=notes,
    )
    s.text(" ".join(_pooled_areas(data, rows, sel)))
    s.table("did", table, f"{head}: the {data.project.name} areas pooled", tidy=tidy)
    s.method(estimates.BEFORE_AFTER_NOTE if before_after else estimates.PARALLEL_TRENDS_NOTE)
    if not before_after and data.project.indicator_ids:  # the local indicators can check the assumption
        s.method(
            "The local indicators' figures from before the project's start show whether the pilot and comparison "
            "areas were moving alike before it: see \u201cTrends before the project\u201d in the annex."
        )
    return s


@section("Health and happiness")
def wellbeing(data: ProjectData, sel: Selection) -> Section:
    """General health and happiness yesterday (ONS thresholds), weighted, for this neighbourhood and wave."""
    ins, minimum = data.fw.instrument, data.fw.settings.thresholds.minimum_base
    rows = _rows_here(data, data.scores, sel)
    rows = rows[rows["measure"].isin([ins.general_health.id, ins.happiness.id])]
    names = {
        (ins.general_health.id, "good"): "Health very good or good (%)",
        (ins.happiness.id, "mean"): "Happiness yesterday, average (0-10)",
        (ins.happiness.id, "low"): "Happiness yesterday low, 0-4 (%)",
        (ins.happiness.id, "very_high"): "Happiness yesterday very high, 9-10 (%)",
    }
    out = []
    for r in rows.itertuples():
        shown = fmt.percent if r.statistic != "mean" else (lambda v: f"{v:.1f}")
        value = fmt.fewer_than(minimum) if r.suppressed else shown(r.estimate)
        interval = "" if r.suppressed else fmt.interval(r.ci_low, r.ci_high, shown)
        base = fmt.fewer_than(minimum, "") if r.suppressed else str(int(r.base_n))
        out.append((names[(r.measure, r.statistic)], base, value, interval))
    table = pd.DataFrame(out, columns=["Measure", "Responses", "Estimate", "Interval"])
    caption = (
        f"Health and happiness, {data.name_of(sel.neighbourhood)}, {fmt.wave_label(data.fw, sel.wave)} "
        f"({_weighting_word(data, sel)})"
    )
    return Section().table("wellbeing", table, caption)


def _detectable(data: ProjectData, sel: Selection) -> str:
    """The smallest change in a statement's share agreeing this neighbourhood's survey could detect."""
    baseline = data.fw.settings.baseline
    counts = [len(data.responses_here(sel.neighbourhood, w)) for w in dict.fromkeys([baseline, sel.wave])]
    if not sel.neighbourhood or min(counts) < data.fw.settings.thresholds.minimum_base:
        return ""  # no wave this small is shown, nor its count
    summary = data.weighting
    here = summary[(summary["neighbourhood"] == sel.neighbourhood) & summary["wave"].isin([baseline, sel.wave])]
    deff = float(here["design_effect"].max()) if len(here) else 1.0
    samples = counts if len(counts) == 2 else counts * 2  # at the baseline: as if the next wave were as large
    th = data.fw.settings.thresholds
    chance = power.DEFAULT_POWER
    change = power.detectable_change_approx(samples, confidence=th.confidence_level, power=chance, design_effect=deff)
    what = (
        f"with {counts[0]} questionnaires at the baseline and {counts[1]} at {fmt.wave_label(data.fw, sel.wave)}"
        if len(counts) == 2
        else f"with {counts[0]} questionnaires now and as many at a later wave"
    )
    return (
        f" How small a change this survey can find: {what}, allowing for the weighting, a change of about "
        f"{fmt.point_count(change)} in the share agreeing with a statement would show as clear {round(10 * chance)} "
        "times in 10; "
        "smaller real changes may show as no clear change."
    )


@section("How the figures were made")
def method_note(data: ProjectData, sel: Selection) -> Section:
    th = data.fw.settings.thresholds
    return Section().note(
        f"Method. Shares agreeing count answers 4 or 5 on the 1-5 scale among those who answered the "
        f"statement (blank answers are left out of that statement's base). Estimates are weighted to the "
        f"neighbourhood's population by {fmt.listed(data.weighting_margins)} (raking). {estimates.INTERVAL_NOTE} Fewer "
        f"than {th.minimum_base} responses: the figure is not shown. Fewer than {th.low_base}: shown but "
        f"flagged as a low base. All figures in this report are aggregates; no individual's answers are shown."
        + _detectable(data, sel)
    )


@section("Neighbourhoods and questionnaires", same_for="project")
def project_neighbourhoods(data: ProjectData, sel: Selection) -> Section:
    """Which neighbourhoods are pilots and which are comparisons, with questionnaires per wave."""
    counts = data.responses.groupby(["neighbourhood", "wave"]).size().unstack(fill_value=0)
    waves = [w for w in data.fw.settings.wave_ids if w in counts.columns]
    counts = counts[waves].reindex(data.areas["neighbourhood"], fill_value=0)
    shown, numbers = questionnaires_shown(counts, data.fw.settings.thresholds.minimum_base)
    labels = {w: f"Questionnaires, {fmt.wave_label(data.fw, w)}" for w in waves}

    def table(cells: pd.DataFrame) -> pd.DataFrame:
        merged = data.areas.merge(cells.reset_index(), on="neighbourhood", how="left")
        return merged.rename(columns={"name": "Neighbourhood", "role": "Role", **labels}).drop(columns="neighbourhood")

    return Section().table(
        "neighbourhoods",
        table(shown),
        f"{data.project.name}: neighbourhoods and questionnaires returned",
        tidy=table(numbers),
    )


@section("The difference the project made, wave by wave", same_for="project")
def did_every_wave(data: ProjectData, sel: Selection) -> Section:
    """The project's difference-in-differences at every wave after the baseline that has survey data."""
    s = Section()
    later = [w for w in data.survey_waves if w != data.fw.settings.baseline]
    if not later:
        return s.note("Difference-in-differences needs a later wave; only the baseline has survey data so far.")
    for wave in later:
        s.text(f"At {fmt.wave_label(data.fw, wave)}:", "lead").extend(
            difference_in_differences(data, sel.but(wave=wave))
        )
    return s


@section("Every area over time", same_for="wave")
def areas_over_time(data: ProjectData, sel: Selection) -> Section:
    """For each statement and area: % agreeing at every wave up to the chosen one, and the change since the
    baseline with whether it is clear (weighted; small bases not shown)."""
    fw, minimum = data.fw, data.fw.settings.thresholds.minimum_base
    statements, labels = data.statements(sel.outcome), fmt.wave_labels(fw)
    waves = [w for w in fw.settings.wave_ids[: fw.settings.wave_ids.index(sel.wave) + 1] if w in data.survey_waves]
    rows = agree_rows(data.scores, data.neighbourhoods, waves, statements)
    shown = {w: labels[w] for w in waves}
    wide = rows.assign(value=[cell(r, minimum) for r in rows.itertuples()]).pivot(
        index=["measure", "neighbourhood"], columns="wave", values="value"
    )[waves]
    change = data.change
    change = change[
        (change["wave"] == sel.wave)
        & (change["statistic"] == "agree")
        & change["weighted"]
        & change["measure"].isin(statements)
    ].set_index(["measure", "neighbourhood"])
    areas = {r.neighbourhood: f"{r.name} ({r.role})" for r in data.areas.itertuples()}
    out = []
    for (measure, hood), values in (
        in_order(wide.reset_index(), measure=statements, neighbourhood=data.neighbourhoods)
        .set_index(["measure", "neighbourhood"])
        .iterrows()
    ):
        found = change.loc[(measure, hood)] if (measure, hood) in change.index else None
        moved = found is not None and pd.notna(found["difference"])
        out.append(
            {
                "Statement": fmt.statement_label(fw, measure),
                "Area": areas.get(hood, hood),
                **{shown[w]: values[w] for w in waves},
                "Change since the baseline": fmt.points_text(found["difference"]) if moved else "",
                "Clear change?": ("yes" if found["significant"] else "no") if moved else "",
            }
        )
    table = pd.DataFrame(out)
    caption = f"% agree (4 or 5) in every {data.project.name} area, wave by wave to {labels[sel.wave]}, weighted"
    s = Section().table("over-time", table, caption, tidy=table)
    if sel.wave == fw.settings.baseline:
        s.note("This is the baseline: later waves are compared with it.")
    return s
