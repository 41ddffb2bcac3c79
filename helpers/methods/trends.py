"""Were two series moving alike before a change? The difference in their linear trends, with its interval.

Difference-in-differences rests on parallel trends: without the project, the pilot areas would have moved as
the comparison areas did. The survey has one wave before the project, so it cannot check that; a local
indicator with figures before the project's start can. This module is the statistics of the check, as a pure
function of numbers; :mod:`helpers.evidence.trends` builds the series from the indicators, and
:mod:`helpers.presentation.sections.trends` words the result.

The test is ordinary least squares with a role x time interaction on the two series stacked::

    value = a + b * time + c * pilot + d * pilot * time + error

so ``b`` is the comparison series' slope, ``b + d`` the pilot series', and ``d`` their difference. Fitting
the interaction model is the same as fitting each series its own line, with one residual variance pooled over
both: the textbook formula ``se(d) = s * sqrt(1 / Sxx_pilot + 1 / Sxx_comparison)``, ``s^2`` the two lines'
summed squared residuals over ``n_pilot + n_comparison - 4`` degrees of freedom, and a t interval on those
degrees of freedom (``tests/test_trends.py`` works it by hand). statsmodels does the fitting; it is imported
only when a test is run, so a report kernel that reads a result from the cache never pays for its import.

``slope_difference(...) -> SlopeDifference``, ``MIN_POINTS``
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# The fewest points each series needs before its trend is worth testing: four give a line two residual
# degrees of freedom of its own (four in the pooled test), so the interval is wide but honest; three would
# leave one, and a single odd figure would decide the verdict.
MIN_POINTS = 4


@dataclass(frozen=True)
class SlopeDifference:
    """Two series' linear slopes (per unit of ``time``), their difference (pilot minus comparison) with its
    standard error, interval and two-sided p-value from the t distribution on ``df`` degrees of freedom."""

    pilot_slope: float
    comparison_slope: float
    pilot_at_zero: float  # the pilot line's fitted value at time 0 (where the time axis starts counting)
    comparison_at_zero: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: int
    n_pilot: int
    n_comparison: int

    def as_dict(self) -> dict:
        return asdict(self)


def _design(time_pilot: np.ndarray, time_comparison: np.ndarray) -> np.ndarray:
    """The interaction model's columns: constant, time, pilot, pilot x time (pilot rows first)."""
    time = np.concatenate([time_pilot, time_comparison])
    pilot = np.concatenate([np.ones(len(time_pilot)), np.zeros(len(time_comparison))])
    return np.column_stack([np.ones(len(time)), time, pilot, pilot * time])


def _too_short(*times: np.ndarray) -> bool:
    """Whether a series has fewer than :data:`MIN_POINTS` points or fewer than two distinct times (no slope)."""
    return any(len(t) < MIN_POINTS or len(np.unique(t)) < 2 for t in times)


def slope_difference(time_pilot, value_pilot, time_comparison, value_comparison, confidence: float = 0.95):
    """The pilot series' slope minus the comparison series', by OLS with a role x time interaction.

    ``time_*`` and ``value_*``: the two series' points (any unit of time: the slopes are per that unit). None
    when either series has fewer than :data:`MIN_POINTS` points (or no spread in time): too short to tell.
    With no residual spread at all (both series exact lines) the standard error is 0: the p-value is then 0
    when the slopes differ and 1 when they do not.
    """
    from statsmodels.regression.linear_model import OLS  # only when a test is run (see the module docs)

    tp, tc = (np.asarray(t, dtype=float) for t in (time_pilot, time_comparison))
    yp, yc = (np.asarray(v, dtype=float) for v in (value_pilot, value_comparison))
    if _too_short(tp, tc):
        return None
    fit = OLS(np.concatenate([yp, yc]), _design(tp, tc)).fit()
    level, comparison, gap = float(fit.params[0]), float(fit.params[1]), float(fit.params[2])
    difference, se = float(fit.params[3]), float(fit.bse[3])
    df = int(fit.df_resid)
    if se > 0:
        low, high = (float(v) for v in fit.conf_int(alpha=1 - confidence)[3])
        p = float(fit.pvalues[3])
    else:  # exact lines: no noise to test against
        low = high = difference
        p = 0.0 if not math.isclose(difference, 0, abs_tol=1e-12) else 1.0
    return SlopeDifference(
        comparison + difference, comparison, level + gap, level, difference, se, low, high, p, df, len(tp), len(tc)
    )
