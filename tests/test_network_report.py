"""The network report (issue 17): plain sentences, a forest plot, and notebooks/network.ipynb run by papermill.

The sentence is checked against a row worked out by hand; the notebook runs on a synthetic network of 6
councils (helpers.surfaces.network_sample), its page scanned for developer wording.
"""

from __future__ import annotations

import pandas as pd
import pytest
from wording import forbidden

from helpers.config import paths
from helpers.methods.meta import FIXED_EFFECT, RANDOM_EFFECTS
from helpers.presentation.network import forest_plot, pooled_section, pooled_sentence, variation_words
from helpers.surfaces.cli import main
from helpers.surfaces.network_sample import write_network_sample


def _row(**changes):
    row = {
        "family": "employment support",
        "measure": "s05",
        "statistic": "agree",
        "wave": "12m",
        "councils": 7,
        "pooled": 0.0612,
        "se": 0.0204,
        "ci_low": 0.0212,
        "ci_high": 0.1012,
        "tau2": 0.0001,
        "i2": 0.12,
        "method": RANDOM_EFFECTS,
    }
    return pd.Series(row | changes)


def test_the_pooled_sentence(fw):
    s05 = fw.instrument.statement("s05").short
    assert pooled_sentence(fw, _row()) == (
        f"Across 7 councils, employment support schemes raised agreement that \u2018{s05}\u2019 by 6 points, "
        "95% interval 2 to 10; results varied little between councils."
    )
    lowered = pooled_sentence(fw, _row(pooled=-0.031, ci_low=-0.052, ci_high=-0.004, i2=0.6, family="working-xtra"))
    assert lowered.startswith("Across 7 councils, Working Xtra schemes lowered agreement that")
    assert "by 3 points, 95% interval -5 to 0;" in lowered  # never "-0"
    assert lowered.endswith("results varied a lot between councils, so the pooled figure hides real differences.")
    assert "did not change" in pooled_sentence(fw, _row(pooled=0.004, ci_low=-0.03, ci_high=0.04))


def test_an_average_is_pooled_on_its_own_scale_not_in_points(fw):
    """Happiness yesterday (0 to 10) and a statement's average answer (1 to 5, instrument.yaml) are averages: a
    change of 0.123 is 0.12 on the scale, not "12 points"."""
    happy = _row(measure="happiness", statistic="mean", pooled=0.123, ci_low=-0.051, ci_high=0.297, councils=3)
    assert pooled_sentence(fw, happy) == (
        "Across 3 councils, employment support schemes raised average happiness yesterday (on a scale of 0 to 10) "
        "by 0.12, 95% interval -0.05 to 0.30; results varied little between councils."
    )
    s05 = fw.instrument.statement("s05").short
    average = pooled_sentence(fw, _row(statistic="mean", pooled=-0.004, ci_low=-0.2, ci_high=0.19))
    assert average.startswith(
        f"Across 7 councils, employment support schemes did not change the average answer to \u2018{s05}\u2019 "
        "(on a scale of 1 to 5), 95% interval -0.20 to 0.19;"
    )
    health = pooled_sentence(fw, _row(measure="general_health", statistic="good"))
    assert "raised the share in good or very good health by 6 points, 95% interval 2 to 10" in health


@pytest.mark.parametrize(("i2", "words"), [(0.0, "little"), (0.249, "little"), (0.25, "somewhat"), (0.5, "a lot")])
def test_variation_words(i2, words):
    assert f"varied {words}" in variation_words(i2)


