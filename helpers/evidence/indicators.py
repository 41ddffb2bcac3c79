"""Local indicators: change since the baseline, tested against the indicator's own noise, and predictions.

Every function reads a :class:`~helpers.evidence.project.ProjectEvidence` and returns a tidy frame (sorted,
deterministic); the sections that show them are in :mod:`helpers.presentation.sections.evidence`.

A change is measured on the indicator's own scale (``SCALES``): a percentage in points, a rate in its
units, a count as a percentage of its baseline figure. The functions read whatever evidence they are given:
a report passes the evidence as at its wave (:meth:`~helpers.evidence.project.ProjectEvidence.up_to`).

``indicator_changes(ev, wave)``, ``indicator_tests(ev, wave)``, ``indicator_series(ev)``,
``predicted_vs_actual(ev)``, ``predicted_actual_sentences(table)``, ``high_level_indicators(fw, project)``,
``format_value(value, unit)``, ``shown_value(value, unit)``, ``scale_of(unit)``, ``on_scale(...)``
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config.framework import Framework, Project
from ..methods.estimates import normal_quantile, two_sided_p

if TYPE_CHECKING:
    from .project import ProjectEvidence

TIER_NAMES = {3: "Specific (tier 3)", 2: "Medium-term (tier 2)", 1: "High-level (tier 1)"}
CHANGE_COLUMNS = [
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
    "scale",
    "change_on_scale",
    "improvement",
    "improvement_pct",
    "better_way",
]
TEST_COLUMNS = [
    "indicator",
    "label",
    "unit",
    "scale",
    "better",
    "tier",
    "pilot_change",
    "comparison_change",
    "net_change",
    "ci_low",
    "ci_high",
    "noise_sd",
    "se",
    "p_value",
    "direction",
    "design",
    "n_pilot",
    "n_comparison",
    "baseline_period",
    "period",
    "pilot_pct",
    "comparison_pct",
    "net_pct",
]


def _indicator_meta(fw: Framework) -> pd.DataFrame:
    return pd.DataFrame(
        [(i.id, i.label, i.unit, i.better, i.tier) for i in fw.indicators],
        columns=["indicator", "label", "unit", "better", "tier"],
    )


def _month_end(month: pd.Period) -> pd.Timestamp:
    return (month + 1).start_time


def format_value(value: float, unit: str) -> str:
    """An indicator's value as a reader sees it: '62%' for a percentage, '45.7' or '1,234' otherwise."""
    if pd.isna(value):
        return ""
    if unit == "percent":
        return f"{value:.0f}%"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


# --- the reader's scale: points for percentages, the rate's own units, % for counts -----------------

# How a change of each unit is measured and shown: a percentage moves in percentage points, a rate (per
# 1,000 residents, say) in its own units, a count as a percentage of its baseline figure.
SCALES = {"percent": "points", "rate": "units", "count": "percent"}


def scale_of(unit: str) -> str:
    return SCALES.get(unit, "units")


def on_scale(change, baseline_value, unit: str):
    """A change (value minus baseline value) on the unit's scale: itself, or % of the baseline for a count."""
    if scale_of(unit) != "percent":
        return change
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * np.asarray(change, dtype=float) / np.abs(np.asarray(baseline_value, dtype=float))


# --- change since the baseline ------------------------------------------------------------------


def _endpoints(ev: ProjectEvidence, base_month: pd.Period, wave_month: pd.Period) -> pd.DataFrame:
    """Per indicator x neighbourhood: the latest value on or before the baseline month and the latest after it
    on or before the wave's month (pairs missing either are left out)."""
    rows = []
    for (ind, hood), series in ev.indicators.groupby(["indicator", "neighbourhood"], sort=True):
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
    return pd.DataFrame(
        rows, columns=["indicator", "neighbourhood", "role", "baseline_period", "baseline_value", "period", "value"]
    )


def indicator_changes(ev: ProjectEvidence, wave: str) -> pd.DataFrame:
    """Per indicator x neighbourhood: the baseline value, the value at the wave, and the change.

    The baseline value is the latest period on or before the end of the baseline month; the wave's value
    the latest period on or before the end of the wave's month (after the baseline period). ``change`` is
    value minus baseline value; ``change_on_scale`` the same on the reader's scale (``scale``: points for a
    percentage, the rate's units, % of the baseline for a count). ``improvement`` is the change signed so
    that positive is the direction that counts as better; ``improvement_pct`` is it as a percentage of the
    baseline value. Columns: ``CHANGE_COLUMNS``.
    """
    base_month, wave_month = ev.calendar.baseline, ev.calendar.month(wave)
    if base_month is None or wave_month is None or ev.indicators.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    frame = _endpoints(ev, base_month, wave_month).merge(_indicator_meta(ev.fw), on="indicator", how="left")
    sign = np.where(frame["better"] == "lower", -1.0, 1.0)
    frame["change"] = frame["value"] - frame["baseline_value"]
    frame["scale"] = frame["unit"].map(scale_of)
    frame["change_on_scale"] = [
        float(on_scale(c, b, u))
        for c, b, u in zip(frame["change"], frame["baseline_value"], frame["unit"], strict=True)
    ]
    frame["improvement"] = frame["change"] * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["improvement_pct"] = 100 * frame["improvement"] / frame["baseline_value"].abs()
    frame["better_way"] = np.select(
        [frame["improvement"] > 0, frame["improvement"] < 0], ["better", "worse"], default="no change"
    )
    return frame[CHANGE_COLUMNS].reset_index(drop=True)


