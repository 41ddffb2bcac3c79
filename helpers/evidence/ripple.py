"""The ripple: evidence per outcome of a project's map, rolled up to co-operative place, people and public services.

Seed 000 (4.9): a project's specific outcomes, each measured by survey statements, local indicators,
co-operative stories and sentiment, "can then be aggregated up, at which point you begin to feel the ripple
effect". This module makes that aggregation a transparent rule (docs/ripple.md, "The roll-up rule"):

1. Every evidence line of every outcome in the map scores +1 (clear improvement), 0 (no clear change, or
   clear changes both ways) or -1 (clear worsening):

   - survey: the project's difference-in-differences (pilots pooled against comparisons; before-and-after
     when there are no comparison areas) in the share agreeing with each of the outcome's statements, at
     the chosen wave; a statement's change is clear when it survives Holm's correction for the number of
     statements of the outcome at the framework's confidence level;
   - local indicators: each indicator's improvement (in the direction that counts as better) in pilots
     against comparisons, tested against the indicator's own ups and downs before the baseline
     (:func:`helpers.evidence.evidence.indicator_tests`), Holm-corrected within the outcome;
   - stories: +1 when at least one story shared with consent is linked to the outcome (stories show how a
     change happened, never how often, so they cannot score below zero and carry the least weight);
   - sentiment: +1 / -1 when net tone (positive minus negative) changed clearly in pilots against
     comparisons (:func:`helpers.evidence.evidence.sentiment_change`), else 0.

2. Strength of an outcome = the weighted mean of the scores of its lines that have data (weights in
   :class:`RollupRule`: survey difference-in-differences 4, survey before-and-after 3, indicators 2, stories 1,
   sentiment 1), from -1 to +1. Certainty of an outcome = the weight of its lines with a clear result in the
   direction of its strength, over the weight of every measurable line the map plans for it (0 to 1).

3. An ideal's strength = the mean strength of its outcomes that have evidence; its certainty = the mean
   certainty of all its outcomes in the map (an outcome with no evidence counts 0). ``reach`` = the number of
   the ideal's outcomes in the map.

Public functions: :func:`evidence_lines`, :func:`rollup`, :func:`planned_reach`, :func:`project_ripple`,
:func:`report_ripple`, :func:`ripple_frame` (the CSV of ``python -m helpers ripple``), :func:`ripple_chart`;
report sections :func:`in_brief` and :func:`ripple_section`.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import cache
from ..config.errors import UserError, allowed
from ..config.framework import IDEAL_IDS, Framework
from ..methods import estimates
from ..presentation import charts
from ..presentation.report import Section
from ..store import access as analysis
from ..store import database as store
from . import evidence

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

    from ..presentation.report import ProjectReport

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
    "design",
    "detail",
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
    "evidence",
)


@dataclass(frozen=True)
class RollupRule:
    """The weights and word thresholds of the roll-up (docs/ripple.md). Change them here, and say why there."""

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "survey-did": 4.0,  # survey, pilot change against comparison change (Maryland SMS level 3)
            "survey-before-after": 3.0,  # survey, pilot change only (SMS level 2)
            "indicators": 2.0,  # administrative data: whole populations, but many influences
            "stories": 1.0,  # how a change happened for someone, not how often
            "sentiment": 1.0,  # few, self-selected comments
        }
    )
    strong: float = 0.5  # strength at or above: "strong"; at or below minus this: "clear worsening"
    moderate: float = 0.2  # at or above: "moderate"; between -moderate and +moderate: "little or none"
    certainty_high: float = 2 / 3
    certainty_moderate: float = 1 / 3

    def strength_words(self, s: float) -> str:
        if pd.isna(s):
            return "no evidence yet"
        if s >= self.strong:
            return "strong"
        if s >= self.moderate:
            return "moderate"
        if s > -self.moderate:
            return "little or none"
        if s > -self.strong:
            return "some worsening"
        return "clear worsening"

    def certainty_words(self, c: float) -> str:
        if pd.isna(c):
            return ""
        if c >= self.certainty_high:
            return "high"
        if c >= self.certainty_moderate:
            return "moderate"
        return "low"


RULE = RollupRule()


def rule_key(rule: RollupRule) -> str:
    """A short digest of the rule's settings: results under another rule are never mixed up."""
    import hashlib

    return hashlib.sha256(repr(rule).encode()).hexdigest()[:8]