def test_forest_plot_draws_each_council_and_both_pooled_effects():
    councils = pd.DataFrame(
        {"council": ["Ashby", "Brent", "Corby"], "did": [0.02, 0.05, 0.08], "ci_low": [0.0, 0.01, 0.05]}
    ).assign(ci_high=[0.04, 0.09, 0.11])
    pooled = pd.DataFrame(
        {"method": [RANDOM_EFFECTS, FIXED_EFFECT], "pooled": [0.05, 0.055], "ci_low": [0.02, 0.04]}
    ).assign(ci_high=[0.08, 0.07])
    fig = forest_plot(councils, pooled, title="Agreement")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Ashby", "Brent", "Corby", "All councils (random effects)", "All councils (fixed effect)"]
    markers = [(line.get_marker(), tuple(line.get_xdata())) for line in ax.lines if line.get_marker() in ("s", "D")]
    assert markers == [("s", (2.0,)), ("s", (5.0,)), ("s", (8.0,)), ("D", (5.0,)), ("D", (5.5,))]  # in points
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_without_a_network_the_section_says_so(fw, tmp_path):
    section = pooled_section(tmp_path / "none.duckdb", fw, "working-xtra", "12m")
    assert section.paragraphs == [
        "No council's return has been brought into the network yet, so there is nothing to pool."
    ]


@pytest.fixture(scope="module")
def network_db(tmp_path_factory, fw):
    folder = tmp_path_factory.mktemp("network")
    made = write_network_sample(fw, folder / "returns", 6)
    db = folder / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    return db


def test_the_section_pools_every_measure(fw, network_db):
    section = pooled_section(network_db, fw, "working-xtra", "12m")
    measures = fw.project("working-xtra").survey_statements
    assert len(section.charts) == len(measures)
    assert all(p.startswith("Across 6 councils, Working Xtra schemes") for p in section.paragraphs)
    assert section.headline == section.paragraphs[0]
    assert forbidden(" ".join([section.title, *section.paragraphs, *(c.alt for c in section.charts)]), fw) == []


