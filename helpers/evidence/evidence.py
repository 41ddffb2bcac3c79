"""Evidence beyond the survey: local indicators, co-operative stories, sentiment, the financial-resilience check.

The ripple methodology (seed 000, 4.2-4.4) blends the Your Voice survey with local indicators, case
studies ("co-operative stories") and sentiment from social media or a reputation tracker. This module
reads that evidence for one project, in tidy frames, and draws the report sections that show it.
docs/ripple.md explains every rule in plain English.

Privacy, enforced here and in :mod:`helpers.store.access` rather than in notebooks:

- stories are read only through :func:`helpers.store.access.consented_stories` (``consent = 'yes'`` in the
  SQL), so a story without consent never leaves the data-access layer;
- sentiment items are scored inside :func:`load_sentiment` and their text is dropped there: only the
  score, tone, channel, date and neighbourhood leave it, and sections show aggregates only;
- resilience answers are analysed as pairs and only the test results leave :func:`resilience_results`,
  with groups smaller than the minimum base suppressed.

Time: survey waves have no dates, indicators and sentiment have. :func:`project_calendar` anchors the
waves: the baseline is the project's ``start`` month (``projects/<id>.yaml``) when given, otherwise the
latest dated indicator or sentiment month taken as the month of the latest wave with survey data, counted
back by that wave's ``months`` (``settings.yaml``).

Public functions (all frames tidy, sorted, deterministic):

``load_project_evidence(db, fw, project_id) -> ProjectEvidence`` (``build_evidence`` from frames)
``project_calendar(fw, project, ...) -> Calendar``, ``holm_clear(p_values, alpha)``
``indicator_changes(ev, wave)``, ``indicator_tests(ev, wave)``, ``predicted_vs_actual(ev)``,
``indicator_series(ev)``, ``high_level_indicators(fw, project)``
``story_counts(ev)``, ``story_excerpts(ev, ...)``
``sentiment_score(texts)``, ``sentiment_tone(compound)``, ``score_sentiment_items(items)``, ``sentiment_shares(ev)``,
``sentiment_by_channel(ev, ...)``, ``sentiment_change(ev, wave)``
``load_resilience(db, fw, project)`` (imported by :mod:`helpers.store.intake`), ``resilience_pairs(answers, fw)``,
``wilcoxon_paired(before, after, confidence)``, ``hodges_lehmann(differences, confidence)``,
``rank_biserial(differences)``, ``mcnemar_paired(before, after, confidence)``,
``newcombe_paired_interval(both, only_before, only_after, neither, confidence)``, ``resilience_results(pairs, fw)``

Report sections (each takes a :class:`helpers.presentation.report.ProjectReport`, returns a ``Section``):
``local_indicators``, ``predicted_against_actual``, ``kpi_tiers``, ``high_level_indicators_section``,
``stories``, ``sentiment``, ``financial_resilience``.
"""

from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import cache
from ..config.framework import Framework, Project
from ..methods.estimates import normal_quantile, two_sided_p
from ..presentation import charts
from ..presentation.report import Section
from ..store import access as analysis
from ..store import database as store

if TYPE_CHECKING:
    import duckdb
    import matplotlib.pyplot as plt

    from ..presentation.report import ProjectReport

# vaderSentiment's documented thresholds on the compound score (README, "About the scoring").
POSITIVE_FROM = 0.05
NEGATIVE_TO = -0.05
TONES = ("positive", "neutral", "negative")
EXCERPT_CHARACTERS = 220
TIER_NAMES = {3: "Specific (tier 3)", 2: "Medium-term (tier 2)", 1: "High-level (tier 1)"}
RESILIENCE_TABLE = "resilience"


# --- time: anchoring the survey waves in the calendar --------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """The month of each survey wave for one project, and how it was decided."""

    baseline: pd.Period | None  # month of the baseline wave; None when nothing is dated
    waves: dict[str, pd.Period]  # wave id -> month
    source: str  # plain words: where the baseline month came from

    def month(self, wave: str) -> pd.Period | None:
        return self.waves.get(wave)

    def wave_of(self, when: pd.Series) -> pd.Series:
        """The wave each date falls in: from a wave's month up to the next wave's; before baseline = <NA>."""
        out = pd.Series(pd.NA, index=when.index, dtype=object)
        if self.baseline is None or when.empty:
            return out
        months = pd.PeriodIndex(pd.to_datetime(when), freq="M")
        for wave, month in sorted(self.waves.items(), key=lambda kv: kv[1]):
            out[months >= month] = wave
        return out


def project_calendar(
    fw: Framework,
    project: Project,
    *,
    dated_months: list[pd.Period] | None = None,
    survey_waves: tuple[str, ...] = (),
) -> Calendar:
    """Anchor the waves: the project's ``start`` month, else derived from the dated data (module docs)."""
    months = {w.id: w.months for w in fw.settings.waves}
    if project.start:
        baseline = pd.Period(project.start, freq="M")
        source = f"the project's start month ({project.start}, projects/{project.id}.yaml)"
    else:
        latest_wave = next((w for w in reversed(fw.settings.wave_ids) if w in survey_waves), None)
        if not dated_months or latest_wave is None:
            return Calendar(None, {}, "no dated data: set start (YYYY-MM) in the project's file")
        latest = max(dated_months)
        baseline = latest - months[latest_wave]
        source = (
            f"derived: the latest dated indicator or sentiment month ({latest}) is taken as the month of the "
            f"{latest_wave} survey, so the baseline is {baseline}; set start (YYYY-MM) in projects/"
            f"{project.id}.yaml to fix it"
        )
    return Calendar(baseline, {w: baseline + m for w, m in months.items()}, source)


# --- loading one project's evidence (read-only) ---------------------------------------------------


@dataclass
class ProjectEvidence:
    """Everything beyond the survey for one project, loaded once."""

    fw: Framework
    project: Project
    areas: pd.DataFrame  # neighbourhood, name, role (this project's rows)
    indicators: pd.DataFrame  # indicator, neighbourhood, role, period (Timestamp), value, predicted
    stories: pd.DataFrame  # consented only: story_id, neighbourhood, wave, outcomes, title, text
    sentiment: pd.DataFrame  # neighbourhood, role, date, channel, compound, tone, wave (no text)
    survey_waves: tuple[str, ...]  # waves with survey data in the project's neighbourhoods
    calendar: Calendar = field(default_factory=lambda: Calendar(None, {}, ""))
    memo: dict = field(default_factory=dict, repr=False)  # results computed from this evidence, by key

    def remember(self, key: tuple, compute):
        """``compute()`` once per key for this evidence object (callers get a copy of frames)."""
        if key not in self.memo:
            self.memo[key] = compute()
        value = self.memo[key]
        return value.copy() if isinstance(value, pd.DataFrame | dict) else value

    def role_of(self, neighbourhood: str) -> str | None:
        rows = self.areas.loc[self.areas["neighbourhood"] == neighbourhood, "role"]
        return str(rows.iloc[0]) if len(rows) else None

    @property
    def pilots(self) -> list[str]:
        return sorted(self.areas.loc[self.areas["role"] == "pilot", "neighbourhood"])

    @property
    def comparisons(self) -> list[str]:
        return sorted(self.areas.loc[self.areas["role"] == "comparison", "neighbourhood"])


