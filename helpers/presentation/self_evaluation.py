"""The self-evaluation's chart: two assessments side by side (the form's comparison, in the dashboards)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..config.framework import Framework
from .charts import GREY, PALETTE


def comparison_chart(table: pd.DataFrame, *, label: str, fw: Framework, first: str, second: str, title: str):
    """Dot chart of two assessments' scores (1-4) per row of ``table`` (columns first_score, second_score).

    Colour-blind-safe palette (the charts module's) and two marker shapes, so the two assessments differ in
    more than colour; a row not assessed in one of them shows only the other's marker.
    """
    levels = fw.self_evaluation.levels
    labels = list(table[label])
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * max(len(labels), 1) + 1.9))
    for y, row in enumerate(table.itertuples(index=False)):
        a, b = row.first_score, row.second_score
        if pd.notna(a) and pd.notna(b):
            ax.plot([a, b], [y, y], color=GREY, lw=1.5, zorder=1)
        if pd.notna(a):
            ax.plot(a, y - 0.08, "o", color=PALETTE[0], ms=8, label=first, zorder=2)
        if pd.notna(b):
            ax.plot(b, y + 0.08, "D", color=PALETTE[1], ms=7, label=second, zorder=3)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0.5, len(levels) + 0.5)
    ax.set_xticks(range(1, len(levels) + 1), [f"{n}\n{lvl.name}" for n, lvl in enumerate(levels, start=1)])
    ax.grid(axis="x", color="#dddddd")
    ax.set_title(title, loc="left", fontsize=11)
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=False))
    if unique:
        ax.legend(
            unique.values(),
            unique.keys(),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.22),
            ncol=2,
            fontsize=8,
            frameon=False,
        )
    fig.tight_layout()
    return fig
