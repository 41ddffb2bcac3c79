"""Sentiment: comments from social media or a reputation tracker, scored with VADER, shown as aggregates only.

Items are scored inside :func:`load_sentiment` / :func:`score_sentiment_items` and their text is dropped
there: only the score, tone, channel, date and neighbourhood leave this module, and every result below is
a count or a share (shares from fewer items than the minimum base are blank).

``sentiment_score(texts)``, ``sentiment_tone(compound)``, ``score_sentiment_items(items)``,
``load_sentiment(con, project)``, ``sentiment_shares(ev)``, ``sentiment_by_channel(ev)``,
``sentiment_channels(ev, neighbourhood)``, ``sentiment_change(ev, wave)``
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from ..config.framework import Framework
from ..methods.estimates import normal_quantile, two_sided_p
from ..store import database as store

if TYPE_CHECKING:
    import duckdb


class ProjectEvidence(Protocol):
    """What these functions read of a :class:`helpers.evidence.project.ProjectEvidence` (which imports this
    module to score items, so it is not imported here)."""

    fw: Framework
    sentiment: pd.DataFrame


# vaderSentiment's documented thresholds on the compound score (README, "About the scoring").
POSITIVE_FROM = 0.05
NEGATIVE_TO = -0.05
TONES = ("positive", "neutral", "negative")
ITEM_COLUMNS = ["item_id", "neighbourhood", "date", "channel", "text"]


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


def score_sentiment_items(items: pd.DataFrame) -> pd.DataFrame:
    """Score items (columns item_id, neighbourhood, date, channel, text) and drop their text.

    Returns item_id, neighbourhood, date, channel, compound, tone: nothing an item said leaves this function.
    """
    frame = items.copy()
    frame["compound"] = sentiment_score(frame["text"].tolist()) if len(frame) else pd.Series(dtype=float)
    frame["tone"] = sentiment_tone(frame["compound"]) if len(frame) else pd.Series(dtype=object)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[["item_id", "neighbourhood", "date", "channel", "compound", "tone"]].reset_index(drop=True)


def load_sentiment(con: duckdb.DuckDBPyConnection, project: str) -> pd.DataFrame:
    """The project's sentiment items scored with VADER; the text is dropped here and never returned."""
    if not store.has_table(con, "sentiment"):
        return score_sentiment_items(pd.DataFrame(columns=ITEM_COLUMNS))
    frame = con.execute(
        "SELECT item_id, neighbourhood, date, channel, text FROM sentiment WHERE project = ? ORDER BY item_id",
        [project],
    ).df()
    return score_sentiment_items(frame)


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


def sentiment_channels(ev: ProjectEvidence, neighbourhood: str) -> pd.DataFrame:
    """Items collected in one neighbourhood per channel, whatever their wave (counts only; a report passes the
    evidence as at its wave).

    Columns: channel ('not given' when blank), items, first_date, last_date; sorted by channel."""
    s = ev.sentiment[ev.sentiment["neighbourhood"] == neighbourhood]
    columns = ["channel", "items", "first_date", "last_date"]
    if s.empty:
        return pd.DataFrame(columns=columns)
    s = s.assign(channel=s["channel"].fillna("not given"))
    out = s.groupby("channel").agg(items=("tone", "size"), first_date=("date", "min"), last_date=("date", "max"))
    return out.reset_index()[columns]


def _role_wave_cell(s: pd.DataFrame, role: str, wave: str, minimum: int) -> tuple[float, float, int] | None:
    """Mean item value, its variance (``var / items``) and the item count of a role x wave; None below ``minimum``
    items (and below two, where a variance needs them).

    The minimum is the one that blanks a group's shares (:func:`sentiment_shares`): a change built from a blanked
    group would give its net away (the change minus the other wave's published net), and rest on a handful of
    comments."""
    v = s.loc[(s["role"] == role) & (s["wave"] == wave), "v"].to_numpy(dtype=float)
    return (v.mean(), v.var(ddof=1) / len(v), len(v)) if len(v) >= max(2, minimum) else None


def sentiment_change(ev: ProjectEvidence, wave: str, confidence: float | None = None) -> dict:
    """Change in net sentiment (items scored +1 / 0 / -1) from baseline to ``wave``: pilots minus comparisons.

    Each of the (up to) four role x wave groups contributes its mean and ``variance / items``; a normal
    test on the difference and its interval. Returns a dict: pilot_change, comparison_change, difference,
    se, ci_low, ci_high, p_value, clear, design, items (pilot items at the two waves), has_data.
    """
    conf = confidence or ev.fw.settings.thresholds.confidence_level
    base = ev.fw.settings.baseline
    minimum = ev.fw.settings.thresholds.minimum_base
    s = ev.sentiment.assign(v=_tone_value(ev.sentiment["tone"]))
    p1, p0 = _role_wave_cell(s, "pilot", wave, minimum), _role_wave_cell(s, "pilot", base, minimum)
    if wave == base or p1 is None or p0 is None:
        return {"has_data": False, "design": "", "items": 0, "p_value": math.nan, "difference": math.nan}
    pilot_change, var = p1[0] - p0[0], p1[1] + p0[1]
    c1, c0 = _role_wave_cell(s, "comparison", wave, minimum), _role_wave_cell(s, "comparison", base, minimum)
    if c1 is not None and c0 is not None:
        comparison_change, design = c1[0] - c0[0], "pilot against comparison"
        var += c1[1] + c0[1]
    else:
        comparison_change, design = math.nan, "before and after"
    diff = pilot_change - (0 if math.isnan(comparison_change) else comparison_change)
    se = math.sqrt(var)
    p = float(two_sided_p(diff / se)) if se > 0 else (0.0 if diff else 1.0)
    z = normal_quantile(0.5 + conf / 2)
    return {
        "has_data": True,
        "pilot_change": pilot_change,
        "comparison_change": comparison_change,
        "difference": diff,
        "se": se,
        "p_value": p,
        "ci_low": diff - z * se,
        "ci_high": diff + z * se,
        "clear": p < 1 - conf,
        "design": design,
        "items": p1[2] + p0[2],
    }
