"""Disclosure control for published counts: small counts are hidden, and hidden so that no one can work them out.

A count of people below the minimum base (1 to 9 with the default of 10) is never published: **primary
suppression**. Hiding it is not enough when the table also gives a total (a margin): with every other cell of
the line and the total shown, the hidden one is the total minus the others. So, wherever a line of cells has a
published total, more cells are hidden beside it: **complementary (secondary) suppression**, the rule of the
Eurostat / ESSnet *Handbook on Statistical Disclosure Control* (Hundepool et al., 2nd ed. 2024, chapter 5,
frequency tables) and of the US Federal Committee on Statistical Methodology's *Statistical Policy Working
Paper 22* (chapter on tables of frequency counts). ``docs/method.md`` ("Disclosure control") states the rule
for readers; in short, in every line that has a hidden cell and a published total:

1. at least two cells are hidden, so that no single hidden cell is the total minus what is shown; and
2. the hidden cells together count 0 or at least the minimum, because their sum (the total minus what is
   shown) is itself a count that can be worked out, and the minimum applies to it like to any other count.

Cells are added smallest first (the fewest people hidden), never a zero (hiding a zero protects nothing: the
hidden sum stays as small as it was), ties in the line's order; but a cell that also helps another line short
of the rule comes first (in a two-way table the hidden cells then form rectangles, the fewest needed). Lines are
revisited until every line keeps both conditions (a cell hidden for one line may break another: rows and
columns of one table, or the same cell in two tables). A line that cannot keep them (its only other cells are
zeros) has its **total withheld** instead. Finally the whole pattern is audited by linear algebra
(:func:`determined`): no hidden cell may follow from the published totals by any combination of additions and
subtractions; if one does, the smallest shown cell beside it is hidden too.

A cell is anything hashable naming one published figure, so the same cell in two tables of one output (a
category counted in "Who answered" and in a cross-table) is one cell here, and the tables are protected
together. Pure functions: no files, no wording (the words are ``helpers.presentation``'s).

``is_small(n, minimum)``, ``protect(counts, lines, minimum)``, ``protect_frame(frame, count, margins,
minimum)``, ``shares(counts, total, hidden)``, ``determined(lines, hidden)``, ``worked_out(lines, shown,
hidden)``
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

Cell = Hashable


@dataclass(frozen=True)
class Protection:
    """What may be published of a set of counts: ``hidden`` cells (``small`` ones and those hidden beside them)
    and the lines (by position in the ``lines`` given) whose total must be withheld as well."""

    hidden: frozenset
    small: frozenset
    withheld: tuple[int, ...] = ()

    @property
    def complementary(self) -> frozenset:
        """The cells hidden only so that a small one cannot be worked out."""
        return self.hidden - self.small


def is_small(n: float, minimum: int) -> bool:
    """A count below the minimum base and above zero: never published (primary suppression). A zero is not
    small: that nobody is in a category says nothing about any one person."""
    return 0 < n < minimum


def protect(
    counts: Mapping[Cell, float], lines: Iterable[Sequence[Cell]], minimum: int, hidden: Iterable[Cell] = ()
) -> Protection:
    """The cells to hide so that no count below ``minimum`` is published or can be worked out.

    ``counts``: every published cell and its count; ``lines``: each group of cells whose total is published
    (a row or column with its margin, a block of categories with the number of questionnaires); ``hidden``:
    cells already hidden for another reason (kept hidden). See the module's docstring for the rule."""
    counts = {c: int(n) for c, n in counts.items()}
    lines = [tuple(line) for line in lines]
    small = {c for c, n in counts.items() if is_small(n, minimum)}
    hide, withheld = small | set(hidden), set()
    while True:
        changed = _close_lines(counts, lines, minimum, hide, withheld)
        if not changed and not _break_derivations(counts, lines, hide, withheld):
            break
    return Protection(frozenset(hide), frozenset(small), tuple(sorted(withheld)))


def _line_safe(counts: Mapping[Cell, int], hidden_here: list[Cell], minimum: int) -> bool:
    """A line's hidden cells keep the rule: none, or at least two that together count 0 or at least the minimum."""
    if not hidden_here:
        return True
    together = sum(counts[c] for c in hidden_here)
    return len(hidden_here) >= 2 and (together == 0 or together >= minimum)


def _close_lines(counts, lines, minimum: int, hide: set, withheld: set) -> bool:
    """One pass over the lines: each line with a hidden cell gets complementary cells until it keeps the rule (a
    cell that also helps another line short of the rule first, then the smallest non-zero); a line that cannot
    has its total withheld. True if anything changed."""
    through = {}
    for i, line in enumerate(lines):
        for c in line:
            through.setdefault(c, []).append(i)

    def short(i: int) -> bool:
        return i not in withheld and not _line_safe(counts, [c for c in lines[i] if c in hide], minimum)

    changed = False
    for i, line in enumerate(lines):
        hidden_here = [c for c in line if c in hide]
        if i in withheld or _line_safe(counts, hidden_here, minimum):
            continue
        while not _line_safe(counts, hidden_here, minimum):
            candidates = [c for c in line if c not in hide and counts[c] > 0]
            if not candidates:
                break
            cell = min(candidates, key=lambda c: (-sum(short(j) for j in through[c] if j != i), counts[c]))
            hide.add(cell)
            hidden_here.append(cell)
        if not _line_safe(counts, hidden_here, minimum):
            withheld.add(i)
        changed = True
    return changed


