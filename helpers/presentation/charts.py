"""Charts shared by the batch reports and the dashboards (one definition, two front ends).

Every chart uses seaborn's colour-blind-safe palette ("colorblind") and its whitegrid style, is drawn
with matplotlib's Agg backend (no display needed) and is added to a section with
:meth:`helpers.presentation.model.Section.chart`, which embeds it (as SVG) with a text alternative and closes
the figure so a long batch or a dashboard session never leaks memory.

Made for paper and for every reader:

- Print size. A figure is :data:`WIDTH` wide, the usable width of the report's A4 portrait page (17 cm),
  so it prints at its own size and no text is smaller than :data:`MIN_FONT` (9 pt) on paper.
- Not by colour alone. A pilot, comparison or borough series differs in line style and marker shape as
  well as in colour (:data:`ROLES`); so do waves (marker shapes), clear and not-clear changes (filled and
  open markers) and the tones of comments (the negative share is hatched). Each chart stays readable in
  greyscale and to a reader with deuteranopia (``tests/test_charts.py`` checks both).
- A key for every encoding, outside the data: each legend sits below the axes, never on points or lines.
- Titles that fit: a title is wrapped (or, for a small panel, shortened) to the width it has, measured with
  the font's own metrics (:func:`fit`).

Why seaborn is not imported here: ``import seaborn`` pulls in ``scipy.stats``, about a second of
every report kernel's start, a third of the per-report budget of the batch. The palette and style are
seaborn's, copied as data (``tests/test_charts.py`` checks them against seaborn itself), and the
charts are plain matplotlib.
"""

from __future__ import annotations

import functools
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..evidence.indicators import TIER_NAMES, format_value  # noqa: E402
from ..evidence.sentiment import TONES  # noqa: E402
from . import formatting as fmt  # noqa: E402

# seaborn.color_palette("colorblind").as_hex()
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9")
PILOT, COMPARISON, GREY = PALETTE[0], PALETTE[1], "#8c8c8c"

WIDTH = 17 / 2.54  # inches: the report page's usable width (A4 portrait); figures are drawn at print size
MIN_FONT = 9  # points at print size: the smallest text any chart has
TITLE_SIZE = 11

# The parts of seaborn's "whitegrid" style these charts rely on, and print-size fonts.
STYLE = {
    "axes.facecolor": "white",
    "axes.edgecolor": "#cccccc",
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": MIN_FONT,
    "ytick.labelsize": MIN_FONT,
    "legend.fontsize": MIN_FONT,
    "legend.frameon": False,
    "figure.titlesize": TITLE_SIZE,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
}

# How each role of area is drawn: its colours (one per area of the role, in turn), its line style and its
# marker shapes (one per area, in turn): pilot circles and solid lines, comparison squares and dashed lines,
# borough-wide diamonds and dash-dot lines, so the role reads without colour.
ROLES = {
    "pilot": {"colours": (PILOT, PALETTE[9], PALETTE[2]), "ls": "-", "markers": ("o", "^", "v", "p")},
    "comparison": {"colours": (COMPARISON, PALETTE[3], PALETTE[5]), "ls": "--", "markers": ("s", "D", "P", "X")},
    "borough": {"colours": (GREY,), "ls": "-.", "markers": ("D",)},
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "p", "h", "*")  # groups without a role (waves): a shape each
BASELINE = {"color": "black", "lw": 0.9, "ls": ":"}  # the vertical line at the baseline period


def role_style(role: str | None, k: int = 0) -> dict:
    """Colour, line style and marker of the ``k``-th area of ``role`` (a role not in :data:`ROLES`: borough)."""
    r = ROLES.get(role or "", ROLES["borough"])
    return {"color": r["colours"][k % len(r["colours"])], "ls": r["ls"], "marker": r["markers"][k % len(r["markers"])]}


