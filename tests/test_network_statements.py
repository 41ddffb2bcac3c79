"""The network report's per-statement section: each council's % agreeing per wave, in its pilot and comparison
areas, with its interval and answers, and its DiD, councils side by side (issue 17, part 2).

Two councils' returns are built by hand (tests/network_hand.py, where every expected figure is worked out);
the statement Brent words differently is named, on this page and on the pooled one.
"""

from __future__ import annotations

import math

import network_hand
import pandas as pd
import pytest
from wording import forbidden

from helpers.methods.meta import areas_together
from helpers.presentation.network import pooled_section, statements_section


@pytest.fixture(scope="module")
def hand_db(tmp_path_factory, fw):
    return network_hand.build(fw, tmp_path_factory.mktemp("hand-network"))


def test_areas_together_weigh_each_neighbourhood_by_its_answers():
    cells = pd.DataFrame(
        {
            "group": ["a", "a", "b", "b"],
            "estimate": [0.40, 0.60, 0.30, None],  # b's second neighbourhood held back
            "se": [0.05, 0.03, 0.03, None],
            "base_n": [100, 300, 250, None],
        }
    )
    out = areas_together(cells, ["group"]).set_index("group")
    se = math.sqrt(0.25**2 * 0.05**2 + 0.75**2 * 0.03**2)
    assert out.loc["a", "estimate"] == pytest.approx(0.55)  # 0.25 x 0.40 + 0.75 x 0.60
    assert out.loc["a", "se"] == pytest.approx(se)
    assert (out.loc["a", "ci_low"], out.loc["a", "ci_high"]) == pytest.approx(
        (0.55 - 1.959964 * se, 0.55 + 1.959964 * se)
    )
    assert (out.loc["a", "areas"], out.loc["a", "answers"], bool(out.loc["a", "shown"])) == (2, 400, True)
    assert not out.loc["b", "shown"] and pd.isna(out.loc["b", "estimate"]) and out.loc["b", "areas"] == 2


def test_each_council_side_by_side_per_statement(fw, hand_db):
    section = statements_section(hand_db, fw, "working-xtra", "12m")
    assert section.title == "Working Xtra: each statement in each council, up to 12 months"
    table = section.tables[0].display
    assert list(table.columns) == [
        "Council",
        "Areas",
        "Baseline",
        "6 months",
        "12 months",
        "Difference-in-differences, 12 months",
    ]
    assert table.values.tolist() == [
        ["Ashby", "pilot areas", "55% (50% to 60%), 400 answers", "not shown", "60% (55% to 65%), 400 answers"]
        + ["+3 points (-1 to +7)"],
        ["Ashby", "comparison areas", "30% (24% to 36%), 250 answers", "31% (25% to 37%), 250 answers"]
        + ["32% (26% to 38%), 250 answers", ""],
        ["Brent", "pilot areas", "20% (16% to 24%), 500 answers", "22% (18% to 26%), 500 answers"]
        + ["25% (21% to 29%), 500 answers", "+5 points (+1 to +9)"],
        ["Brent", "comparison areas"] + ["50% (45% to 55%), 400 answers"] * 3 + [""],
    ]
    tidy = section.tables[0].tidy
    held_back = tidy[(tidy["council"] == "Ashby") & (tidy["wave"] == "6 months") & (tidy["neighbourhoods"] == "scheme")]
    assert held_back["percent_agree"].isna().all() and held_back["note"].tolist() == ["not shown"]
    first = tidy.iloc[0]
    assert (first["answers"], first["percent_agree"], first["interval_low"], first["interval_high"]) == (
        400,
        55.0,
        pytest.approx(50.0, abs=0.05),
        pytest.approx(60.0, abs=0.05),
    )
    # a chart per statement, drawing every figure shown: 11 of the 12 (Ashby's pilot areas at 6 months are not)
    assert len(section.charts) == 2 and section.charts[0].alt.count("%)") == 11
    assert "Ashby: pilot areas, 6 months: not shown; Ashby: pilot areas, 12 months: 60% (55% to 65%)" in (
        section.charts[0].alt
    )
    second = statements_section(hand_db, fw, "working-xtra", "12m", network_hand.statement(fw, 1))
    assert len(second.tables) == 1 and second.tables[0].display["Difference-in-differences, 12 months"].tolist() == [
        "+4 points (+0.1 to +8)",
        "",
        "+8 points (+4 to +12)",
        "",
    ]


