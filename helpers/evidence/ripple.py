"""The ripple: evidence per outcome of a project's map, rolled up to co-operative place, people and public services.

Seed 000 (4.9): a project's specific outcomes, each measured by survey statements, local indicators,
co-operative stories and sentiment, "can then be aggregated up, at which point you begin to feel the ripple
effect". This module makes that aggregation a transparent rule (docs/ripple.md, "The roll-up rule"):

1. Every evidence line of every outcome in the map scores +1 (clear improvement), 0 (no clear change, or
   clear changes both ways) or -1 (clear worsening). When an item's change is clear is the rule's
   ``clear.method``: ``each``, its own test at the framework's confidence level (the verdict the survey
   tables show), or ``holm``, only after Holm's correction over the outcome's items:

   - survey: the project's difference-in-differences (pilots pooled against comparisons; before-and-after
     when there are no comparison areas) in the share agreeing with each of the outcome's statements, at
     the chosen wave;
   - local indicators: each indicator's net change, pilots against comparisons, on its own scale (points for a
     percentage, the rate's units, % of the baseline figure for a count) and signed so that positive is the
     direction that counts as better, tested against the indicator's own ups and downs before the baseline
     (:func:`helpers.evidence.indicators.indicator_tests`);
   - stories: +1 when at least one story shared with consent is linked to the outcome (stories show how a
     change happened, never how often, so they cannot score below zero and carry the least weight);
   - sentiment: +1 / -1 when net tone (positive minus negative) changed clearly in pilots against
     comparisons (:func:`helpers.evidence.evidence.sentiment_change`), else 0.

2. Strength of an outcome = the weighted mean of the scores of its lines that have data (the weights are
   framework data: ``data/framework/ripple.yaml``, :class:`helpers.config.framework.RollupRule`), from -1
   to +1. Certainty of an outcome = the weight of its lines with a clear result in the direction of its
   strength, less ``disagreement.subtract`` times the weight of those with a clear result the other way
   (never below 0), over the weight of every measurable line the map plans for it (0 to 1). A local-indicators
   line whose clear result rests only on indicators whose pilot and comparison areas moved differently before
   the project (:mod:`helpers.evidence.trends`) counts the rule's ``pre_trends.diverging`` share of its weight
   towards certainty (one resting on indicators that could not be checked: ``pre_trends.untested``).

3. An ideal's strength = the mean strength of its outcomes that have evidence; its certainty = the summed
   certainty of its outcomes leaning the way of its strength, less ``disagreement.subtract`` times that of
   those leaning the other way (never below 0), over the number of its outcomes in the map (an outcome with
   no evidence counts 0). ``reach`` = the number of the ideal's outcomes in the map.

4. Words (:func:`strength_words`): the strength band's words; ``disagreement.words`` ("mixed") when an
   outcome's lines point clearly both ways, or an ideal's outcomes do (one of them is mixed, or they lean in
   opposite directions); and the words in ``survey_must_agree`` ("strong") step one band towards the middle
   when the outcome or ideal has survey evidence none of which clearly moved the way its strength points.

Everything is measured as at the wave: the other evidence is cut to what was dated on or before the wave's
month (:meth:`helpers.evidence.project.ProjectEvidence.up_to`), so a 6-month ripple never counts a 12-month
figure, comment or story.

Results are data: the evidence lines carry the items a line counted as clear (``clear_items``) and
:attr:`RippleResult.items` has one row per survey statement and indicator of each outcome (and its change in
net tone), with the figures; a line's ``detail`` names its items and what their tests show, without figures.
The figures a reader sees are written by the sections (``helpers.presentation.sections.ripple``, through
``helpers.presentation.formatting``).

Public functions: :func:`evidence_lines`, :func:`rollup`, :func:`planned_reach`, :func:`ripple_of` (what
:meth:`helpers.evidence.context.ProjectData.ripple` computes once), :func:`helpers.evidence.context.project_ripple`,
:func:`ripple_frame` (the CSV of ``python -m helpers ripple``), :func:`rule_markdown` (docs/ripple.md's
statement of the rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd

from ..config import paths
from ..config.errors import allowed
from ..config.framework import IDEAL_IDS, Framework, RippleLine, RollupRule, WordScale
from ..methods import estimates
from . import evidence, trends

LINES = ("survey", "indicators", "stories", "sentiment")
LINE_NAMES = {"survey": "Survey", "indicators": "Local indicators", "stories": "Stories", "sentiment": "Sentiment"}
LINE_COLUMNS = (
    "project",
    "wave",
    "ideal",
    "outcome",
    "line",
    "planned",
    "measurable",
    "has_data",
    "weight",
    "score",
    "tested",
    "clear_up",
    "clear_down",
    "clear_items",  # the statements or indicators counted as clear by the rule's clear.method (a tuple)
    "design",
    "detail",
    # local indicators: whether the clear indicators' pilot and comparison areas moved alike before the project
    # ("parallel", "diverging", "untested"; "" for other lines and for a line with nothing clear)
    "pre_trend",
    "certainty_weight",  # the weight the line counts towards certainty (the rule's pre_trends; else its weight)
)
# One row per survey statement or indicator of an outcome at a wave, and its sentiment line's net tone (none in
# design mode). effect, ci_low, ci_high: survey, the difference-in-differences in the share agreeing (-1 to 1);
# indicators, the net change on the indicator's own scale (``indicators.SCALES``: points for a percentage, the
# rate's units, % of the baseline figure for a count), as ``indicator_tests``' net_change and interval, signed
# so that positive is the direction that counts as better; sentiment, the change in net tone (-1 to 1).
# significant: the item's own test; clear: by the rule's clear.method (``each``: the same). n: what the figure
# rests on (indicators: neighbourhoods with figures; sentiment: pilot comments at the baseline and the wave;
# blank for statements).
ITEM_COLUMNS = (
    "project",
    "wave",
    "ideal",
    "outcome",
    "line",
    "item",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "significant",
    "clear",
    "design",
    "n",
    "pre_trend",  # indicators: the verdict of the check of the trends before the project (trends.VERDICTS)
)
RIPPLE_COLUMNS = (
    "project",
    "wave",
    "level",
    "ideal",
    "outcome",
    "label",
    "survey",
    "indicators",
    "stories",
    "sentiment",
    "lines_planned",
    "lines_with_data",
    "planned_weight",
    "outcomes_in_map",
    "outcomes_with_evidence",
    "strength",
    "strength_words",
    "certainty",
    "certainty_words",
    "disagrees",
    "evidence",
)
REACH_COLUMNS = (
    "project",
    "ideal",
    "label",
    "outcomes",  # the ideal's outcomes in the framework
    "outcomes_in_map",
    "survey_statements",  # distinct within the ideal
    "indicators",  # distinct within the ideal
    "stories",  # outcomes whose map line plans stories
    "sentiment",
    "other",
    "lines_planned",  # measurable evidence lines planned
    "planned_weight",
)


# --- the rule (framework data: data/framework/ripple.yaml) -------------------------------------------


def rule_of(fw: Framework, rule: RollupRule | None = None) -> RollupRule:
    """``rule``, or the framework's roll-up rule."""
    return rule if rule is not None else fw.ripple_rule


