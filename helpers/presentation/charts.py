"""Charts shared by the batch reports and the dashboards (one definition, two front ends).

Every chart uses seaborn's colour-blind-safe palette ("colorblind") and its whitegrid style, is drawn
with matplotlib's Agg backend (no display needed) and is added to a section with
:meth:`helpers.presentation.model.Section.chart`, which embeds it with a text alternative and closes the
figure so a long batch or a dashboard session never leaks memory.

Why seaborn is not imported here: ``import seaborn`` pulls in ``scipy.stats``, about a second of
every report kernel's start, a third of the per-report budget of the batch. The palette and style are
seaborn's, copied as data (``tests/test_charts.py`` checks them against seaborn itself), and the
charts are plain matplotlib.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# seaborn.color_palette("colorblind").as_hex()
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9")
PILOT, COMPARISON, GREY = PALETTE[0], PALETTE[1], "#8c8c8c"
# The parts of seaborn's "whitegrid" style these charts rely on.
STYLE = {
    "axes.facecolor": "white",
    "axes.edgecolor": "#cccccc",
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
}


def _figure(height: float, width: float = 7.5):
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(width, height))


SUPPRESSED_TEXT = "fewer than {n} responses"


def estimate_dots(table: pd.DataFrame, *, title: str, minimum_base: int, xlabel: str = "% agree") -> plt.Figure:
    """Dot-and-whisker: one row per label, the estimate (%) with its interval.

    ``table`` has columns label, estimate, ci_low, ci_high, suppressed, low_base (shares in 0-1) and
    optionally group (drawn in different colours, e.g. wave or pilot / comparison).
    """
    labels = list(dict.fromkeys(table["label"]))
    groups = list(dict.fromkeys(table["group"])) if "group" in table else [None]
    fig, ax = _figure(0.42 * len(labels) + 1.3)
    step = 0.7 / max(len(groups), 1)
    for g, group in enumerate(groups):
        rows = table if group is None else table[table["group"] == group]
        colour = PALETTE[g % len(PALETTE)]
        for _, row in rows.iterrows():
            y = labels.index(row["label"]) + (g - (len(groups) - 1) / 2) * step
            if row["suppressed"]:
                ax.text(1, y, SUPPRESSED_TEXT.format(n=minimum_base), va="center", fontsize=8, color=GREY)
                continue
            c = GREY if row["low_base"] else colour
            est, lo, hi = 100 * row["estimate"], 100 * row["ci_low"], 100 * row["ci_high"]
            ax.plot([lo, hi], [y, y], color=c, lw=2)
            ax.plot(
                est,
                y,
                "o",
                color=c,
                mfc="white" if row["low_base"] else c,
                ms=7,
                label=str(group) if group is not None else None,
            )
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    if groups != [None]:
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=False))
        ax.legend(unique.values(), unique.keys(), loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


def difference_bars(table: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """Horizontal interval chart of differences (percentage points) around a zero line.

    ``table`` has label, difference, ci_low, ci_high (shares) and significant; blank rows are skipped.
    """
    table = table.dropna(subset=["difference"])
    labels = list(table["label"])
    fig, ax = _figure(0.42 * max(len(labels), 1) + 1.3)
    ax.axvline(0, color="black", lw=1)
    for y, (_, row) in enumerate(table.iterrows()):
        c = PALETTE[0] if row["significant"] else GREY
        ax.plot([100 * row["ci_low"], 100 * row["ci_high"]], [y, y], color=c, lw=2)
        ax.plot(100 * row["difference"], y, "D", color=c, ms=6)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


# --- evidence charts: local indicators, predictions, KPI tiers, sentiment ---------------------------

import functools  # noqa: E402
import math  # noqa: E402
import textwrap  # noqa: E402

from ..evidence.indicators import TIER_NAMES, format_value  # noqa: E402
from ..evidence.sentiment import TONES  # noqa: E402
from . import formatting as fmt  # noqa: E402


def styled(draw):
    """Run a chart function inside the workbook's chart style (seaborn's whitegrid and colour-blind palette,
    as data in :data:`STYLE`), without changing matplotlib's global settings."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


