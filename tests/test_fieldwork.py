"""Fieldwork tracking: returns against the plan's targets, who is missing, the design effect now."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.config import paths
from helpers.methods import weights
from helpers.surfaces.cli import main
from helpers.surfaces.fieldwork import fieldwork
from helpers.surfaces.planning import plan


def test_returns_add_up_and_meet_the_plans_targets(sample_db, fw):
    result = fieldwork(fw, sample_db, project="working-xtra", design_effect=1.3)
    returns = result.part("returns")
    survey = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    at = survey[survey["wave"] == "12m"]
    totals = returns[returns["mode"] == "all"].set_index("neighbourhood")
    for hood, n in at[at["neighbourhood"].isin(totals.index)].groupby("neighbourhood").size().items():
        assert totals.loc[hood, "responses"] == n
        by_mode = returns[(returns["neighbourhood"] == hood) & (returns["mode"] != "all")]["responses"].sum()
        assert by_mode == n
    planned = plan(fw, sample_db, project="working-xtra", design_effect=1.3).table.set_index("neighbourhood")
    for hood, row in totals.iterrows():
        assert row["target"] == planned.loc[hood, "responses_needed"]
        assert row["still_needed"] == max(row["target"] - row["responses"], 0)
    assert "Brookside (pilot):" in result.words and "to go" in result.words


def test_margins_flag_the_groups_short_of_their_share(sample_db, fw):
    result = fieldwork(fw, sample_db, project="working-xtra", wave="baseline", target=300)
    margins = result.part("margins")
    for _, group in margins.groupby(["neighbourhood", "dimension"]):
        assert group["share_of_responses"].sum() == pytest.approx(1)
        assert group["share_of_adults"].sum() == pytest.approx(1)
    flagged = margins[margins["under_represented"] == True]  # noqa: E712
    assert (flagged["representation"] < 0.8).all() and not flagged.empty
    assert "Under-represented: aged 16-34" in result.words


def test_design_effect_is_the_weights(sample_db, fw):
    from helpers.store import access, database

    result = fieldwork(fw, sample_db, project="council-tax-reduction", wave="6m", target=300)
    con = database.connect(sample_db, read_only=True)
    try:
        responses = access.load_responses(con, fw, ["ashgrove"])
        population = access.load_population(con)
    finally:
        con.close()
    summary = weights.weighting_summary(weights.rake_weights(responses, population, fw.settings))
    expected = summary[summary["wave"] == "6m"].iloc[0]
    got = result.part("weighting").set_index("neighbourhood").loc["ashgrove"]
    assert got["design_effect"] == pytest.approx(expected["design_effect"])
    assert got["effective_n"] == pytest.approx(expected["effective_n"])


def test_fieldwork_cli(sample_db, tmp_path, capsys):
    out = tmp_path / "fw.csv"
    assert (
        main(["fieldwork", "--project", "working-xtra", "--target", "350", "--csv", str(out), "--db", str(sample_db)])
        == 0
    )
    assert "of 350" in capsys.readouterr().out
    assert set(pd.read_csv(out)["part"]) == {"returns", "margins", "weighting"}
    assert main(["fieldwork", "--project", "working-xtra", "--target", "0", "--db", str(sample_db)]) == 2
    assert "--target 0" in capsys.readouterr().err
    assert main(["fieldwork", "--project", "nope", "--db", str(sample_db)]) == 2
    assert "unknown project 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fieldwork"])  # --project is required
