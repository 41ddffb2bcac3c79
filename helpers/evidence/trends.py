"""Trends before the project: were the pilot and comparison areas moving alike before it started?

A local indicator's difference-in-differences (:func:`helpers.evidence.indicators.indicator_tests`) assumes
that, without the project, the pilot areas would have moved as the comparison areas did. Indicators often have
years of figures before the project's start, so the assumption can be checked there. Per indicator of the
project's ripple map:

- **the series** (:func:`role_series`): each area's change since its own figure at the start (the latest on or
  before the start month, as the indicator's baseline value), on the indicator's own scale (points for a
  percentage, the rate's units, % of the start figure for a count: :func:`helpers.evidence.indicators.on_scale`),
  averaged over the role's areas at each period: the simple mean of areas per role that the indicator test uses.
  Time is months from the start (negative before it), so the two series meet at 0 at the start;
- **the slope test**: the difference between the pilot and the comparison series' linear trends over the
  periods on or before the start month, a year at a time, by OLS with a role x time interaction
  (:func:`helpers.methods.trends.slope_difference`), with its interval at the framework's confidence level;
- **the placebo**: the workbook's own indicator test (:func:`~helpers.evidence.indicators.indicator_tests`) run
  as if the project had started earlier (by the longest wave's months, at most half the figures before the
  start, so that the test has earlier figures to measure the indicator's usual ups and downs from) and
  ending at the real start: a clear "effect" there is one the project cannot have caused;
- **the verdict**: ``differently`` when either check is clear (for the assumption the comparison rests on, a
  false alarm costs less than a missed divergence), ``alike`` when neither is, ``too few`` when either role has
  fewer than :data:`helpers.methods.trends.MIN_POINTS` periods before the start, ``no comparison`` without the
  comparison areas' figures, ``no figures`` without the pilot areas' figures before the start, ``no start`` when
  the survey months are unknown.

**The start.** The project's ``start`` month (``projects/<id>.yaml``) when recorded. Otherwise the baseline month
the calendar estimates from the data (:func:`helpers.evidence.project.project_calendar`) stands in for it, and
``start_recorded`` is False: the section says the start is not recorded and that the check uses the estimated
month. With nothing dated either, there is no start and nothing to check.

The figures before the start are the same at every wave, so the verdict is too; a report cuts the series after
the start at its wave (:meth:`~helpers.evidence.project.ProjectEvidence.up_to`) before drawing it.

``role_series(ev)``, ``pre_trend_tests(ev, confidence=None)``, ``VERDICTS``
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from ..methods import trends
from .indicators import indicator_tests, on_scale, scale_of
from .project import Calendar, ProjectEvidence

ROLES = ("pilot", "comparison")
VERDICTS = ("alike", "differently", "too few", "no comparison", "no figures", "no start")
SERIES_COLUMNS = ["indicator", "role", "period", "months", "change", "areas"]
SLOPE_FIELDS = ["pilot_slope", "comparison_slope", "difference", "se", "ci_low", "ci_high", "p_value", "df"]
FIT_FIELDS = {"pilot_at_start": "pilot_at_zero", "comparison_at_start": "comparison_at_zero"}
PLACEBO_FIELDS = ["pilot_change", "comparison_change", "net_change", "ci_low", "ci_high", "p_value", "clear"]
TEST_COLUMNS = [
    "indicator",
    "label",
    "unit",
    "scale",
    "verdict",
    "start",
    "start_recorded",
    "first_period",
    "periods_pilot",
    "periods_comparison",
    "pilot_slope",
    "comparison_slope",
    "difference",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "df",
    "clear",
    *FIT_FIELDS,
    "placebo_start",
    *(f"placebo_{f}" for f in PLACEBO_FIELDS),
]


def _month_end(month: pd.Period) -> pd.Timestamp:
    return (month + 1).start_time


def _months_from(periods: pd.Series, start: pd.Period) -> np.ndarray:
    """Whole months from ``start`` to each period (negative before it)."""
    months = pd.PeriodIndex(pd.to_datetime(periods), freq="M")
    return np.asarray([(m - start).n for m in months], dtype=int)


def _area_changes(ev: ProjectEvidence, start: pd.Period) -> pd.DataFrame:
    """Each pilot and comparison area's change since its own figure at the start, on the indicator's scale.

    An area with no figure on or before the start month has no starting point and is left out (as is a count
    whose start figure is 0: no percentage of it)."""
    data = ev.indicators[ev.indicators["role"].isin(ROLES) & ev.indicators["indicator"].isin(ev.project.indicator_ids)]
    if data.empty:
        return pd.DataFrame(columns=["indicator", "neighbourhood", "role", "period", "change"])
    end = _month_end(start)
    base = data[data["period"] < end].sort_values("period").groupby(["indicator", "neighbourhood"])["value"].last()
    data = data.join(base.rename("start_value"), on=["indicator", "neighbourhood"], how="inner")
    units = data["indicator"].map(lambda i: ev.fw.indicator_map[i].unit)
    changes = [float(on_scale(v - b, b, u)) for v, b, u in zip(data["value"], data["start_value"], units, strict=True)]
    data = data.assign(change=changes)
    return data[np.isfinite(data["change"])][["indicator", "neighbourhood", "role", "period", "change"]]


def role_series(ev: ProjectEvidence) -> pd.DataFrame:
    """Per indicator x role x period: the mean over the role's areas of each area's change since the start.

    Columns ``SERIES_COLUMNS``: indicator, role (pilot, comparison), period, months (from the start month),
    change (on the indicator's scale), areas (how many areas the mean is over). Empty when there is no start.
    """
    start = ev.calendar.baseline
    if start is None:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    changes = _area_changes(ev, start)
    if changes.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    series = (
        changes.groupby(["indicator", "role", "period"])
        .agg(change=("change", "mean"), areas=("neighbourhood", "nunique"))
        .reset_index()
    )
    series["months"] = _months_from(series["period"], start)
    order = {i: n for n, i in enumerate(ev.project.indicator_ids)}
    series = series.assign(_i=series["indicator"].map(order), _r=series["role"].map(ROLES.index))
    series = series.sort_values(["_i", "_r", "period"]).drop(columns=["_i", "_r"])
    return series[SERIES_COLUMNS].reset_index(drop=True)


# --- the checks ---------------------------------------------------------------------------------------


def _slope_row(pre: pd.DataFrame, confidence: float) -> dict:
    """The slope test on one indicator's series before the start, a year at a time (blank when too short)."""
    by_role = {role: pre[pre["role"] == role] for role in ROLES}
    found = trends.slope_difference(
        by_role["pilot"]["months"] / 12,
        by_role["pilot"]["change"],
        by_role["comparison"]["months"] / 12,
        by_role["comparison"]["change"],
        confidence,
    )
    if found is None:
        return dict.fromkeys([*SLOPE_FIELDS, *FIT_FIELDS], math.nan)
    return {f: getattr(found, f) for f in SLOPE_FIELDS} | {f: getattr(found, g) for f, g in FIT_FIELDS.items()}


def _placebo_months(ev: ProjectEvidence, pre: pd.DataFrame) -> int:
    """How much earlier the placebo start is: the longest wave's months, at most half the months of figures
    that both roles have before the start (0: no placebo)."""
    first = max(pre.loc[pre["role"] == role, "months"].min() for role in ROLES)
    longest = max((w.months for w in ev.fw.settings.waves), default=0)
    return int(min(longest, -first // 2))


def _placebo_rows(ev: ProjectEvidence, months: dict[str, int], confidence: float) -> dict[str, dict]:
    """Per indicator: the indicator test as if the project had started ``months[indicator]`` months before the
    start, ending at the start, on the figures dated up to the start month only."""
    start = ev.calendar.baseline
    before = ev.indicators[ev.indicators["period"] < _month_end(start)]
    out = {}
    for early in sorted(set(months.values())):
        ids = [i for i, m in months.items() if m == early]
        calendar = Calendar(start - early, {"placebo": start}, "placebo start", True)
        mine = before[before["indicator"].isin(ids)].reset_index(drop=True)
        tests = indicator_tests(replace(ev, indicators=mine, calendar=calendar), "placebo", confidence)
        for row in tests[tests["indicator"].isin(ids)].itertuples():
            out[row.indicator] = {"placebo_start": str(start - early)} | {
                f"placebo_{f}": getattr(row, f) for f in PLACEBO_FIELDS
            }
    return out


def _verdict(rows: dict[str, pd.DataFrame], slope: dict, placebo: dict, alpha: float) -> str:
    """One indicator's verdict from its series before the start and its two checks (module docs)."""
    if rows["pilot"].empty:
        return "no figures"
    if rows["comparison"].empty:
        return "no comparison"
    if math.isnan(slope["difference"]):
        return "too few"
    slope_clear = slope["p_value"] < alpha
    placebo_clear = bool(placebo.get("placebo_clear")) and not pd.isna(placebo.get("placebo_p_value"))
    return "differently" if slope_clear or placebo_clear else "alike"


def pre_trend_tests(ev: ProjectEvidence, confidence: float | None = None) -> pd.DataFrame:
    """Per indicator of the project's map (in the map's order): the checks of the trends before the start.

    Columns ``TEST_COLUMNS``. On the indicator's scale (``scale``), a year at a time: ``pilot_slope`` and
    ``comparison_slope`` (the series' linear trends before the start), ``difference`` (pilot minus comparison)
    with ``se``, ``ci_low``, ``ci_high``, ``p_value`` and ``df``; ``clear`` when the slope difference's p-value
    is below one minus the confidence level; ``pilot_at_start`` and ``comparison_at_start``, the fitted lines'
    values at the start (to draw them). ``placebo_*``: the indicator test from ``placebo_start`` to the
    start (``placebo_net_change`` is pilot minus comparison, not signed to better). ``periods_*``: the periods
    each role's series has on or before the start month; ``first_period`` the earliest of them. ``verdict``:
    one of ``VERDICTS`` (module docs). ``start`` is the start month, ``start_recorded`` whether the project's
    file gives it (else it is the estimated baseline month).
    """
    conf = confidence or ev.fw.settings.thresholds.confidence_level
    cal = ev.calendar
    series = role_series(ev)
    pre = series[series["months"] <= 0]
    head = {"start": str(cal.baseline) if cal.known else "", "start_recorded": bool(cal.exact and cal.known)}
    slopes, placebo_months, parts = {}, {}, {}
    for ind in ev.project.indicator_ids:
        rows = {role: pre[(pre["indicator"] == ind) & (pre["role"] == role)] for role in ROLES}
        parts[ind] = rows
        slopes[ind] = _slope_row(pd.concat(rows.values()), conf) if all(len(r) for r in rows.values()) else {}
        if slopes[ind] and not math.isnan(slopes[ind]["difference"]):
            early = _placebo_months(ev, pd.concat(rows.values()))
            if early > 0:
                placebo_months[ind] = early
    placebos = _placebo_rows(ev, placebo_months, conf) if placebo_months else {}
    out = []
    for ind, rows in parts.items():
        meta = ev.fw.indicator_map[ind]
        slope = slopes[ind] or dict.fromkeys([*SLOPE_FIELDS, *FIT_FIELDS], math.nan)
        placebo = placebos.get(ind, {})
        verdict = "no start" if not cal.known else _verdict(rows, slope, placebo, 1 - conf)
        both = pd.concat(rows.values())
        out.append(
            {
                "indicator": ind,
                "label": meta.label,
                "unit": meta.unit,
                "scale": scale_of(meta.unit),
                "verdict": verdict,
                **head,
                "first_period": f"{both['period'].min():%Y-%m}" if len(both) else "",
                "periods_pilot": len(rows["pilot"]),
                "periods_comparison": len(rows["comparison"]),
                **slope,
                "clear": bool(slope["p_value"] < 1 - conf) if not math.isnan(slope["p_value"]) else False,
                "placebo_start": "",
                **{f"placebo_{f}": math.nan for f in PLACEBO_FIELDS},
                **placebo,
            }
        )
    frame = pd.DataFrame(out, columns=TEST_COLUMNS)
    frame["placebo_clear"] = frame["placebo_clear"].astype("boolean")
    return frame