def load_indicators(con: duckdb.DuckDBPyConnection, indicator_ids, neighbourhoods) -> pd.DataFrame:
    """Indicator rows for these indicators and neighbourhoods (plus borough-wide ``all`` rows)."""
    columns = ["indicator", "neighbourhood", "period", "value", "predicted"]
    if not indicator_ids or not store.has_table(con, "indicators"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    ids, hoods = list(indicator_ids), [*neighbourhoods, "all"]
    frame = con.execute(
        f"SELECT indicator, neighbourhood, period, value, predicted FROM indicators "
        f"WHERE indicator IN ({', '.join('?' * len(ids))}) AND neighbourhood IN ({', '.join('?' * len(hoods))}) "
        "ORDER BY indicator, neighbourhood, period",
        [*ids, *hoods],
    ).df()
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def load_sentiment(con: duckdb.DuckDBPyConnection, project: str) -> pd.DataFrame:
    """The project's sentiment items scored with VADER; the text is dropped here and never returned."""
    if not store.has_table(con, "sentiment"):
        return score_sentiment_items(pd.DataFrame(columns=["item_id", "neighbourhood", "date", "channel", "text"]))
    frame = con.execute(
        "SELECT item_id, neighbourhood, date, channel, text FROM sentiment WHERE project = ? ORDER BY item_id",
        [project],
    ).df()
    return score_sentiment_items(frame)


def score_sentiment_items(items: pd.DataFrame) -> pd.DataFrame:
    """Score items (columns item_id, neighbourhood, date, channel, text) and drop their text.

    Returns item_id, neighbourhood, date, channel, compound, tone: nothing an item said leaves this function.
    """
    frame = items.copy()
    frame["compound"] = sentiment_score(frame["text"].tolist()) if len(frame) else pd.Series(dtype=float)
    frame["tone"] = sentiment_tone(frame["compound"]) if len(frame) else pd.Series(dtype=object)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[["item_id", "neighbourhood", "date", "channel", "compound", "tone"]].reset_index(drop=True)


def load_project_evidence(db: Path | str, fw: Framework, project_id: str) -> ProjectEvidence:
    """Open the database read-only and load one project's indicators, consented stories and sentiment."""
    project = fw.project(project_id)
    con = store.connect(db, read_only=True)
    try:
        areas = analysis.load_areas(con)
        mine = (
            areas.loc[areas["project"] == project_id, ["neighbourhood", "name", "role"]].reset_index(drop=True)
            if not areas.empty
            else pd.DataFrame(columns=["neighbourhood", "name", "role"])
        )
        hoods = mine["neighbourhood"].tolist()
        indicators = load_indicators(con, project.indicator_ids, hoods)
        stories = analysis.consented_stories(con, project_id)  # consent = 'yes' in the SQL
        sentiment = load_sentiment(con, project_id)
        survey_waves: tuple[str, ...] = ()
        if hoods and store.has_table(con, "survey"):
            found = con.execute(
                f"SELECT DISTINCT wave FROM survey WHERE neighbourhood IN ({', '.join('?' * len(hoods))})", hoods
            ).fetchall()
            survey_waves = tuple(w for w in fw.settings.wave_ids if w in {r[0] for r in found})
    finally:
        con.close()
    return build_evidence(
        fw, project, mine, indicators=indicators, stories=stories, sentiment=sentiment, survey_waves=survey_waves
    )


def build_evidence(
    fw: Framework,
    project: Project,
    areas: pd.DataFrame,
    *,
    indicators: pd.DataFrame | None = None,
    stories: pd.DataFrame | None = None,
    sentiment: pd.DataFrame | None = None,
    survey_waves: tuple[str, ...] = (),
) -> ProjectEvidence:
    """A project's evidence from frames (the database loader uses it; tests build small examples with it).

    ``areas``: neighbourhood, name, role. ``indicators``: indicator, neighbourhood, period, value, predicted.
    ``stories``: story_id, neighbourhood, wave, outcomes, title, text, consent; only rows with consent 'yes'
    are kept (a second gate after the SQL). ``sentiment``: item_id, neighbourhood, date, channel and either
    text (scored here, then dropped) or compound and tone.
    """
    roles = dict(zip(areas["neighbourhood"], areas["role"], strict=True))
    if indicators is None:
        indicators = pd.DataFrame(columns=["indicator", "neighbourhood", "period", "value", "predicted"])
    indicators = indicators.copy()
    indicators["period"] = pd.to_datetime(indicators["period"])
    for col in ("value", "predicted"):
        indicators[col] = pd.to_numeric(indicators[col], errors="coerce").astype(float)
    indicators["role"] = indicators["neighbourhood"].map(roles).fillna("borough")
    story_columns = ["story_id", "neighbourhood", "wave", "outcomes", "title", "text"]
    if stories is None or stories.empty:
        stories = pd.DataFrame(columns=story_columns)
    else:
        if "consent" not in stories.columns:
            raise ValueError("stories need their consent column: only consent 'yes' may be shown")
        stories = stories.loc[stories["consent"] == "yes", story_columns].reset_index(drop=True)
    if sentiment is None:
        sentiment = pd.DataFrame(columns=["item_id", "neighbourhood", "date", "channel", "text"])
    sentiment = score_sentiment_items(sentiment) if "text" in sentiment.columns else sentiment.copy()
    sentiment["role"] = sentiment["neighbourhood"].map(roles).fillna("other")
    dated = [pd.Period(p, freq="M") for p in indicators["period"]] + [pd.Period(d, freq="M") for d in sentiment["date"]]
    calendar = project_calendar(fw, project, dated_months=dated, survey_waves=survey_waves)
    sentiment["wave"] = calendar.wave_of(sentiment["date"])
    return ProjectEvidence(fw, project, areas.copy(), indicators, stories, sentiment, survey_waves, calendar)


def for_report(report: ProjectReport) -> ProjectEvidence:
    """The report's project evidence, loaded once per report object (no state shared between reports)."""
    cache = report.__dict__.setdefault("_evidence_cache", {})
    if "evidence" not in cache:
        cache["evidence"] = load_project_evidence(report.db, report.fw, report.project_id)
    return cache["evidence"]


# --- statistics shared by the evidence lines ------------------------------------------------------


def holm_clear(p_values, alpha: float) -> np.ndarray:
    """Holm's step-down rule: which of a family of p-values are clear at family-wise level ``alpha``.

    Sort the k p-values; the j-th smallest (j = 1..k) is clear if it and every smaller one satisfy
    ``p_(i) <= alpha / (k - i + 1)``. Missing p-values are never clear and do not count in k.
    """
    p = np.asarray(p_values, dtype=float)
    clear = np.zeros(len(p), dtype=bool)
    tested = np.flatnonzero(~np.isnan(p))
    k = len(tested)
    for rank, i in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        if p[i] > alpha / (k - rank):
            break
        clear[i] = True
    return clear


# --- local indicators -----------------------------------------------------------------------------


def _indicator_meta(fw: Framework) -> pd.DataFrame:
    return pd.DataFrame(
        [(i.id, i.label, i.unit, i.better, i.tier) for i in fw.indicators],
        columns=["indicator", "label", "unit", "better", "tier"],
    )


def _month_end(month: pd.Period) -> pd.Timestamp:
    return (month + 1).start_time


def indicator_changes(ev: ProjectEvidence, wave: str) -> pd.DataFrame:
    """Per indicator x neighbourhood: the baseline value, the value at the wave, and the change.

    The baseline value is the latest period on or before the end of the baseline month; the wave's value
    the latest period on or before the end of the wave's month (after the baseline period). ``improvement``
    is the change signed so that positive is the direction that counts as better; ``improvement_pct`` is
    it as a percentage of the baseline value. Columns: indicator, label, unit, better, tier, neighbourhood,
    role, baseline_period, baseline_value, period, value, change, improvement, improvement_pct, better_way.
    """
    return ev.remember(("indicator_changes", wave), lambda: _indicator_changes(ev, wave))


def _indicator_changes(ev: ProjectEvidence, wave: str) -> pd.DataFrame:
    columns = [
        "indicator",
        "label",
        "unit",
        "better",
        "tier",
        "neighbourhood",
        "role",
        "baseline_period",
        "baseline_value",
        "period",
        "value",
        "change",
        "improvement",
        "improvement_pct",
        "better_way",
    ]
    base_month, wave_month = ev.calendar.baseline, ev.calendar.month(wave)
    data = ev.indicators
    if base_month is None or wave_month is None or data.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (ind, hood), series in data.groupby(["indicator", "neighbourhood"], sort=True):
        series = series.sort_values("period")
        before = series[series["period"] < _month_end(base_month)]
        if before.empty:
            continue
        b = before.iloc[-1]
        after = series[(series["period"] > b["period"]) & (series["period"] < _month_end(wave_month))]
        if after.empty:
            continue
        e = after.iloc[-1]
        rows.append((ind, hood, series["role"].iloc[0], b["period"], b["value"], e["period"], e["value"]))
    frame = pd.DataFrame(
        rows, columns=["indicator", "neighbourhood", "role", "baseline_period", "baseline_value", "period", "value"]
    )
    frame = frame.merge(_indicator_meta(ev.fw), on="indicator", how="left")
    sign = np.where(frame["better"] == "lower", -1.0, 1.0)
    frame["change"] = frame["value"] - frame["baseline_value"]
    frame["improvement"] = frame["change"] * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["improvement_pct"] = 100 * frame["improvement"] / frame["baseline_value"].abs()
    frame["better_way"] = np.select(
        [frame["improvement"] > 0, frame["improvement"] < 0], ["better", "worse"], default="no change"
    )
    return frame[columns].reset_index(drop=True)


def _noise_sd_pct(ev: ProjectEvidence, indicator: str, hoods: list[str]) -> tuple[float, int]:
    """SD of period-to-period changes up to the baseline (as % of each baseline value), pooled, and their count."""
    end = _month_end(ev.calendar.baseline)
    steps = []
    data = ev.indicators
    for hood in hoods:
        s = data[(data["indicator"] == indicator) & (data["neighbourhood"] == hood) & (data["period"] < end)]
        s = s.sort_values("period")["value"].to_numpy(dtype=float)
        if len(s) >= 2 and s[-1] != 0:
            steps.extend(100 * np.diff(s) / abs(s[-1]))
    if len(steps) < 2:
        return math.nan, len(steps)
    return float(np.std(steps, ddof=1)), len(steps)


def indicator_tests(ev: ProjectEvidence, wave: str, confidence: float | None = None) -> pd.DataFrame:
    """Per indicator of the project's map: did the pilots improve, beyond noise, more than the comparison?

    ``pilot_pct`` / ``comparison_pct``: mean improvement (% of baseline, positive = better) over the role's
    neighbourhoods. ``net_pct`` = pilot minus comparison; with no comparison data, pilot actual minus the
    ``predicted`` value at the wave when given (``design`` 'against prediction'), else the pilot change
    alone ('before and after'). Noise: the SD of period-to-period changes before the baseline (% of
    baseline), pooled over the project's neighbourhoods; ``se_pct = noise_sd_pct * sqrt(1/n_pilot +
    1/n_comparison)``, ``z = net/se``, two-sided normal ``p_value``. No noise estimate (fewer than two
    changes before baseline) -> blank p-value: the direction is shown but never counted as clear.
    """
    return ev.remember(("indicator_tests", wave, confidence), lambda: _indicator_tests(ev, wave, confidence))


def _indicator_tests(ev: ProjectEvidence, wave: str, confidence: float | None = None) -> pd.DataFrame:
    conf = confidence or ev.fw.settings.thresholds.confidence_level
    changes = indicator_changes(ev, wave)
    rows = []
    meta = _indicator_meta(ev.fw).set_index("indicator")
    for ind in ev.project.indicator_ids:
        ch = changes[changes["indicator"] == ind]
        pilot = ch[ch["role"] == "pilot"]
        comp = ch[ch["role"] == "comparison"]
        m = meta.loc[ind]
        if pilot.empty:
            rows.append((ind, m.label, m.better, int(m.tier), *([math.nan] * 6), "", "no data", 0, 0, pd.NaT, pd.NaT))
            continue
        pilot_pct = float(pilot["improvement_pct"].mean())
        comp_pct = float(comp["improvement_pct"].mean()) if not comp.empty else math.nan
        if not comp.empty:
            net, design = pilot_pct - comp_pct, "pilot against comparison"
        else:
            predicted = _prediction_gap_pct(ev, ind, pilot)
            net, design = (predicted, "against prediction") if not math.isnan(predicted) else (pilot_pct, "")
            design = design or "before and after"
        sd, _ = _noise_sd_pct(ev, ind, pilot["neighbourhood"].tolist() + comp["neighbourhood"].tolist())
        n_p, n_c = len(pilot), len(comp)
        se = sd * math.sqrt(1 / n_p + (1 / n_c if n_c and design == "pilot against comparison" else 0))
        z = net / se if se and not math.isnan(se) and se > 0 else math.nan
        p = float(two_sided_p(z)) if not math.isnan(z) else math.nan
        direction = "better" if net > 0 else "worse" if net < 0 else "no change"
        rows.append(
            (
                ind,
                m.label,
                m.better,
                int(m.tier),
                pilot_pct,
                comp_pct,
                net,
                sd,
                se,
                p,
                direction,
                design,
                n_p,
                n_c,
                pilot["baseline_period"].max(),
                pilot["period"].max(),
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "indicator",
            "label",
            "better",
            "tier",
            "pilot_pct",
            "comparison_pct",
            "net_pct",
            "noise_sd_pct",
            "se_pct",
            "p_value",
            "direction",
            "design",
            "n_pilot",
            "n_comparison",
            "baseline_period",
            "period",
        ],
    )
    frame["clear"] = frame["p_value"] < (1 - conf)
    return frame


def _prediction_gap_pct(ev: ProjectEvidence, indicator: str, pilot: pd.DataFrame) -> float:
    """Mean over pilots of (actual - predicted) at the wave's period, signed to better, % of baseline."""
    data = ev.indicators
    gaps = []
    for row in pilot.itertuples():
        hit = data[
            (data["indicator"] == indicator)
            & (data["neighbourhood"] == row.neighbourhood)
            & (data["period"] == row.period)
        ]
        if hit.empty or pd.isna(hit["predicted"].iloc[0]) or row.baseline_value == 0:
            continue
        sign = -1.0 if row.better == "lower" else 1.0
        gaps.append(100 * sign * (row.value - float(hit["predicted"].iloc[0])) / abs(row.baseline_value))
    return float(np.mean(gaps)) if gaps else math.nan


def indicator_series(ev: ProjectEvidence) -> pd.DataFrame:
    """Every indicator value of the project with its role and its improvement since baseline (% of baseline).

    Columns: indicator, label, unit, better, tier, neighbourhood, role, period, value, improvement_pct
    (blank where the neighbourhood has no baseline value).
    """
    data = ev.indicators.merge(_indicator_meta(ev.fw), on="indicator", how="left")
    if data.empty or ev.calendar.baseline is None:
        data["improvement_pct"] = pd.Series(dtype=float)
        return data
    end = _month_end(ev.calendar.baseline)
    base = data[data["period"] < end].sort_values("period").groupby(["indicator", "neighbourhood"])["value"].last()
    b = data.set_index(["indicator", "neighbourhood"]).index.map(base.to_dict())
    b = pd.Series(b, index=data.index, dtype=float)
    sign = np.where(data["better"] == "lower", -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        data["improvement_pct"] = 100 * sign * (data["value"] - b) / b.abs()
    return data.sort_values(["tier", "indicator", "neighbourhood", "period"], ascending=[False, True, True, True])


def predicted_vs_actual(ev: ProjectEvidence) -> pd.DataFrame:
    """Indicators with a ``predicted`` value: role means of actual and predicted by period.

    Columns: indicator, label, unit, better, role, period, actual, predicted, gap (actual - predicted),
    neighbourhoods. Roles are pilot and comparison (means over the role's neighbourhoods with a
    prediction for that period); ``all`` rows appear as role ``borough``.
    """
    data = ev.indicators
    columns = ["indicator", "label", "unit", "better", "role", "period", "actual", "predicted", "gap", "neighbourhoods"]
    with_prediction = data.loc[data["predicted"].notna(), "indicator"].unique() if not data.empty else []
    if not len(with_prediction):
        return pd.DataFrame(columns=columns)
    rows = data[data["indicator"].isin(with_prediction)]
    grouped = (
        rows.groupby(["indicator", "role", "period"])
        .agg(actual=("value", "mean"), predicted=("predicted", "mean"), neighbourhoods=("neighbourhood", "nunique"))
        .reset_index()
    )
    grouped["gap"] = grouped["actual"] - grouped["predicted"]
    grouped = grouped.merge(_indicator_meta(ev.fw), on="indicator", how="left")
    order = {"pilot": 0, "comparison": 1, "borough": 2}
    grouped = grouped.sort_values(
        ["indicator", "role", "period"], key=lambda s: s.map(order) if s.name == "role" else s
    )
    return grouped[columns].reset_index(drop=True)


def _fmt_value(value: float, unit: str) -> str:
    if pd.isna(value):
        return ""
    if unit == "percent":
        return f"{value:.0f}%"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def predicted_actual_sentences(table: pd.DataFrame) -> list[str]:
    """One plain sentence per indicator: the latest pilot prediction against the actual value."""
    out = []
    for _, rows in table.groupby("indicator", sort=True):
        pilot = rows[(rows["role"] == "pilot") & rows["predicted"].notna()].sort_values("period")
        if pilot.empty:
            continue
        last = pilot.iloc[-1]
        unit = last["unit"]
        gap = last["gap"]
        better = (gap > 0) == (last["better"] == "higher") if gap != 0 else None
        way = "better than" if better else "worse than" if better is False else "exactly as"
        points = f"{abs(gap):.0f} points" if unit == "percent" else _fmt_value(abs(gap), unit)
        out.append(
            f"{last['label']}: predicted {_fmt_value(last['predicted'], unit)}, actual about "
            f"{_fmt_value(last['actual'], unit)} in the pilot neighbourhoods in "
            f"{pd.Timestamp(last['period']).strftime('%B %Y')} ({points} {way} predicted)."
        )
    return out


def high_level_indicators(fw: Framework, project: Project | None = None) -> pd.DataFrame:
    """Appendix 1's high-level indicators per ideal and outcome (the project's outcomes when given).

    Columns: ideal, outcome, label, in_map (outcome in the project's ripple map), measure, collected
    (a tier-1 indicator of the catalogue is named the same; otherwise the basket is not collected yet).
    """
    collected = {i.label.lower() for i in fw.indicators if i.tier == 1}
    in_map = set(project.outcome_ids) if project else set()
    rows = []
    for ideal in fw.ideals:
        for o in ideal.outcomes:
            if project and o.id not in in_map:
                continue
            for measure in o.high_level_indicators:
                rows.append((ideal.name, o.id, o.label, o.id in in_map, measure, measure.lower() in collected))
    return pd.DataFrame(rows, columns=["ideal", "outcome", "label", "in_map", "measure", "collected"])


# --- co-operative stories (consented only: see analysis.consented_stories) -------------------------


def story_counts(ev: ProjectEvidence) -> pd.DataFrame:
    """Consented stories per outcome of the map and wave. Columns: outcome, label, wave, stories."""
    waves = ev.fw.settings.wave_ids
    rows = []
    linked = ev.stories.assign(outcome=ev.stories["outcomes"].str.split(";")).explode("outcome")
    linked["outcome"] = linked["outcome"].str.strip()
    for line in ev.project.ripple:
        for wave in waves:
            n = int(((linked["outcome"] == line.outcome) & (linked["wave"] == wave)).sum())
            rows.append((line.outcome, ev.fw.outcomes[line.outcome].label, wave, n))
    return pd.DataFrame(rows, columns=["outcome", "label", "wave", "stories"])


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The start of a story, cut at a word boundary."""
    text = " ".join(str(text).split())
    return textwrap.shorten(text, width=limit, placeholder=" …")


def story_excerpts(
    ev: ProjectEvidence, *, neighbourhood: str | None = None, up_to_wave: str | None = None, limit: int = 6
) -> pd.DataFrame:
    """Short excerpts of consented stories, newest wave first. Columns: story_id, neighbourhood, wave,
    outcomes (labels), title, excerpt."""
    waves = ev.fw.settings.wave_ids
    s = ev.stories
    if neighbourhood:
        s = s[s["neighbourhood"] == neighbourhood]
    if up_to_wave:
        s = s[s["wave"].map(waves.index) <= waves.index(up_to_wave)]
    s = s.assign(_w=s["wave"].map(waves.index)).sort_values(["_w", "story_id"], ascending=[False, True]).head(limit)
    labels = {o: ev.fw.outcomes[o].label for o in ev.fw.outcomes}
    return pd.DataFrame(
        {
            "story_id": s["story_id"],
            "neighbourhood": s["neighbourhood"],
            "wave": s["wave"],
            "outcomes": s["outcomes"].map(lambda v: "; ".join(labels.get(o.strip(), o) for o in str(v).split(";"))),
            "title": s["title"],
            "excerpt": s["text"].map(excerpt),
        }
    ).reset_index(drop=True)


# --- sentiment --------------------------------------------------------------------------------------


def sentiment_score(texts: list[str]) -> np.ndarray:
    """VADER compound score (-1 .. +1) of each text, from the maintained vaderSentiment package."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    return np.array([analyser.polarity_scores(str(t))["compound"] for t in texts], dtype=float)


def sentiment_tone(compound) -> pd.Series:
    """positive (compound >= 0.05), negative (<= -0.05) or neutral: VADER's documented thresholds."""
    c = pd.Series(compound, dtype=float)
    return pd.Series(
        np.select([c >= POSITIVE_FROM, c <= NEGATIVE_TO], ["positive", "negative"], default="neutral"),
        index=c.index,
        dtype=object,
    )


def _tone_value(tone: pd.Series) -> pd.Series:
    return tone.map({"positive": 1.0, "neutral": 0.0, "negative": -1.0})


def sentiment_shares(ev: ProjectEvidence, *, by: tuple[str, ...] = ("role", "wave")) -> pd.DataFrame:
    """Items and the share positive / neutral / negative, and net (positive minus negative), per group.

    Shares are blank (``suppressed``) for groups of fewer items than the minimum base. Items dated before
    the baseline month have no wave and are left out of wave groups.
    """
    minimum = ev.fw.settings.thresholds.minimum_base
    s = ev.sentiment.dropna(subset=[c for c in by if c == "wave"])
    columns = [*by, "items", *TONES, "net", "suppressed"]
    if s.empty:
        return pd.DataFrame(columns=columns)
    counts = s.groupby(list(by))["tone"].value_counts().unstack(fill_value=0).reindex(columns=TONES, fill_value=0)
    counts["items"] = counts.sum(axis=1)
    out = counts.reset_index()
    for tone in TONES:
        out[tone] = out[tone] / out["items"]
    out["net"] = out["positive"] - out["negative"]
    out["suppressed"] = out["items"] < minimum
    out.loc[out["suppressed"], [*TONES, "net"]] = np.nan
    order = {w: i for i, w in enumerate(ev.fw.settings.wave_ids)} | {"pilot": 0, "comparison": 1, "other": 2}
    out = out.sort_values(list(by), key=lambda x: x.map(order) if x.name in ("wave", "role") else x)
    return out[columns].reset_index(drop=True)


def sentiment_by_channel(ev: ProjectEvidence, neighbourhood: str | None = None) -> pd.DataFrame:
    """Items per channel and wave (counts only). Columns: channel, then one column per wave."""
    s = ev.sentiment.dropna(subset=["wave"])
    if neighbourhood:
        s = s[s["neighbourhood"] == neighbourhood]
    waves = [w for w in ev.fw.settings.wave_ids if w in set(s["wave"])]
    if s.empty:
        return pd.DataFrame(columns=["channel"])
    table = s.groupby(["channel", "wave"]).size().unstack(fill_value=0).reindex(columns=waves, fill_value=0)
    return table.reset_index().rename_axis(columns=None)


def sentiment_change(ev: ProjectEvidence, wave: str, confidence: float | None = None) -> dict:
    """Change in net sentiment (items scored +1 / 0 / -1) from baseline to ``wave``: pilots minus comparisons.

    Each of the (up to) four role x wave groups contributes its mean and ``variance / items``; a normal
    test on the difference. Returns a dict: pilot_change, comparison_change, difference, se, p_value,
    design, items (pilot items at the two waves), has_data.
    """
    conf = confidence or ev.fw.settings.thresholds.confidence_level
    base = ev.fw.settings.baseline
    s = ev.sentiment.assign(v=_tone_value(ev.sentiment["tone"]))
    empty = {"has_data": False, "design": "", "items": 0, "p_value": math.nan, "difference": math.nan}

    def cell(role, w):
        v = s.loc[(s["role"] == role) & (s["wave"] == w), "v"].to_numpy(dtype=float)
        return (v.mean(), v.var(ddof=1) / len(v), len(v)) if len(v) >= 2 else None

    p1, p0 = cell("pilot", wave), cell("pilot", base)
    if wave == base or p1 is None or p0 is None:
        return empty
    pilot_change, var = p1[0] - p0[0], p1[1] + p0[1]
    c1, c0 = cell("comparison", wave), cell("comparison", base)
    if c1 is not None and c0 is not None:
        comparison_change, design = c1[0] - c0[0], "pilot against comparison"
        var += c1[1] + c0[1]
    else:
        comparison_change, design = math.nan, "before and after"
    diff = pilot_change - (0 if math.isnan(comparison_change) else comparison_change)
    se = math.sqrt(var)
    p = float(two_sided_p(diff / se)) if se > 0 else (0.0 if diff else 1.0)
    return {
        "has_data": True,
        "pilot_change": pilot_change,
        "comparison_change": comparison_change,
        "difference": diff,
        "se": se,
        "p_value": p,
        "clear": p < 1 - conf,
        "design": design,
        "items": p1[2] + p0[2],
    }


# --- the financial-resilience check ----------------------------------------------------------------

def load_resilience(db: Path | str, fw: Framework, project: str) -> pd.DataFrame:
    """The project's resilience answers, long: respondent_id, neighbourhood, stage, item, answer.

    For computation only (never displayed): :func:`resilience_results` turns them into aggregates.
    """
    con = store.connect(db, read_only=True)
    try:
        if not store.has_table(con, RESILIENCE_TABLE):
            return pd.DataFrame(columns=["respondent_id", "neighbourhood", "stage", "item", "answer"])
        return con.execute(
            f"SELECT respondent_id, neighbourhood, stage, item, answer FROM {RESILIENCE_TABLE} WHERE project = ? "
            "ORDER BY respondent_id, stage, item",
            [project],
        ).df()
    finally:
        con.close()


def resilience_pairs(answers: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """One row per respondent answering at both stages: score and yes/no answers before and after.

    Columns: respondent_id, neighbourhood, score_before, score_after, then ``<id>_before`` and
    ``<id>_after`` (True = yes, <NA> = not answered) for each yes/no question. A score is the mean of the
    answered statements (reverse statements turned round: ``low + high - answer``), blank when fewer than
    ``minimum_answered`` are answered at that stage.
    """
    res = fw.resilience
    before, after = (s.id for s in res.stages)
    columns = ["respondent_id", "neighbourhood", "score_before", "score_after"]
    columns += [f"{q.id}_{w}" for q in res.yes_no for w in ("before", "after")]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    wide = answers.pivot_table(
        index=["respondent_id", "stage"], columns="item", values="answer", aggfunc="first", dropna=False
    ).reindex(columns=list(res.item_ids))
    low, high = res.scale[0].code, res.scale[-1].code
    statements = wide[[s.id for s in res.statements]].apply(pd.to_numeric, errors="coerce")
    for s in res.statements:
        if s.reverse:
            statements[s.id] = low + high - statements[s.id]
    score = statements.mean(axis=1).where(statements.notna().sum(axis=1) >= res.minimum_answered)
    hood = answers.groupby("respondent_id")["neighbourhood"].first()
    people = sorted(
        set(answers.loc[answers["stage"] == before, "respondent_id"])
        & set(answers.loc[answers["stage"] == after, "respondent_id"])
    )
    out = pd.DataFrame({"respondent_id": people})
    out["neighbourhood"] = out["respondent_id"].map(hood)
    for label, stage in (("before", before), ("after", after)):
        idx = pd.MultiIndex.from_arrays([people, [stage] * len(people)])
        out[f"score_{label}"] = score.reindex(idx).to_numpy(dtype=float)
        for q in res.yes_no:
            values = wide[q.id].reindex(idx).to_numpy(dtype=object)
            out[f"{q.id}_{label}"] = pd.array(
                [None if v is None or pd.isna(v) else v == "yes" for v in values], dtype="boolean"
            )
    return out[columns]


def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation: (T+ - T-) / (T+ + T-) on the non-zero differences.

    Ranks are of the absolute differences, ties sharing the average rank (Kerby 2014). +1: every change
    is an increase; -1: every change a decrease.
    """
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d) & (d != 0)]
    if not len(d):
        return math.nan
    ranks = pd.Series(np.abs(d)).rank(method="average").to_numpy()
    plus, minus = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((plus - minus) / (plus + minus))


def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of the 2^n sign patterns giving each signed-rank sum T+ = 0 .. n(n+1)/2 (no ties)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=float)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def hodges_lehmann(differences, confidence: float) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate of the typical (pseudo-median) difference, with its distribution-free interval.

    Estimate: the median of the Walsh averages ``(d_i + d_j) / 2, i <= j`` (zeros included). Interval:
    the ``C``-th smallest and ``C``-th largest Walsh average, ``C`` the largest count with
    ``P(T+ <= C - 1) <= (1 - confidence) / 2`` under the signed-rank null distribution (exact for up to
    60 differences, the normal approximation above; Hollander & Wolfe, Nonparametric Statistical
    Methods, 3.2). Returns (estimate, low, high); NaN ends when the sample is too small for the level.
    """
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    n = len(d)
    if not n:
        return math.nan, math.nan, math.nan
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    estimate = float(np.median(walsh))
    m = len(walsh)
    alpha = 1 - confidence
    if n <= 60:
        cdf = np.cumsum(_signed_rank_counts(n)) / 2.0**n
        c = int(np.searchsorted(cdf, alpha / 2, side="right"))  # number of t with P(T <= t) <= alpha/2
    else:
        z = normal_quantile(1 - alpha / 2)
        c = int(math.floor(m / 2 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    if c < 1:
        return estimate, math.nan, math.nan
    return estimate, float(walsh[c - 1]), float(walsh[m - c])


def wilcoxon_paired(before, after, confidence: float) -> dict:
    """Wilcoxon signed-rank test of after - before, with the rank-biserial effect size and HL interval.

    Pairs with a blank side are dropped; zero differences are dropped for the test and the effect size
    (Wilcoxon's convention, scipy's ``zero_method='wilcox'``) but kept in the Hodges-Lehmann estimate.
    scipy chooses the exact null distribution for small samples without ties and the normal
    approximation otherwise. Returns n_pairs, n_changed, median_before, median_after, statistic (T+),
    p_value, rank_biserial, estimate, ci_low, ci_high.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    keep = ~np.isnan(b) & ~np.isnan(a)
    b, a = b[keep], a[keep]
    d = a - b
    nonzero = d[d != 0]
    out = {
        "n_pairs": int(len(d)),
        "n_changed": int(len(nonzero)),
        "median_before": float(np.median(b)) if len(b) else math.nan,
        "median_after": float(np.median(a)) if len(a) else math.nan,
    }
    if len(nonzero):
        ranks = pd.Series(np.abs(nonzero)).rank(method="average").to_numpy()
        out["statistic"] = float(ranks[nonzero > 0].sum())
        from scipy.stats import wilcoxon  # only the resilience check needs it

        out["p_value"] = float(wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided").pvalue)
    else:
        out["statistic"], out["p_value"] = math.nan, math.nan
    out["rank_biserial"] = rank_biserial(d)
    out["estimate"], out["ci_low"], out["ci_high"] = hodges_lehmann(d, confidence)
    return out


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_paired_interval(
    both: int, only_before: int, only_after: int, neither: int, confidence: float
) -> tuple[float, float, float]:
    """Change in a paired share (after - before) with Newcombe's (1998) hybrid score interval (method 10).

    ``both`` said yes at both stages, ``only_before`` yes before only, ``only_after`` yes after only,
    ``neither`` yes at neither. Wilson intervals for the two shares are combined allowing for the
    correlation of the pairs (phi, with Newcombe's continuity adjustment). Returns (change, low, high).
    """
    n = both + only_before + only_after + neither
    z = normal_quantile(0.5 + confidence / 2)
    p_before, p_after = (both + only_before) / n, (both + only_after) / n
    l1, u1 = _wilson(both + only_before, n, z)
    l2, u2 = _wilson(both + only_after, n, z)
    margins = (both + only_before) * (only_after + neither) * (both + only_after) * (only_before + neither)
    phi = 0.0
    if margins > 0:
        a = both * neither - only_before * only_after
        phi = (a - n / 2) / math.sqrt(margins) if a > n / 2 else (0.0 if a >= 0 else a / math.sqrt(margins))
    change = p_after - p_before
    low = change - math.sqrt(
        max((p_after - l2) ** 2 - 2 * phi * (p_after - l2) * (u1 - p_before) + (u1 - p_before) ** 2, 0)
    )
    high = change + math.sqrt(
        max((u2 - p_after) ** 2 - 2 * phi * (u2 - p_after) * (p_before - l1) + (p_before - l1) ** 2, 0)
    )
    return change, max(low, -1.0), min(high, 1.0)


def mcnemar_paired(before, after, confidence: float) -> dict:
    """McNemar's exact test for a yes/no answer given before and after (True = yes).

    The p-value is the two-sided exact binomial test on the discordant pairs: ``min(1, 2 P(X <= min(b, c)))``
    with X ~ Binomial(b + c, 1/2). Returns n_pairs, share_before, share_after, only_before (b),
    only_after (c), change (share after - before), ci_low, ci_high (Newcombe), p_value.
    """
    b_ = pd.array(before, dtype="boolean")
    a_ = pd.array(after, dtype="boolean")
    keep = ~(b_.isna() | a_.isna())
    b_, a_ = np.asarray(b_[keep], dtype=bool), np.asarray(a_[keep], dtype=bool)
    both, only_before = int((b_ & a_).sum()), int((b_ & ~a_).sum())
    only_after, neither = int((~b_ & a_).sum()), int((~b_ & ~a_).sum())
    n = both + only_before + only_after + neither
    out = {"n_pairs": n, "only_before": only_before, "only_after": only_after}
    if not n:
        return out | dict.fromkeys(("share_before", "share_after", "change", "ci_low", "ci_high", "p_value"), math.nan)
    discordant = only_before + only_after
    k = min(only_before, only_after)
    tail = sum(math.comb(discordant, i) for i in range(k + 1)) / 2.0**discordant if discordant else 1.0
    change, low, high = newcombe_paired_interval(both, only_before, only_after, neither, confidence)
    return out | {
        "share_before": (both + only_before) / n,
        "share_after": (both + only_after) / n,
        "change": change,
        "ci_low": low,
        "ci_high": high,
        "p_value": min(1.0, 2 * tail),
    }


def resilience_results(pairs: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """The paired analysis, one row per measure (the score, then each yes/no question).

    Columns: measure, label, test, better, n_pairs, before, after, change, ci_low, ci_high, p_value,
    effect_size, effect_size_name, clear, improved, suppressed. ``before``/``after`` are medians for the
    score and shares answering yes for the questions; ``change`` is the Hodges-Lehmann typical change
    (score) or the change in the share (questions). Rows with fewer pairs than the minimum base are
    suppressed: only the count is kept.
    """
    res = fw.resilience
    th = fw.settings.thresholds
    conf = th.confidence_level
    rows = []
    w = wilcoxon_paired(pairs["score_before"], pairs["score_after"], conf)
    rows.append(
        {
            "measure": "score",
            "label": res.score_label,
            "test": "Wilcoxon signed-rank",
            "better": "higher",
            "n_pairs": w["n_pairs"],
            "before": w["median_before"],
            "after": w["median_after"],
            "change": w["estimate"],
            "ci_low": w["ci_low"],
            "ci_high": w["ci_high"],
            "p_value": w["p_value"],
            "effect_size": w["rank_biserial"],
            "effect_size_name": "rank-biserial correlation",
        }
    )
    for q in res.yes_no:
        m = mcnemar_paired(pairs[f"{q.id}_before"], pairs[f"{q.id}_after"], conf)
        rows.append(
            {
                "measure": q.id,
                "label": q.short,
                "test": "McNemar (exact)",
                "better": "higher" if q.better == "yes" else "lower",
                "n_pairs": m["n_pairs"],
                "before": m["share_before"],
                "after": m["share_after"],
                "change": m["change"],
                "ci_low": m["ci_low"],
                "ci_high": m["ci_high"],
                "p_value": m["p_value"],
                "effect_size": m["change"],
                "effect_size_name": "change in share answering yes",
            }
        )
    out = pd.DataFrame(rows)
    out["clear"] = out["p_value"] < 1 - conf
    sign = np.where(out["better"] == "higher", 1.0, -1.0)
    out["improved"] = out["clear"] & (sign * out["change"] > 0)
    out["suppressed"] = out["n_pairs"] < th.minimum_base
    figures = ["before", "after", "change", "ci_low", "ci_high", "p_value", "effect_size"]
    out[figures] = out[figures].astype(float)
    out.loc[out["suppressed"], figures] = np.nan
    out.loc[out["suppressed"], ["clear", "improved"]] = False
    return out


# --- charts -----------------------------------------------------------------------------------------


def styled(draw):
    """Run a chart function inside the workbook's chart style (seaborn's whitegrid and colour-blind palette,
    as data in :data:`helpers.presentation.charts.STYLE`), without changing matplotlib's global settings."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        import matplotlib.pyplot as plt

        with plt.rc_context(charts.STYLE):
            return draw(*args, **kwargs)

    return wrapper


def _facets(n: int, columns: int = 3):
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    rows = max(1, math.ceil(n / columns))
    height = 2.1 * rows + 0.6
    fig, axes = plt.subplots(rows, columns, figsize=(7.5, height), squeeze=False)
    # A fixed layout: tight_layout on a grid of small axes costs about half a second per chart.
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.5 / height, top=1 - 0.55 / height, wspace=0.32, hspace=0.75)
    # A placeholder engine tells charts.figure_html the layout is fixed ("none" would leave it unset).
    fig.set_layout_engine(PlaceHolderLayoutEngine(adjust_compatible=True, colorbar_gridspec=True))
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _date_axis(ax, dates: pd.Series, size: float = 6.5) -> None:
    """Fixed ticks each January and July within the data's range (cheaper to draw than a date locator)."""
    if dates.empty:
        return
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    ticks = [t for t in pd.date_range(first.replace(day=1), last, freq="MS") if t.month in (1, 7)]
    ax.set_xticks(ticks, [t.strftime("%b %y") for t in ticks])
    ax.tick_params(labelsize=size)


@styled
def indicator_trend_chart(series: pd.DataFrame, *, neighbourhood: str, baseline: pd.Period | None) -> plt.Figure:
    """Small multiples: each indicator's values over time, this neighbourhood bold, pilots solid, comparisons dashed."""
    ids = list(dict.fromkeys(series["indicator"]))
    fig, axes = _facets(len(ids))
    for ax, ind in zip(axes, ids, strict=False):
        rows = series[series["indicator"] == ind]
        for hood, s in rows.groupby("neighbourhood", sort=True):
            role = s["role"].iloc[0]
            here = hood == neighbourhood
            colour = charts.PILOT if role == "pilot" else charts.COMPARISON if role == "comparison" else charts.GREY
            ax.plot(
                s["period"],
                s["value"],
                ls="-" if role == "pilot" else "--",
                lw=2.6 if here else 1.1,
                color=colour,
                alpha=1 if here else 0.75,
                label=("this neighbourhood" if here else role),
            )
        if baseline is not None:
            ax.axvline(baseline.start_time, color="black", lw=0.8, ls=":")
        first = rows.iloc[0]
        arrow = "higher is better" if first["better"] == "higher" else "lower is better"
        ax.set_title(textwrap.fill(f"{first['label']} ({arrow})", 38), fontsize=7.5, loc="left")
        _date_axis(ax, rows["period"])
    handles, names = [], []
    for ax in axes:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=7, frameon=False)
    fig.subplots_adjust(
        left=0.07,
        right=0.98,
        top=1 - 0.45 / fig.get_figheight(),
        bottom=0.9 / fig.get_figheight(),
        hspace=0.75,
        wspace=0.3,
    )
    return fig


@styled
def predicted_actual_chart(table: pd.DataFrame) -> plt.Figure:
    """Actual (pilot, comparison) and predicted values over time for each indicator with a prediction."""
    ids = list(dict.fromkeys(table["indicator"]))
    fig, axes = _facets(len(ids), columns=min(2, len(ids)))
    for ax, ind in zip(axes, ids, strict=False):
        rows = table[table["indicator"] == ind]
        for role, colour, ls in (("pilot", charts.PILOT, "-"), ("comparison", charts.COMPARISON, "--")):
            r = rows[rows["role"] == role]
            if not r.empty:
                ax.plot(r["period"], r["actual"], color=colour, ls=ls, lw=2, label=f"actual, {role} areas")
        pred = rows[rows["predicted"].notna()].groupby("period")["predicted"].mean()
        if not pred.empty:
            ax.plot(pred.index, pred.to_numpy(), color="black", ls=":", lw=2, label="predicted without the project")
        pilot = rows[(rows["role"] == "pilot") & rows["predicted"].notna()]
        if not pilot.empty:
            last = pilot.iloc[-1]
            ax.annotate(
                f"actual {_fmt_value(last['actual'], last['unit'])}\n"
                f"predicted {_fmt_value(last['predicted'], last['unit'])}",
                (last["period"], last["actual"]),
                xytext=(-120, -8),
                textcoords="offset points",
                fontsize=8,
                bbox={"facecolor": "white", "edgecolor": charts.GREY, "pad": 2},
                arrowprops={"arrowstyle": "-", "color": charts.GREY},
            )
        ax.set_title(textwrap.fill(rows["label"].iloc[0], 50), fontsize=9, loc="left")
        _date_axis(ax, rows["period"], 7)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


@styled
def tier_chart(series: pd.DataFrame, *, baseline: pd.Period | None) -> plt.Figure:
    """Three panels (tiers 3, 2, 1): pilot-average improvement since baseline per indicator, over time."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(9, 4.6), sharey=True)
    for ax, tier in zip(axes, (3, 2, 1), strict=True):
        rows = series[(series["tier"] == tier) & series["improvement_pct"].notna()]
        ax.axhline(0, color="black", lw=0.8)
        if baseline is not None:
            ax.axvline(baseline.start_time, color="black", lw=0.8, ls=":")
        pilots = rows[rows["role"] == "pilot"].groupby(["indicator", "period"])["improvement_pct"].mean()
        for k, (ind, s) in enumerate(pilots.groupby(level=0)):
            label = rows.loc[rows["indicator"] == ind, "label"].iloc[0]
            ax.plot(
                s.index.get_level_values(1),
                s.to_numpy(),
                lw=1.5,
                color=charts.PALETTE[k % len(charts.PALETTE)],
                label=textwrap.shorten(label, 34, placeholder="…"),
            )
        comp = rows[rows["role"] == "comparison"].groupby("period")["improvement_pct"].mean()
        if not comp.empty:
            ax.plot(comp.index, comp.to_numpy(), color=charts.GREY, ls="--", lw=2, label="comparison areas (average)")
        ax.set_title(TIER_NAMES[tier], fontsize=9, loc="left")
        if rows.empty:
            ax.text(
                0.5,
                0.5,
                "no indicators of this tier\ncollected yet",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
                color=charts.GREY,
            )
            ax.set_xticks([])
            continue
        _date_axis(ax, rows["period"], 7)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    axes[0].set_ylabel("% better than at baseline\n(pilot areas)", fontsize=8)
    fig.tight_layout()
    return fig


@styled
def sentiment_chart(shares: pd.DataFrame, minimum_base: int) -> plt.Figure:
    """Stacked bars: share positive / neutral / negative for each role x wave, items counted in the labels."""
    import matplotlib.pyplot as plt

    colours = {"positive": charts.PALETTE[2], "neutral": charts.GREY, "negative": charts.PALETTE[3]}
    labels = [f"{r.role}, {r.wave} ({r.items} items)" for r in shares.itertuples()]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(labels) + 1.4))
    for y, r in enumerate(shares.itertuples()):
        if r.suppressed:
            ax.text(1, y, f"fewer than {minimum_base} items", va="center", fontsize=8, color=charts.GREY)
            continue
        left = 0.0
        for tone in TONES:
            width = 100 * getattr(r, tone)
            ax.barh(y, width, left=left, color=colours[tone], label=tone if y == 0 else None)
            if width >= 8:
                ax.text(left + width / 2, y, f"{width:.0f}%", ha="center", va="center", fontsize=7, color="white")
            left += width
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of items")
    handles, names = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, names, loc="lower right", fontsize=7, ncol=3)
    ax.set_title("Tone of comments (VADER sentiment)", loc="left", fontsize=10)
    fig.tight_layout()
    return fig


# --- report sections ----------------------------------------------------------------------------------


def _pct(v: float, signed: bool = False) -> str:
    if pd.isna(v):
        return ""
    return f"{v:+.1f}%" if signed else f"{v:.1f}%"


def _wave_label(fw: Framework, wave: str) -> str:
    return next(w.label for w in fw.settings.waves if w.id == wave)


def _trend_html(report: ProjectReport, ev: ProjectEvidence) -> str:
    """The local indicators chart for the report's neighbourhood (the same at every wave), as HTML."""
    series = indicator_series(ev)
    fig = indicator_trend_chart(series, neighbourhood=report.neighbourhood, baseline=ev.calendar.baseline)
    alt_parts = []
    for _, rows in series[series["neighbourhood"] == report.neighbourhood].groupby("indicator", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        unit = first["unit"]
        alt_parts.append(f"{first['label']}: {_fmt_value(first['value'], unit)} to {_fmt_value(last['value'], unit)}")
    alt = f"Local indicators over time in {report.data.name} (bold) and the project's other areas. " + "; ".join(
        alt_parts
    )
    return charts.figure_html(fig, alt)


def local_indicators(report: ProjectReport) -> Section:
    """The project's local indicators: this neighbourhood's change since baseline and the project-level test."""
    ev = for_report(report)
    fw = report.fw
    s = Section()
    if not ev.project.indicator_ids:
        return s.text("This project's ripple map names no local indicators.", "note")
    if ev.indicators.empty:
        return s.text(
            "No local indicator data has been imported for this project's neighbourhoods yet "
            "(python -m helpers import indicators FILE).",
            "note",
        )
    # The whole series is shown at every wave, so a neighbourhood's chart is drawn once per batch.
    s.parts.append(cache.shared(report, f"indicator-trend-{report.neighbourhood}", lambda: _trend_html(report, ev)))
    if report.wave == fw.settings.baseline or ev.calendar.baseline is None:
        return s.text("This is the baseline: changes are measured from here in later waves.", "note")
    changes = indicator_changes(ev, report.wave)
    tests = indicator_tests(ev, report.wave).set_index("indicator")
    here = changes[changes["neighbourhood"] == report.neighbourhood].set_index("indicator")
    rows = []
    for ind in ev.project.indicator_ids:
        meta = fw.indicator_map[ind]
        h = here.loc[ind] if ind in here.index else None
        t = tests.loc[ind]
        rows.append(
            (
                meta.label,
                meta.better,
                ""
                if h is None
                else f"{_fmt_value(h['baseline_value'], meta.unit)} ({pd.Timestamp(h['baseline_period']):%b %Y})",
                "" if h is None else f"{_fmt_value(h['value'], meta.unit)} ({pd.Timestamp(h['period']):%b %Y})",
                "" if h is None else h["better_way"],
                _pct(t["pilot_pct"], True),
                _pct(t["comparison_pct"], True),
                _pct(t["net_pct"], True),
                "" if pd.isna(t["p_value"]) else ("yes" if t["clear"] else "no"),
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "Indicator",
            "Better when",
            "Baseline here",
            f"{_wave_label(fw, report.wave)} here",
            "Moved here",
            "Pilot areas (% better)",
            "Comparison areas (% better)",
            "Difference",
            "Beyond noise?",
        ],
    )
    s.table(table, f"Local indicators: change since the baseline period, {ev.project.name}")
    return s.text(
        "Change is measured from the latest figure on or before the baseline month to the latest figure on or "
        f"before the {_wave_label(fw, report.wave)} survey month, and shown as a percentage of the baseline figure, "
        "signed so that a positive number is the direction that counts as better. 'Beyond noise' compares the "
        "pilot areas' improvement with the comparison areas' and asks whether the difference is larger than the "
        "ups and downs the indicator showed before the baseline (two-sided, "
        f"{fw.settings.thresholds.confidence_level:.0%} level). Baseline month: {ev.calendar.source}.",
        "note",
    )


@cache.same_for_every_report
def predicted_against_actual(report: ProjectReport) -> Section:
    """Where a prediction (the value expected without the project) was given: predicted against actual."""
    ev = for_report(report)
    table = predicted_vs_actual(ev)
    s = Section()
    if table.empty:
        return s.text("No indicator in this project's data carries a predicted value.", "note")
    sentences = predicted_actual_sentences(table)
    fig = predicted_actual_chart(table)
    s.chart(fig, "Predicted against actual. " + " ".join(sentences))
    for sentence in sentences:
        s.text(sentence)
    return s.text(
        "The prediction is the value the council expected without the project, as given in the indicators file "
        "(column predicted). The gap between actual and predicted is the project's effect only if the prediction "
        "was sound; the comparison areas, where shown, are a check on it.",
        "note",
    )


@cache.same_for_every_neighbourhood
def kpi_tiers(report: ProjectReport) -> Section:
    """Seed 002's three tiers of KPIs: specific (3), medium-term (2) and high-level (1), over time."""
    ev = for_report(report)
    fw = report.fw
    s = Section()
    ids = ev.project.indicator_ids
    rows = []
    for tier in (3, 2, 1):
        names = [fw.indicator_map[i].label for i in ids if fw.indicator_map[i].tier == tier]
        rows.append((TIER_NAMES[tier], "; ".join(names) if names else "none collected yet"))
    s.table(
        pd.DataFrame(rows, columns=["Tier", "Indicators in this project's map"]), f"{ev.project.name}: KPIs by tier"
    )
    series = indicator_series(ev)
    if not series.empty and series["improvement_pct"].notna().any():
        fig = tier_chart(series, baseline=ev.calendar.baseline)
        alt = []
        for tier in (3, 2, 1):
            r = series[(series["tier"] == tier) & (series["role"] == "pilot") & series["improvement_pct"].notna()]
            if r.empty:
                alt.append(f"{TIER_NAMES[tier]}: no data")
                continue
            latest = r[r["period"] == r["period"].max()]["improvement_pct"].mean()
            alt.append(
                f"{TIER_NAMES[tier]}: pilot areas on average {latest:+.0f}% against baseline at the latest period"
            )
        s.chart(fig, "KPIs by tier over time. " + "; ".join(alt))
    return s.text(
        "Seed 002: specific KPIs (tier 3) test the solution's impact first; medium-term KPIs (tier 2) follow; "
        "high-level KPIs (tier 1: economy, satisfaction, demand) move last. Lines show the improvement since the "
        "baseline as a percentage, in the direction that counts as better.",
        "note",
    )


def high_level_indicators_section(report: ProjectReport) -> Section:
    """Appendix 1's high-level indicators for the ideals and outcomes this project's map reaches."""
    table = high_level_indicators(report.fw, report.project)
    shown = pd.DataFrame(
        {
            "Ideal": table["ideal"],
            "Outcome": table["label"],
            "High-level measure (Appendix 1)": table["measure"],
            "Collected in the workbook": np.where(table["collected"], "yes", "not yet"),
        }
    )
    return (
        Section()
        .table(shown, "High-level indicators available per ideal for this project's outcomes")
        .text(
            "These long-term measures (seed 000, Appendix 1) show progress over years rather than months. "
            "Add any the council collects to data/framework/indicators.yaml with tier 1 to chart them here.",
            "note",
        )
    )


def stories(report: ProjectReport) -> Section:
    """Consented co-operative stories: counts per outcome and wave, and short excerpts from this neighbourhood."""
    ev = for_report(report)
    fw = report.fw
    s = Section()
    planned = [line.outcome for line in ev.project.ripple if line.stories]
    counts = story_counts(ev)
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
    s.table(table, f"Co-operative stories shared with consent, per outcome and wave ({ev.project.name}, all areas)")
    ex = story_excerpts(ev, neighbourhood=report.neighbourhood, up_to_wave=report.wave)
    if ex.empty:
        s.text(f"No stories shared with consent from {report.data.name} up to this wave.", "note")
    for r in ex.itertuples():
        s.parts.append(
            f"<blockquote><p><strong>{_escape(r.title)}</strong> ({_escape(_wave_label(fw, r.wave))}; "
            f"{_escape(r.outcomes)})</p><p>{_escape(r.excerpt)}</p></blockquote>"
        )
    return s.text(
        "Stories are shown only when the person gave consent; they show how a change happened for someone, "
        "not how often it happens.",
        "note",
    )


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))


@cache.same_for_every_neighbourhood
def sentiment(report: ProjectReport) -> Section:
    """The sentiment and reputation tracker: tone shares by role and wave, counts by channel. Aggregates only."""
    ev = for_report(report)
    fw = report.fw
    s = Section()
    if ev.sentiment.empty:
        return s.text(
            "No sentiment items (social media, reputation tracker) have been imported for this project.", "note"
        )
    shares = sentiment_shares(ev)
    minimum = fw.settings.thresholds.minimum_base
    if not shares.empty:
        fig = sentiment_chart(shares, minimum)
        alt = "; ".join(
            f"{r.role} areas, {r.wave}: "
            + (
                f"fewer than {minimum} items"
                if r.suppressed
                else f"{r.positive:.0%} positive, {r.negative:.0%} negative"
            )
            for r in shares.itertuples()
        )
        s.chart(fig, "Tone of comments by area type and wave. " + alt)
        shown = pd.DataFrame(
            {
                "Areas": shares["role"],
                "Wave": shares["wave"].map(lambda w: _wave_label(fw, w)),
                "Items": shares["items"],
                **{
                    t.capitalize(): [
                        "" if sup else f"{v:.0%}" for v, sup in zip(shares[t], shares["suppressed"], strict=True)
                    ]
                    for t in TONES
                },
            }
        )
        s.table(shown, "Share of comments positive, neutral and negative (pilot and comparison areas pooled)")
    channels = sentiment_by_channel(ev)
    if not channels.empty:
        s.table(
            channels.rename(columns={"channel": "Channel"} | {w.id: w.label for w in fw.settings.waves}),
            "Comments per channel and wave (all the project's areas)",
        )
    change = sentiment_change(ev, report.wave)
    if change["has_data"]:
        s.text(
            f"Net tone (positive minus negative) changed by {100 * change['difference']:+.0f} points since the "
            f"baseline ({change['design']}); "
            + ("a clear change." if change["clear"] else "not a clear change given the number of comments.")
        )
    return s.text(
        "Each comment is scored by VADER (vaderSentiment), a maintained sentiment library: compound score 0.05 or "
        "more is positive, -0.05 or less negative, otherwise neutral. Individual comments are never shown; shares "
        f"from fewer than {minimum} comments are not shown. Comments are dated and assigned to the survey wave "
        "whose month they fall in or after.",
        "note",
    )


def financial_resilience(report: ProjectReport) -> Section:
    """The financial-resilience check (paired before/after answers) where the project uses it."""
    fw = report.fw
    res = fw.resilience
    s = Section()
    if res is None or report.project_id not in res.projects:
        return s.text("This project does not use the financial-resilience check.", "note")
    pairs = resilience_pairs(load_resilience(report.db, fw, report.project_id), fw)
    if pairs.empty:
        return s.text(
            f"No paired answers to the {res.title} yet. Ask the people the scheme supports to answer it before "
            "and after the support (data/framework/resilience.yaml) and import their answers with "
            "python -m helpers import resilience FILE.",
            "note",
        )
    results = resilience_results(pairs, fw)
    minimum = fw.settings.thresholds.minimum_base
    level = f"{fw.settings.thresholds.confidence_level:.0%}"
    shown = []
    for r in results.itertuples():
        score = r.measure == "score"
        fmt = (lambda v: f"{v:.2f}") if score else (lambda v: f"{v:.0%}")
        dfmt = (lambda v: f"{v:+.2f}") if score else (lambda v: f"{100 * v:+.0f} points")
        if r.suppressed:
            shown.append((r.label, r.test, r.n_pairs, f"fewer than {minimum} pairs", "", "", "", "", ""))
            continue
        shown.append(
            (
                r.label,
                r.test,
                r.n_pairs,
                fmt(r.before),
                fmt(r.after),
                f"{dfmt(r.change)} ({dfmt(r.ci_low)} to {dfmt(r.ci_high)})"
                if not pd.isna(r.ci_low)
                else dfmt(r.change),
                f"{r.p_value:.3f}" if not pd.isna(r.p_value) else "",
                f"{r.effect_size:+.2f}" if score and not pd.isna(r.effect_size) else "",
                "better" if r.improved else ("no clear change" if not r.clear else "worse"),
            )
        )
    table = pd.DataFrame(
        shown,
        columns=[
            "Measure",
            "Test",
            "People (pairs)",
            "Before",
            "After",
            f"Change ({level} interval)",
            "p-value",
            "Rank-biserial",
            "Result",
        ],
    )
    s.table(table, f"{res.title}: the same people before and after support (all the project's areas)")
    return s.text(
        f"{res.note} Each person is compared with themselves. Score: median before and after, the typical change "
        "(Hodges-Lehmann) with its interval, Wilcoxon's signed-rank test, and the rank-biserial correlation "
        "(-1 to +1: the balance of people whose score rose over those whose score fell, weighted by size). "
        "Yes/no questions: share answering yes before and after, McNemar's exact test on the people who changed "
        "answer, and Newcombe's interval for the change. Without a comparison group, a change may also reflect "
        "anything else that changed for these people over the time.",
        "note",
    )