def __getattr__(name: str):
    """``RULE``: the repository framework's roll-up rule, read when first asked for (not on import)."""
    if name == "RULE":
        from ..config.framework import framework

        return framework().ripple_rule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rule_key(rule: RollupRule) -> str:
    """A short digest of the rule's settings: results under another rule are never mixed up."""
    import hashlib

    return hashlib.sha256(rule.model_dump_json().encode()).hexdigest()[:8]


def clear_flags(p_values, alpha: float, method: str) -> np.ndarray:
    """Which items of a line are clear: ``each`` by its own p-value (below ``alpha``, the same test as the
    survey tables' "Clear change?"), ``holm`` by Holm's correction over the line's items. Missing: never."""
    p = np.asarray(p_values, dtype=float)
    if method == "holm":
        return evidence.holm_clear(p, alpha)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(p) & (p < alpha)


def line_score(effects, p_values, alpha: float, method: str = "each") -> tuple[int, int, int, int]:
    """(score, tested, clear up, clear down) for one evidence line of an outcome.

    Items clear by :func:`clear_flags`; +1 if at least one item is clearly better and none clearly worse, -1
    the reverse, 0 otherwise (nothing clear, or clear changes both ways).
    """
    effects = np.asarray(effects, dtype=float)
    clear = clear_flags(p_values, alpha, method)
    up, down = int((clear & (effects > 0)).sum()), int((clear & (effects < 0)).sum())
    tested = int((~np.isnan(np.asarray(p_values, dtype=float))).sum())
    score = 1 if up and not down else -1 if down and not up else 0
    return score, tested, up, down


# --- evidence lines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measured:
    """What the evidence lines of one wave are scored from (nothing in design mode)."""

    design: bool
    alpha: float
    method: str  # the rule's clear.method
    survey: pd.DataFrame  # the project's DiD rows at the wave: share agreeing, not suppressed
    indicators: pd.DataFrame  # evidence.indicator_tests at the wave, from the evidence as at the wave
    sentiment: dict  # evidence.sentiment_change at the wave, likewise
    stories: dict[str, int]  # consented stories per outcome up to the wave
    pre_trends: dict[str, str] | None = (
        None  # indicator -> the verdict on its trends before the project (trends.VERDICTS)
    )

    @classmethod
    def at(cls, fw: Framework, wave: str | None, did: pd.DataFrame | None, ev, rule: RollupRule) -> _Measured:
        alpha = 1 - fw.settings.thresholds.confidence_level
        nothing = cls(True, alpha, rule.clear.method, pd.DataFrame(), pd.DataFrame(), {}, {})
        if wave is None or wave == fw.settings.baseline:
            return nothing
        survey = pd.DataFrame()
        if did is not None and not did.empty:
            survey = did[(did["wave"] == wave) & (did["statistic"] == "agree") & ~did["suppressed"].astype(bool)]
        if ev is None:
            return replace(nothing, design=False, survey=survey)
        ev = ev.up_to(wave)  # as at the wave: nothing dated after its month, no story of a later wave
        tests, tone = evidence.indicator_tests(ev, wave), evidence.sentiment_change(ev, wave)
        pre = _pre_trends(ev, rule)
        return replace(
            nothing,
            design=False,
            survey=survey,
            indicators=tests,
            sentiment=tone,
            stories=_stories(ev, wave),
            pre_trends=pre,
        )


