"""How numbers and names are written for readers: one rule each, used by every section and surface.

Shares are proportions in [0, 1] in the data and whole percentages on the page; differences of shares are
signed whole percentage points, never "-0"; suppressed figures say "fewer than N responses" (N from the
framework's minimum base); waves, statements and areas are shown by their names, not their ids.
"""

from __future__ import annotations

import pandas as pd

from ..config.framework import Framework


def percent(share: float) -> str:
    """A share as a whole percentage: 0.456 -> '46%'."""
    return f"{share:.0%}"


def points(share_difference: float) -> str:
    """A difference of shares as signed whole percentage points: 0.123 -> '+12', -0.004 -> '0'."""
    value = round(100 * share_difference)
    return f"{value:+d}" if value else "0"


def maybe(value: float, shown) -> str:
    """``shown(value)``, or blank when the value is missing."""
    return "" if pd.isna(value) else shown(value)


def fewer_than(minimum: int, what: str = "responses") -> str:
    """The words that stand in for a suppressed figure: 'fewer than 10 responses'."""
    return f"fewer than {minimum} {what}".rstrip()


def count_or_fewer(n: int, minimum: int) -> str:
    """A count, or 'fewer than N' when it is below the minimum base."""
    return fewer_than(minimum, "") if n < minimum else str(int(n))


def interval(low: float, high: float, shown=percent) -> str:
    """An interval as 'low to high'."""
    return f"{shown(low)} to {shown(high)}"


def level(fw: Framework) -> str:
    """The confidence level as words: '95%'."""
    return f"{fw.settings.thresholds.confidence_level:.0%}"


def wave_label(fw: Framework, wave: str) -> str:
    """The reader's name for a wave id: '12m' -> '12 months'."""
    return fw.settings.wave_label(wave)


def wave_labels(fw: Framework) -> dict[str, str]:
    """Every wave id with its reader's name, in wave order."""
    return {w.id: w.label for w in fw.settings.waves}


def statement_label(fw: Framework, statement: str) -> str:
    """A statement as a table or chart shows it: its short label (the full wording is in the report's annex and
    in every download)."""
    return fw.instrument.statement(statement).short


def significance_columns(rows: pd.DataFrame, blank) -> dict[str, list[str]]:
    """The Interval, p-value and "Clear change?" columns of a table of differences (ci_low, ci_high, p_value,
    significant), blank where ``blank`` is true."""
    return {
        "Interval": [
            "" if b else f"{points(lo)} to {points(hi)}"
            for b, lo, hi in zip(blank, rows["ci_low"], rows["ci_high"], strict=True)
        ],
        "p-value": ["" if b else f"{p:.3f}" for b, p in zip(blank, rows["p_value"], strict=True)],
        "Clear change?": ["" if b else ("yes" if s else "no") for b, s in zip(blank, rows["significant"], strict=True)],
    }
