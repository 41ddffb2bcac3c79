"""Charts: seaborn's colour-blind palette (copied as data), text alternatives, figures closed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

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
