"""The analysis finds what the synthetic sample planted, and finds nothing where nothing was planted."""

from __future__ import annotations

import pytest

from helpers.methods import estimates
from helpers.store import access as analysis
from helpers.store import database as store
from helpers.store import sample


@pytest.fixture(scope="module")
def tables(sample_db, fw):
    con = store.connect(sample_db, read_only=True)
    try:
        responses = analysis.load_responses(con, fw)
        population = analysis.load_population(con)
        areas = analysis.load_areas(con)
    finally:
        con.close()
    scores = estimates.scores(responses, population, fw)
    did = {p: estimates.did(scores, population, areas, p, fw) for p in fw.project_ids}
    return scores, did


def _row(did, measure, wave="12m"):
    rows = did[(did["measure"] == measure) & (did["statistic"] == "agree") & (did["wave"] == wave)]
    assert len(rows) == 1
    return rows.iloc[0]


def _planted_did(project: str, statement: str) -> float:
    pilot = sample.PLANTED[(project, "pilot")][statement]["12m"]
    comparison = sample.PLANTED[(project, "comparison")][statement]["12m"]
    return (pilot - comparison) / 100


@pytest.mark.parametrize(("project", "statement"), [("working-xtra", "s05"), ("council-tax-reduction", "s17")])
def test_planted_difference_in_differences_is_recovered(tables, project, statement):
    _, did = tables
    row = _row(did[project], statement)
    planted = _planted_did(project, statement)
    assert row["design"] == "difference-in-differences"
    assert row["ci_low"] > 0, "the planted effect's interval should exclude zero"
    assert row["ci_low"] <= planted <= row["ci_high"], "the interval should contain the planted size"
    assert bool(row["significant"])


@pytest.mark.parametrize("project", ["working-xtra", "council-tax-reduction"])
@pytest.mark.parametrize("statement", sample.NULL_STATEMENTS)
def test_nothing_found_where_nothing_was_planted(tables, project, statement):
    _, did = tables
    row = _row(did[project], statement)
    assert row["ci_low"] <= 0 <= row["ci_high"]


def test_weighting_moves_estimates_towards_the_population(tables):
    """Older respondents agree more and are over-represented: weighted shares sit below unweighted ones."""
    scores, _ = tables
    agree = scores[(scores["statistic"] == "agree") & ~scores["suppressed"]]
    wide = agree.pivot_table(index=["neighbourhood", "wave", "measure"], columns="weighted", values="estimate")
    assert (wide[True] < wide[False]).mean() > 0.8
