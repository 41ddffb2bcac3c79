"""The ripple sections: the report's "In brief" and "The ripple", and what the ripple explorer shows for a
project, a wave and an ideal (the planned reach, the ripple the project expects, an ideal's outcomes with
their evidence lines, and the survey evidence per ideal).

Every figure comes from the ripple :meth:`~helpers.evidence.context.ProjectData.ripple` computes once
(``helpers.evidence.ripple``: evidence lines, their items, the roll-up to outcomes and ideals); these
functions choose the rows of a selection and word them. ``sel.wave`` None (or the baseline) is design
mode: the ripple as planned, before anything is measured.
"""

from __future__ import annotations

import math

import pandas as pd

from ...config.framework import Ideal
from ...evidence import evidence
from ...evidence import ripple as ripples
from ...evidence.context import ProjectData, Selection
from ...methods import estimates
from .. import charts
from .. import formatting as fmt
from ..model import Section
from . import section

NOT_IN_MAP = "Not in this project's ripple map."


def _ideal_names(data: ProjectData) -> dict[str, str]:
    return {i.id: i.name for i in data.fw.ideals}


def _signed(value: float) -> str:
    """A strength as the ripple shows it: +0.43."""
    return f"{value:+.2f}"


def _ripple_at(data: ProjectData, sel: Selection, what: str):
    """(the ripple at the selection's wave, None), or (None, a section saying why ``what`` cannot be shown)."""
    problem = ripples.wave_problem(data, sel.wave)
    if problem:
        return None, Section().message(f"{what} cannot be worked out: {problem}.")
    return data.ripple(sel.wave), None


# --- in brief ---------------------------------------------------------------------------------------