# --- the test against noise ---------------------------------------------------------------------


def _noise_sd(ev: ProjectEvidence, indicator: str, hoods: list[str]) -> tuple[float, int]:
    """SD of period-to-period changes up to the baseline, on the indicator's scale (a count's as % of its last
    value before the baseline), pooled over ``hoods``, and their count."""
    end = _month_end(ev.calendar.baseline)
    unit = ev.fw.indicator_map[indicator].unit
    steps = []
    data = ev.indicators
    for hood in hoods:
        s = data[(data["indicator"] == indicator) & (data["neighbourhood"] == hood) & (data["period"] < end)]
        s = s.sort_values("period")["value"].to_numpy(dtype=float)
        if len(s) >= 2 and (scale_of(unit) != "percent" or s[-1] != 0):
            steps.extend(on_scale(np.diff(s), s[-1], unit))
    if len(steps) < 2:
        return math.nan, len(steps)
    return float(np.std(steps, ddof=1)), len(steps)


def _prediction_gap(ev: ProjectEvidence, indicator: str, pilot: pd.DataFrame) -> tuple[float, float]:
    """Mean over pilots of actual minus predicted at the wave's period: on the indicator's scale, and signed
    to better as % of baseline (both NaN without a prediction)."""
    data = ev.indicators
    gaps, gaps_pct = [], []
    for row in pilot.itertuples():
        hit = data[
            (data["indicator"] == indicator)
            & (data["neighbourhood"] == row.neighbourhood)
            & (data["period"] == row.period)
        ]
        if hit.empty or pd.isna(hit["predicted"].iloc[0]) or row.baseline_value == 0:
            continue
        gap = row.value - float(hit["predicted"].iloc[0])
        sign = -1.0 if row.better == "lower" else 1.0
        gaps.append(float(on_scale(gap, row.baseline_value, row.unit)))
        gaps_pct.append(100 * sign * gap / abs(row.baseline_value))
    return (float(np.mean(gaps)), float(np.mean(gaps_pct))) if gaps else (math.nan, math.nan)


def _net(ev: ProjectEvidence, indicator: str, pilot: pd.DataFrame, comp: pd.DataFrame) -> tuple:
    """The comparison's change and the net change, on the scale and as % better, and the design."""
    pilot_change, pilot_pct = float(pilot["change_on_scale"].mean()), float(pilot["improvement_pct"].mean())
    if not comp.empty:
        comp_change, comp_pct = float(comp["change_on_scale"].mean()), float(comp["improvement_pct"].mean())
        return comp_change, pilot_change - comp_change, comp_pct, pilot_pct - comp_pct, "pilot against comparison"
    gap, gap_pct = _prediction_gap(ev, indicator, pilot)
    if not math.isnan(gap):
        return math.nan, gap, math.nan, gap_pct, "against prediction"
    return math.nan, pilot_change, math.nan, pilot_pct, "before and after"


def _indicator_test(ev: ProjectEvidence, indicator: str, changes: pd.DataFrame, z_crit: float) -> tuple:
    """One row of :func:`indicator_tests` (its columns, ``TEST_COLUMNS``)."""
    ch = changes[changes["indicator"] == indicator]
    pilot, comp = ch[ch["role"] == "pilot"], ch[ch["role"] == "comparison"]
    m = ev.fw.indicator_map[indicator]
    head = (indicator, m.label, m.unit, scale_of(m.unit), m.better, int(m.tier))
    if pilot.empty:
        return (*head, *([math.nan] * 8), "", "no data", 0, 0, pd.NaT, pd.NaT, *([math.nan] * 3))
    pilot_change, pilot_pct = float(pilot["change_on_scale"].mean()), float(pilot["improvement_pct"].mean())
    comp_change, net, comp_pct, net_pct, design = _net(ev, indicator, pilot, comp)
    sd, _ = _noise_sd(ev, indicator, pilot["neighbourhood"].tolist() + comp["neighbourhood"].tolist())
    n_p, n_c = len(pilot), len(comp)
    se = sd * math.sqrt(1 / n_p + (1 / n_c if n_c and design == "pilot against comparison" else 0))
    z = net / se if se and not math.isnan(se) and se > 0 else math.nan
    p = float(two_sided_p(z)) if not math.isnan(z) else math.nan
    low, high = (net - z_crit * se, net + z_crit * se) if not math.isnan(z) else (math.nan, math.nan)
    better = net if m.better == "higher" else -net
    direction = "better" if better > 0 else "worse" if better < 0 else "no change"
    periods = (pilot["baseline_period"].max(), pilot["period"].max())
    return (
        *head,
        pilot_change,
        comp_change,
        net,
        low,
        high,
        sd,
        se,
        p,
        direction,
        design,
        n_p,
        n_c,
        *periods,
        pilot_pct,
        comp_pct,
        net_pct,
    )