def test_an_earlier_wave_shows_the_waves_up_to_it(fw, hand_db):
    table = statements_section(hand_db, fw, "working-xtra", "6m").tables[0].display
    assert list(table.columns)[2:] == ["Baseline", "6 months", "Difference-in-differences, 6 months"]
    # Ashby's DiD at 6 months +1 point, se 2: -2.92 to +4.92
    assert table.iloc[0].tolist()[-1] == "+1 point (-3 to +5)"


def test_a_statement_worded_differently_is_named_and_not_pooled(fw, hand_db):
    short = fw.instrument.statement(network_hand.statement(fw)).short
    section = statements_section(hand_db, fw, "working-xtra", "12m")
    assert (
        f"Brent words \u2018{short}\u2019 differently from the network's framework, so their figures for it are "
        "side by side here but left out of the pooling: a different question is a different measure."
    ) in section.notes
    pooled = pooled_section(hand_db, fw, "working-xtra", "12m")
    assert pooled.notes == [
        f"Agreement that \u2018{short}\u2019: Brent is left out of the pooling, because the question is worded "
        "differently there from the network's framework."
    ]


def test_the_section_speaks_plainly(fw, hand_db):
    section = statements_section(hand_db, fw, "working-xtra", "12m")
    table = section.tables[0].display
    words = [section.title, section.headline, *section.paragraphs, *(c.alt for c in section.charts)]
    assert forbidden(" ".join([*words, *table.astype(str).values.ravel()]), fw) == []


def test_without_a_network_it_says_so(fw, tmp_path):
    section = statements_section(tmp_path / "none.duckdb", fw, "working-xtra", "12m")
    assert section.paragraphs == [
        "No council's return has been brought into the network yet, so there is nothing to compare."
    ]


def test_beyond_fifteen_councils_the_figures_are_in_tables_only(fw, tmp_path):
    from helpers.store import network
    from helpers.surfaces.network_sample import write_network_sample

    db = tmp_path / "network.duckdb"
    for made in write_network_sample(fw, tmp_path / "returns", 16, neighbourhoods=2):
        network.import_return(db, made)
    section = statements_section(db, fw, "working-xtra", "12m")
    statements = fw.project("working-xtra").survey_statements
    assert section.charts == [] and len(section.tables) == len(statements)
    assert len(section.tables[0].display) == 32  # 16 councils x (pilot, comparison)
    assert (
        "With more than 15 councils the figures are in the tables only: a chart of every council would be too "
        "crowded to read."
    ) in section.notes


def test_in_brief_names_the_scheme_and_the_clear_pooled_changes(fw, hand_db):
    """network_hand's second statement at 12 months: random effects +6 points, interval +2 to +10, I2 50% (worked
    in its docstring); the first statement has only Ashby left (Brent words it differently): nothing to pool. At
    6 months both councils +2, se 2: pooled +2, se sqrt(1 / 5000) = 0.01414, interval -0.77 to +4.77: not clear."""
    from helpers.presentation.network import in_brief_section

    second = fw.instrument.statement(network_hand.statement(fw, 1)).short
    section = in_brief_section(hand_db, fw, "working-xtra", "12m")
    assert section.title == "Working Xtra schemes across councils, 12 months"
    assert section.paragraphs == [
        "2 councils have sent results for Working Xtra schemes at 12 months; 1 of the survey's measures has two or "
        "more councils' results to pool.",
        "Clear changes across the councils:",
        "Some councils word one measure differently from the network's framework: their figures are left out of its "
        "pooling (named below).",
    ]
    assert section.points == [
        f"Across 2 councils, Working Xtra schemes raised agreement that \u2018{second}\u2019 by 6 points, 95% "
        "interval 2 to 10; results varied a lot between councils, so the pooled figure hides real differences."
    ]
    earlier = in_brief_section(hand_db, fw, "working-xtra", "6m")
    assert "No pooled change is clear at this wave: every pooled interval includes no change." in earlier.paragraphs
