"""Rejects: one record per bad cell (file, row, column, value, expected), and the rejects CSV.

The row is the row number a spreadsheet shows (header = row 1); the value is the cell as the file holds
it (stripped); expected says, in words, what a valid cell holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config.errors import UserError
from ..config.safe_output import write_csv_atomic
from .kinds import Column

REJECT_COLUMNS = ["file", "row", "column", "value", "expected"]


def reject_frame(rows, column, value, expected) -> pd.DataFrame:
    """Rejects (without the file) for ``rows`` of one column; ``value`` and ``expected`` per row or shared."""
    rows = np.asarray(rows)
    return pd.DataFrame(
        {
            "row": rows.astype("int64"),
            "column": column,
            "value": np.asarray(value, dtype=object) if not np.isscalar(value) else value,
            "expected": np.asarray(expected, dtype=object) if not isinstance(expected, str) else expected,
        }
    )


def shown(raw_frame: pd.DataFrame, rows, column: str) -> np.ndarray:
    """The cells of ``rows`` in ``column`` as the file holds them (stripped); blank for an absent column."""
    if column not in raw_frame.columns:
        return np.full(len(rows), "", dtype=object)
    return raw_frame[column].loc[rows].str.strip().to_numpy(dtype=object)


def cell_rejects(raw_frame: pd.DataFrame, rows, column: str, expected) -> pd.DataFrame:
    """Rejects for the cells of ``rows`` in ``column``, showing each cell as the file holds it."""
    if isinstance(expected, pd.Series):
        expected = expected.to_numpy(object)
    return reject_frame(rows, column, shown(raw_frame, rows, column), expected)


def no_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in REJECT_COLUMNS})


def finish_rejects(parts: list[pd.DataFrame], name: str, cols: list[Column]) -> pd.DataFrame:
    """One table of rejects: by row, then in the file's column order, one per cell, naming the file."""
    parts = [p.drop(columns="file", errors="ignore") for p in parts if not p.empty]
    if not parts:
        return no_rejects()
    table = pd.concat(parts, ignore_index=True)
    order = {c.name: i for i, c in enumerate(cols)}
    table["_order"] = table["column"].map(order).fillna(len(order))
    table = table.sort_values(["row", "_order"], kind="stable").drop_duplicates(["row", "column"])
    table.insert(0, "file", name)
    return table[REJECT_COLUMNS].reset_index(drop=True)


def write_rejects(rejects: pd.DataFrame, target: Path, name: str) -> None:
    """The rejects CSV (formula-safe, written whole or not at all); a plain message if it cannot be written."""
    try:
        write_csv_atomic(rejects, target)
    except OSError as exc:
        raise UserError(
            f"{name}: has bad rows, but the list of them could not be written to {target} "
            f"({exc.strerror or exc}); choose another place with --rejects FILE"
        ) from None
