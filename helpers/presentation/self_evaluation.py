"""The self-evaluation compared: two assessments side by side, as sections (the form's comparison) and a chart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..config.framework import Framework
from ..store.selfeval import compare_areas, compare_ideals
from .charts import GREY, PALETTE, TITLE_SIZE, WIDTH, fit, styled
from .model import Section


@styled
def comparison_chart(table: pd.DataFrame, *, label: str, fw: Framework, first: str, second: str, title: str):
    """Dot chart of two assessments' scores (1-4) per row of ``table`` (columns first_score, second_score).

    Colour-blind-safe palette (the charts module's) and two marker shapes, so the two assessments differ in
    more than colour; a row not assessed in one of them shows only the other's marker.
    """
    levels = fw.self_evaluation.levels
    labels = list(table[label])
    fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * max(len(labels), 1) + 1.9), layout="constrained")
    for y, row in enumerate(table.itertuples(index=False)):
        a, b = row.first_score, row.second_score
        if pd.notna(a) and pd.notna(b):
            ax.plot([a, b], [y, y], color=GREY, lw=1.5, zorder=1)
        if pd.notna(a):
            ax.plot(a, y - 0.08, "o", color=PALETTE[0], ms=8, label=first, zorder=2)
        if pd.notna(b):
            ax.plot(b, y + 0.08, "D", color=PALETTE[1], ms=7, label=second, zorder=3)
    ax.set_yticks(range(len(labels)), [fit(text, 0.42 * WIDTH, 9) for text in labels], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0.5, len(levels) + 0.5)
    ax.set_xticks(range(1, len(levels) + 1), [f"{n}\n{lvl.name}" for n, lvl in enumerate(levels, start=1)], fontsize=9)
    ax.grid(axis="x", color="#dddddd")
    ax.set_title(fit(title, WIDTH * 0.9), loc="left", fontsize=TITLE_SIZE)
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=False))
    if unique:
        fig.legend(unique.values(), unique.keys(), loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    return fig


def comparison_sections(fw: Framework, first, second) -> list[Section]:
    """Two assessments side by side: per performance area, and rolled up to the ideals (selfeval's rule)."""
    a, b = first.label, second.label
    if a == b:
        b = f"{b}, again"
    by_area = Section(title="By performance area")
    areas = compare_areas(fw, first, second)
    fig = comparison_chart(areas, label="area_name", fw=fw, first=a, second=b, title="Level per performance area")
    alt = "; ".join(f"{r.area_name}: {r.first_level} then {r.second_level}" for r in areas.itertuples())
    by_area.chart(fig, f"Levels per performance area, {a} and {b}. " + alt)
    shown = pd.DataFrame(
        {
            "Performance area": areas["area_name"],
            a: areas["first_level"],
            b: areas["second_level"],
            "Change (levels)": ["" if pd.isna(c) else f"{c:+.0f}" for c in areas["change"]],
        }
    )
    by_area.table("areas", shown, f"Levels per performance area: {a} and {b}", tidy=areas)

    by_ideal = Section(title="Rolled up to the ideals")
    ideals = compare_ideals(fw, first, second)
    fig = comparison_chart(ideals, label="ideal_name", fw=fw, first=a, second=b, title="Average level per ideal")

    def score(s, n, of):
        return "not assessed" if pd.isna(s) else f"{s:.2f} ({n} of {of} areas)"

    alt = "; ".join(
        f"{r.ideal_name}: {score(r.first_score, r.first_assessed, r.areas)} then "
        f"{score(r.second_score, r.second_assessed, r.areas)}"
        for r in ideals.itertuples()
    )
    by_ideal.chart(fig, f"Average level per ideal, {a} and {b}. " + alt)
    shown = pd.DataFrame(
        {
            "Ideal": ideals["ideal_name"],
            a: [
                score(s, n, of)
                for s, n, of in zip(ideals["first_score"], ideals["first_assessed"], ideals["areas"], strict=True)
            ],
            b: [
                score(s, n, of)
                for s, n, of in zip(ideals["second_score"], ideals["second_assessed"], ideals["areas"], strict=True)
            ],
            "Change": ["" if pd.isna(c) else f"{c:+.2f}" for c in ideals["change"]],
        }
    )
    by_ideal.table("ideals", shown, f"Average level per ideal: {a} and {b}", tidy=ideals)
    levels = ", ".join(f"{lvl.name} {n}" for n, lvl in enumerate(fw.self_evaluation.levels, start=1))
    by_ideal.note(
        f"How the ideals are scored: each level counts as a number ({levels}); an ideal's score is the average over "
        "the performance areas that serve it and were assessed (areas not assessed are left out and counted)."
    )
    return [by_area, by_ideal]
