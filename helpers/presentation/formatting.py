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


def points_text(share_difference: float) -> str:
    """A difference of shares in words: '+12 points', '-1 point', '0 points'."""
    shown = points(share_difference)
    return f"{shown} point" if shown in ("+1", "-1") else f"{shown} points"


def maybe(value: float, shown) -> str:
    """``shown(value)``, or blank when the value is missing."""
    return "" if pd.isna(value) else shown(value)


def fewer_than(minimum: int, what: str = "responses") -> str:
    """The words that stand in for a suppressed figure: 'fewer than 10 responses'."""
    return f"fewer than {minimum} {what}".rstrip()


NOT_SHOWN = "not shown"  # a count hidden in a table with a total: small, or held back so a small one stays hidden


def not_shown_note(minimum: int) -> str:
    """What 'not shown' in a table of counts means (the same words for a small count and for one held back
    beside it, so that neither can be told from the other)."""
    return (
        f"Not shown: fewer than {minimum} people, or a number held back so that one of fewer than {minimum} "
        "cannot be worked out from the total and the other numbers. Percentages of those numbers are not shown "
        "either."
    )


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


def outcome_wording(fw: Framework, outcome: str) -> str:
    """An outcome's wording as this council's reports show it (the framework's place replaced by its area)."""
    return fw.outcomes[outcome].shown(fw.settings.council.area)


def significance_columns(rows: pd.DataFrame, blank) -> dict[str, list[str]]:
    """The Interval, p-value and "Clear change?" columns of a table of differences (ci_low, ci_high, p_value,
    significant), blank where ``blank`` is true."""
    return {
        "Interval": points_intervals(rows, blank),
        "p-value": ["" if b else f"{p:.3f}" for b, p in zip(blank, rows["p_value"], strict=True)],
        "Clear change?": ["" if b else ("yes" if s else "no") for b, s in zip(blank, rows["significant"], strict=True)],
    }


def signed(value: float, decimals: int = 1) -> str:
    """A signed number to ``decimals`` places, never '-0': 3.24 -> '+3.2', -0.04 -> '0'."""
    rounded = round(value, decimals)
    return f"{rounded:+.{decimals}f}" if rounded else "0"


def percent_change(ratio: float) -> str:
    """A relative change as a signed whole percentage, never '-0%': 0.129 -> '+13%', -0.004 -> '0%'."""
    value = round(100 * ratio)
    return f"{value:+d}%" if value else "0%"


def signed_interval(low: float, high: float, decimals: int = 0) -> str:
    """An interval of signed numbers, 'low to high', at ``decimals`` places; where an end of an interval that
    excludes zero would round to 0, that end with more places (up to three more), so the interval as printed
    never reads as including no change when it does not ('+0.3 to +4', not '0 to +4'). The one rounding rule
    for intervals."""

    def end(value: float) -> str:
        places = decimals
        while (low > 0 or high < 0) and places < decimals + 3 and signed(value, places) == "0":
            places += 1
        return signed(value, places)

    return f"{end(low)} to {end(high)}"


def points_interval(low: float, high: float) -> str:
    """An interval of a difference of shares in signed points: '+2 to +23', '+0.4 to +19' (see signed_interval)."""
    return signed_interval(100 * low, 100 * high)


def points_intervals(rows: pd.DataFrame, blank) -> list[str]:
    """:func:`points_interval` of each row's ci_low and ci_high, blank where ``blank`` is true."""
    return [
        "" if b else points_interval(lo, hi) for b, lo, hi in zip(blank, rows["ci_low"], rows["ci_high"], strict=True)
    ]


def clear_as_shown(low: float, high: float, shown=points) -> bool:
    """Whether an interval, written as the reader sees it (each end through ``shown``), lies wholly on one side
    of zero: '+2 to +20' does, '0 to +20' and '-3 to +5' do not. A verdict of a clear change is stated only
    when this holds, so it never contradicts the interval printed beside it."""
    ends = [shown(low), shown(high)]
    if any(e.rstrip("%").strip() in ("0", "") for e in ends):
        return False
    return ends[0][0] == ends[1][0] and ends[0][0] in "+-"


def point_count(share_difference: float) -> str:
    """The size of a difference of shares, unsigned, in words: 0.127 -> '13 points', -0.011 -> '1 point'."""
    value = abs(round(100 * share_difference))
    return f"{value} point" + ("" if value == 1 else "s")


def month_year(month) -> str:
    """A calendar month as a reader writes it: '2026-01' (or a monthly Period) -> 'January 2026'."""
    return pd.Period(month, freq="M").strftime("%B %Y")


def fieldwork_month(calendar, wave: str) -> str:
    """When a wave's fieldwork ended, as the report's title block and the index say it: 'January 2026', with
    '(estimated)' when the project has no start month, or 'month not set'. ``calendar``: the project's
    (:class:`helpers.evidence.project.Calendar`)."""
    month = calendar.month(wave)
    if month is None:
        return "month not set"
    return month_year(month) + ("" if calendar.exact else " (estimated)")


def listed(items) -> str:
    """Words joined as a sentence lists them: 'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def quoted(statement_short: str) -> str:
    """A statement's short label as a sentence quotes it: 'Can access skills support'."""
    return f"\u2018{statement_short}\u2019"


def change_words(effect: float, clear: bool) -> str:
    """What a tested change shows, in the words every summary uses: 'better', 'worse' or 'no clear change'."""
    if pd.isna(effect) or not clear or effect == 0:
        return "no clear change"
    return "better" if effect > 0 else "worse"