def indicator_tests(ev: ProjectEvidence, wave: str, confidence: float | None = None) -> pd.DataFrame:
    """Per indicator of the project's map: did the pilots change, beyond noise, more than the comparison?

    On the indicator's scale (``scale``: points for a percentage, the rate's units, % of the baseline for a
    count): ``pilot_change`` / ``comparison_change`` are the mean change over the role's neighbourhoods
    (value minus baseline value, not signed to better); ``net_change`` = pilot minus comparison; with no
    comparison data, pilot actual minus the ``predicted`` value at the wave when given (``design`` 'against
    prediction'), else the pilot change alone ('before and after'). Noise: the SD of period-to-period
    changes before the baseline on the same scale, pooled over the project's neighbourhoods; ``se =
    noise_sd * sqrt(1/n_pilot + 1/n_comparison)``, ``z = net_change/se``, two-sided normal ``p_value``,
    interval ``ci_low`` to ``ci_high`` (``net_change -/+ z * se``). ``direction``: whether the net change is
    in the direction that counts as better. No noise estimate (fewer than two changes before baseline) ->
    blank p-value and interval: the direction is shown but never counted as clear. ``pilot_pct``,
    ``comparison_pct``, ``net_pct``: the same comparison as a percentage of each baseline value, signed so
    that positive is better (what the ripple's indicator line weighs).
    """
    conf = confidence or ev.fw.settings.thresholds.confidence_level
    z_crit = normal_quantile(0.5 + conf / 2)
    changes = indicator_changes(ev, wave)
    rows = [_indicator_test(ev, ind, changes, z_crit) for ind in ev.project.indicator_ids]
    frame = pd.DataFrame(rows, columns=TEST_COLUMNS)
    frame["clear"] = frame["p_value"] < (1 - conf)
    return frame


# --- series and predictions -----------------------------------------------------------------------


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


def shown_value(value: float, unit: str) -> float:
    """The value as :func:`format_value` shows it (the one rounding rule), as a number."""
    if unit == "percent" or abs(value) >= 100:
        return float(round(value))
    return float(round(value, 1))


def predicted_actual_sentences(table: pd.DataFrame) -> list[str]:
    """One plain sentence per indicator: the latest pilot prediction against the actual value.

    The gap is worked out from the two figures as shown, so the sentence's arithmetic is the reader's."""
    out = []
    for _, rows in table.groupby("indicator", sort=True):
        pilot = rows[(rows["role"] == "pilot") & rows["predicted"].notna()].sort_values("period")
        if pilot.empty:
            continue
        last = pilot.iloc[-1]
        unit = last["unit"]
        gap = shown_value(last["actual"], unit) - shown_value(last["predicted"], unit)
        better = (gap > 0) == (last["better"] == "higher") if gap != 0 else None
        way = "better than" if better else "worse than" if better is False else "exactly as"
        if unit == "percent":
            size = f"{abs(gap):.0f} point{'' if abs(gap) == 1 else 's'} "
        else:
            size = f"{format_value(abs(gap), unit)} "
        out.append(
            f"{last['label']}: predicted {format_value(last['predicted'], unit)}, actual about "
            f"{format_value(last['actual'], unit)} in the pilot neighbourhoods in "
            f"{pd.Timestamp(last['period']).strftime('%B %Y')} ({size if gap else ''}{way} predicted)."
        )
    return out


def high_level_indicators(
    fw: Framework, project: Project | None = None, data: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Appendix 1's high-level indicators per ideal and outcome (the project's outcomes when given).

    Columns: ideal, outcome, label, in_map (outcome in the project's ripple map), measure, collected (a
    tier-1 indicator of the catalogue is named the same and, when ``data`` (indicator rows, e.g. as at a
    wave) is given, has figures in it; otherwise the basket is not collected yet).
    """
    tier_one = {i.label.lower(): i.id for i in fw.indicators if i.tier == 1}
    if data is not None:
        have = set(data["indicator"])
        tier_one = {label: i for label, i in tier_one.items() if i in have}
    in_map = set(project.outcome_ids) if project else set()
    rows = []
    for ideal in fw.ideals:
        for o in ideal.outcomes:
            if project and o.id not in in_map:
                continue
            for measure in o.high_level_indicators:
                rows.append((ideal.name, o.id, o.label, o.id in in_map, measure, measure.lower() in tier_one))
    return pd.DataFrame(rows, columns=["ideal", "outcome", "label", "in_map", "measure", "collected"])
