"""Charts fit for print and for every reader.

Each chart function is drawn from small inputs made here (no database): its key sits outside the data, its
text fits the figure, no text is smaller than 9 pt at the report's printed width, it fits an A4 page, and it
closes when drawn. Pilot and comparison areas (and waves, clear and not-clear changes, tones) differ in more
than colour: in the figure's artists (marker shape, line style, fill, hatch), which is the real guarantee, and
in the rendered image seen in greyscale and with deuteranopia (Machado et al. 2009), a second check. The image
is an SVG with its text as paths (or a 200 dpi PNG on request), the same bytes for the same inputs.
"""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from helpers.config.framework import IDEAL_IDS
from helpers.presentation import charts, model, render


def test_palette_is_seaborns_colourblind_palette():
    import seaborn as sns  # imported only here: report kernels avoid its import cost

    assert list(charts.PALETTE) == sns.color_palette("colorblind").as_hex()


def test_a_drawn_chart_has_alt_text_and_closes_the_figure():
    table = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "estimate": [0.5, None, 0.2],
            "ci_low": [0.4, None, 0.1],
            "ci_high": [0.6, None, 0.3],
            "suppressed": [False, True, False],
            "low_base": [False, False, True],
        }
    )
    before = len(plt.get_fignums())
    fig = charts.estimate_dots(table, title="t", minimum_base=10)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["fewer than 10 responses"]  # the suppressed row is said, not drawn
    html = render.chart_html(model.draw(fig, "Share agreeing: a 50% <b>"))
    assert 'alt="Share agreeing: a 50% &lt;b&gt;"' in html and html.startswith("<figure")
    assert len(plt.get_fignums()) == before


# --- inputs ----------------------------------------------------------------------------------------

STATEMENTS = [
    "Love where I live",
    "In control of my life",
    "A statement long enough to need two lines beside the chart, as some framework statements are",
    "Trust local services",
]
AREAS = {"Brookside": "pilot", "Oakfield": "pilot", "Hollins Green": "comparison", "Millbrook": "comparison"}
LONG_TITLE = (
    "Working Xtra: difference-in-differences in % agreeing, 12 months against the baseline, pilot areas "
    "against comparison areas (95% interval), a title far too long for one line"
)
PERIODS = pd.date_range("2024-01-01", "2026-01-01", freq="3MS")
BASELINE = pd.Period("2025-01", "M")


def _dots(groups: dict[str, str | None] | None) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for g, role in (groups or {None: None}).items():
        for k, label in enumerate(STATEMENTS):
            e = rng.uniform(0.3, 0.7)
            row = {"label": label, "estimate": e, "ci_low": e - 0.08, "ci_high": e + 0.08}
            row |= {"suppressed": g == "Millbrook" and k == 3, "low_base": g == "Oakfield" and k == 0}
            if g is not None:
                row["group"] = g if role is None else f"{g} ({role})"
            rows.append(row)
    return pd.DataFrame(rows)


def _differences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": STATEMENTS + ["Blank"],
            "difference": [0.12, -0.02, 0.04, -0.15, None],
            "ci_low": [0.04, -0.1, -0.04, -0.25, None],
            "ci_high": [0.2, 0.06, 0.12, -0.05, None],
            "significant": [True, False, False, True, False],
        }
    )


def _series() -> pd.DataFrame:
    """Indicator values by neighbourhood and period (indicators.indicator_series' columns)."""
    hoods = {"brookside": "pilot", "oakfield": "pilot", "hollins": "comparison", "millbrook": "comparison"}
    indicators = [
        ("empty-homes", "Empty homes", "lower", 3),
        ("crime", "Crime and anti-social behaviour incidents per 1,000 residents", "lower", 3),
        ("attend", "Attendances at community activities per 1,000 adults", "higher", 3),
        ("employment", "Employment rate, adults 16-64", "higher", 2),
    ]
    rows = []
    for i, (ind, label, better, tier) in enumerate(indicators):
        for h, (hood, role) in enumerate(hoods.items()):
            for t, period in enumerate(PERIODS):
                value = 40 + 10 * h + i + (t - 4) * (2 if role == "pilot" and t > 4 else 0.2)
                improvement = 100 * (value - (40 + 10 * h + i)) / (40 + 10 * h + i)
                rows.append((ind, hood, period, value, role, label, "rate", better, tier, improvement))
    columns = ["indicator", "neighbourhood", "period", "value", "role", "label", "unit", "better", "tier"]
    return pd.DataFrame(rows, columns=[*columns, "improvement_pct"])