def _design_brief(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> str:
    names = {k: v.lower() for k, v in _ideal_names(data).items()}
    reach = ", ".join(f"{names[r.ideal]} {r.outcomes_in_map}" for r in result.ideals.itertuples() if r.outcomes_in_map)
    where = f" in {data.name_of(sel.neighbourhood)}" if sel.neighbourhood else ""
    return (
        f"This is the baseline for {data.project.name}{where}: nothing has changed yet to measure. The "
        f"project's ripple map plans evidence for {len(result.outcomes)} outcomes (by ideal: {reach}). Later "
        "reports compare each wave with this one and with the comparison areas, and this summary will say what "
        "changed and how sure we can be."
    )


def _leaning(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> list[str]:
    """How many outcomes lean each way, and the ideal where the ripple is strongest."""
    o = result.outcomes
    better, worse, measured = (
        int((o["strength"] > 0).sum()),
        int((o["strength"] < 0).sum()),
        int(o["strength"].notna().sum()),
    )
    sentences = [
        f"By {fmt.wave_label(data.fw, sel.wave).lower()}, {better} of the {measured} outcomes with evidence in "
        f"{data.project.name}'s ripple map lean towards improvement"
        + (f" and {worse} towards worsening" if worse else "")
        + "."
    ]
    top = result.strongest
    if top:
        r = result.ideals.set_index("ideal").loc[top]
        sentences.append(
            f"The ripple is strongest on {_ideal_names(data)[top].lower()} (strength {_signed(r['strength'])}, "
            f"{r['strength_words']}; certainty {r['certainty_words']})."
        )
    return sentences


def _survey_brief(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> tuple[list[str], float]:
    """The clearest rise and fall among the map's statements (each said to count as clear in the ripple or
    not), and the median half-width of their intervals (math.nan without survey evidence)."""
    did = data.did
    if did is None or did.empty:
        return [], math.nan
    rows = did[
        (did["wave"] == sel.wave)
        & (did["statistic"] == "agree")
        & did["measure"].isin(data.project.survey_statements)
        & ~did["suppressed"].astype(bool)
    ]
    clear = rows[rows["significant"].fillna(False).astype(bool)].sort_values("p_value")
    did_design = rows["design"].eq(estimates.DIFFERENCE_IN_DIFFERENCES).any()
    against = "relative to the comparison areas" if did_design else "since the baseline"
    counted = result.clear_statements()
    sentences = []
    for direction, pick in (("clearest rise", clear[clear["did"] > 0]), ("clearest fall", clear[clear["did"] < 0])):
        if pick.empty:
            continue
        c = pick.iloc[0]
        short = data.fw.instrument.statement(c["measure"]).short
        caveat = (
            ""
            if c["measure"] in counted
            else "; taken with the other statements of its outcomes it does not count as clear in the ripple"
        )
        interval = fmt.interval(c["ci_low"], c["ci_high"], fmt.points)
        sentences.append(
            f"The {direction} in the survey: agreement that '{short}' moved {fmt.points(c['did'])} points in the "
            f"pilot areas {against} ({fmt.level(data.fw)} interval {interval}{caveat})."
        )
    if clear.empty:
        sentences.append(f"No survey statement in the map changed clearly {against}.")
    half = float(((rows["ci_high"] - rows["ci_low"]) / 2).median()) if not rows.empty else math.nan
    return sentences, half


def _other_evidence_brief(data: ProjectData, sel: Selection) -> list[str]:
    """How many local indicators improved beyond noise, and the first predicted-against-actual sentence."""
    ev = data.evidence
    tests = evidence.indicator_tests(ev, sel.wave)
    tested = tests[tests["p_value"].notna()]
    sentences = []
    if not tested.empty:
        n_clear = int((tested["clear"] & (tested["net_pct"] > 0)).sum())
        against = "pilots against comparisons" if data.has_comparison else "in the pilot areas since the baseline"
        sentences.append(
            f"{n_clear} of {len(tested)} local indicators improved beyond their usual ups and downs, {against}."
        )
    return sentences + evidence.predicted_actual_sentences(evidence.predicted_vs_actual(ev))[:1]


def _limits(data: ProjectData) -> str:
    limits = [
        "the comparison assumes pilot and comparison areas would otherwise have moved alike"
        if data.has_comparison
        else "there are no comparison areas, so the changes are before and after only: they may come from anything "
        "else that changed over the same time",
        "stories are chosen examples shared with consent and sentiment comes from relatively few comments",
        "high-level (tier 1) indicators move over years, not months",
    ]
    resilience = data.fw.resilience
    if resilience is None or data.project.id not in resilience.projects:
        limits.insert(0, "it compares areas, not individuals, so it does not show the effect on the people supported")
    else:
        limits.insert(
            0,
            "area figures do not show the effect on individuals (the financial-resilience check below does, "
            "for the people who answered it before and after support)",
        )
    return "What it does not show: " + "; ".join(limits) + "."


@section("In brief")
def in_brief(data: ProjectData, sel: Selection) -> Section:
    """One plain-English paragraph at the top: what changed, how sure we are, what it does not show."""
    result, missing = _ripple_at(data, sel, "The ripple")
    if missing:
        return missing
    if result.design_mode:
        return Section().text(_design_brief(data, sel, result), "lead")
    survey, half = _survey_brief(data, sel, result)
    sure = (
        f"How sure we are: the survey can only tell apart changes larger than about {100 * half:.0f} points either "
        "way, so smaller effects may be missed"
        if not math.isnan(half)
        else "How sure we are: certainty reflects how much of the planned evidence is in and points the same way"
    )
    sentences = [
        *_leaning(data, sel, result),
        *survey,
        *_other_evidence_brief(data, sel),
        sure + "; certainty per ideal is shown with the ripple chart.",
        _limits(data),
    ]
    return Section().text(" ".join(sentences), "lead")


# --- the ripple -------------------------------------------------------------------------------------


def _chart_alt(result: ripples.RippleResult, name: str) -> str:
    parts = []
    for r in result.ideals.itertuples():
        if result.design_mode:
            parts.append(f"{r.label}: {r.outcomes_in_map} outcomes and {r.lines_planned} evidence lines planned")
        elif pd.isna(r.strength):
            parts.append(f"{r.label}: no evidence yet")
        else:
            parts.append(
                f"{r.label}: strength {_signed(r.strength)} ({r.strength_words}), certainty {r.certainty_words}"
            )
    mode = "planned reach (design mode, before any change is measured)" if result.design_mode else "evidence so far"
    return f"Ripple chart for {name}, {mode}. " + "; ".join(parts) + "."


def _ideals_table(result: ripples.RippleResult) -> pd.DataFrame:
    ideals = result.ideals
    return pd.DataFrame(
        {
            "Ideal": ideals["label"],
            "Outcomes in the map": ideals["outcomes_in_map"],
            "With evidence": ideals["outcomes_with_evidence"],
            "Strength (-1 to +1)": [
                "" if pd.isna(v) else f"{_signed(v)} ({w})"
                for v, w in zip(ideals["strength"], ideals["strength_words"], strict=True)
            ],
            "Certainty (0 to 1)": [
                "" if pd.isna(v) or result.design_mode else f"{v:.2f} ({w})"
                for v, w in zip(ideals["certainty"], ideals["certainty_words"], strict=True)
            ],
        }
    )


def _outcomes_table(data: ProjectData, result: ripples.RippleResult) -> pd.DataFrame:
    o = result.outcomes
    return pd.DataFrame(
        {
            "Ideal": o["ideal"].map(_ideal_names(data)),
            "Outcome": o["label"],
            **{ripples.LINE_NAMES[k]: o[k] for k in ripples.LINES},
            "Strength": [fmt.maybe(v, _signed) for v in o["strength"]],
            "Certainty": ["" if result.design_mode else f"{v:.2f}" for v in o["certainty"]],
            "Evidence": o["evidence"],
        }
    )


def _ripple_note(data: ProjectData, result: ripples.RippleResult) -> str:
    if result.design_mode:
        return (
            "Design mode: this is the baseline, so nothing has changed yet to measure. The chart shows the planned "
            "reach: how much evidence the ripple map plans for each ideal. Gaps (outcomes with no measurable "
            "line) show where to plan more evidence before launch."
        )
    w = data.fw.ripple_rule.weight
    note = (
        "How the roll-up works: each evidence line scores +1, 0 or -1 (survey: pilot change against comparison "
        "areas in the share agreeing, Holm-corrected over the outcome's statements; local indicators: "
        "improvement in the better direction beyond the indicator's usual ups and downs; stories: +1 when a "
        "consented story is linked; sentiment: a clear change in tone). Strength is the weighted mean "
        f"(survey {w('survey-did'):g}, or {w('survey-before-after'):g} without comparison areas; indicators "
        f"{w('indicators'):g}; stories {w('stories'):g}; sentiment {w('sentiment'):g}); certainty is the "
        "weight of lines that clearly point the same way over the weight of all planned lines. Ideals take the "
        "mean over their outcomes. The full rule is in docs/ripple.md."
    )
    expected, found = data.project.expected_strongest, result.strongest
    if expected and found:
        names = _ideal_names(data)
        note += (
            f" The framework expected the ripple to be strongest on {names[expected].lower()}; the evidence so far is "
            f"strongest on {names[found].lower()}."
        )
    return note


@section("The ripple", same_for="wave")
def ripple(data: ProjectData, sel: Selection) -> Section:
    """The ripple chart, the strength and certainty per ideal, and the evidence per outcome (design mode at
    the baseline or with no wave: the planned reach)."""
    result, missing = _ripple_at(data, sel, "The ripple")
    if missing:
        return missing
    name = data.project.name
    design = result.design_mode
    title = (
        f"{name}: planned ripple (design)" if design else f"{name}: the ripple at {fmt.wave_label(data.fw, sel.wave)}"
    )
    s = Section().chart(charts.ripple_chart(result.ideals, title=title, design=design), _chart_alt(result, name))
    s.table(
        "ripple-ideals",
        _ideals_table(result),
        "Strength and certainty per co-operative ideal (all the project's areas)",
        tidy=result.ideals.round({"strength": 3, "certainty": 3}),
    )
    s.table(
        "ripple-outcomes",
        _outcomes_table(data, result),
        "Evidence per outcome: +1 clear improvement, 0 no clear change, -1 clear worsening",
        tidy=result.outcomes.round({"strength": 3, "certainty": 3}),
    )
    return s.note(_ripple_note(data, result))


# --- the ripple explorer: planned reach, the expected ripple ----------------------------------------


@section("Planned reach: which outcomes of each ideal the project aims to move", same_for="project")
def planned_reach(data: ProjectData, sel: Selection) -> Section:
    """Design mode, from the map alone: per ideal, the outcomes in the map and the evidence planned for them."""
    reach = ripples.planned_reach(data.fw, data.project.id, has_comparison=data.has_comparison)
    name = data.project.name
    alt = "; ".join(f"{r.label}: {r.outcomes_in_map} of {r.outcomes} outcomes" for r in reach.itertuples())
    shown = pd.DataFrame(
        {
            "Ideal": reach["label"],
            "Outcomes in the ripple map": [f"{r.outcomes_in_map} of {r.outcomes}" for r in reach.itertuples()],
            "Your Voice statements": reach["survey_statements"],
            "Local indicators": reach["indicators"],
            "Outcomes with stories": reach["stories"],
            "Outcomes with sentiment": reach["sentiment"],
            "Other evidence": reach["other"],
        }
    )
    return (
        Section()
        .chart(charts.planned_reach_chart(reach, title=f"{name}: planned reach per ideal"), "Planned reach. " + alt)
        .table("reach", shown, f"{name}: planned reach per ideal", tidy=reach)
    )


@section("The ripple the project expects", same_for="project")
def expected_ripple(data: ProjectData, sel: Selection) -> Section:
    """The ripple the project's map says it expects, per ideal (``ripple_summary``)."""
    s = Section()
    if not data.project.ripple_summary:
        return s.message("The project's ripple map does not say which ripple it expects.")
    names = _ideal_names(data)
    for ideal, hopes in data.project.ripple_summary.items():
        s.text(f"{names[ideal]}: {'; '.join(hopes)}")
    return s


# --- the ripple explorer: an ideal's outcomes and the survey evidence per ideal ---------------------


def _verdict(effect: float, significant: bool) -> str:
    """What a statement's own test shows (every Your Voice statement is worded so that agreeing is better)."""
    if pd.isna(effect):
        return "not available"
    if significant:
        return "clear improvement" if effect > 0 else "clear decline"
    return "no clear change"


def _survey_items(data: ProjectData, result: ripples.RippleResult, outcomes: list[str]) -> pd.DataFrame:
    """The survey statements of ``outcomes`` at the wave, in the map's order, with a label and a verdict."""
    items = result.items
    rows = items[(items["line"] == "survey") & items["outcome"].isin(outcomes)].copy()
    rows["outcome_label"] = rows["outcome"].map(lambda o: data.fw.outcomes[o].label)
    rows["label"] = [
        f"{o}: {fmt.statement_label(data.fw, s)}" for o, s in zip(rows["outcome_label"], rows["item"], strict=True)
    ]
    rows["verdict"] = [_verdict(e, s) for e, s in zip(rows["effect"], rows["significant"], strict=True)]
    return rows.rename(columns={"item": "measure", "effect": "did"})


def _chosen_ideals(data: ProjectData, sel: Selection) -> list[Ideal]:
    if sel.outcome:
        return [data.fw.ideal_of(sel.outcome)]
    return [i for i in data.fw.ideals if sel.ideal in (None, i.id)]


def _survey_evidence(data: ProjectData, sel: Selection, rows: pd.DataFrame, what: str) -> Section:
    """Chart and table of the statements' difference-in-differences (the table's key is "ideal")."""
    s = Section()
    if rows.empty:
        return s
    head = "Pilot change (before and after only)" if data.before_and_after() else "Difference-in-differences"
    bars = rows.rename(columns={"did": "difference"})
    if bars["difference"].notna().any():
        fig = charts.difference_bars(bars, title=what, xlabel=f"{head.lower()} in % agree (percentage points)")
        alt = "; ".join(
            f"{r.label}: " + (fmt.maybe(r.difference, lambda d: f"{fmt.points(d)} points") or "not available")
            for r in bars.itertuples()
        )
        s.chart(fig, f"{what}, {head.lower()} by outcome and statement. " + alt)
    blank = rows["did"].isna()
    shown = pd.DataFrame(
        {
            "Outcome": rows["outcome_label"],
            "Statement": [fmt.statement_label(data.fw, m) for m in rows["measure"]],
            head: ["" if b else f"{fmt.points(d)} points" for b, d in zip(blank, rows["did"], strict=True)],
            "Interval": [
                "" if b else fmt.interval(lo, hi, fmt.points)
                for b, lo, hi in zip(blank, rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "What it shows": rows["verdict"],
            "Clear in the ripple": [
                "" if b else ("yes" if c else "no") for b, c in zip(blank, rows["clear"], strict=True)
            ],
        }
    )
    tidy = rows[
        [
            "outcome",
            "outcome_label",
            "measure",
            "did",
            "ci_low",
            "ci_high",
            "p_value",
            "significant",
            "clear",
            "verdict",
        ]
    ]
    s.table(
        "ideal", shown, f"{what}: survey evidence per outcome", tidy=tidy.rename(columns={"clear": "clear_in_ripple"})
    )
    s.note(
        "'What it shows' is each statement's own test (its interval excludes zero); 'Clear in the ripple' is "
        "after Holm's correction over the outcome's statements, as the roll-up counts it."
    )
    return s.note(estimates.BEFORE_AFTER_NOTE if data.before_and_after() else estimates.PARALLEL_TRENDS_NOTE)


def _plans(data: ProjectData, line) -> list[tuple[str, str]]:
    """(evidence line, what the map plans for it) for one outcome of the map, in the lines' order."""
    fw = data.fw
    indicators = "; ".join(fw.indicator_map[i].label for i in line.indicators) or line.indicators_text
    return [
        (kind, plan)
        for kind, plan in (
            ("survey", "; ".join(fmt.statement_label(fw, s) for s in line.survey)),
            ("indicators", indicators),
            ("stories", line.stories),
            ("sentiment", line.sentiment),
            ("other", line.other),
        )
        if plan
    ]


def _line_result(row, design: bool) -> tuple[str, str]:
    """(result, detail) of one evidence line as the table shows them."""
    if row is None or not row.measurable:
        return "not measured in the workbook", ""
    if design:
        return "planned", ""
    if not row.has_data:
        return "no data yet", row.detail
    return (f"{int(row.score):+d}" if row.score else "0"), row.detail


def _outcome_lines(data: ProjectData, result: ripples.RippleResult, ideals: list[Ideal], only: str | None):
    """(display, tidy) of the ideals' outcomes x evidence lines; an outcome not in the map is one row."""
    in_map = {ln.outcome: ln for ln in data.project.ripple}
    lines = {(r.outcome, r.line): r for r in result.lines.itertuples()}
    shown, tidy = [], []
    for outcome in (o for ideal in ideals for o in ideal.outcomes if only in (None, o.id)):
        if outcome.id not in in_map:
            shown.append((outcome.label, "", "", NOT_IN_MAP, ""))
            continue
        for kind, plan in _plans(data, in_map[outcome.id]):
            row = lines.get((outcome.id, kind))
            words, detail = _line_result(row, result.design_mode)
            shown.append((outcome.label, ripples.LINE_NAMES.get(kind, "Other"), plan, words, detail))
            clear = "; ".join(row.clear_items) if row is not None else ""
            tidy.append((outcome.id, outcome.label, kind, plan, words, clear, detail))
    display = pd.DataFrame(shown, columns=["Outcome", "Evidence", "What the map plans", "Result", "Detail"])
    columns = ["outcome", "outcome_label", "line", "planned", "result", "clear_items", "detail"]
    return display, pd.DataFrame(tidy, columns=columns)


@section("Outcomes and their evidence", same_for="wave")
def ideal_outcomes(data: ProjectData, sel: Selection) -> Section:
    """The chosen ideal's outcomes (``sel.ideal``; only ``sel.outcome`` when set; every ideal when neither):
    whether the map has them, their survey statements' difference-in-differences at the wave, and each
    evidence line with what the map plans and what it shows so far."""
    result, missing = _ripple_at(data, sel, "The evidence")
    if missing:
        return missing
    ideals = _chosen_ideals(data, sel)
    one = len(ideals) == 1
    what = ideals[0].name if one else data.project.name
    s = Section(title=f"{what}: outcomes and their evidence")
    if one:
        s.text(ideals[0].lead)
    outcomes = [o for i in ideals for o in i.outcomes if sel.outcome in (None, o.id)]
    in_map = set(data.project.outcome_ids)
    for o in outcomes:
        s.text(f"{o.label}: {o.wording}" + ("" if o.id in in_map else f" ({NOT_IN_MAP.rstrip('.').lower()})"))
    if not result.design_mode:
        s.extend(_survey_evidence(data, sel, _survey_items(data, result, [o.id for o in outcomes]), what))
    display, tidy = _outcome_lines(data, result, ideals, sel.outcome)
    caption = f"{what}: the evidence lines of each outcome" + (
        " as planned (design mode)" if result.design_mode else ""
    )
    return s.table("outcome-lines", display, caption, tidy=tidy)


@section("Survey evidence per ideal", same_for="wave")
def survey_by_ideal(data: ProjectData, sel: Selection) -> Section:
    """Per ideal, the map's survey statements by what their difference-in-differences shows at the wave."""
    result, missing = _ripple_at(data, sel, "Survey evidence")
    if missing:
        return missing
    if result.design_mode:
        return Section().message("Design mode: nothing has been measured yet.")
    wave_label = fmt.wave_label(data.fw, sel.wave)
    rows = _survey_items(data, result, list(data.project.outcome_ids))
    counts = []
    for ideal in data.fw.ideals:
        mine = rows[rows["ideal"] == ideal.id]
        verdicts = mine.drop_duplicates("measure")["verdict"].value_counts()
        clear = mine.loc[mine["clear"], "measure"].nunique()
        kinds = ("clear improvement", "no clear change", "clear decline", "not available")
        counts.append((ideal.name, mine["measure"].nunique(), *(int(verdicts.get(k, 0)) for k in kinds), clear))
    columns = ["Ideal", "Statements", "Clear improvement", "No clear change", "Clear decline", "Not available"]
    table = pd.DataFrame(counts, columns=[*columns, "Clear in the ripple"])
    return (
        Section()
        .table(
            "evidence",
            table,
            f"Your Voice statements per ideal by what the difference-in-differences shows at {wave_label}",
        )
        .note(
            "A statement counts once per ideal. 'Clear' means the interval of the difference-in-differences (pilot "
            "change minus comparison change) excludes zero; 'Clear in the ripple' counts the statements that stay "
            "clear after Holm's correction over an outcome's statements."
        )
    )