@pytest.mark.slow
def test_the_network_notebook_runs_with_papermill(fw, network_db, tmp_path):
    import nbformat
    import papermill

    out = tmp_path / "network.ipynb"
    papermill.execute_notebook(
        str(paths.NOTEBOOKS / "network.ipynb"),
        str(out),
        parameters={"network_db": str(network_db), "family": "working-xtra", "wave": "12m"},
        progress_bar=False,
        kernel_name="python3",
    )
    html = "".join(
        o.get("data", {}).get("text/html", "")
        for c in nbformat.read(out, as_version=4).cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "Across 6 councils, Working Xtra schemes" in html
    assert "Councils at each level (6 councils)" in html and "Ripple strength and certainty" in html
    assert "Councils and their frameworks" in html
    assert html.count(">% agreeing that ") == len(fw.project("working-xtra").survey_statements)  # a table each
    assert forbidden(html, fw) == []
    assert html.count("<svg") + html.count("image/svg") >= len(fw.project("working-xtra").survey_statements)


def _hand_network(fw, folder):
    """Three synthetic councils whose self-assessments and Working Xtra ripples are set by hand."""
    import numpy as np

    from helpers.store import returns
    from helpers.surfaces.network_sample import council_return_tables, synthetic_manifest

    areas = [a.id for a in fw.self_evaluation.areas]
    chosen = {  # council -> level of the first area, of the second area; every other area 'developing'
        "Ashby": ("leading", "aspiring"),
        "Brent": ("leading", None),
        "Corby": ("achieving", "aspiring"),
    }
    made = []
    for k, (council, (first, second)) in enumerate(chosen.items()):
        tables = council_return_tables(np.random.default_rng(k), fw, 2, {"6m": 0.03, "12m": 0.06}, 0.05, (600, 900))
        levels = [first, second] + ["developing"] * (len(areas) - 2)
        tables["self_evaluation"] = pd.DataFrame(
            {"assessed_on": "2025-12-31", "area": areas, "area_name": areas, "level": levels}
        ).assign(level_name="", score=np.nan)
        ripple = tables["ripple"]
        ripple.loc[ripple["project"] == "working-xtra", "strength"] = 0.1 * (k + 1)
        ripple.loc[ripple["project"] == "working-xtra", "certainty"] = (0.2, 0.5, 0.7)[k]
        made.append(returns.write_return(folder / f"{council}.zip", synthetic_manifest(fw, council), tables))
    db = folder / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    return db


def test_self_evaluation_across_councils_counts_by_hand(fw, tmp_path):
    from helpers.presentation.network import self_evaluation_section

    db = _hand_network(fw, tmp_path)
    table = self_evaluation_section(db, fw, "Brent").tables[0].display
    first, second = fw.self_evaluation.areas[0].name, fw.self_evaluation.areas[1].name
    assert list(table.columns) == ["Performance area", "Aspiring", "Developing", "Achieving", "Leading", "Brent"]
    # first area: Ashby and Brent leading, Corby achieving
    assert table.iloc[0].tolist() == [first, 0, 0, 1, 2, "Leading"]
    # second area: Ashby and Corby aspiring; Brent did not assess it
    assert table.iloc[1].tolist() == [second, 2, 0, 0, 0, "not assessed"]
    assert table.iloc[2].tolist()[1:5] == [0, 3, 0, 0]


def test_the_ripple_side_by_side(fw, tmp_path):
    from helpers.presentation.network import ripple_section

    db = _hand_network(fw, tmp_path)
    section = ripple_section(db, fw, "working-xtra")
    table = section.tables[0].display
    ideals = sorted({fw.ideal_of(line.outcome).id for line in fw.project("working-xtra").ripple})
    names = [i.name for i in fw.ideals if i.id in ideals]  # the framework's order
    assert table.columns.tolist() == ["Council", *names]
    assert table["Council"].tolist() == ["Ashby", "Brent", "Corby"]
    # ripple.yaml's bands: strength 0.2 and up "moderate", above -0.2 "little or none"; certainty 1/3 and up
    # "moderate", 2/3 and up "high", else "low"
    expected = [
        "+0.10 (little or none), certainty 0.20 (low)",
        "+0.20 (moderate), certainty 0.50 (moderate)",
        "+0.30 (moderate), certainty 0.70 (high)",
    ]
    for name in names:
        assert table[name].tolist() == expected
    assert section.headline == "How far the ripple reached each ideal, in 3 councils."
    tidy = section.tables[0].tidy
    assert len(tidy) == 3 * len(names) and sorted(set(tidy["strength"].round(2))) == [0.1, 0.2, 0.3]


def test_the_councils_and_how_their_frameworks_differ(fw, tmp_path):
    import numpy as np

    from helpers.presentation.network import councils_section
    from helpers.store import returns
    from helpers.surfaces.network_sample import council_return_tables, synthetic_manifest

    made = []
    for k, council in enumerate(("Ashby", "Brent", "Corby")):
        tables = council_return_tables(np.random.default_rng(k), fw, 2, {"6m": 0.03, "12m": 0.06}, 0.05, (600, 900))
        manifest = synthetic_manifest(fw, council)
        if council == "Corby":  # another framework, and its own Working Xtra ripple map
            manifest["framework_version"] = "f" * 64
            manifest["projects"]["working-xtra"]["ripple_map_sha256"] = "e" * 64
        made.append(returns.write_return(tmp_path / f"{council}.zip", manifest, tables))
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    section = councils_section(db, fw, "working-xtra")
    assert section.headline == "3 councils have sent a return; 1 with a framework that differs from most."
    table = section.tables[0].display
    assert table.values.tolist() == [
        ["Ashby", "January 2026", "as most councils", "as most councils", "yes"],
        ["Brent", "January 2026", "as most councils", "as most councils", "yes"],
        ["Corby", "January 2026", "differs from most", "differs from most", "yes"],
    ]
    assert section.notes == ["3 of these returns are synthetic: made up to test the network, not a council's data."]
    assert forbidden(" ".join([section.headline, *section.notes, *table.astype(str).values.ravel()]), fw) == []