def _pre_trends(ev: evidence.ProjectEvidence, rule: RollupRule) -> dict[str, str]:
    """Each indicator's verdict on the trends before the project, when the rule uses them (else none)."""
    if rule.pre_trends is None:
        return {}
    checked = trends.pre_trend_tests(ev)
    return dict(zip(checked["indicator"], checked["verdict"], strict=True))


def _stories(ev: evidence.ProjectEvidence, wave: str) -> dict[str, int]:
    counts = evidence.story_counts(ev)
    waves = ev.fw.settings.wave_ids
    upto = counts[counts["wave"].map(waves.index) <= waves.index(wave)]
    return upto.groupby("outcome")["stories"].sum().astype(int).to_dict()


def _line(kind: str, weight: float, detail: str, **scored) -> dict:
    """An evidence line: planned, with no data; or, given ``scored`` (score, tested, clear_up, ...), with data."""
    row = {"line": kind, "planned": True, "measurable": kind in LINES, "has_data": bool(scored), "weight": weight}
    row |= {"score": np.nan, "tested": 0, "clear_up": 0, "clear_down": 0, "clear_items": (), "design": ""}
    return row | scored | {"detail": detail, "pre_trend": "", "certainty_weight": weight}


# --- a line's detail: which items moved, in words and names (the figures are data in the items) ------------
#
# The detail (and so the ``evidence`` column of ``python -m helpers ripple --csv``) names each item and says what
# its test shows; it writes no figures, so it never shows a rounded number such as "-0". The sections write the
# figures from ``RippleResult.items`` through ``helpers.presentation.formatting``.

VERDICTS = ("clearly better", "clearly worse", "no clear change", "cannot tell")


def item_verdict(effect: float, p_value: float, clear: bool) -> str:
    """What an item's test shows: one of VERDICTS ('cannot tell' without a test, e.g. an indicator with no
    noise estimate). ``effect`` is signed so that positive is better."""
    if pd.isna(p_value) or pd.isna(effect):
        return "cannot tell"
    if clear and effect:
        return "clearly better" if effect > 0 else "clearly worse"
    return "no clear change"


