"""One project's evidence beyond the survey, loaded once: local indicators, consented stories, scored sentiment.

The ripple methodology (seed 000, 4.2-4.4) blends the Your Voice survey with local indicators, case
studies ("co-operative stories") and sentiment from social media or a reputation tracker. This module reads
that evidence for one project into a :class:`ProjectEvidence` of tidy frames; :mod:`.indicators`,
:mod:`.stories`, :mod:`.sentiment` and :mod:`.resilience` compute from it, and
:mod:`helpers.presentation.sections.evidence` shows it. docs/ripple.md explains every rule in plain English.

Privacy, enforced here and in :mod:`helpers.store.access` rather than in notebooks: stories are read only
through :func:`helpers.store.access.consented_stories` (``consent = 'yes'`` in the SQL) and filtered again
in :func:`build_evidence`; sentiment items are scored on loading and their text dropped there.

Time: survey waves have no dates, indicators and sentiment have. :func:`project_calendar` anchors the
waves: the baseline is the project's ``start`` month (``projects/<id>.yaml``) when given, otherwise the
latest dated indicator or sentiment month taken as the month of the latest wave with survey data, counted
back by that wave's ``months`` (``settings.yaml``). A wave's month is the month its fieldwork ended; a
report at a wave is *as at* that month: :meth:`ProjectEvidence.up_to` keeps only the indicator figures
and comments dated on or before it, and the stories of that wave and earlier. A dated comment belongs to
the first wave whose month is on or after its own (the months leading up to that wave's fieldwork).

``load_project_evidence(db, fw, project_id) -> ProjectEvidence`` (``build_evidence`` from frames),
``project_calendar(fw, project, ...) -> Calendar``, ``ProjectEvidence.up_to(wave)``
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..config.framework import Framework, Project
from ..store import access
from ..store import database as store
from .sentiment import ITEM_COLUMNS, load_sentiment, score_sentiment_items

if TYPE_CHECKING:
    import duckdb

AREA_COLUMNS = ["neighbourhood", "name", "role"]
INDICATOR_COLUMNS = ["indicator", "neighbourhood", "period", "value", "predicted"]
STORY_COLUMNS = ["story_id", "neighbourhood", "wave", "outcomes", "title", "text"]


# --- time: anchoring the survey waves in the calendar --------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """The month of each survey wave for one project, and how it was decided."""

    baseline: pd.Period | None  # month of the baseline wave; None when nothing is dated
    waves: dict[str, pd.Period]  # wave id -> month (the month the wave's fieldwork ended)
    source: str  # where the baseline month came from (for the command line and the docs)
    exact: bool = False  # True when the months come from the project's start month; False when estimated

    @property
    def known(self) -> bool:
        """Whether the waves have months at all (a start month, or dated data to estimate them from)."""
        return self.baseline is not None

    def month(self, wave: str) -> pd.Period | None:
        return self.waves.get(wave)

    def cutoff(self, wave: str) -> pd.Timestamp | None:
        """The first moment after the wave's month: a report at ``wave`` uses what is dated before it."""
        month = self.month(wave)
        return None if month is None else (month + 1).start_time

    def wave_of(self, when: pd.Series) -> pd.Series:
        """The wave each date belongs to: the first wave whose month is on or after the date's month (the
        months leading up to that wave's fieldwork). Before the baseline month, or after the last wave's
        month: <NA>."""
        out = pd.Series(pd.NA, index=when.index, dtype=object)
        if self.baseline is None or when.empty:
            return out
        months = pd.PeriodIndex(pd.to_datetime(when), freq="M")
        for wave, month in sorted(self.waves.items(), key=lambda kv: kv[1], reverse=True):
            out[months <= month] = wave
        out[months < self.baseline] = pd.NA
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
        exact = True
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
        exact = False
    return Calendar(baseline, {w: baseline + m for w, m in months.items()}, source, exact)


# --- one project's evidence -------------------------------------------------------------------------


@dataclass
class ProjectEvidence:
    """Everything beyond the survey for one project, loaded once (results computed from it are kept by the
    one cache, :meth:`helpers.evidence.context.ProjectData.result`)."""

    fw: Framework
    project: Project
    areas: pd.DataFrame  # neighbourhood, name, role (this project's rows)
    indicators: pd.DataFrame  # indicator, neighbourhood, role, period (Timestamp), value, predicted
    stories: pd.DataFrame  # consented only: story_id, neighbourhood, wave, outcomes, title, text
    sentiment: pd.DataFrame  # neighbourhood, role, date, channel, compound, tone, wave (no text)
    survey_waves: tuple[str, ...]  # waves with survey data in the project's neighbourhoods
    calendar: Calendar = field(default_factory=lambda: Calendar(None, {}, ""))

    def up_to(self, wave: str | None) -> ProjectEvidence:
        """The evidence as at ``wave``: indicator figures and comments dated on or before the wave's month, and
        the stories of that wave and earlier. When the calendar is unknown, the dated evidence is kept whole
        (the sections say so); ``None`` keeps everything."""
        if wave is None:
            return self
        waves = list(self.fw.settings.wave_ids)
        stories = self.stories[self.stories["wave"].isin(waves[: waves.index(wave) + 1])]
        indicators, sentiment = self.indicators, self.sentiment
        cutoff = self.calendar.cutoff(wave)
        if cutoff is not None:
            indicators = indicators[indicators["period"] < cutoff]
            sentiment = sentiment[sentiment["date"] < cutoff]
        return replace(
            self,
            indicators=indicators.reset_index(drop=True),
            stories=stories.reset_index(drop=True),
            sentiment=sentiment.reset_index(drop=True),
        )

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
    if not indicator_ids or not store.has_table(con, "indicators"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in INDICATOR_COLUMNS})
    ids, hoods = list(indicator_ids), [*neighbourhoods, "all"]
    frame = con.execute(
        f"SELECT indicator, neighbourhood, period, value, predicted FROM indicators "
        f"WHERE indicator IN ({', '.join('?' * len(ids))}) AND neighbourhood IN ({', '.join('?' * len(hoods))}) "
        "ORDER BY indicator, neighbourhood, period",
        [*ids, *hoods],
    ).df()
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def _survey_waves(con: duckdb.DuckDBPyConnection, fw: Framework, hoods: list[str]) -> tuple[str, ...]:
    """The waves with survey answers in these neighbourhoods, in wave order."""
    if not hoods or not store.has_table(con, "survey"):
        return ()
    found = con.execute(
        f"SELECT DISTINCT wave FROM survey WHERE neighbourhood IN ({', '.join('?' * len(hoods))})", hoods
    ).fetchall()
    return tuple(w for w in fw.settings.wave_ids if w in {r[0] for r in found})