def line_score(effects, p_values, alpha: float) -> tuple[int, int, int, int]:
    """(score, tested, clear up, clear down) for one evidence line of an outcome.

    Holm's correction over the line's tested items; +1 if at least one item is clearly better and none
    clearly worse, -1 the reverse, 0 otherwise (nothing clear, or clear changes both ways).
    """
    effects = np.asarray(effects, dtype=float)
    clear = evidence.holm_clear(p_values, alpha)
    up, down = int((clear & (effects > 0)).sum()), int((clear & (effects < 0)).sum())
    tested = int((~np.isnan(np.asarray(p_values, dtype=float))).sum())
    score = 1 if up and not down else -1 if down and not up else 0
    return score, tested, up, down


# --- evidence lines ---------------------------------------------------------------------------------


def evidence_lines(
    fw: Framework,
    project_id: str,
    wave: str | None,
    *,
    did: pd.DataFrame | None = None,
    ev: evidence.ProjectEvidence | None = None,
    has_comparison: bool = True,
    rule: RollupRule = RULE,
) -> pd.DataFrame:
    """One row per outcome of the map x evidence line, with its score, weight and a plain-words detail.

    ``wave`` None (or the baseline) is design mode: every line is planned, none has data. ``did`` is
    :func:`helpers.methods.estimates.did` for the project; ``ev`` the project's other evidence. See the module
    docstring for the scores and LINE_COLUMNS for the columns.
    """
    project = fw.project(project_id)
    alpha = 1 - fw.settings.thresholds.confidence_level
    design_mode = wave is None or wave == fw.settings.baseline
    w = rule.weights
    rows = []
    survey_rows = pd.DataFrame()
    if not design_mode and did is not None and not did.empty:
        survey_rows = did[(did["wave"] == wave) & (did["statistic"] == "agree") & ~did["suppressed"].astype(bool)]
    ind_tests = evidence.indicator_tests(ev, wave) if (ev is not None and not design_mode) else pd.DataFrame()
    sentiment = evidence.sentiment_change(ev, wave) if (ev is not None and not design_mode) else {"has_data": False}
    stories = _story_totals(ev, wave) if (ev is not None and not design_mode) else {}
    for line in project.ripple:
        ideal = fw.ideal_of(line.outcome).id
        base = {"project": project_id, "wave": wave or "", "ideal": ideal, "outcome": line.outcome}

        def add(
            kind,
            *,
            planned,
            weight,
            has_data=False,
            score=np.nan,
            tested=0,
            up=0,
            down=0,
            design="",
            detail="",
            base=base,
        ):
            rows.append(
                base
                | {
                    "line": kind,
                    "planned": planned,
                    "measurable": kind in LINES,
                    "has_data": has_data,
                    "weight": weight,
                    "score": score,
                    "tested": tested,
                    "clear_up": up,
                    "clear_down": down,
                    "design": design,
                    "detail": detail,
                }
            )

        # survey
        planned_weight = w["survey-did"] if has_comparison else w["survey-before-after"]
        rows_here = (
            survey_rows[survey_rows["measure"].isin(line.survey)] if line.survey and not survey_rows.empty else None
        )
        if not line.survey:
            pass
        elif rows_here is None or rows_here.empty:
            add("survey", planned=True, weight=planned_weight, detail=_planned_survey(fw, line.survey))
        else:
            design = rows_here["design"].iloc[0]
            weight = w["survey-did"] if design == estimates.DIFFERENCE_IN_DIFFERENCES else w["survey-before-after"]
            score, tested, up, down = line_score(rows_here["did"], rows_here["p_value"], alpha)
            clear = evidence.holm_clear(rows_here["p_value"], alpha)
            detail = "; ".join(
                f"{r.measure} {100 * r.did:+.0f} points{' (clear)' if c else ''}"
                for r, c in zip(rows_here.itertuples(), clear, strict=True)
            )
            add(
                "survey",
                planned=True,
                weight=weight,
                has_data=True,
                score=score,
                tested=tested,
                up=up,
                down=down,
                design=design,
                detail=detail,
            )
        # local indicators
        if line.indicators:
            t = (
                ind_tests[ind_tests["indicator"].isin(line.indicators) & (ind_tests["design"] != "no data")]
                if not ind_tests.empty
                else ind_tests
            )
            if t.empty:
                add("indicators", planned=True, weight=w["indicators"], detail=", ".join(line.indicators))
            else:
                score, tested, up, down = line_score(t["net_pct"], t["p_value"], alpha)
                clear = evidence.holm_clear(t["p_value"], alpha)
                detail = "; ".join(
                    f"{r.indicator} {r.net_pct:+.0f}% {'better' if r.net_pct > 0 else 'worse'}{' (clear)' if c else ''}"
                    for r, c in zip(t.itertuples(), clear, strict=True)
                )
                add(
                    "indicators",
                    planned=True,
                    weight=w["indicators"],
                    has_data=True,
                    score=score,
                    tested=tested,
                    up=up,
                    down=down,
                    design=t["design"].iloc[0],
                    detail=detail,
                )
        # stories
        if line.stories:
            n = stories.get(line.outcome, 0)
            if n:
                add(
                    "stories",
                    planned=True,
                    weight=w["stories"],
                    has_data=True,
                    score=1,
                    tested=n,
                    up=1,
                    detail=f"{n} stor{'y' if n == 1 else 'ies'} shared with consent",
                )
            else:
                add("stories", planned=True, weight=w["stories"], detail="no stories shared with consent yet")
        # sentiment
        if line.sentiment:
            if sentiment.get("has_data"):
                clear = bool(sentiment["clear"])
                score = int(np.sign(sentiment["difference"])) if clear else 0
                add(
                    "sentiment",
                    planned=True,
                    weight=w["sentiment"],
                    has_data=True,
                    score=score,
                    tested=1,
                    up=int(score > 0),
                    down=int(score < 0),
                    design=sentiment["design"],
                    detail=f"net tone {100 * sentiment['difference']:+.0f} points{' (clear)' if clear else ''}, "
                    f"{sentiment['items']} pilot comments",
                )
            else:
                add("sentiment", planned=True, weight=w["sentiment"], detail="no sentiment items for both waves yet")
        if line.other:
            add("other", planned=True, weight=0.0, detail=f"not measured in the workbook: {line.other}")
    frame = pd.DataFrame(rows, columns=list(LINE_COLUMNS))
    return frame.astype({"planned": bool, "measurable": bool, "has_data": bool, "weight": float, "score": float})