def _break_derivations(counts, lines, hide: set, withheld: set) -> bool:
    """The audit: if a hidden cell follows from the published totals, hide the smallest shown non-zero cell of a
    line through it (or, with none left, withhold that line's total). True if anything changed."""
    published = [line for i, line in enumerate(lines) if i not in withheld]
    found = determined(published, [c for c in counts if c in hide])
    if not found:
        return False
    cell = next(c for c in counts if c in found)
    for i, line in enumerate(lines):
        if i in withheld or cell not in line:
            continue
        candidates = sorted((c for c in line if c not in hide and counts[c] > 0), key=lambda c: counts[c])
        if candidates:
            hide.add(candidates[0])
        else:
            withheld.add(i)
        return True
    raise AssertionError(f"{cell!r} follows from no published line")  # pragma: no cover


def determined(lines: Iterable[Sequence[Cell]], hidden: Iterable[Cell]) -> set:
    """The hidden cells whose value follows exactly from the lines' published totals and the shown cells.

    Each line is an equation: its hidden cells add up to its total minus its shown cells. A hidden cell is
    determined when its indicator vector lies in the span of those equations (the rank does not grow when it
    is added): some sum and difference of published figures then equals it, whatever the values."""
    unknown = list(dict.fromkeys(hidden))
    where = {c: j for j, c in enumerate(unknown)}
    rows = []
    for line in lines:
        row = np.zeros(len(unknown))
        for c in line:
            if c in where:
                row[where[c]] = 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    system = np.array(rows)
    rank = np.linalg.matrix_rank(system)
    found = set()
    for j, cell in enumerate(unknown):
        probe = np.zeros(len(unknown))
        probe[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, probe])) == rank:
            found.add(cell)
    return found


def worked_out(
    lines: Iterable[tuple[Sequence[Cell], float]], shown: Mapping[Cell, float], hidden: Iterable[Cell]
) -> dict:
    """Each hidden cell that can be worked out from the lines (cells, published total) and the shown cells, with
    its value: what an intruder differencing the published figures would find."""
    lines = [(tuple(cells), float(total)) for cells, total in lines]
    found = determined([cells for cells, _ in lines], hidden)
    if not found:
        return {}
    unknown = [c for c in dict.fromkeys(hidden)]
    where = {c: j for j, c in enumerate(unknown)}
    rows, rhs = [], []
    for cells, total in lines:
        row = np.zeros(len(unknown))
        for c in cells:
            if c in where:
                row[where[c]] = 1.0
        if row.any():
            rows.append(row)
            rhs.append(total - sum(shown.get(c, 0) for c in cells if c not in where))
    solution = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return {c: round(float(solution[where[c]]), 6) for c in unknown if c in found}


def protect_frame(
    frame: pd.DataFrame, count: str, margins: Sequence[Sequence[str]], minimum: int, hidden=None
) -> pd.DataFrame:
    """:func:`protect` on a tidy table: one row per cell, ``count`` its count.

    Each entry of ``margins`` names the columns whose rows share a published total: ``["question"]`` makes each
    question's block a line (its total, the number of questionnaires, is published); ``["wave"]`` and
    ``["outcome"]`` together are a two-way table with both margins; ``[]`` is one line over the whole table
    (a grand total). ``hidden``: a boolean column of rows already hidden for another reason. Returns a copy
    with ``hidden`` (the count must not be published, nor any share of it) and ``total_withheld`` (the row is
    in a line whose total must not be published either)."""
    cells = list(frame.index)
    lines = []
    for columns in margins:
        if not columns:
            lines.append(tuple(cells))
            continue
        for _, group in frame.groupby(list(columns), sort=False, dropna=False):
            lines.append(tuple(group.index))
    already = [] if hidden is None else [c for c, h in zip(cells, hidden, strict=True) if h]
    result = protect(dict(zip(cells, frame[count], strict=True)), lines, minimum, already)
    withheld = {c for i in result.withheld for c in lines[i]}
    return frame.assign(hidden=[c in result.hidden for c in cells], total_withheld=[c in withheld for c in cells])


def shares(counts: Sequence[float], total: float, hidden: Sequence[bool]) -> np.ndarray:
    """Each count's share of the total, blank (NaN) where the count is hidden: a share of a known total gives
    the count away, so it follows the count."""
    values = np.asarray(counts, dtype=float) / total if total else np.full(len(counts), np.nan)
    return np.where(np.asarray(hidden, dtype=bool), np.nan, values)