def load_project_evidence(db: Path | str, fw: Framework, project_id: str) -> ProjectEvidence:
    """Open the database read-only and load one project's indicators, consented stories and sentiment."""
    project = fw.project(project_id)
    con = store.connect(db, read_only=True)
    try:
        areas = access.load_areas(con)
        mine = (
            areas.loc[areas["project"] == project_id, AREA_COLUMNS].reset_index(drop=True)
            if not areas.empty
            else pd.DataFrame(columns=AREA_COLUMNS)
        )
        hoods = mine["neighbourhood"].tolist()
        indicators = load_indicators(con, project.indicator_ids, hoods)
        stories = access.consented_stories(con, project_id)  # consent = 'yes' in the SQL
        sentiment = load_sentiment(con, project_id)
        survey_waves = _survey_waves(con, fw, hoods)
    finally:
        con.close()
    return build_evidence(
        fw, project, mine, indicators=indicators, stories=stories, sentiment=sentiment, survey_waves=survey_waves
    )


def calendar_in(db: Path | str, fw: Framework, project_id: str) -> Calendar:
    """The project's calendar from the database by two small queries (the latest dated indicator and sentiment
    months, the waves with answers): the same months :func:`load_project_evidence` gives, without loading
    or scoring anything (the batch's index shows each report's fieldwork month)."""
    project = fw.project(project_id)
    if project.start:
        return project_calendar(fw, project)
    con = store.connect(db, read_only=True)
    try:
        areas = access.load_areas(con)
        hoods = areas.loc[areas["project"] == project_id, "neighbourhood"].tolist() if not areas.empty else []
        latest = []
        ids, places = list(project.indicator_ids), [*hoods, "all"]
        if ids and store.has_table(con, "indicators"):
            latest += con.execute(
                f"SELECT max(period) FROM indicators WHERE indicator IN ({', '.join('?' * len(ids))}) "
                f"AND neighbourhood IN ({', '.join('?' * len(places))})",
                [*ids, *places],
            ).fetchall()
        if store.has_table(con, "sentiment"):
            latest += con.execute("SELECT max(date) FROM sentiment WHERE project = ?", [project_id]).fetchall()
        waves = _survey_waves(con, fw, hoods)
    finally:
        con.close()
    dated = [pd.Period(pd.Timestamp(when), freq="M") for (when,) in latest if when is not None]
    return project_calendar(fw, project, dated_months=dated, survey_waves=waves)


def _consented(stories: pd.DataFrame | None) -> pd.DataFrame:
    """Only the stories whose teller consented (a second gate after the SQL); refuses a frame without consent."""
    if stories is None or stories.empty:
        return pd.DataFrame(columns=STORY_COLUMNS)
    if "consent" not in stories.columns:
        raise ValueError("stories need their consent column: only consent 'yes' may be shown")
    return stories.loc[stories["consent"] == "yes", STORY_COLUMNS].reset_index(drop=True)


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
    indicators = (pd.DataFrame(columns=INDICATOR_COLUMNS) if indicators is None else indicators).copy()
    indicators["period"] = pd.to_datetime(indicators["period"])
    for col in ("value", "predicted"):
        indicators[col] = pd.to_numeric(indicators[col], errors="coerce").astype(float)
    indicators["role"] = indicators["neighbourhood"].map(roles).fillna("borough")
    if sentiment is None:
        sentiment = pd.DataFrame(columns=ITEM_COLUMNS)
    sentiment = score_sentiment_items(sentiment) if "text" in sentiment.columns else sentiment.copy()
    sentiment["role"] = sentiment["neighbourhood"].map(roles).astype(object).fillna("other")
    dated = [pd.Period(p, freq="M") for p in indicators["period"]] + [pd.Period(d, freq="M") for d in sentiment["date"]]
    calendar = project_calendar(fw, project, dated_months=dated, survey_waves=survey_waves)
    sentiment["wave"] = calendar.wave_of(sentiment["date"])
    return ProjectEvidence(
        fw, project, areas.copy(), indicators, _consented(stories), sentiment, survey_waves, calendar
    )