def styled(draw):
    """Run a chart function inside the workbook's chart style (seaborn's whitegrid and colour-blind palette,
    as data in :data:`STYLE`), without changing matplotlib's global settings."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


# --- text that fits -------------------------------------------------------------------------------


@functools.cache
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(8, 8, 72)  # 72 dpi: a pixel is a point


@functools.lru_cache(maxsize=4096)
def text_width(text: str, size: float) -> float:
    """The width in inches of one line of ``text`` at ``size`` points (the font's own metrics)."""
    from matplotlib.font_manager import FontProperties

    width, _, _ = _renderer().get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return width / 72


def fit(text: str, width: float, size: float = TITLE_SIZE, lines: int | None = None) -> str:
    """``text`` wrapped into lines at most ``width`` inches wide at ``size`` points; with ``lines``, at most
    that many lines, the last shortened with an ellipsis."""
    out: list[str] = []
    for word in str(text).split():
        if out and text_width(f"{out[-1]} {word}", size) <= width:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    if lines and len(out) > lines:
        last = " ".join(out[lines - 1 :])
        while last and text_width(last + "…", size) > width:
            last = last[:-1].rstrip(" ,;:(")
        out = [*out[: lines - 1], last + "…"]
    return "\n".join(out)


def _fit_keeping(text: str, tail: str, width: float, size: float, lines: int) -> str:
    """``text`` and ``tail`` fitted into ``lines`` lines, ``text`` shortened (with an ellipsis) so the tail is
    always shown whole (an indicator's name, then which way is better)."""
    words = str(text).split()
    for n in range(len(words), 0, -1):
        shown = " ".join(words[:n]) + ("" if n == len(words) else "…")
        wrapped = fit(f"{shown} {tail}", width, size)
        if wrapped.count("\n") < lines:
            return wrapped
    return fit(f"{words[0] if words else ''}… {tail}", width, size, lines)


def _title(fig, text: str) -> None:
    """The chart's title, top left of the figure, wrapped to the figure's width."""
    margin = 0.08
    fig.suptitle(fit(text, fig.get_figwidth() - 2 * margin), x=margin / fig.get_figwidth(), ha="left")


def _legend_columns(width: float, names: list[str]) -> int:
    """How many columns of a key with ``names`` fit in ``width`` inches."""
    em = MIN_FONT / 72
    entry = max(text_width(n, MIN_FONT) for n in names) + 2.8 * em  # the handle (2 em) and its gap (0.8 em)
    return max(1, min(len(names), int((width - 0.2 + 2 * em) // (entry + 2 * em))))


def _legend(fig, handles: list, names: list[str], *, loc: str = "outside lower center", **where):
    """One key for the figure, outside the axes (below them, with constrained layout): as many columns as fit."""
    if not handles:
        return None
    columns = _legend_columns(fig.get_figwidth(), names)
    return fig.legend(handles, names, loc=loc, ncol=columns, fontsize=MIN_FONT, frameon=False, **where)


def _key(**style) -> Line2D:
    """A legend handle drawn in ``style`` (a Line2D's keywords)."""
    return Line2D([], [], **style)


PAGE_HEIGHT = 9.0  # inches: the most a chart may take of an A4 page (the report's print style allows 23.5 cm)
LABEL_WIDTH = 0.42 * WIDTH  # the most the labels beside a chart's rows may take (longer ones wrap)


def _figure(height: float, width: float = WIDTH):
    return plt.subplots(figsize=(width, height), layout="constrained")


LINE = MIN_FONT * 1.2 / 72  # inches: one line of a row's label


def _rows_height(rows: int, per_row: float, fixed: float, labels: list[str] | None = None) -> float:
    """A figure's height for ``rows`` rows of ``per_row`` inches and ``fixed`` inches of title, axis and key,
    rows taller where their ``labels`` (as wrapped by :func:`_row_labels`) need it, and lower (down to 0.2 inch)
    before the figure grows taller than a page."""
    rows = max(rows, 1)
    lines = max((_row_label(label).count("\n") + 1 for label in labels or []), default=1)
    row = min(max(per_row, lines * LINE + 0.04), (PAGE_HEIGHT - fixed) / rows)
    return fixed + rows * max(0.2, row)


def _row_label(label: str) -> str:
    """A row's label as drawn: wrapped to :data:`LABEL_WIDTH`, two lines at most."""
    return fit(label, LABEL_WIDTH, MIN_FONT, lines=2)


def _row_labels(ax, labels: list[str], xlabel: str) -> None:
    """The rows' labels (wrapped to :data:`LABEL_WIDTH`, two lines at most) and the x axis's label wrapped to
    the width the axes are left with."""
    shown = [_row_label(label) for label in labels]
    ax.set_yticks(range(len(labels)), shown)
    widest = max((text_width(line, MIN_FONT) for label in shown for line in label.split("\n")), default=0)
    ax.set_xlabel(fit(xlabel, WIDTH - widest - 0.5, 10))


def _date_axis(ax, dates: pd.Series, size: float = MIN_FONT, wide: bool = True) -> None:
    """Fixed ticks (cheaper to draw than a date locator): each January and July on a wide panel, else each
    January, named by its year (January and July when the data span fewer than two Januaries)."""
    if dates.empty:
        return
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    months = pd.date_range(first.replace(day=1), last, freq="MS")
    januaries = [t for t in months if t.month == 1]
    if wide or len(januaries) < 2:
        ticks = [t for t in months if t.month in (1, 7)]
        ax.set_xticks(ticks, [t.strftime("%b %y") for t in ticks])
    else:
        ax.set_xticks(januaries, [t.strftime("%Y") for t in januaries])
    ax.tick_params(labelsize=size)


# --- survey charts ----------------------------------------------------------------------------------

SUPPRESSED_TEXT = "fewer than {n} responses"
_ROLE_IN_NAME = re.compile(r"\((pilot|comparison|borough)\)\s*$")


def _group_roles(table: pd.DataFrame, groups: list) -> dict:
    """Each group's role: the table's ``role`` column, else a name ending "(pilot)" / "(comparison)"."""
    if "role" in table:
        first = table.drop_duplicates("group").set_index("group")["role"]
        return {g: first.get(g) for g in groups}
    return {g: (m.group(1) if (m := _ROLE_IN_NAME.search(str(g))) else None) for g in groups}


def _group_styles(table: pd.DataFrame, groups: list) -> dict:
    """Colour, line style and marker per group: by role (pilot, comparison) when groups have roles, else a
    colour and a marker shape each (waves)."""
    roles = _group_roles(table, groups) if groups != [None] else {None: None}
    if any(roles.values()):
        seen: dict[str, int] = {}
        styles = {}
        for g in groups:
            k = seen[roles[g]] = seen.get(roles[g], -1) + 1
            styles[g] = role_style(roles[g], k)
        return styles
    return {
        g: {"color": PALETTE[k % len(PALETTE)], "ls": "-", "marker": MARKERS[k % len(MARKERS)]}
        for k, g in enumerate(groups)
    }


@styled
def estimate_dots(table: pd.DataFrame, *, title: str, minimum_base: int, xlabel: str = "% agree") -> plt.Figure:
    """Dot-and-whisker: one row per label, the estimate (%) with its interval.

    ``table`` has columns label, estimate, ci_low, ci_high, suppressed, low_base (shares in 0-1) and
    optionally group (e.g. wave or area; each group its own colour and marker shape) and role (pilot,
    comparison or borough per row: an area's role is then drawn as its line style and marker family as well
    as its colour; without the column, a group named "... (pilot)" or "... (comparison)" is taken as one).
    A low-base estimate is grey with an open marker; a suppressed one is said in words, not drawn.
    """
    labels = list(dict.fromkeys(table["label"]))
    groups = _groups_in_order(table)
    styles = _group_styles(table, groups)
    n = len(groups)
    key = 0.25 * math.ceil(n / 2) if n > 1 else 0
    fig, ax = _figure(_rows_height(len(labels), 0.15 + 0.06 * n, 1.3 + key, labels))
    ms = 7 if n <= 2 else 6
    low = _draw_dots(ax, table, labels, groups, styles, minimum_base, ms)
    _row_labels(ax, labels, xlabel)
    _title(fig, title)
    handles, names = [], []
    if groups != [None]:
        for group in groups:
            s = styles[group]
            handles.append(_key(color=s["color"], ls=s["ls"], lw=2, marker=s["marker"], ms=ms))
            names.append(str(group))
    if low:
        marker = styles[groups[0]]["marker"] if n == 1 else "o"
        handles.append(_low_base_key(marker, ms))
        names.append(LOW_BASE_KEY)
    _legend(fig, handles, names)
    return fig


def _groups_in_order(table: pd.DataFrame) -> list:
    """The table's groups as they first appear, or in their categories' order when ``group`` is categorical (so a
    key keeps the waves in order though the first row lacks one)."""
    if "group" not in table:
        return [None]
    if isinstance(table["group"].dtype, pd.CategoricalDtype):
        present = set(table["group"].dropna())
        return [g for g in table["group"].cat.categories if g in present]
    return list(dict.fromkeys(table["group"]))


LOW_BASE_KEY = "grey, open: low base, read with care"
CLEAR_KEYS = {True: "clear: the interval excludes 0", False: "not clear: it includes 0"}


def _low_base_key(marker: str, ms: float) -> Line2D:
    return _key(color=GREY, lw=2, marker=marker, mfc="white", mew=1.5, ms=ms)


def _draw_dots(ax, table: pd.DataFrame, labels: list, groups: list, styles: dict, minimum_base: int, ms) -> bool:
    """Each row's estimate and interval (%) on ``ax``, a row per label, groups side by side within a row; a
    suppressed estimate said in words. Whether any estimate had a low base."""
    n, step, low = len(groups), 0.7 / max(len(groups), 1), False
    for g, group in enumerate(groups):
        rows = table if group is None else table[table["group"] == group]
        style = styles[group]
        for _, row in rows.iterrows():
            y = labels.index(row["label"]) + (g - (n - 1) / 2) * step
            if row["suppressed"]:
                text = SUPPRESSED_TEXT.format(n=minimum_base)
                ax.text(1, y, text, va="center", fontsize=MIN_FONT, color="#595959")
                continue
            low = low or bool(row["low_base"])
            c = GREY if row["low_base"] else style["color"]
            est, lo, hi = 100 * row["estimate"], 100 * row["ci_low"], 100 * row["ci_high"]
            ax.plot([lo, hi], [y, y], color=c, lw=2, ls=style["ls"])
            ax.plot(est, y, style["marker"], color=c, mfc="white" if row["low_base"] else c, mew=1.5, ms=ms)
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    return low


def _draw_differences(ax, table: pd.DataFrame, labels: list, blank: str = "") -> set[bool]:
    """Each row's difference (points) and interval on ``ax`` around a zero line, at its label's row: clear
    ones blue and filled, the others grey and open; a blank difference said in ``blank`` (or skipped). The
    kinds drawn (clear or not)."""
    from matplotlib.transforms import blended_transform_factory

    ax.axvline(0, color="black", lw=1)
    kinds = set()
    at_left = blended_transform_factory(ax.transAxes, ax.transData)
    for _, row in table.iterrows():
        y = labels.index(row["label"])
        if pd.isna(row["difference"]):
            if blank:
                ax.text(0.02, y, blank, transform=at_left, va="center", fontsize=MIN_FONT, color="#595959")
            continue
        clear = bool(row["significant"])
        kinds.add(clear)
        c = PALETTE[0] if clear else GREY
        ax.plot([100 * row["ci_low"], 100 * row["ci_high"]], [y, y], color=c, lw=2.2 if clear else 1.6)
        ax.plot(100 * row["difference"], y, "D", color=c, mfc=c if clear else "white", mew=1.5, ms=6.5)
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    return kinds


def _clear_keys(kinds: set[bool]) -> tuple[list, list]:
    """The key's handles and names for the kinds of difference drawn."""
    handles = {
        True: _key(color=PALETTE[0], lw=2.2, marker="D", ms=6.5),
        False: _key(color=GREY, lw=1.6, marker="D", mfc="white", mew=1.5, ms=6.5),
    }
    shown = [k for k in (True, False) if k in kinds]
    return [handles[k] for k in shown], [CLEAR_KEYS[k] for k in shown]


@styled
def difference_bars(table: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """Horizontal interval chart of differences (percentage points) around a zero line.

    ``table`` has label, difference, ci_low, ci_high (shares) and significant; blank rows are skipped. A clear
    difference (its interval excludes zero) is blue with a filled marker, one that is not clear grey with an
    open marker; the key below says so.
    """
    table = table.dropna(subset=["difference"])
    labels = list(table["label"])
    fig, ax = _figure(_rows_height(len(labels), 0.21, 1.75, labels))
    kinds = _draw_differences(ax, table, labels)
    _row_labels(ax, labels, xlabel)
    _title(fig, title)
    _legend(fig, *_clear_keys(kinds))
    return fig


@styled
def estimates_and_changes(
    estimates: pd.DataFrame, changes: pd.DataFrame, *, title: str, minimum_base: int, headings: tuple[str, str]
) -> plt.Figure:
    """Two panels sharing one row per statement: the share agreeing with its interval (as :func:`estimate_dots`,
    one group) and its change since the baseline in points (as :func:`difference_bars`); a change that cannot
    be shown is said in words. ``headings``: the two panels' titles."""
    labels = list(dict.fromkeys(estimates["label"]))
    fig = plt.figure(figsize=(WIDTH, _rows_height(len(labels), 0.21, 1.75, labels)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    style = {None: _group_styles(estimates, [None])[None]}
    low = _draw_dots(left, estimates, labels, [None], style, minimum_base, 7)
    kinds = _draw_differences(right, changes, labels, blank=SUPPRESSED_TEXT.format(n=minimum_base))
    left.set_yticks(range(len(labels)), [_row_label(label) for label in labels])
    right.tick_params(axis="y", left=False)
    for ax, (heading, unit) in zip(
        (left, right), ((headings[0], "%"), (headings[1], "percentage points")), strict=True
    ):
        ax.set_title(heading, fontsize=MIN_FONT + 1, loc="left")
        ax.set_xlabel(unit)
    _title(fig, title)
    handles, names = _clear_keys(kinds)
    if low:
        handles.append(_low_base_key(style[None]["marker"], 7))
        names.append(LOW_BASE_KEY)
    _legend(fig, handles, names)
    return fig


# --- evidence charts: local indicators, predictions, KPI tiers, sentiment ---------------------------


FACET_TICKS = 0.4  # inches: the room a panel's y tick labels are first given (for fitting its title)


def _panel_width(fig, columns: int) -> float:
    """About the width in inches of one panel's axes in a grid of ``columns`` (for fitting its title)."""
    return (fig.get_figwidth() - 0.1 - columns * FACET_TICKS - (columns - 1) * 0.15) / columns


def _facets(n: int, columns: int = 3):
    """A grid of ``n`` panels, ``columns`` wide; :func:`_lay_out_facets` sizes it once the panels are drawn."""
    rows = max(1, math.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 2.2 * rows + 0.9), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _lay_out_facets(
    fig, axes: list, columns: int, key: tuple[list, list], *, title_size: float = MIN_FONT, panel_height: float = 1.35
) -> None:
    """A fixed layout for a grid of panels, from what they hold: the widest y tick labels, the most lines in a
    title, the rows of the key (drawn below the grid). Panels are made lower (to 0.9 inch) before the figure
    grows taller than a page. Cheaper than a layout engine on a grid of small axes (half a second a chart)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    rows = max(1, math.ceil(len(axes) / columns))
    lines = max((ax.get_title(loc="left").count("\n") + 1 for ax in axes), default=1)
    title = lines * title_size * 1.25 / 72 + 0.08
    xticks, top = 0.3, 0.06
    handles, names = key
    columns_of_key = _legend_columns(WIDTH, names) if names else 1
    key_height = math.ceil(len(names) / columns_of_key) * MIN_FONT * 1.75 / 72 + 0.1 if names else 0.0
    fixed = top + rows * (title + xticks) + key_height
    panel_h = max(0.9, min(panel_height, (PAGE_HEIGHT - fixed) / rows))
    height = fixed + rows * panel_h
    fig.set_size_inches(WIDTH, height)
    ticks = 0.0
    for _ in range(3):  # the y ticks depend on the panels' height, their labels' width sets the left margin
        widest = 0.12 + max(
            (
                text_width(t, MIN_FONT)
                for ax in axes
                for t in ax.yaxis.get_major_formatter().format_ticks(ax.get_yticks())
            ),
            default=0.25,
        )
        if widest <= ticks:
            break
        ticks = widest
        gap = ticks + 0.15
        panel_w = (WIDTH - 0.1 - ticks - (columns - 1) * gap) / columns
        fig.subplots_adjust(
            left=ticks / WIDTH,
            right=1 - 0.1 / WIDTH,
            top=1 - (top + title) / height,
            bottom=(key_height + xticks) / height,
            wspace=gap / panel_w,
            hspace=(title + xticks) / panel_h,
        )
    # A placeholder engine tells the drawing the layout is fixed ("none" would leave it to draw's default).
    fig.set_layout_engine(PlaceHolderLayoutEngine(adjust_compatible=True, colorbar_gridspec=True))
    if names:
        _legend(fig, handles, names, loc="lower center", bbox_to_anchor=(0.5, 0.04 / height))


@styled
def indicator_trend_chart(series: pd.DataFrame, *, neighbourhood: str, baseline: pd.Period | None) -> plt.Figure:
    """Small multiples: each indicator's values over time, this neighbourhood bold; pilot areas blue and solid,
    comparison areas orange and dashed (borough-wide grey, dash-dot); the baseline dotted; one key below."""
    ids = list(dict.fromkeys(series["indicator"]))
    columns = 3 if len(ids) > 2 else max(len(ids), 1)
    fig, axes = _facets(len(ids), columns)
    width = _panel_width(fig, columns)
    roles_seen: list[str] = []
    here_role = None
    for ax, ind in zip(axes, ids, strict=False):
        rows = series[series["indicator"] == ind]
        for hood, s in rows.groupby("neighbourhood", sort=True):
            role = s["role"].iloc[0]
            style = role_style(role)
            here = hood == neighbourhood
            if here:
                here_role = role
            elif role not in roles_seen:
                roles_seen.append(role)
            ax.plot(
                s["period"],
                s["value"],
                ls=style["ls"],
                lw=2.8 if here else 1.2,
                color=style["color"],
                alpha=1 if here else 0.8,
                zorder=3 if here else 2,
            )
        if baseline is not None:
            ax.axvline(baseline.start_time, **BASELINE)
        first = rows.iloc[0]
        arrow = "higher is better" if first["better"] == "higher" else "lower is better"
        ax.set_title(_fit_keeping(first["label"], f"({arrow})", width, MIN_FONT, 4), fontsize=MIN_FONT, loc="left")
        _date_axis(ax, rows["period"], wide=columns < 3)
    handles, names = [], []
    if here_role is not None:
        s = role_style(here_role)
        handles.append(_key(color=s["color"], ls=s["ls"], lw=2.8))
        names.append(f"this neighbourhood ({here_role})")
    order = [r for r in ROLES if r in roles_seen] + [r for r in roles_seen if r not in ROLES]
    for role in order:
        s = role_style(role)
        handles.append(_key(color=s["color"], ls=s["ls"], lw=1.2))
        names.append(f"{role} areas" if role in ("pilot", "comparison") else str(role))
    if baseline is not None:
        handles.append(_key(**BASELINE))
        names.append("baseline")
    _lay_out_facets(fig, axes, columns, (handles, names))
    return fig


@styled
def predicted_actual_chart(table: pd.DataFrame) -> plt.Figure:
    """Actual (pilot, comparison, borough) and predicted values over time for each indicator with a prediction;
    each panel's title gives the latest pilot actual and predicted values."""
    ids = list(dict.fromkeys(table["indicator"]))
    columns = min(2, len(ids)) or 1
    fig, axes = _facets(len(ids), columns)
    width, size = _panel_width(fig, columns), 10 if columns == 1 else MIN_FONT
    drawn: dict[str, Line2D] = {}
    for ax, ind in zip(axes, ids, strict=False):
        rows = table[table["indicator"] == ind]
        for role in ("pilot", "comparison", "borough"):
            r = rows[rows["role"] == role]
            if not r.empty:
                s = role_style(role)
                ax.plot(r["period"], r["actual"], color=s["color"], ls=s["ls"], lw=2, marker=s["marker"], ms=4)
                drawn.setdefault(
                    f"actual, {role} areas" if role != "borough" else "actual, borough-wide",
                    _key(color=s["color"], ls=s["ls"], lw=2, marker=s["marker"], ms=4),
                )
        pred = rows[rows["predicted"].notna()].groupby("period")["predicted"].mean()
        if not pred.empty:
            ax.plot(pred.index, pred.to_numpy(), color="black", ls=":", lw=2)
            drawn.setdefault("predicted without the project", _key(color="black", ls=":", lw=2))
        title = fit(rows["label"].iloc[0], width, size, lines=2)
        pilot = rows[(rows["role"] == "pilot") & rows["predicted"].notna()]
        if not pilot.empty:
            last = pilot.iloc[-1]
            actual, predicted = (format_value(last[c], last["unit"]) for c in ("actual", "predicted"))
            title += f"\npilot areas, {pd.Timestamp(last['period']):%b %Y}: actual {actual}, predicted {predicted}"
        ax.set_title(title, fontsize=size, loc="left")
        _date_axis(ax, rows["period"], wide=columns == 1)
    _lay_out_facets(fig, axes, columns, (list(drawn.values()), list(drawn)), title_size=size, panel_height=2.0)
    return fig


@styled
def tier_chart(series: pd.DataFrame, *, baseline: pd.Period | None) -> plt.Figure:
    """Three panels (tiers 3, 2, 1) on one scale: the pilot areas' improvement since baseline, as each indicator
    (thin lines) and the tier's average (bold, circles), against the comparison areas' average (dashed, squares)."""
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 3.9), sharey=True, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.04, wspace=0.03)
    width = _panel_width(fig, 3)
    pilot, comparison = role_style("pilot"), role_style("comparison")
    for ax, tier in zip(axes, (3, 2, 1), strict=True):
        rows = series[(series["tier"] == tier) & series["improvement_pct"].notna()]
        count = rows["indicator"].nunique()
        words = f"{count} indicator{'s' if count != 1 else ''}" if count else "none collected yet"
        ax.set_title(f"{fit(TIER_NAMES[tier], width, MIN_FONT, 1)}\n{words}", fontsize=MIN_FONT, loc="left")
        ax.axhline(0, color="black", lw=0.8)
        if rows.empty:
            ax.text(
                0.5,
                0.6,
                "no indicators of\nthis tier yet",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=MIN_FONT,
                color="#595959",
            )
            ax.set_xticks([])
            continue
        if baseline is not None:
            ax.axvline(baseline.start_time, **BASELINE)
        by = rows[rows["role"] == "pilot"].groupby(["indicator", "period"])["improvement_pct"].mean()
        for _, s in by.groupby(level=0):
            ax.plot(s.index.get_level_values(1), s.to_numpy(), color=pilot["color"], lw=0.9, alpha=0.35)
        mean = by.groupby(level=1).mean()
        if not mean.empty:
            ax.plot(mean.index, mean.to_numpy(), color=pilot["color"], ls=pilot["ls"], lw=2.4, marker="o", ms=4)
        comp = rows[rows["role"] == "comparison"].groupby("period")["improvement_pct"].mean()
        if not comp.empty:
            ax.plot(comp.index, comp.to_numpy(), color=comparison["color"], ls=comparison["ls"], lw=2, marker="s", ms=4)
        _date_axis(ax, rows["period"], wide=False)
    axes[0].set_ylabel("% better than at baseline")
    handles = [
        _key(color=pilot["color"], lw=0.9, alpha=0.35),
        _key(color=pilot["color"], ls=pilot["ls"], lw=2.4, marker="o", ms=4),
        _key(color=comparison["color"], ls=comparison["ls"], lw=2, marker="s", ms=4),
    ]
    names = ["pilot areas: each indicator", "pilot areas: the tier's average", "comparison areas: the tier's average"]
    if baseline is not None:
        handles.append(_key(**BASELINE))
        names.append("baseline")
    _legend(fig, handles, names)
    return fig


def _event_ticks(ax, months: pd.Series) -> None:
    """Ticks in months from the start: every 6 months (12 over a longer span, 24 over six years), the start
    named, months before it negative and after it positive."""
    first, last = int(min(months.min(), 0)), int(max(months.max(), 0))
    step = 6 if last - first <= 36 else 12 if last - first <= 72 else 24
    ticks = list(range(-(-first // step) * step, last + 1, step))  # from the first multiple of step in range
    ax.set_xticks(ticks, ["start" if t == 0 else f"{t:+d}".replace("-", "\u2212") for t in ticks])
    ax.set_xlim(first - 1, last + 1)


TREND_KEY = "straight-line trend before the start (thin)"
START_KEY = "the project's start; months before (\u2212) and after (+) it"


def _fitted(ax, panel, rows: pd.DataFrame) -> bool:
    """Each role's fitted straight line over its months before the start, thin, in the role's colour and line
    style; whether there were lines to draw."""
    drawn = False
    for role in ("pilot", "comparison"):
        slope, level = getattr(panel, f"{role}_slope", math.nan), getattr(panel, f"{role}_at_start", math.nan)
        before = rows[(rows["role"] == role) & (rows["months"] <= 0)]
        if pd.isna(slope) or pd.isna(level) or before.empty:
            continue
        s = role_style(role)
        x = [float(before["months"].min()), 0.0]
        ax.plot(x, [level + slope * m / 12 for m in x], color=s["color"], ls=s["ls"], lw=0.9, zorder=4)
        drawn = True
    return drawn


@styled
def pre_trend_chart(series: pd.DataFrame, panels: pd.DataFrame) -> plt.Figure:
    """Event-study panels, one per indicator: the pilot and comparison areas' average change since the project's
    start (pilot blue, solid, circles; comparison orange, dashed, squares) by months from the start, the start
    dotted, and each role's straight-line trend before the start drawn thin.

    ``series``: :func:`helpers.evidence.trends.role_series` (indicator, role, months, change). ``panels``: one
    row per indicator to draw, in order, with label, ``note`` (the panel's last title lines: its verdict and
    unit in words, wrapped but never shortened) and the fitted lines (pilot_slope, comparison_slope a year;
    pilot_at_start, comparison_at_start), blank where there are none."""
    panels = panels[panels["indicator"].isin(series["indicator"])]
    columns = 3 if len(panels) > 2 else max(len(panels), 1)
    fig, axes = _facets(len(panels), columns)
    width = _panel_width(fig, columns)
    fitted = False
    for ax, panel in zip(axes, panels.itertuples(), strict=False):
        rows = series[series["indicator"] == panel.indicator]
        for role in ("pilot", "comparison"):
            r = rows[rows["role"] == role].sort_values("months")
            s = role_style(role)
            ax.plot(r["months"], r["change"], color=s["color"], ls=s["ls"], lw=1.8, marker=s["marker"], ms=3.5)
        fitted = _fitted(ax, panel, rows) or fitted
        ax.axvline(0, **BASELINE)
        ax.axhline(0, color="#9e9e9e", lw=0.7, zorder=1)
        note = "\n".join(fit(line, width, MIN_FONT) for line in str(panel.note).split("\n"))  # never cut short
        title = fit(panel.label, width, MIN_FONT, lines=2) + "\n" + note
        ax.set_title(title, fontsize=MIN_FONT, loc="left")
        _event_ticks(ax, rows["months"])
    handles, names = [], []
    for role in ("pilot", "comparison"):
        s = role_style(role)
        handles.append(_key(color=s["color"], ls=s["ls"], lw=1.8, marker=s["marker"], ms=3.5))
        names.append(f"{role} areas (average)")
    if fitted:
        handles.append(_key(color=GREY, lw=0.9))
        names.append(TREND_KEY)
    handles.append(_key(**BASELINE))
    names.append(START_KEY)
    _lay_out_facets(fig, axes, columns, (handles, names))
    return fig


TONE_STYLE = {  # blue and vermilion stay apart with deuteranopia; the negative share is hatched as well
    "positive": {"color": PALETTE[0], "hatch": None, "text": "white"},
    "neutral": {"color": "#d0d0d0", "hatch": None, "text": "black"},
    "negative": {"color": PALETTE[3], "hatch": "///", "text": "black"},
}


@styled
def sentiment_chart(shares: pd.DataFrame, minimum_base: int) -> plt.Figure:
    """Stacked bars: share positive / neutral / negative for each role x wave, items counted in the labels."""
    labels = [f"{r.role}, {r.wave} ({r.items} items)" for r in shares.itertuples()]
    fig, ax = _figure(_rows_height(len(labels), 0.42, 1.6))
    for y, r in enumerate(shares.itertuples()):
        if r.suppressed:
            ax.text(1, y, fmt.fewer_than(minimum_base, "items"), va="center", fontsize=MIN_FONT, color="#595959")
            continue
        left = 0.0
        for tone in TONES:
            width, style = 100 * getattr(r, tone), TONE_STYLE[tone]
            ax.barh(y, width, left=left, color=style["color"], hatch=style["hatch"], edgecolor="white", lw=0.8)
            if width >= 9:
                box = {"facecolor": style["color"], "edgecolor": "none", "pad": 2}
                ax.text(
                    left + width / 2,
                    y,
                    f"{width:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=MIN_FONT,
                    color=style["text"],
                    bbox=box if style["hatch"] else None,
                )
            left += width
    _row_labels(ax, labels, "% of items")
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.grid(axis="y", visible=False)
    _title(fig, "Tone of comments: positive, neutral and negative")
    handles = [Patch(facecolor=TONE_STYLE[t]["color"], hatch=TONE_STYLE[t]["hatch"], edgecolor="white") for t in TONES]
    _legend(fig, handles, list(TONES))
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
    Each sector is named beside it, so its colour is never the only way to tell the ideals apart.
    """
    import numpy as np

    fig = plt.figure(figsize=(WIDTH, 5.4))
    ax = fig.add_subplot(projection="polar")
    _ripple_rings(ax, design)
    sector = 2 * np.pi / len(ideals)
    top = max(ideals["planned_weight"].max(), 1.0) if design else 1.0
    for k, row in enumerate(ideals.itertuples()):
        theta = np.pi / 2 + (1 - k) * sector  # place left, people at the top, public services right
        words = _ripple_sector(ax, row, theta, sector, top, design)
        ax.text(theta, 1.2, f"{row.label}\n{words}", ha="center", va="center", fontsize=MIN_FONT, color="black")
    ax.set_ylim(0, 1.32)
    ax.set_axis_off()
    ax.set_title(fit(title, WIDTH - 0.3), fontsize=TITLE_SIZE, loc="center", pad=4)
    key = (
        "Sector length: planned reach, the weight of evidence planned for the ideal (largest = outer ring). "
        "Dashed outline: nothing measured yet."
        if design
        else "Sector length: strength (inner circle 0, outer ring +1). Paler: less certain. Hatched: worsening."
    )
    fig.text(0.5, 0.015, fit(key, WIDTH - 0.3, MIN_FONT), ha="center", va="bottom", fontsize=MIN_FONT, color="#424242")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
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
        ax.text(3 * np.pi / 2, r, shown, ha="center", va="center", fontsize=MIN_FONT, color="#595959", bbox=box)
    ax.fill_between(circle, 0, inner, color="#f0f0f0", zorder=1)
    ax.plot(circle, np.full(200, inner), color="#9e9e9e", lw=1, zorder=1)
    ax.text(0, 0, "co-operative\nsolution", ha="center", va="center", fontsize=MIN_FONT, zorder=5)


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


@styled
def planned_reach_chart(reach: pd.DataFrame, *, title: str) -> plt.Figure:
    """Bars: each ideal's outcomes in the project's map against all its outcomes (design mode).

    ``reach``: :func:`helpers.evidence.ripple.planned_reach` (label, outcomes, outcomes_in_map)."""
    fig, ax = _figure(_rows_height(len(reach), 0.5, 1.7))
    y = range(len(reach))
    ax.barh(y, reach["outcomes"], color="#e6e6e6", edgecolor="#8c8c8c")
    ax.barh(y, reach["outcomes_in_map"], color=PALETTE[0], height=0.5)
    for i, r in enumerate(reach.itertuples()):
        ax.text(r.outcomes + 0.1, i, f"{r.outcomes_in_map} of {r.outcomes}", va="center", fontsize=MIN_FONT)
    _row_labels(ax, list(reach["label"]), "outcomes")
    ax.set_ylim(len(reach) - 0.5, -0.5)
    ax.set_xlim(0, reach["outcomes"].max() + 1.5)
    _title(fig, title)
    handles = [Patch(facecolor="#e6e6e6", edgecolor="#8c8c8c"), Patch(facecolor=PALETTE[0])]
    _legend(fig, handles, ["outcomes of the ideal", "in this project's ripple map"])
    return fig
