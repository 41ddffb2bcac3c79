"""Charts shared by the batch reports and the dashboards (one definition, two front ends).

Every chart uses seaborn's colour-blind-safe palette ("colorblind") and its whitegrid style, is drawn
with matplotlib's Agg backend (no display needed) and is shown through :func:`figure_html`, which
embeds it with a text alternative and closes the figure so a long batch or a dashboard session never
leaks memory.

Why seaborn is not imported here: ``import seaborn`` pulls in ``scipy.stats``, about a second of
every report kernel's start, a third of the per-report budget of the batch. The palette and style are
seaborn's, copied as data (``tests/test_charts.py`` checks them against seaborn itself), and the
charts are plain matplotlib.
"""

from __future__ import annotations

import base64
import html
import io

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


def figure_html(fig: plt.Figure, alt: str) -> str:
    """The figure as an embedded PNG with a text alternative; the figure is closed."""
    buffer = io.BytesIO()
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")  # cheaper than savefig(bbox_inches="tight"), which draws twice
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure class="chart"><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        f'style="max-width:100%"><figcaption>{html.escape(alt)}</figcaption></figure>'
    )


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