def _predicted() -> pd.DataFrame:
    """Role means of actual and predicted values (indicators.predicted_vs_actual's columns)."""
    label = "Council tax collection rate, households eligible for the reduction"
    rows = []
    for role, lift in (("pilot", 4.0), ("comparison", 1.0), ("borough", 0.5)):
        for t, period in enumerate(PERIODS):
            actual, predicted = 25 + (lift * (t - 4) if t > 4 else 0), (25.0 if t > 4 else None)
            rows.append(("ctr", label, "percent", "higher", role, period, actual, predicted, None, 2))
    columns = ["indicator", "label", "unit", "better", "role", "period", "actual", "predicted", "gap"]
    return pd.DataFrame(rows, columns=[*columns, "neighbourhoods"])


def _shares() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "role": ["pilot areas", "pilot areas", "comparison areas", "comparison areas"],
            "wave": ["Baseline", "12 months", "Baseline", "12 months"],
            "items": [16, 16, 16, 3],
            "positive": [0.25, 0.5, 0.12, None],
            "neutral": [0.31, 0.38, 0.38, None],
            "negative": [0.44, 0.12, 0.5, None],
            "net": [-0.19, 0.38, -0.38, None],
            "suppressed": [False, False, False, True],
        }
    )


def _ideals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ideal": list(IDEAL_IDS),
            "label": ["Co-operative place", "Co-operative people", "Co-operative public services"],
            "outcomes_in_map": [2, 2, 2],
            "lines_planned": [4, 5, 3],
            "planned_weight": [2.0, 3.0, 1.5],
            "strength": [0.38, -0.2, 0.0],
            "strength_words": ["moderate", "worsening", "little or none"],
            "certainty": [0.38, 0.5, 0.0],
            "certainty_words": ["moderate", "moderate", "low"],
        }
    )