def _names(names) -> str:
    """'‘A’', '‘A’ and ‘B’', '‘A’, ‘B’ and ‘C’' (quoted: a name may hold a comma)."""
    quoted = [f"\u2018{n}\u2019" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _verdict_detail(names: list[str], verdicts: list[str]) -> str:
    """'clearly better for ‘A’ and ‘B’; no clear change for ‘C’', the verdicts in VERDICTS' order."""
    parts = []
    for verdict in VERDICTS:
        mine = [n for n, v in zip(names, verdicts, strict=True) if v == verdict]
        if mine:
            parts.append(f"{verdict} for {_names(mine)}")
    return "; ".join(parts)


def _planned_detail(names: list[str], m: _Measured) -> str:
    return f"planned: {_names(names)}" if m.design else f"no figures yet for {_names(names)}"


def _tested_line(kind: str, weight: float, found: pd.DataFrame, key: str, m: _Measured, names: dict[str, str]):
    """(line, {item: clear}) for a line of tested items (``key``, ``effect`` signed so that positive is better,
    p_value, design): scored and clear by the rule, its detail naming each item by ``names`` (in the map's order)."""
    order = list(names)
    found = found.sort_values(key, key=lambda ids: ids.map(order.index), kind="stable")  # the map's order
    score, tested, up, down = line_score(found["effect"], found["p_value"], m.alpha, m.method)
    flags = clear_flags(found["p_value"], m.alpha, m.method)
    clear = dict(zip(found[key], flags, strict=True))
    verdicts = [item_verdict(e, p, c) for e, p, c in zip(found["effect"], found["p_value"], flags, strict=True)]
    detail = _verdict_detail([names[i] for i in found[key]], verdicts)
    scored = {"score": score, "tested": tested, "clear_up": up, "clear_down": down, "design": found["design"].iloc[0]}
    return _line(kind, weight, detail, **scored, clear_items=tuple(i for i in found[key] if clear[i])), clear


BLANK_ITEM = {"effect": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "significant": False}


def _items(kind: str, ids, found: pd.DataFrame, key: str, clear: dict, values) -> list[dict]:
    """One row per item of ``ids`` (in the map's order): ``values(row)`` of its row in ``found``, else blanks."""
    by_id = found.set_index(key) if not found.empty else pd.DataFrame()
    rows = []
    for item in ids:
        shown = values(by_id.loc[item]) if item in by_id.index else {}
        rows.append(
            {"line": kind, "item": item, **BLANK_ITEM, "design": "", "n": np.nan, **shown}
            | {"clear": bool(clear.get(item, False))}
        )
    return rows


def _survey_values(r: pd.Series) -> dict:
    return {
        "effect": r["did"],
        "ci_low": r["ci_low"],
        "ci_high": r["ci_high"],
        "p_value": r["p_value"],
        "significant": bool(r["significant"]) if pd.notna(r["significant"]) else False,
        "design": r["design"],
    }


def _better_signed(tests: pd.DataFrame) -> pd.DataFrame:
    """Indicator tests with ``effect``, ``effect_low``, ``effect_high``: the net change and its interval on the
    indicator's own scale, signed so that positive is the direction that counts as better."""
    sign = np.where(tests["better"] == "lower", -1.0, 1.0)
    low, high = sign * tests["ci_low"], sign * tests["ci_high"]
    return tests.assign(
        effect=sign * tests["net_change"], effect_low=np.fmin(low, high), effect_high=np.fmax(low, high)
    )


def _indicator_values(r: pd.Series) -> dict:
    return {
        "effect": r["effect"],
        "ci_low": r["effect_low"],
        "ci_high": r["effect_high"],
        "p_value": r["p_value"],
        "significant": bool(r["clear"]),
        "design": r["design"],
        "n": r["n_pilot"] + r["n_comparison"],
    }


def _survey_line(fw: Framework, line: RippleLine, m: _Measured, rule: RollupRule, has_comparison: bool):
    """(the outcome's survey line or None, its statements as item rows)."""
    if not line.survey:
        return None, []
    names = {s: fw.instrument.statement(s).short for s in line.survey}
    found = m.survey[m.survey["measure"].isin(line.survey)] if not m.survey.empty else m.survey
    if found.empty:
        weight = rule.weight("survey-did" if has_comparison else "survey-before-after")
        row, clear = _line("survey", weight, _planned_detail(list(names.values()), m)), {}
    else:
        did_design = found["design"].iloc[0] == estimates.DIFFERENCE_IN_DIFFERENCES
        weight = rule.weight("survey-did" if did_design else "survey-before-after")
        row, clear = _tested_line("survey", weight, found.assign(effect=found["did"]), "measure", m, names)
    items = [] if m.design else _items("survey", line.survey, found, "measure", clear, _survey_values)
    return row, items


def _indicator_line(fw: Framework, line: RippleLine, m: _Measured, rule: RollupRule):
    """(the outcome's local-indicators line or None, its indicators as item rows): each indicator's net change on
    its own scale, signed to better, tested against its noise (``indicators.indicator_tests``); its certainty
    weight by the rule's ``pre_trends`` (:func:`_pre_trend`)."""
    if not line.indicators:
        return None, []
    names = {i: fw.indicator_map[i].label for i in line.indicators}
    t = m.indicators
    found = t[t["indicator"].isin(line.indicators) & (t["design"] != "no data")] if not t.empty else t
    if found.empty:
        row, clear = _line("indicators", rule.weight("indicators"), _planned_detail(list(names.values()), m)), {}
    else:
        found = _better_signed(found)
        row, clear = _tested_line("indicators", rule.weight("indicators"), found, "indicator", m, names)
        row = _pre_trend(row, m.pre_trends or {}, rule, names)
    items = [] if m.design else _items("indicators", line.indicators, found, "indicator", clear, _indicator_values)
    verdicts = m.pre_trends or {}
    return row, [item | {"pre_trend": verdicts.get(item["item"], "")} for item in items]


PRE_TREND_STATES = ("parallel", "untested", "diverging")  # best checked first
STATE_OF_VERDICT = {"alike": "parallel", "differently": "diverging"}  # any other verdict: "untested"


def _pre_trend(row: dict, verdicts: dict[str, str], rule: RollupRule, names: dict[str, str]) -> dict:
    """An indicators line with its trends before the project and the weight it counts towards certainty.

    The line's result rests on its clear indicators (a line scores +1 or -1 only when they all point its way);
    it is as well checked as the best checked of them: ``parallel`` when one of them moved alike in the pilot
    and comparison areas before the start, else ``untested`` when one could not be checked, else
    ``diverging``. A line whose result stands on a checked indicator keeps its weight, however its other
    indicators moved; one that rests only on indicators that moved differently counts the rule's
    ``pre_trends.diverging`` share of it (``untested``: that share). The detail names every clear indicator
    that moved differently before the project."""
    if rule.pre_trends is None or not verdicts or not row["clear_items"]:
        return row
    states = {i: STATE_OF_VERDICT.get(verdicts.get(i, ""), "untested") for i in row["clear_items"]}
    state = next(s for s in PRE_TREND_STATES if s in states.values())
    share = {"diverging": rule.pre_trends.diverging, "untested": rule.pre_trends.untested}.get(state, 1.0)
    detail = row["detail"]
    apart = [names[i] for i, s in states.items() if s == "diverging"]
    if apart:
        detail += f"; pilot and comparison areas moved differently before the project on {_names(apart)}"
    return row | {"pre_trend": state, "certainty_weight": row["weight"] * share, "detail": detail}


def _story_line(line: RippleLine, m: _Measured, rule: RollupRule) -> dict | None:
    if not line.stories:
        return None
    n = m.stories.get(line.outcome, 0)
    if not n:
        return _line("stories", rule.weight("stories"), "no stories shared with consent yet")
    detail = f"{n} stor{'y' if n == 1 else 'ies'} shared with consent"
    return _line("stories", rule.weight("stories"), detail, score=1, tested=n, clear_up=1, clear_down=0)


SENTIMENT_ITEM = "net tone"


def _sentiment_line(line: RippleLine, m: _Measured, rule: RollupRule) -> tuple[dict | None, list[dict]]:
    """(the outcome's sentiment line or None, its change in net tone as an item row)."""
    if not line.sentiment:
        return None, []
    tone = m.sentiment
    if not tone.get("has_data"):
        return _line("sentiment", rule.weight("sentiment"), "no sentiment items for both waves yet"), []
    clear = bool(tone["clear"])
    score = int(np.sign(tone["difference"])) if clear else 0
    verdict = item_verdict(tone["difference"], tone["p_value"], clear)
    detail = f"net tone: {verdict}, {tone['items']} pilot comments"
    scored = {"score": score, "tested": 1, "clear_up": int(score > 0), "clear_down": int(score < 0)}
    item = {
        "line": "sentiment",
        "item": SENTIMENT_ITEM,
        "effect": tone["difference"],
        "ci_low": tone["ci_low"],
        "ci_high": tone["ci_high"],
        "p_value": tone["p_value"],
        "significant": clear,
        "clear": clear,
        "design": tone["design"],
        "n": tone["items"],
    }
    return _line("sentiment", rule.weight("sentiment"), detail, **scored, design=tone["design"]), [item]


def _lines_and_items(fw, project_id, wave, did, ev, has_comparison, rule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evidence lines (LINE_COLUMNS) and their items (ITEM_COLUMNS) of every outcome in the map."""
    rule = rule_of(fw, rule)
    m = _Measured.at(fw, wave, did, ev, rule)
    lines, items = [], []
    for line in fw.project(project_id).ripple:
        base = {
            "project": project_id,
            "wave": wave or "",
            "ideal": fw.ideal_of(line.outcome).id,
            "outcome": line.outcome,
        }
        survey, survey_items = _survey_line(fw, line, m, rule, has_comparison)
        indicators, indicator_items = _indicator_line(fw, line, m, rule)
        sentiment, sentiment_items = _sentiment_line(line, m, rule)
        other = _line("other", 0.0, f"not measured in the workbook: {line.other}") if line.other else None
        for row in (survey, indicators, _story_line(line, m, rule), sentiment, other):
            if row is not None:
                lines.append(base | row)
        items += [base | {"pre_trend": ""} | item for item in survey_items + indicator_items + sentiment_items]
    frame = pd.DataFrame(lines, columns=list(LINE_COLUMNS))
    frame = frame.astype(
        {
            "planned": bool,
            "measurable": bool,
            "has_data": bool,
            "weight": float,
            "score": float,
            "certainty_weight": float,
        }
    )
    items = pd.DataFrame(items, columns=list(ITEM_COLUMNS))
    return frame, items.astype({"significant": bool, "clear": bool, "n": float})


def evidence_lines(
    fw: Framework,
    project_id: str,
    wave: str | None,
    *,
    did: pd.DataFrame | None = None,
    ev: evidence.ProjectEvidence | None = None,
    has_comparison: bool = True,
    rule: RollupRule | None = None,
) -> pd.DataFrame:
    """One row per outcome of the map x evidence line, with its score, weight and a plain-words detail.

    ``wave`` None (or the baseline) is design mode: every line is planned, none has data. ``did`` is
    :func:`helpers.methods.estimates.did` for the project; ``ev`` the project's other evidence; ``rule`` the
    roll-up rule (default: the framework's). See the module docstring for the scores and LINE_COLUMNS for
    the columns.
    """
    return _lines_and_items(fw, project_id, wave, did, ev, has_comparison, rule)[0]


# --- the roll-up ------------------------------------------------------------------------------------


def _score_text(rows: pd.DataFrame, kind: str) -> str:
    r = rows[rows["line"] == kind]
    if r.empty:
        return ""
    if not r["has_data"].iloc[0]:
        return "no data"
    return f"{int(r['score'].iloc[0]):+d}" if r["score"].iloc[0] else "0"


def strength_words(rule: RollupRule, strength: float, *, disagrees: bool = False, survey_agrees=None) -> str:
    """The words for a strength by the rule: the band's words; the disagreement words when the evidence
    disagrees; a word of ``survey_must_agree`` steps one band towards the middle (until it is not one of them)
    when ``survey_agrees`` is False (there is survey evidence and none of it moved the strength's way)."""
    if strength is None or math.isnan(strength):
        return rule.strength_words(math.nan)
    if disagrees:
        return rule.disagreement.words
    bands = [b.words for b in rule.strength.bands]
    words = rule.strength_words(strength)
    step = 1 if strength > 0 else -1
    while survey_agrees is False and words in rule.survey_must_agree and 0 <= bands.index(words) + step < len(bands):
        words = bands[bands.index(words) + step]
    return words


def _survey_agrees(scores: pd.Series, strength: float):
    """None without survey evidence; else whether any survey line's score is the sign of ``strength``."""
    scores = scores.dropna()
    if scores.empty or math.isnan(strength):
        return None
    return bool(strength != 0 and (scores == np.sign(strength)).any())


def _net_certainty(values: pd.Series, leaning: pd.Series, sign: float, rule: RollupRule, total: float) -> float:
    """(sum of ``values`` leaning ``sign`` - subtract x sum of those leaning the other way) / total, at least 0."""
    if total <= 0:
        return 0.0
    if sign == 0:
        return 0.0
    agreeing = values[leaning == sign].sum()
    disagreeing = values[leaning == -sign].sum()
    return float(max(0.0, agreeing - rule.disagreement.subtract * disagreeing) / total)


def _outcome_row(fw: Framework, outcome: str, rows: pd.DataFrame, rule: RollupRule) -> dict:
    """An outcome's strength, certainty and words from its evidence lines ``rows``."""
    m = rows[rows["measurable"] & rows["planned"]]
    data = m[m["has_data"]]
    total = data["weight"].sum()
    strength = float((data["weight"] * data["score"]).sum() / total) if total > 0 else math.nan
    planned_weight = float(m["weight"].sum())
    sign = np.sign(strength) if not math.isnan(strength) else 0
    trusted = data["certainty_weight"] if "certainty_weight" in data else data["weight"]  # pre_trends in the rule
    certainty = _net_certainty(trusted, data["score"], sign, rule, planned_weight)
    disagrees = bool((data["score"] > 0).any() and (data["score"] < 0).any())
    survey = data.loc[data["line"] == "survey", "score"]
    return {
        "ideal": fw.ideal_of(outcome).id,
        "outcome": outcome,
        "label": fw.outcomes[outcome].label,
        **{kind: _score_text(rows, kind) for kind in LINES},
        "lines_planned": len(m),
        "lines_with_data": len(data),
        "planned_weight": planned_weight,
        **_verdict(rule, strength, certainty, disagrees, survey),
        "survey_score": float(survey.iloc[0]) if len(survey) else math.nan,
        "evidence": " | ".join(f"{LINE_NAMES.get(r.line, 'Other')}: {r.detail}" for r in rows.itertuples() if r.detail),
    }


def _verdict(rule: RollupRule, strength: float, certainty: float, disagrees: bool, survey: pd.Series) -> dict:
    """An outcome's or an ideal's strength and certainty with their words (the rule's, one way for both)."""
    return {
        "strength": strength,
        "strength_words": strength_words(
            rule, strength, disagrees=disagrees, survey_agrees=_survey_agrees(survey, strength)
        ),
        "certainty": certainty,
        "certainty_words": rule.certainty_words(certainty),
        "disagrees": disagrees,
    }


def _ideal_row(ideal, outcomes: pd.DataFrame, rule: RollupRule) -> dict:
    """An ideal's strength (mean over its outcomes with evidence), certainty (over all of them, outcomes
    leaning the other way taken off) and words."""
    mine = outcomes[outcomes["ideal"] == ideal.id] if not outcomes.empty else outcomes
    evidenced = mine[mine["strength"].notna()] if not mine.empty else mine
    strength = float(evidenced["strength"].mean()) if len(evidenced) else math.nan
    sign = np.sign(strength) if not math.isnan(strength) else 0
    certainty = (
        _net_certainty(mine["certainty"], np.sign(mine["strength"]), sign, rule, len(mine)) if len(mine) else math.nan
    )
    leans = np.sign(evidenced["strength"]) if len(evidenced) else pd.Series(dtype=float)
    disagrees = bool(len(evidenced) and (evidenced["disagrees"].any() or ((leans > 0).any() and (leans < 0).any())))
    survey = evidenced["survey_score"] if len(evidenced) else pd.Series(dtype=float)
    return {
        "ideal": ideal.id,
        "label": ideal.name,
        "outcomes_in_map": len(mine),
        "outcomes_with_evidence": len(evidenced),
        "lines_planned": int(mine["lines_planned"].sum()) if len(mine) else 0,
        "planned_weight": float(mine["planned_weight"].sum()) if len(mine) else 0.0,
        **_verdict(rule, strength, certainty, disagrees, survey),
    }


def rollup(
    lines: pd.DataFrame, fw: Framework, project_id: str, rule: RollupRule | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(outcomes, ideals) from the evidence lines by the rule in the module docstring.

    outcomes: project, wave, ideal, outcome, label, survey, indicators, stories, sentiment (each '+1', '0',
    '-1', 'no data' or blank when not planned), lines_planned, lines_with_data, planned_weight, strength,
    strength_words, certainty, certainty_words, disagrees (its lines point clearly both ways), survey_score
    (its survey line's score, blank without data), evidence. ideals: project, wave, ideal, label,
    outcomes_in_map, outcomes_with_evidence, planned_weight, strength, strength_words, certainty,
    certainty_words, disagrees; one row per ideal in framework order, also when the map has none of its
    outcomes.
    """
    rule = rule_of(fw, rule)
    head = {"project": project_id, "wave": lines["wave"].iloc[0] if not lines.empty else ""}
    outcomes = pd.DataFrame(
        [
            head | _outcome_row(fw, line.outcome, lines[lines["outcome"] == line.outcome], rule)
            for line in fw.project(project_id).ripple
        ]
    )
    ideals = pd.DataFrame([head | _ideal_row(ideal, outcomes, rule) for ideal in fw.ideals])
    return outcomes, ideals


def strongest(ideals: pd.DataFrame) -> str | None:
    """The ideal with the greatest strength (ties: greater certainty, then framework order); None without evidence."""
    have = ideals[ideals["strength"].notna()]
    if have.empty:
        return None
    order = {i: n for n, i in enumerate(IDEAL_IDS)}
    ranked = have.assign(_o=have["ideal"].map(order)).sort_values(
        ["strength", "certainty", "_o"], ascending=[False, False, True]
    )
    return str(ranked["ideal"].iloc[0])


def ripple_frame(outcomes: pd.DataFrame, ideals: pd.DataFrame) -> pd.DataFrame:
    """Outcome rows then ideal rows in one tidy table (the ``ripple --csv`` output): RIPPLE_COLUMNS."""
    o = outcomes.assign(level="outcome", outcomes_in_map=np.nan, outcomes_with_evidence=np.nan)
    i = ideals.assign(
        level="ideal",
        outcome="",
        **dict.fromkeys(LINES, ""),
        lines_with_data=np.nan,
        evidence="",
    )
    frame = pd.concat([o, i], ignore_index=True)[list(RIPPLE_COLUMNS)]
    for c in ("lines_planned", "lines_with_data", "outcomes_in_map", "outcomes_with_evidence"):
        frame[c] = frame[c].astype("Int64")
    frame["strength"] = frame["strength"].round(3)
    frame["certainty"] = frame["certainty"].round(3)
    return frame


def planned_reach(
    fw: Framework, project_id: str, rule: RollupRule | None = None, *, has_comparison: bool = True
) -> pd.DataFrame:
    """Design mode, from the map alone (no data needed): per ideal, how much of it the map plans to evidence.

    One row per ideal in framework order, REACH_COLUMNS: the ideal's outcomes in the framework and in the map;
    the map's distinct survey statements and indicators for them; how many of them plan stories, sentiment
    and other evidence; the measurable lines planned and their weight (the ripple chart's design mode).
    """
    project = fw.project(project_id)
    lines = evidence_lines(fw, project_id, None, has_comparison=has_comparison, rule=rule)
    planned = rollup(lines, fw, project_id, rule)[1].set_index("ideal")
    rows = []
    for ideal in fw.ideals:
        ids = {o.id for o in ideal.outcomes}
        mine = [ln for ln in project.ripple if ln.outcome in ids]
        rows.append(
            {
                "project": project_id,
                "ideal": ideal.id,
                "label": ideal.name,
                "outcomes": len(ideal.outcomes),
                "outcomes_in_map": len(mine),
                "survey_statements": len({s for ln in mine for s in ln.survey}),
                "indicators": len({i for ln in mine for i in ln.indicators}),
                **{kind: sum(bool(getattr(ln, kind)) for ln in mine) for kind in ("stories", "sentiment", "other")},
                "lines_planned": int(planned.loc[ideal.id, "lines_planned"]),
                "planned_weight": float(planned.loc[ideal.id, "planned_weight"]),
            }
        )
    return pd.DataFrame(rows, columns=list(REACH_COLUMNS))


# --- computing a project's ripple ---------------------------------------------------------------------


@dataclass
class RippleResult:
    project: str
    wave: str  # the wave assessed ('' in design mode with no survey data)
    design_mode: bool
    lines: pd.DataFrame  # LINE_COLUMNS
    outcomes: pd.DataFrame  # see rollup
    ideals: pd.DataFrame  # see rollup
    items: pd.DataFrame  # ITEM_COLUMNS (empty in design mode)

    @property
    def strongest(self) -> str | None:
        return strongest(self.ideals)

    def frame(self) -> pd.DataFrame:
        return ripple_frame(self.outcomes, self.ideals)

    def clear_statements(self) -> set[str]:
        """Survey statements counted as clear (after Holm) in at least one outcome's survey line."""
        survey = self.lines.loc[self.lines["line"] == "survey", "clear_items"]
        return {s for found in survey for s in found}


def ripple_of(
    fw: Framework,
    project_id: str,
    wave: str | None,
    ev: evidence.ProjectEvidence | None,
    did: pd.DataFrame | None,
    has_comparison: bool,
    rule: RollupRule | None = None,
) -> RippleResult:
    """A project's ripple at ``wave`` (None or the baseline: design mode) from its other evidence ``ev`` and
    difference-in-differences ``did`` (None in design mode): what ``ProjectData.ripple`` computes once."""
    design = wave is None or wave == fw.settings.baseline
    lines, items = _lines_and_items(fw, project_id, wave, did, ev, has_comparison, rule)
    outcomes, ideals = rollup(lines, fw, project_id, rule)
    if design:  # nothing is measured yet: certainty is not a statement about evidence
        for frame in (outcomes, ideals):
            frame["certainty"] = np.nan
            frame["certainty_words"] = ""
        for kind in LINES:
            outcomes[kind] = outcomes[kind].replace("no data", "planned")
    return RippleResult(project_id, wave or "", design, lines, outcomes, ideals, items)


def wave_problem(data, wave: str | None) -> str | None:
    """Why ``data`` (a ``ProjectData``) has no ripple at ``wave`` (an unknown wave, or one without survey
    data), or None; None is always fine (design mode)."""
    fw, waves = data.fw, data.survey_waves
    if wave is not None and wave not in fw.settings.wave_ids:
        return f"unknown wave '{wave}'; known: {allowed(fw.settings.wave_ids)}"
    if wave is not None and wave not in waves:
        return (
            f"wave '{wave}' has no survey data for project {data.project.id}; waves with data: "
            f"{allowed(waves) if waves else 'none'}"
        )
    return None


# --- the rule as docs/ripple.md states it -----------------------------------------------------------

DOC = paths.ROOT / "docs" / "ripple.md"
RULE_START, RULE_END = "<!-- rule:start -->\n", "<!-- rule:end -->"


def _bound(value: float) -> str:
    """A bound as a reader reads it: 0.5, -0.2, 2/3."""
    fraction = Fraction(value).limit_denominator(12)
    if float(fraction) == value and fraction.denominator not in (1, 2, 4, 5, 10):
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:g}"


def _scale_words(scale: WordScale) -> str:
    parts, previous = [], None
    for band in scale.bands:
        if band.at_least is not None:
            parts.append(f'{_bound(band.at_least)} or more "{band.words}"')
        elif band.above is not None:
            parts.append(f'above {_bound(band.above)} "{band.words}"')
        elif previous is None:
            parts.append(f'always "{band.words}"')
        elif previous.at_least is not None:
            parts.append(f'below {_bound(previous.at_least)} "{band.words}"')
        else:
            parts.append(f'{_bound(previous.above)} or less "{band.words}"')
        previous = band
    return ", ".join(parts)


def rule_markdown(rule: RollupRule) -> str:
    """The part of docs/ripple.md that states the roll-up rule's values (between its rule markers)."""
    rows = [f"| {w.line} | {w.weight:g} | {w.why} |" for w in rule.weights.values()]
    survey = (
        f"A survey line weighs {rule.weight('survey-did'):g} when the project has comparison areas and "
        f"{rule.weight('survey-before-after'):g} when it has none."
    )
    none = f' (no line with data: "{rule.strength.none}")' if rule.strength.none else ""
    words = f"Words: strength {_scale_words(rule.strength)}{none}. Certainty {_scale_words(rule.certainty)}."
    clear = CLEAR_METHODS[rule.clear.method] + f" Why: {rule.clear.why}"
    d = rule.disagreement
    disagree = (
        "**Disagreement.** When an outcome's lines point clearly in opposite directions (one scores +1, another "
        "-1), or an ideal's outcomes disagree (one of them does, or they lean in opposite directions), the "
        f'strength is called "{d.words}" whatever its value, and certainty subtracts {d.subtract:g} times the '
        "weight of the lines (the certainty of the outcomes) pointing the other way from that of those agreeing "
        f"(never below 0). Why: {d.why}."
    )
    pre = rule.pre_trends
    pre_words = (
        "**Trends before the project.** A local-indicators line whose clear result rests only on indicators whose "
        "pilot and comparison areas moved differently before the project's start counts "
        f"{pre.diverging:g} times its weight towards certainty (its strength is unchanged); one whose clear "
        "indicators could not be checked (too few figures before the start, or no comparison areas' figures) "
        f"counts {pre.untested:g} times it. A line with a clear indicator that moved alike before the start keeps "
        f"its weight. Why: {pre.why}"
        if pre is not None
        else ""
    )
    needs = " and ".join(f'"{w}"' for w in rule.survey_must_agree)
    survey_words = (
        f"**The survey must agree.** {needs[0].upper() + needs[1:]} need the survey: an outcome or ideal with "
        "survey evidence none of which clearly moved the way its strength points takes the next words towards "
        "the middle."
        if rule.survey_must_agree
        else ""
    )
    where = (
        "(`data/framework/ripple.yaml` holds these values: change them there and say why in its `why`. This "
        "part of the page is written from that file by `python -m helpers docs`; a test checks it.)"
    )
    table = "\n".join(["| line | weight | why |", "| --- | --- | --- |", *rows])
    parts = [table, survey, words, f"**Clear.** {clear}", disagree, survey_words, pre_words, where]
    return "\n\n".join(p for p in parts if p) + "\n"


# How the rule's clear.method is stated (docs/ripple.md, and the reports' method notes say the same in short).
CLEAR_METHODS = {
    "each": (
        "A survey statement's or local indicator's change is clear when its own test says so at the framework's "
        "confidence level (for a statement: its interval excludes no change), the same verdict the survey tables "
        'show as "Clear change?"; every section and sentence uses it.'
    ),
    "holm": (
        "A survey statement's or local indicator's change counts as clear only when it survives Holm's correction "
        "over the outcome's statements (indicators); stricter than the survey tables' \"Clear change?\", which "
        "show each statement's own test."
    ),
}


__all__ = [
    "RollupRule",
    "RippleResult",
    "evidence_lines",
    "rollup",
    "strongest",
    "ripple_frame",
    "planned_reach",
    "ripple_of",
    "rule_markdown",
]