def _facets(n: int, columns: int = 3):
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    rows = max(1, math.ceil(n / columns))
    height = 2.1 * rows + 0.6
    fig, axes = plt.subplots(rows, columns, figsize=(7.5, height), squeeze=False)
    # A fixed layout: tight_layout on a grid of small axes costs about half a second per chart.
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.5 / height, top=1 - 0.55 / height, wspace=0.32, hspace=0.75)
    # A placeholder engine tells the PNG drawing the layout is fixed ("none" would leave it unset).
    fig.set_layout_engine(PlaceHolderLayoutEngine(adjust_compatible=True, colorbar_gridspec=True))
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _date_axis(ax, dates: pd.Series, size: float = 6.5) -> None:
    """Fixed ticks each January and July within the data's range (cheaper to draw than a date locator)."""
    if dates.empty:
        return
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    ticks = [t for t in pd.date_range(first.replace(day=1), last, freq="MS") if t.month in (1, 7)]
    ax.set_xticks(ticks, [t.strftime("%b %y") for t in ticks])
    ax.tick_params(labelsize=size)


def _role_colour(role: str) -> str:
    return PILOT if role == "pilot" else COMPARISON if role == "comparison" else GREY


def _figure_legend(fig, axes) -> None:
    """One legend under the facets, each label once."""
    handles, names = [], []
    for ax in axes:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=7, frameon=False)


@styled
def indicator_trend_chart(series: pd.DataFrame, *, neighbourhood: str, baseline: pd.Period | None) -> plt.Figure:
    """Small multiples: each indicator's values over time, this neighbourhood bold, pilots solid, comparisons dashed."""
    ids = list(dict.fromkeys(series["indicator"]))
    fig, axes = _facets(len(ids))
    for ax, ind in zip(axes, ids, strict=False):
        rows = series[series["indicator"] == ind]
        for hood, s in rows.groupby("neighbourhood", sort=True):
            role = s["role"].iloc[0]
            here = hood == neighbourhood
            ax.plot(
                s["period"],
                s["value"],
                ls="-" if role == "pilot" else "--",
                lw=2.6 if here else 1.1,
                color=_role_colour(role),
                alpha=1 if here else 0.75,
                label=("this neighbourhood" if here else role),
            )
        if baseline is not None:
            ax.axvline(baseline.start_time, color="black", lw=0.8, ls=":")
        first = rows.iloc[0]
        arrow = "higher is better" if first["better"] == "higher" else "lower is better"
        ax.set_title(textwrap.fill(f"{first['label']} ({arrow})", 38), fontsize=7.5, loc="left")
        _date_axis(ax, rows["period"])
    _figure_legend(fig, axes)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.45 / height, bottom=0.9 / height, hspace=0.75, wspace=0.3)
    return fig


def _annotate_latest(ax, pilot: pd.DataFrame) -> None:
    """The latest pilot actual and predicted values, in a box pointing at the actual line."""
    last = pilot.iloc[-1]
    actual, predicted = (format_value(last[c], last["unit"]) for c in ("actual", "predicted"))
    ax.annotate(
        f"actual {actual}\npredicted {predicted}",
        (last["period"], last["actual"]),
        xytext=(-120, -8),
        textcoords="offset points",
        fontsize=8,
        bbox={"facecolor": "white", "edgecolor": GREY, "pad": 2},
        arrowprops={"arrowstyle": "-", "color": GREY},
    )


@styled
def predicted_actual_chart(table: pd.DataFrame) -> plt.Figure:
    """Actual (pilot, comparison) and predicted values over time for each indicator with a prediction."""
    ids = list(dict.fromkeys(table["indicator"]))
    fig, axes = _facets(len(ids), columns=min(2, len(ids)))
    for ax, ind in zip(axes, ids, strict=False):
        rows = table[table["indicator"] == ind]
        for role, colour, ls in (("pilot", PILOT, "-"), ("comparison", COMPARISON, "--")):
            r = rows[rows["role"] == role]
            if not r.empty:
                ax.plot(r["period"], r["actual"], color=colour, ls=ls, lw=2, label=f"actual, {role} areas")
        pred = rows[rows["predicted"].notna()].groupby("period")["predicted"].mean()
        if not pred.empty:
            ax.plot(pred.index, pred.to_numpy(), color="black", ls=":", lw=2, label="predicted without the project")
        pilot = rows[(rows["role"] == "pilot") & rows["predicted"].notna()]
        if not pilot.empty:
            _annotate_latest(ax, pilot)
        ax.set_title(textwrap.fill(rows["label"].iloc[0], 50), fontsize=9, loc="left")
        _date_axis(ax, rows["period"], 7)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def _tier_panel(ax, rows: pd.DataFrame) -> None:
    """One tier's panel: each indicator's pilot-average improvement, and the comparison areas' average."""
    pilots = rows[rows["role"] == "pilot"].groupby(["indicator", "period"])["improvement_pct"].mean()
    for k, (ind, s) in enumerate(pilots.groupby(level=0)):
        label = rows.loc[rows["indicator"] == ind, "label"].iloc[0]
        ax.plot(
            s.index.get_level_values(1),
            s.to_numpy(),
            lw=1.5,
            color=PALETTE[k % len(PALETTE)],
            label=textwrap.shorten(label, 34, placeholder="…"),
        )
    comp = rows[rows["role"] == "comparison"].groupby("period")["improvement_pct"].mean()
    if not comp.empty:
        ax.plot(comp.index, comp.to_numpy(), color=GREY, ls="--", lw=2, label="comparison areas (average)")


