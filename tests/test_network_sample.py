"""A synthetic network (issue 17, part 4): returns with known effects, and the pooling finds them.

Planted: a true DiD of +3 points at 6 months and +6 at 12 (shares 0.03, 0.06) with councils' true effects
spread by tau = 0.05 around them. Each council's DiD has a standard error of about 0.025, so with 40 councils
one pooled estimate has an se of about sqrt((0.05^2 + 0.025^2) / 40) = 0.009, and I2 should be near
0.05^2 / (0.05^2 + 0.025^2) = 0.8. The checks take the median over a wave's measures (14 or 16 each), so
they are tighter than one estimate.
"""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

from helpers.methods.meta import RANDOM_EFFECTS, meta_table
from helpers.store.returns import read_return
from helpers.surfaces.cli import main
from helpers.surfaces.network_sample import write_network_sample


def _pooled(paths) -> pd.DataFrame:
    rows = []
    for p in paths:
        manifest, tables, _ = read_return(p)
        did = tables["did"].assign(council=manifest["council"])
        families = {pid: project["family"] for pid, project in manifest["projects"].items()}
        rows.append(did.assign(family=did["project"].map(families)))
    table = meta_table(pd.concat(rows, ignore_index=True))
    return table[table["method"] == RANDOM_EFFECTS]


def test_the_cli_writes_labelled_synthetic_returns(tmp_path, capsys):
    assert main(["sample", "--network", "3", "--out", str(tmp_path / "net")]) == 0
    assert "wrote 3 synthetic councils' returns" in capsys.readouterr().out
    zips = sorted((tmp_path / "net").glob("*.zip"))
    assert [z.name for z in zips] == [f"synthetic-council-00{i}.zip" for i in (1, 2, 3)]
    manifest, tables, _ = read_return(zips[1])
    assert manifest["synthetic"] is True and manifest["council"] == "Synthetic council 002"
    assert manifest["projects"]["working-xtra"]["fieldwork"]["12m"] == "2026-01"
    planted = json.loads((tmp_path / "net" / "planted.json").read_text())
    assert planted == {"synthetic": True, "councils": 3, "seed": 17, "effect": {"6m": 0.03, "12m": 0.06}, "tau": 0.05}
    # a council's DiD is its pilots' change less its comparisons', from the shares it publishes
    did, scores = tables["did"], tables["scores"].set_index(["neighbourhood", "measure", "wave"])["estimate"]
    row = did[(did["project"] == "working-xtra") & (did["measure"] == "s05") & (did["wave"] == "12m")].iloc[0]
    pilots, comparisons = row["pilot_areas"].split(";"), row["comparison_areas"].split(";")
    change = {h: scores[(h, "s05", "12m")] - scores[(h, "s05", "baseline")] for h in [*pilots, *comparisons]}
    expected = sum(change[h] for h in pilots) / len(pilots) - sum(change[h] for h in comparisons) / len(comparisons)
    assert row["did"] == pytest.approx(expected)
    # the same seed, the same bytes
    assert main(["sample", "--network", "3", "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / zips[1].name).read_bytes() == zips[1].read_bytes()


def test_the_cli_needs_an_out_folder_and_two_councils(tmp_path, capsys):
    assert main(["sample", "--network", "3"]) == 2
    assert main(["sample", "--network", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--out DIR" in err and "at least 2 councils" in err and "Traceback" not in err


def test_pooling_recovers_the_planted_effect_and_spread(tmp_path, fw):
    pooled = _pooled(write_network_sample(fw, tmp_path, 40))
    assert set(pooled["councils"]) == {40}
    by_wave = pooled.groupby("wave")
    assert by_wave["pooled"].median()["6m"] == pytest.approx(0.03, abs=0.006)
    assert by_wave["pooled"].median()["12m"] == pytest.approx(0.06, abs=0.006)
    tau = by_wave["tau2"].median() ** 0.5
    assert tau["6m"] == pytest.approx(0.05, abs=0.01) and tau["12m"] == pytest.approx(0.05, abs=0.01)
    assert pooled["i2"].median() == pytest.approx(0.8, abs=0.1)
    # each interval holds the planted effect in most groups (95% intervals: expect about 95 of 100)
    truth = pooled["wave"].map({"6m": 0.03, "12m": 0.06})
    assert ((pooled["ci_low"] <= truth) & (truth <= pooled["ci_high"])).mean() >= 0.85


def test_no_spread_planted_none_found(tmp_path, fw):
    pooled = _pooled(write_network_sample(fw, tmp_path, 40, tau=0.0, seed=3))
    assert pooled["tau2"].median() < 0.0002  # tau under 1.4 points, against 5 above
    assert pooled["i2"].median() < 0.25
    assert pooled.groupby("wave")["pooled"].median()["12m"] == pytest.approx(0.06, abs=0.006)


def test_a_synthetic_return_is_a_valid_zip_with_every_table(tmp_path, fw):
    from helpers.store.returns import MANIFEST, TABLES

    path = write_network_sample(fw, tmp_path, 2)[0]
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == sorted([MANIFEST, *(f"{t}.parquet" for t in TABLES)])