def _planned_survey(fw: Framework, statements) -> str:
    return "; ".join(f"{s} {fw.instrument.statement(s).short}" for s in statements)


def _story_totals(ev: evidence.ProjectEvidence, wave: str) -> dict[str, int]:
    counts = evidence.story_counts(ev)
    waves = ev.fw.settings.wave_ids
    upto = counts[counts["wave"].map(waves.index) <= waves.index(wave)]
    return upto.groupby("outcome")["stories"].sum().astype(int).to_dict()


# --- the roll-up ------------------------------------------------------------------------------------


def _score_text(rows: pd.DataFrame, kind: str) -> str:
    r = rows[rows["line"] == kind]
    if r.empty:
        return ""
    if not r["has_data"].iloc[0]:
        return "no data"
    return f"{int(r['score'].iloc[0]):+d}" if r["score"].iloc[0] else "0"


def rollup(
    lines: pd.DataFrame, fw: Framework, project_id: str, rule: RollupRule = RULE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(outcomes, ideals) from the evidence lines by the rule in the module docstring.

    outcomes: project, wave, ideal, outcome, label, survey, indicators, stories, sentiment (each '+1', '0',
    '-1', 'no data' or blank when not planned), lines_planned, lines_with_data, planned_weight, strength,
    strength_words, certainty, certainty_words, evidence. ideals: project, wave, ideal, label,
    outcomes_in_map, outcomes_with_evidence, planned_weight, strength, strength_words, certainty,
    certainty_words; one row per ideal in framework order, also when the map has none of its outcomes.
    """
    project = fw.project(project_id)
    wave = lines["wave"].iloc[0] if not lines.empty else ""
    out = []
    for line in project.ripple:
        rows = lines[lines["outcome"] == line.outcome]
        m = rows[rows["measurable"] & rows["planned"]]
        data = m[m["has_data"]]
        total = data["weight"].sum()
        strength = float((data["weight"] * data["score"]).sum() / total) if total > 0 else math.nan
        planned_weight = float(m["weight"].sum())
        sign = np.sign(strength) if not math.isnan(strength) else 0
        agreeing = data.loc[(data["score"] == sign) & (sign != 0), "weight"].sum()
        certainty = float(agreeing / planned_weight) if planned_weight > 0 else 0.0
        out.append(
            {
                "project": project_id,
                "wave": wave,
                "ideal": fw.ideal_of(line.outcome).id,
                "outcome": line.outcome,
                "label": fw.outcomes[line.outcome].label,
                **{kind: _score_text(rows, kind) for kind in LINES},
                "lines_planned": len(m),
                "lines_with_data": len(data),
                "planned_weight": planned_weight,
                "strength": strength,
                "strength_words": rule.strength_words(strength),
                "certainty": certainty,
                "certainty_words": rule.certainty_words(certainty),
                "evidence": " | ".join(
                    f"{LINE_NAMES.get(r.line, 'Other')}: {r.detail}" for r in rows.itertuples() if r.detail
                ),
            }
        )
    outcomes = pd.DataFrame(out)
    ideals = []
    for ideal in fw.ideals:
        mine = outcomes[outcomes["ideal"] == ideal.id] if not outcomes.empty else outcomes
        evidenced = mine[mine["strength"].notna()] if not mine.empty else mine
        strength = float(evidenced["strength"].mean()) if len(evidenced) else math.nan
        certainty = float(mine["certainty"].mean()) if len(mine) else math.nan
        ideals.append(
            {
                "project": project_id,
                "wave": wave,
                "ideal": ideal.id,
                "label": ideal.name,
                "outcomes_in_map": len(mine),
                "outcomes_with_evidence": len(evidenced),
                "lines_planned": int(mine["lines_planned"].sum()) if len(mine) else 0,
                "planned_weight": float(mine["planned_weight"].sum()) if len(mine) else 0.0,
                "strength": strength,
                "strength_words": rule.strength_words(strength),
                "certainty": certainty,
                "certainty_words": rule.certainty_words(certainty),
            }
        )
    return outcomes, pd.DataFrame(ideals)


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
    fw: Framework, project_id: str, rule: RollupRule = RULE, *, has_comparison: bool = True
) -> pd.DataFrame:
    """Design mode: the ideals frame of :func:`rollup` from the map alone (no data needed)."""
    lines = evidence_lines(fw, project_id, None, has_comparison=has_comparison, rule=rule)
    return rollup(lines, fw, project_id, rule)[1]


# --- computing a project's ripple ---------------------------------------------------------------------


@dataclass
class RippleResult:
    project: str
    wave: str  # the wave assessed ('' in design mode with no survey data)
    design_mode: bool
    lines: pd.DataFrame
    outcomes: pd.DataFrame
    ideals: pd.DataFrame
    evidence: evidence.ProjectEvidence | None = None
    did: pd.DataFrame | None = None

    @property
    def strongest(self) -> str | None:
        return strongest(self.ideals)

    def frame(self) -> pd.DataFrame:
        return ripple_frame(self.outcomes, self.ideals)


def _compute(fw, project_id, wave, ev, did, has_comparison, rule) -> RippleResult:
    design = wave is None or wave == fw.settings.baseline
    lines = evidence_lines(fw, project_id, wave, did=did, ev=ev, has_comparison=has_comparison, rule=rule)
    outcomes, ideals = rollup(lines, fw, project_id, rule)
    if design:  # nothing is measured yet: certainty is not a statement about evidence
        for frame in (outcomes, ideals):
            frame["certainty"] = np.nan
            frame["certainty_words"] = ""
        for kind in LINES:
            outcomes[kind] = outcomes[kind].replace("no data", "planned")
    return RippleResult(project_id, wave or "", design, lines, outcomes, ideals, ev, did)


def project_ripple(
    db: Path | str, fw: Framework, project_id: str, wave: str | None = None, rule: RollupRule = RULE
) -> RippleResult:
    """A project's ripple at ``wave`` (default: the latest wave with survey data) from the database."""
    fw.project(project_id)
    ev = evidence.load_project_evidence(db, fw, project_id)
    if ev.areas.empty:
        raise UserError(
            f"no neighbourhoods are mapped to project {project_id} in the areas table; "
            "import an areas file with rows for it (role pilot or comparison)"
        )
    if wave is not None and wave not in fw.settings.wave_ids:
        raise UserError(f"unknown wave '{wave}'; known: {allowed(fw.settings.wave_ids)}")
    if wave is not None and wave not in ev.survey_waves:
        raise UserError(
            f"wave '{wave}' has no survey data for project {project_id}; waves with data: "
            f"{allowed(ev.survey_waves) if ev.survey_waves else 'none'}"
        )
    wave = wave or (ev.survey_waves[-1] if ev.survey_waves else None)
    did = None
    if wave is not None and wave != fw.settings.baseline:
        con = store.connect(db, read_only=True)
        try:
            areas = analysis.load_areas(con)
            population = analysis.load_population(con)
            responses = analysis.load_responses(con, fw, ev.areas["neighbourhood"].tolist())
        finally:
            con.close()
        scores = estimates.scores(responses, population, fw)
        did = estimates.did(scores, population, areas, project_id, fw)
    return _compute(fw, project_id, wave, ev, did, bool(ev.comparisons), rule)


def report_ripple(report: ProjectReport, rule: RollupRule = RULE) -> RippleResult:
    """The ripple at the report's wave (design mode at the baseline), computed once per report object."""
    memo = report.__dict__.setdefault("_evidence_cache", {})
    if "ripple" not in memo:

        def compute() -> RippleResult:
            ev = evidence.for_report(report)
            did = report.did if report.wave != report.fw.settings.baseline else None
            return _compute(report.fw, report.project_id, report.wave, ev, did, bool(ev.comparisons), rule)

        result = cache.shared(report, f"ripple-{report.wave}-{rule_key(rule)}", compute)
        memo["ripple"] = result
        if result.evidence is not None:  # the evidence comes with what the roll-up already computed from it
            memo.setdefault("evidence", result.evidence)
    return memo["ripple"]


# --- the ripple chart ---------------------------------------------------------------------------------


@evidence.styled
def ripple_chart(ideals: pd.DataFrame, *, title: str, design: bool = False) -> plt.Figure:
    """Concentric ripple: one sector per ideal around the co-operative solution.

    Evidence mode: a sector's radius is the ideal's strength (0 at the inner circle, 1 at the outer ring;
    a negative strength is drawn hatched), its opacity the certainty, and the label gives both in words.
    Design mode: the radius is the planned reach (the ideal's weight of planned evidence lines relative to
    the largest), drawn as an outline, labelled with the outcomes and lines planned.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    fig = plt.figure(figsize=(7.2, 6.2))
    ax = fig.add_subplot(projection="polar")
    inner = 0.28
    colours = {i: to_rgb(charts.PALETTE[k]) for k, i in enumerate(IDEAL_IDS)}
    sector = 2 * np.pi / len(IDEAL_IDS)
    top = max(ideals["planned_weight"].max(), 1.0) if design else 1.0
    circle = np.linspace(0, 2 * np.pi, 200)
    for ring in (0.25, 0.5, 0.75, 1.0):
        r = inner + ring * (1 - inner)
        ax.plot(circle, np.full(200, r), color="#bdbdbd", lw=0.8, ls="--", zorder=0)
        shown = f"{ring:g}" if not design else f"{ring:.0%}"
        ax.text(
            3 * np.pi / 2,
            r,
            shown,
            ha="center",
            va="center",
            fontsize=7,
            color="#757575",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
        )
    ax.fill_between(circle, 0, inner, color="#f0f0f0", zorder=1)
    ax.plot(circle, np.full(200, inner), color="#9e9e9e", lw=1, zorder=1)
    ax.text(0, 0, "co-operative\nsolution", ha="center", va="center", fontsize=8, zorder=5)
    for k, row in enumerate(ideals.itertuples()):
        theta = np.pi / 2 + (1 - k) * sector  # place left, people at the top, public services right
        colour = colours[row.ideal]
        if design:
            extent = row.planned_weight / top
            ax.bar(
                theta,
                extent * (1 - inner),
                width=sector * 0.92,
                bottom=inner,
                facecolor=(*colour, 0.18),
                edgecolor=colour,
                lw=2,
                ls="--",
                zorder=2,
            )
            words = (
                f"{row.outcomes_in_map} outcome{'s' if row.outcomes_in_map != 1 else ''}, "
                f"{row.lines_planned} evidence line{'s' if row.lines_planned != 1 else ''} planned"
            )
        elif pd.isna(row.strength):
            words = f"{row.outcomes_in_map} outcome{'s' if row.outcomes_in_map != 1 else ''}; no evidence yet"
        else:
            alpha = 0.25 + 0.75 * (0 if pd.isna(row.certainty) else row.certainty)
            ax.bar(
                theta,
                abs(row.strength) * (1 - inner),
                width=sector * 0.92,
                bottom=inner,
                facecolor=(*colour, alpha),
                edgecolor=colour,
                lw=1.5,
                hatch="//" if row.strength < 0 else None,
                zorder=2,
            )
            words = (
                f"strength {row.strength:+.2f} ({row.strength_words})\ncertainty {row.certainty:.2f} "
                f"({row.certainty_words})"
            )
        ax.text(theta, 1.2, f"{row.label}\n{words}", ha="center", va="center", fontsize=8.5, color="black")
    ax.set_ylim(0, 1.32)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10.5, loc="center", pad=4)
    key = (
        "Sector length: planned reach, the weight of evidence planned for the ideal (largest = outer ring). "
        "Dashed outline: nothing measured yet."
        if design
        else "Sector length: strength (inner circle 0, outer ring +1). Paler: less certain. Hatched: worsening."
    )
    fig.text(0.5, 0.02, textwrap.fill(key, 100), ha="center", fontsize=7.5, color="#424242")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def _chart_alt(result: RippleResult, name: str) -> str:
    parts = []
    for r in result.ideals.itertuples():
        if result.design_mode:
            parts.append(f"{r.label}: {r.outcomes_in_map} outcomes and {r.lines_planned} evidence lines planned")
        elif pd.isna(r.strength):
            parts.append(f"{r.label}: no evidence yet")
        else:
            parts.append(f"{r.label}: strength {r.strength:+.2f} ({r.strength_words}), certainty {r.certainty_words}")
    mode = "planned reach (design mode, before any change is measured)" if result.design_mode else "evidence so far"
    return f"Ripple chart for {name}, {mode}. " + "; ".join(parts) + "."


# --- report sections ------------------------------------------------------------------------------------


@cache.same_for_every_neighbourhood
def ripple_section(report: ProjectReport) -> Section:
    """The ripple chart, the strength and certainty per ideal, and the evidence per outcome."""
    result = report_ripple(report)
    fw = report.fw
    name = report.project.name
    s = Section()
    wave_label = next(w.label for w in fw.settings.waves if w.id == report.wave)
    title = f"{name}: planned ripple (design)" if result.design_mode else f"{name}: the ripple at {wave_label}"
    fig = ripple_chart(result.ideals, title=title, design=result.design_mode)
    s.chart(fig, _chart_alt(result, name))
    ideals = result.ideals
    s.table(
        pd.DataFrame(
            {
                "Ideal": ideals["label"],
                "Outcomes in the map": ideals["outcomes_in_map"],
                "With evidence": ideals["outcomes_with_evidence"],
                "Strength (-1 to +1)": [
                    "" if pd.isna(v) else f"{v:+.2f} ({w})"
                    for v, w in zip(ideals["strength"], ideals["strength_words"], strict=True)
                ],
                "Certainty (0 to 1)": [
                    "" if pd.isna(v) or result.design_mode else f"{v:.2f} ({w})"
                    for v, w in zip(ideals["certainty"], ideals["certainty_words"], strict=True)
                ],
            }
        ),
        "Strength and certainty per co-operative ideal (all the project's areas)",
    )
    o = result.outcomes
    s.table(
        pd.DataFrame(
            {
                "Ideal": o["ideal"].map({i.id: i.name for i in fw.ideals}),
                "Outcome": o["label"],
                **{LINE_NAMES[k]: o[k] for k in LINES},
                "Strength": ["" if pd.isna(v) else f"{v:+.2f}" for v in o["strength"]],
                "Certainty": ["" if result.design_mode else f"{v:.2f}" for v in o["certainty"]],
                "Evidence": o["evidence"],
            }
        ),
        "Evidence per outcome: +1 clear improvement, 0 no clear change, -1 clear worsening",
    )
    if result.design_mode:
        note = (
            "Design mode: this is the baseline, so nothing has changed yet to measure. The chart shows the planned "
            "reach: how much evidence the ripple map plans for each ideal. Gaps (outcomes with no measurable "
            "line) show where to plan more evidence before launch."
        )
    else:
        note = (
            "How the roll-up works: each evidence line scores +1, 0 or -1 (survey: pilot change against comparison "
            "areas in the share agreeing, Holm-corrected over the outcome's statements; local indicators: "
            "improvement in the better direction beyond the indicator's usual ups and downs; stories: +1 when a "
            "consented story is linked; sentiment: a clear change in tone). Strength is the weighted mean "
            "(survey 4, or 3 without comparison areas; indicators 2; stories 1; sentiment 1); certainty is the "
            "weight of lines that clearly point the same way over the weight of all planned lines. Ideals take the "
            "mean over their outcomes. The full rule is in docs/ripple.md."
        )
    expected = report.project.expected_strongest
    if expected and not result.design_mode and result.strongest:
        exp_name = next(i.name for i in fw.ideals if i.id == expected)
        found = next(i.name for i in fw.ideals if i.id == result.strongest)
        note += (
            f" The framework expected the ripple to be strongest on {exp_name.lower()}; the evidence so far is "
            f"strongest on {found.lower()}."
        )
    return s.text(note, "note")


def _clear_in_ripple(lines: pd.DataFrame) -> list[str]:
    """Statements counted as clear (after Holm) in at least one outcome's survey line."""
    found = []
    for detail in lines.loc[lines["line"] == "survey", "detail"]:
        found += [part.split()[0] for part in str(detail).split("; ") if part.endswith("(clear)")]
    return sorted(set(found))


def in_brief(report: ProjectReport) -> Section:
    """One plain-English paragraph at the top: what changed, how sure we are, what it does not show."""
    result = report_ripple(report)
    fw = report.fw
    name = report.project.name
    wave_label = next(w.label for w in fw.settings.waves if w.id == report.wave)
    ideal_names = {i.id: i.name.lower() for i in fw.ideals}
    if result.design_mode:
        reach = ", ".join(
            f"{ideal_names[r.ideal]} {r.outcomes_in_map}" for r in result.ideals.itertuples() if r.outcomes_in_map
        )
        text = (
            f"This is the baseline for {name} in {report.data.name}: nothing has changed yet to measure. The "
            f"project's ripple map plans evidence for {len(result.outcomes)} outcomes (by ideal: {reach}). Later "
            "reports compare each wave with this one and with the comparison areas, and this summary will say what "
            "changed and how sure we can be."
        )
        return Section().text(text, "lead")
    o = result.outcomes
    better = int((o["strength"] > 0).sum())
    worse = int((o["strength"] < 0).sum())
    measured = int(o["strength"].notna().sum())
    sentences = [
        f"By {wave_label.lower()}, {better} of the {measured} outcomes with evidence in {name}'s ripple map lean "
        f"towards improvement" + (f" and {worse} towards worsening" if worse else "") + "."
    ]
    top = result.strongest
    if top:
        r = result.ideals.set_index("ideal").loc[top]
        sentences.append(
            f"The ripple is strongest on {ideal_names[top]} (strength {r['strength']:+.2f}, {r['strength_words']}; "
            f"certainty {r['certainty_words']})."
        )
    did = result.did
    level = fw.settings.thresholds.confidence_level
    if did is not None and not did.empty:
        rows = did[
            (did["wave"] == report.wave)
            & (did["statistic"] == "agree")
            & did["measure"].isin(report.project.survey_statements)
            & ~did["suppressed"].astype(bool)
        ]
        clear = rows[rows["significant"].fillna(False).astype(bool)].sort_values("p_value")
        did_design = rows["design"].eq(estimates.DIFFERENCE_IN_DIFFERENCES).any()
        against = "relative to the comparison areas" if did_design else "since the baseline"
        counted = set(_clear_in_ripple(result.lines))
        for direction, pick in (("clearest rise", clear[clear["did"] > 0]), ("clearest fall", clear[clear["did"] < 0])):
            if pick.empty:
                continue
            c = pick.iloc[0]
            short = fw.instrument.statement(c["measure"]).short
            caveat = (
                ""
                if c["measure"] in counted
                else "; taken with the other statements of its outcomes it does not count as clear in the ripple"
            )
            sentences.append(
                f"The {direction} in the survey: agreement that '{short}' moved {100 * c['did']:+.0f} points in the "
                f"pilot areas {against} ({level:.0%} interval {100 * c['ci_low']:+.0f} to {100 * c['ci_high']:+.0f}"
                f"{caveat})."
            )
        if clear.empty:
            sentences.append(f"No survey statement in the map changed clearly {against}.")
        half = float(((rows["ci_high"] - rows["ci_low"]) / 2).median()) if not rows.empty else math.nan
    else:
        half = math.nan
    ev = result.evidence
    if ev is not None:
        tests = evidence.indicator_tests(ev, report.wave)
        tested = tests[tests["p_value"].notna()]
        if not tested.empty:
            n_clear = int((tested["clear"] & (tested["net_pct"] > 0)).sum())
            against = "pilots against comparisons" if ev.comparisons else "in the pilot areas since the baseline"
            sentences.append(
                f"{n_clear} of {len(tested)} local indicators improved beyond their usual ups and downs, {against}."
            )
        pva = evidence.predicted_actual_sentences(evidence.predicted_vs_actual(ev))
        sentences.extend(pva[:1])
    sure = (
        f"How sure we are: the survey can only tell apart changes larger than about {100 * half:.0f} points either "
        "way, so smaller effects may be missed"
        if not math.isnan(half)
        else "How sure we are: certainty reflects how much of the planned evidence is in and points the same way"
    )
    sentences.append(sure + "; certainty per ideal is shown with the ripple chart.")
    has_comparison = ev.comparisons if ev is not None else False
    limits = [
        "the comparison assumes pilot and comparison areas would otherwise have moved alike"
        if has_comparison
        else "there are no comparison areas, so the changes are before and after only: they may come from anything "
        "else that changed over the same time",
        "stories are chosen examples shared with consent and sentiment comes from relatively few comments",
        "high-level (tier 1) indicators move over years, not months",
    ]
    if fw.resilience is None or report.project_id not in fw.resilience.projects:
        limits.insert(0, "it compares areas, not individuals, so it does not show the effect on the people supported")
    else:
        limits.insert(
            0,
            "area figures do not show the effect on individuals (the financial-resilience check below does, "
            "for the people who answered it before and after support)",
        )
    sentences.append("What it does not show: " + "; ".join(limits) + ".")
    return Section().text(" ".join(sentences), "lead")


# --- command line -------------------------------------------------------------------------------------


def cli_ripple(fw: Framework, args) -> int:
    """``python -m helpers ripple --project P [--wave W] [--csv FILE]``."""
    result = project_ripple(args.db, fw, args.project, getattr(args, "wave", None))
    table = result.frame()
    mode = f"design mode ({result.wave or 'no survey data yet'})" if result.design_mode else f"wave {result.wave}"
    top = result.strongest
    top_text = ""
    if top:
        r = result.ideals.set_index("ideal").loc[top]
        top_text = f"; strongest: {top} ({r['strength']:+.2f}, certainty {r['certainty_words']})"
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        write_csv_atomic(table, args.csv)
        print(
            f"wrote {len(result.outcomes)} outcome and {len(result.ideals)} ideal rows for {args.project}, "
            f"{mode}, to {args.csv}{top_text}"
        )
    else:
        shown = table.drop(columns=["evidence"])
        print(shown.to_string(index=False))
        print(f"{args.project}, {mode}{top_text}")
    return 0


def describe(result: RippleResult) -> str:
    """A few plain lines: the ideals' strength and certainty (for logs and the dashboard)."""
    lines = []
    for r in result.ideals.itertuples():
        s = "no evidence" if pd.isna(r.strength) else f"{r.strength:+.2f} {r.strength_words}"
        lines.append(f"{r.label}: {s}; certainty {r.certainty_words or '-'}")
    return "\n".join(lines)


__all__ = [
    "RULE",
    "RollupRule",
    "RippleResult",
    "evidence_lines",
    "rollup",
    "strongest",
    "ripple_frame",
    "planned_reach",
    "project_ripple",
    "report_ripple",
    "ripple_chart",
    "ripple_section",
    "in_brief",
    "cli_ripple",
    "describe",
]