@styled
def tier_chart(series: pd.DataFrame, *, baseline: pd.Period | None) -> plt.Figure:
    """Three panels (tiers 3, 2, 1): pilot-average improvement since baseline per indicator, over time."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 4.6), sharey=True)
    for ax, tier in zip(axes, (3, 2, 1), strict=True):
        rows = series[(series["tier"] == tier) & series["improvement_pct"].notna()]
        ax.axhline(0, color="black", lw=0.8)
        if baseline is not None:
            ax.axvline(baseline.start_time, color="black", lw=0.8, ls=":")
        _tier_panel(ax, rows)
        ax.set_title(TIER_NAMES[tier], fontsize=9, loc="left")
        if rows.empty:
            ax.text(
                0.5,
                0.5,
                "no indicators of this tier\ncollected yet",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
                color=GREY,
            )
            ax.set_xticks([])
            continue
        _date_axis(ax, rows["period"], 7)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    axes[0].set_ylabel("% better than at baseline\n(pilot areas)", fontsize=8)
    fig.tight_layout()
    return fig


@styled
def sentiment_chart(shares: pd.DataFrame, minimum_base: int) -> plt.Figure:
    """Stacked bars: share positive / neutral / negative for each role x wave, items counted in the labels."""
    colours = {"positive": PALETTE[2], "neutral": GREY, "negative": PALETTE[3]}
    labels = [f"{r.role}, {r.wave} ({r.items} items)" for r in shares.itertuples()]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(labels) + 1.4))
    for y, r in enumerate(shares.itertuples()):
        if r.suppressed:
            ax.text(1, y, fmt.fewer_than(minimum_base, "items"), va="center", fontsize=8, color=GREY)
            continue
        left = 0.0
        for tone in TONES:
            width = 100 * getattr(r, tone)
            ax.barh(y, width, left=left, color=colours[tone], label=tone if y == 0 else None)
            if width >= 8:
                ax.text(left + width / 2, y, f"{width:.0f}%", ha="center", va="center", fontsize=7, color="white")
            left += width
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of items")
    handles, names = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, names, loc="lower right", fontsize=7, ncol=3)
    ax.set_title("Tone of comments (VADER sentiment)", loc="left", fontsize=10)
    fig.tight_layout()
    return fig


# --- the ripple (helpers.evidence.ripple) ---------------------------------------------------------------

RIPPLE_INNER = 0.28  # the radius of the co-operative solution at the centre of the ripple chart


@styled
def ripple_chart(ideals: pd.DataFrame, *, title: str, design: bool = False) -> plt.Figure:
    """Concentric ripple: one sector per ideal around the co-operative solution.

    ``ideals``: the ideals frame of a ripple (``helpers.evidence.ripple.rollup``) or its planned reach: ideal,
    label, outcomes_in_map, lines_planned, planned_weight and, with evidence, strength, strength_words,
    certainty, certainty_words. Evidence mode: a sector's radius is the ideal's strength (0 at the inner
    circle, 1 at the outer ring; a negative strength is drawn hatched), its opacity the certainty, and the
    label gives both in words. Design mode: the radius is the planned reach (the ideal's weight of planned
    evidence lines relative to the largest), drawn as an outline, labelled with the outcomes and lines planned.
    """
    import numpy as np

    fig = plt.figure(figsize=(7.2, 6.2))
    ax = fig.add_subplot(projection="polar")
    _ripple_rings(ax, design)
    sector = 2 * np.pi / len(ideals)
    top = max(ideals["planned_weight"].max(), 1.0) if design else 1.0
    for k, row in enumerate(ideals.itertuples()):
        theta = np.pi / 2 + (1 - k) * sector  # place left, people at the top, public services right
        words = _ripple_sector(ax, row, theta, sector, top, design)
        ax.text(theta, 1.2, f"{row.label}\n{words}", ha="center", va="center", fontsize=8.5, color="black")
    ax.set_ylim(0, 1.32)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10.5, loc="center", pad=4)
    key = (
        "Sector length: planned reach, the weight of evidence planned for the ideal (largest = outer ring). "
        "Dashed outline: nothing measured yet."
        if design
        else "Sector length: strength (inner circle 0, outer ring +1). Paler: less certain. Hatched: worsening."
    )
    fig.text(0.5, 0.02, textwrap.fill(key, 100), ha="center", fontsize=7.5, color="#424242")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def _ripple_rings(ax, design: bool) -> None:
    """The rings (0.25 to 1, or 25% to 100% of the planned reach) and the co-operative solution at the centre."""
    import numpy as np

    inner = RIPPLE_INNER
    circle = np.linspace(0, 2 * np.pi, 200)
    for ring in (0.25, 0.5, 0.75, 1.0):
        r = inner + ring * (1 - inner)
        ax.plot(circle, np.full(200, r), color="#bdbdbd", lw=0.8, ls="--", zorder=0)
        shown = f"{ring:g}" if not design else f"{ring:.0%}"
        box = {"facecolor": "white", "edgecolor": "none", "pad": 0.5}
        ax.text(3 * np.pi / 2, r, shown, ha="center", va="center", fontsize=7, color="#757575", bbox=box)
    ax.fill_between(circle, 0, inner, color="#f0f0f0", zorder=1)
    ax.plot(circle, np.full(200, inner), color="#9e9e9e", lw=1, zorder=1)
    ax.text(0, 0, "co-operative\nsolution", ha="center", va="center", fontsize=8, zorder=5)


def _ripple_sector(ax, row, theta: float, sector: float, top: float, design: bool) -> str:
    """Draw one ideal's sector; its label's second line."""
    from matplotlib.colors import to_rgb

    from ..config.framework import IDEAL_IDS

    inner = RIPPLE_INNER
    colour = to_rgb(PALETTE[IDEAL_IDS.index(row.ideal)])
    outcomes = f"{row.outcomes_in_map} outcome{'s' if row.outcomes_in_map != 1 else ''}"
    if design:
        extent = row.planned_weight / top
        style = {"facecolor": (*colour, 0.18), "edgecolor": colour, "lw": 2, "ls": "--"}
        ax.bar(theta, extent * (1 - inner), width=sector * 0.92, bottom=inner, zorder=2, **style)
        return f"{outcomes}, {row.lines_planned} evidence line{'s' if row.lines_planned != 1 else ''} planned"
    if pd.isna(row.strength):
        return f"{outcomes}; no evidence yet"
    alpha = 0.25 + 0.75 * (0 if pd.isna(row.certainty) else row.certainty)
    style = {"facecolor": (*colour, alpha), "edgecolor": colour, "lw": 1.5, "hatch": "//" if row.strength < 0 else None}
    ax.bar(theta, abs(row.strength) * (1 - inner), width=sector * 0.92, bottom=inner, zorder=2, **style)
    words = f"strength {row.strength:+.2f} ({row.strength_words})"
    return f"{words}\ncertainty {row.certainty:.2f} ({row.certainty_words})"


def planned_reach_chart(reach: pd.DataFrame, *, title: str) -> plt.Figure:
    """Bars: each ideal's outcomes in the project's map against all its outcomes (design mode).

    ``reach``: :func:`helpers.evidence.ripple.planned_reach` (label, outcomes, outcomes_in_map)."""
    fig, ax = _figure(0.55 * len(reach) + 1.7)
    y = range(len(reach))
    ax.barh(y, reach["outcomes"], color="#e6e6e6", edgecolor="#8c8c8c", label="outcomes of the ideal")
    ax.barh(y, reach["outcomes_in_map"], color=PALETTE[0], height=0.5, label="in this project's ripple map")
    for i, r in enumerate(reach.itertuples()):
        ax.text(r.outcomes + 0.1, i, f"{r.outcomes_in_map} of {r.outcomes}", va="center", fontsize=9)
    ax.set_yticks(list(y), list(reach["label"]))
    ax.invert_yaxis()
    ax.set_xlim(0, reach["outcomes"].max() + 1.5)
    ax.set_xlabel("outcomes")
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