def _role_series() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Role averages of the change since the start by months from it (trends.role_series' columns), and the
    panels: four indicators, the pilot series drifting up before the start in the second."""
    rows, panels = [], []
    for i, (ind, label) in enumerate(
        [
            ("employment", "Employment rate, adults 16-64"),
            ("crime", "Crime and anti-social behaviour per 1,000"),
            ("homes", "Empty homes"),
            ("attend", "Attendances at community activities per 1,000 adults"),
        ]
    ):
        for role, drift in (("pilot", 0.4 * i), ("comparison", 0.1)):
            for t, period in enumerate(PERIODS):
                months = 3 * (t - 4)
                change = drift * months / 12 + (2 * months / 12 if role == "pilot" and months > 0 else 0)
                rows.append((ind, role, period, months, change, 2))
        panels.append(
            (
                ind,
                label,
                f"{'moved differently' if i == 1 else 'moved alike'} before\nchange in points",
                0.4 * i,
                0.1,
                0.0,
                0.0,
            )
        )
    columns = ["indicator", "label", "note", "pilot_slope", "comparison_slope", "pilot_at_start", "comparison_at_start"]
    series = pd.DataFrame(rows, columns=["indicator", "role", "period", "months", "change", "areas"])
    return series, pd.DataFrame(panels, columns=columns)


def _reach() -> pd.DataFrame:
    labels = ["Co-operative place", "Co-operative people", "Co-operative public services"]
    return pd.DataFrame({"label": labels, "outcomes": [6, 3, 6], "outcomes_in_map": [2, 2, 2]})


# name -> (draw the figure, whether it has a key)
CHARTS = {
    "dots": (lambda: charts.estimate_dots(_dots(None), title=LONG_TITLE, minimum_base=10), False),
    "dots-low-base": (
        lambda: charts.estimate_dots(
            _dots(None).assign(low_base=[True, False, False, False]), title="t", minimum_base=10
        ),
        True,
    ),
    "dots-by-wave": (
        lambda: charts.estimate_dots(
            _dots({"Baseline": None, "6 months": None, "12 months": None}), title="By wave", minimum_base=10
        ),
        True,
    ),
    "dots-by-area": (lambda: charts.estimate_dots(_dots(AREAS), title=LONG_TITLE, minimum_base=10), True),
    "difference-bars": (
        lambda: charts.difference_bars(
            _differences(), title=LONG_TITLE, xlabel="difference-in-differences in % agree (percentage points)"
        ),
        True,
    ),
    "indicator-trend": (
        lambda: charts.indicator_trend_chart(_series(), neighbourhood="brookside", baseline=BASELINE),
        True,
    ),
    "predicted-actual": (lambda: charts.predicted_actual_chart(_predicted()), True),
    "tier": (lambda: charts.tier_chart(_series(), baseline=BASELINE), True),
    "pre-trend": (lambda: charts.pre_trend_chart(*_role_series()), True),
    "sentiment": (lambda: charts.sentiment_chart(_shares(), 10), True),
    "ripple": (lambda: charts.ripple_chart(_ideals(), title=LONG_TITLE), False),
    "ripple-design": (lambda: charts.ripple_chart(_ideals(), title="Planned", design=True), False),
    "planned-reach": (lambda: charts.planned_reach_chart(_reach(), title=LONG_TITLE), True),
}


def _laid_out(fig):
    """The figure laid out as :func:`model.draw` lays it out, drawn once; its renderer."""
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _inside(box: Bbox, outer: Bbox, tolerance: float = 1.0) -> bool:
    return (
        box.x0 >= outer.x0 - tolerance
        and box.x1 <= outer.x1 + tolerance
        and box.y0 >= outer.y0 - tolerance
        and box.y1 <= outer.y1 + tolerance
    )


def _overlap(a: Bbox, b: Bbox) -> float:
    both = Bbox.intersection(a, b)
    return 0.0 if both is None else both.width * both.height


@pytest.fixture(params=sorted(CHARTS))
def chart(request):
    make, has_key = CHARTS[request.param]
    fig = make()
    yield request.param, fig, has_key
    plt.close(fig)


def assert_key_off_the_data_and_text_inside(name: str, fig, has_key: bool | None = None) -> None:
    """Every key (legend, or a key in words under the chart) is inside the figure and off every axes' data
    area; every title, label and tick label is inside the figure (nothing cut)."""
    renderer = _laid_out(fig)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    legends = [*fig.legends, *(ax.get_legend() for ax in axes if ax.get_legend())]
    if has_key is not None:
        assert bool(legends) == has_key, name
    for key in [*legends, *(t for t in fig.texts if t.get_text())]:
        box = key.get_window_extent(renderer)
        assert _inside(box, fig.bbox), f"{name}: the key is cut"
        for ax in axes:
            assert _overlap(box, ax.get_window_extent(renderer)) == 0, f"{name}: the key covers the data"
    for ax in axes:  # everything an axes holds (titles, labels, ticks, texts) is inside the figure
        assert _inside(ax.get_tightbbox(renderer), fig.bbox), f"{name}: text outside the figure"
    titles = [fig._suptitle] if fig._suptitle is not None else []
    titles += [ax.title for ax in axes] + [ax._left_title for ax in axes]
    for t in titles:
        if t.get_text():
            assert _inside(t.get_window_extent(renderer), fig.bbox), f"{name}: {t.get_text()!r} is cut"


def assert_print_size(name: str, fig) -> None:
    """As wide as the page at most, no taller than the print style allows, no text under 9 pt in print."""
    width, height = fig.get_size_inches()
    assert width <= charts.WIDTH + 1e-6, f"{name} is wider than the page's 17 cm"
    assert height <= 235 / 25.4, f"{name} is taller than the print style allows (23.5 cm)"
    scale = min(1.0, charts.WIDTH / width)  # an image wider than the page is shrunk to fit it
    small = {
        (t.get_text(), t.get_fontsize())
        for t in fig.findobj(Text)
        if t.get_text().strip() and t.get_fontsize() * scale < charts.MIN_FONT
    }
    assert not small, f"{name}: text under {charts.MIN_FONT} pt at print size: {sorted(small)[:5]}"


def test_each_chart_keeps_its_key_off_the_data_and_its_text_in_the_figure(chart):
    assert_key_off_the_data_and_text_inside(*chart)


def test_each_chart_prints_at_the_page_width_with_text_of_9pt_or_more(chart):
    assert_print_size(*chart[:2])


def test_every_chart_of_a_real_report_is_print_ready(sample_db, monkeypatch):
    """The checks above on every chart a report draws from the sample (each function's figure, as drawn)."""
    from helpers.presentation.sections import Report, load_all

    seen = []

    def checked(name, function):
        def draw(*args, **kwargs):
            fig = function(*args, **kwargs)
            assert_print_size(name, fig)
            assert_key_off_the_data_and_text_inside(name, fig)
            key = " ".join(t.get_text() for legend in fig.legends for t in legend.get_texts())
            if "pilot" in key and "comparison" in key:  # areas by role (not waves, tones or ideals)
                styles = _styles_by_role(fig)
                assert styles["pilot"] and styles["comparison"] and not styles["pilot"] & styles["comparison"], name
            seen.append(name)
            return fig

        return draw

    for name in ROLE_FUNCTIONS + OTHER_FUNCTIONS:
        monkeypatch.setattr(charts, name, checked(name, getattr(charts, name)))
    report = Report(sample_db, "council-tax-reduction", "ashgrove", "12m")
    for name, spec in load_all().items():
        if spec.applies is None or spec.applies(report.fw, "council-tax-reduction"):
            report.show(name)
    assert set(seen) == set(ROLE_FUNCTIONS + OTHER_FUNCTIONS)


ROLE_FUNCTIONS = ["estimate_dots", "indicator_trend_chart", "predicted_actual_chart", "tier_chart", "pre_trend_chart"]
OTHER_FUNCTIONS = ["difference_bars", "sentiment_chart", "ripple_chart", "planned_reach_chart"]


def test_a_long_title_wraps_within_the_figure():
    fig = charts.difference_bars(_differences(), title=LONG_TITLE, xlabel="points")
    renderer = _laid_out(fig)
    title = fig._suptitle
    assert title.get_text().count("\n") >= 1 and title.get_text().replace("\n", " ") == LONG_TITLE
    assert _inside(title.get_window_extent(renderer), fig.bbox)
    plt.close(fig)
    assert charts.fit("one two three", 100) == "one two three"
    short = charts.fit(LONG_TITLE, 2.0, 9, lines=2)
    assert short.count("\n") == 1 and short.endswith("…")
    assert all(charts.text_width(line, 9) <= 2.0 for line in short.split("\n"))


# --- not by colour alone ------------------------------------------------------------------------------

# Machado, Oliveira and Fernandes (2009): deuteranopia, severity 1, on linear RGB.
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def deuteranopia(rgb: np.ndarray) -> np.ndarray:
    """RGB (0-1, any shape ending in 3) as a reader with deuteranopia sees it."""
    return _srgb(_linear(np.asarray(rgb, dtype=float)) @ DEUTERANOPIA.T)


def greyscale(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance (0-1): what a greyscale print keeps."""
    return _linear(np.asarray(rgb, dtype=float)) @ np.array([0.2126, 0.7152, 0.0722])


def rendered(fig) -> np.ndarray:
    """The figure as an RGB array (0-1), laid out as model.draw lays it out."""
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255


def _role_of(colour) -> str | None:
    colour = to_rgb(colour)
    for role in ("pilot", "comparison"):
        if any(np.allclose(colour, to_rgb(c)) for c in charts.ROLES[role]["colours"]):
            return role
    return None


def _styles_by_role(fig) -> dict[str, set]:
    """The (line style, marker) of every data line in the figure, by the role its colour stands for."""
    styles: dict[str, set] = {"pilot": set(), "comparison": set()}
    for ax in fig.axes:
        for line in ax.get_lines():
            role = _role_of(line.get_color())
            if role and len(line.get_xdata()):
                styles[role].add((line.get_linestyle(), line.get_marker()))
    return styles


def _drawn_colour(fig, role: str) -> np.ndarray:
    """The colour a role's boldest line shows on white (its colour blended by its opacity)."""
    lines = [line for ax in fig.axes for line in ax.get_lines() if _role_of(line.get_color()) == role]
    line = max(lines, key=lambda line: (line.get_linewidth(), line.get_alpha() or 1))
    alpha = 1.0 if line.get_alpha() is None else line.get_alpha()
    return alpha * np.array(to_rgb(line.get_color())) + (1 - alpha) * np.ones(3)


def _distinct_in_image(image: np.ndarray, a, b, *, min_pixels: int = 10) -> tuple[int, int]:
    """Pixels of the image closest to colour ``a`` and to ``b`` (each within a small distance)."""
    counts = []
    for colour in (a, b):
        near = np.linalg.norm(image - np.asarray(colour), axis=-1) < 0.06
        counts.append(int(near.sum()))
    assert min(counts) >= min_pixels, counts
    return counts[0], counts[1]


ROLE_CHARTS = ["dots-by-area", "indicator-trend", "predicted-actual", "tier", "pre-trend"]


@pytest.mark.parametrize("name", ROLE_CHARTS)
def test_pilot_and_comparison_differ_in_shape_or_line_and_stay_apart_in_greyscale_and_deuteranopia(name):
    fig = CHARTS[name][0]()
    styles = _styles_by_role(fig)
    assert styles["pilot"] and styles["comparison"], styles
    assert not styles["pilot"] & styles["comparison"], f"{name}: a pilot and a comparison series share a style"
    pilot, comparison = _drawn_colour(fig, "pilot"), _drawn_colour(fig, "comparison")
    # The colours stay apart too: for a reader with deuteranopia and in greyscale.
    assert np.linalg.norm(deuteranopia(pilot) - deuteranopia(comparison)) > 0.3
    assert abs(greyscale(pilot) - greyscale(comparison)) > 0.1
    image = rendered(fig)
    _distinct_in_image(image, pilot, comparison)
    _distinct_in_image(deuteranopia(image), deuteranopia(pilot), deuteranopia(comparison))
    plt.close(fig)


def test_areas_of_one_role_differ_by_marker_and_each_role_keeps_its_line():
    fig = CHARTS["dots-by-area"][0]()
    markers = {}
    for line in fig.axes[0].get_lines():
        if line.get_marker() not in ("None", "", None) and _role_of(line.get_color()):
            markers.setdefault(line.get_color(), set()).add(line.get_marker())
    assert len(markers) == 4 and len({frozenset(m) for m in markers.values()}) == 4  # a shape per area
    key = {t.get_text(): h for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles, strict=True)}
    assert key["Brookside (pilot)"].get_linestyle() == "-" and key["Millbrook (comparison)"].get_linestyle() == "--"
    plt.close(fig)


def test_a_role_column_wins_over_the_name():
    table = _dots({"North": None, "South": None}).assign(
        role=lambda f: np.where(f["group"] == "North", "pilot", "comparison")
    )
    fig = charts.estimate_dots(table, title="t", minimum_base=10)
    styles = _styles_by_role(fig)
    assert {m for _, m in styles["pilot"]} >= {"o"} and {m for _, m in styles["comparison"]} >= {"s"}
    plt.close(fig)


def test_waves_differ_by_marker_shape():
    fig = CHARTS["dots-by-wave"][0]()
    handles = fig.legends[0].legend_handles
    assert len({h.get_marker() for h in handles}) == len(handles) == 3
    plt.close(fig)


def test_difference_bars_key_says_what_the_colours_mean_and_fill_says_it_too():
    fig = CHARTS["difference-bars"][0]()
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names[0].startswith("clear") and names[1].startswith("not clear")
    points = [line for line in fig.axes[0].get_lines() if line.get_marker() == "D"]
    filled = {to_rgb(p.get_markerfacecolor()) == to_rgb(p.get_color()) for p in points}
    assert filled == {True, False}  # clear: filled; not clear: open (white), so greyscale keeps the difference
    clear, unclear = to_rgb(charts.PALETTE[0]), to_rgb(charts.GREY)
    assert abs(greyscale(clear) - greyscale(unclear)) > 0.1
    plt.close(fig)


def test_sentiment_hatches_the_negative_share():
    fig = CHARTS["sentiment"][0]()
    hatches = {}
    for bar in fig.axes[0].patches:
        hatches.setdefault(to_rgb(bar.get_facecolor()), set()).add(bar.get_hatch())
    styles = charts.TONE_STYLE
    assert hatches[to_rgb(styles["negative"]["color"])] == {"///"}
    assert hatches[to_rgb(styles["positive"]["color"])] == {None}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["positive", "neutral", "negative"]
    positive, negative = to_rgb(styles["positive"]["color"]), to_rgb(styles["negative"]["color"])
    assert np.linalg.norm(deuteranopia(positive) - deuteranopia(negative)) > 0.3
    plt.close(fig)


def test_the_simulations_are_sane():
    assert np.allclose(deuteranopia(np.array([1.0, 1.0, 1.0])), 1, atol=0.01)  # white stays white
    red, green = deuteranopia(to_rgb("#d62728")), deuteranopia(to_rgb("#2ca02c"))
    assert np.linalg.norm(red - green) < np.linalg.norm(np.array(to_rgb("#d62728")) - to_rgb("#2ca02c")) / 2
    assert greyscale(np.array([1.0, 1.0, 1.0])) == pytest.approx(1)


# --- the embedded image ---------------------------------------------------------------------------


def test_a_chart_is_embedded_as_svg_with_its_text_as_paths():
    chart = model.draw(CHARTS["difference-bars"][0](), "alt")
    assert chart.mime == "image/svg+xml"
    svg = base64.b64decode(chart.png).decode("utf-8")
    assert "<svg" in svg and "<text" not in svg  # glyphs as paths: no font needed where the report is read
    assert "<dc:date>" not in svg
    width = float(svg.split('width="', 1)[1].split("pt", 1)[0])
    assert width == pytest.approx(charts.WIDTH * 72)  # prints at its own size: 17 cm
    html = render.chart_html(chart)
    assert html.startswith('<figure class="chart"><img src="data:image/svg+xml;base64,')


def test_a_png_is_200_dpi():
    from PIL import Image

    fig = CHARTS["planned-reach"][0]()
    width_in = fig.get_figwidth()
    chart = model.draw(fig, "alt", format="png")
    assert chart.mime == "image/png"
    image = Image.open(io.BytesIO(base64.b64decode(chart.png)))
    assert abs(image.size[0] - 200 * width_in) <= 1
    assert render.chart_html(chart).startswith('<figure class="chart"><img src="data:image/png;base64,')


@pytest.mark.parametrize("name", ["dots-by-area", "indicator-trend", "ripple", "sentiment"])
def test_the_same_inputs_give_the_same_bytes(name):
    make = CHARTS[name][0]
    assert model.draw(make(), "a").png == model.draw(make(), "a").png
    assert model.draw(make(), "a", format="png").png == model.draw(make(), "a", format="png").png


def test_every_chart_closes_its_figure_when_drawn():
    before = set(plt.get_fignums())
    for make, _ in CHARTS.values():
        model.draw(make(), "alt")
    assert set(plt.get_fignums()) == before
