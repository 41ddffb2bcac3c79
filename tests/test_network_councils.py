"""Real returns end to end (issue 17's acceptance): three councils' data that is not the committed sample,
under edited frameworks, written as returns, imported and pooled.

- "Ashby": the committed sample's files with Brookside's 6-month wave cut to 8 questionnaires;
- "Brent": a sample drawn with another seed (other residents, other answers);
- "Corby": another seed again, and its framework words statement s01 differently.
Every council's framework names Working Xtra's family "employment support". The pooled table must hold the
three councils' DiDs pooled by DerSimonian-Laird (worked here with numpy), and leave s01 out, naming Corby.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from helpers.config import paths
from helpers.config.framework import load_framework
from helpers.store import returns
from helpers.store.intake import build_database
from helpers.store.sample import write_sample
from helpers.surfaces.cli import main
from helpers.surfaces.council_return import council_manifest, council_tables

pytestmark = pytest.mark.slow  # three databases and three returns: about a minute

FAMILY = "employment support"


def _framework(root, tmp, reword: bool):
    target = tmp / "framework"
    shutil.copytree(paths.FRAMEWORK, target)
    project = target / "projects" / "working-xtra.yaml"
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace('name: "Working Xtra"\n', f'name: "Working Xtra"\nfamily: "{FAMILY}"\n'))
    if reword:
        instrument = target / "instrument.yaml"
        text = instrument.read_text(encoding="utf-8")
        instrument.write_text(text.replace('text: "I love where I live"', 'text: "I like living here"'))
    return load_framework(target)


def _council(tmp_path_factory, fw, name: str, *, seed=None, cut=False, reword=False):
    tmp = tmp_path_factory.mktemp(name.lower())
    council_fw = _framework(paths.FRAMEWORK, tmp, reword)
    assert council_fw.project("working-xtra").family == FAMILY
    source = tmp / "files"
    if seed is None:
        shutil.copytree(paths.SAMPLE, source)
    else:
        write_sample(fw, source, seed)
    if cut:
        survey = pd.read_csv(source / "survey.csv", dtype=str, keep_default_na=False)
        here = survey.index[(survey["neighbourhood"] == "brookside") & (survey["wave"] == "6m")]
        survey.drop(index=here[8:]).to_csv(source / "survey.csv", index=False)
    db = tmp / "workbook.duckdb"
    build_database(source, fw, db)
    tables = council_tables(council_fw, db)
    return returns.write_return(tmp / f"{name}.zip", council_manifest(council_fw, db, name, tables["scores"]), tables)


@pytest.fixture(scope="module")
def network(tmp_path_factory, fw):
    made = [
        _council(tmp_path_factory, fw, "Ashby", cut=True),
        _council(tmp_path_factory, fw, "Brent", seed=101),
        _council(tmp_path_factory, fw, "Corby", seed=202, reword=True),
    ]
    db = tmp_path_factory.mktemp("network") / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    return made, db


def test_three_councils_pooled_and_the_reworded_measure_named(network, tmp_path, capsys):
    made, db = network
    capsys.readouterr()
    out = tmp_path / "pooled.csv"
    assert main(["network", "meta", "--family", FAMILY, "--csv", str(out), "--db", str(db)]) == 0
    said = capsys.readouterr().out
    assert "left out of s01's pooling, worded differently from this workbook's framework: Corby" in said
    table = pd.read_csv(out)
    assert set(table.loc[table["measure"] == "s01", "councils"]) == {2} and set(table["family"]) == {FAMILY}
    # the councils' own DiDs for s05 (agreeing) at 12 months, pooled by hand (DerSimonian-Laird)
    rows = []
    for path in made:
        did = returns.read_return(path)[1]["did"]
        here = (did["project"] == "working-xtra") & (did["measure"] == "s05") & (did["wave"] == "12m")
        rows.append(did[here & (did["statistic"] == "agree")])
    picked = pd.concat(rows)
    assert len(picked) == 3 and not picked["suppressed"].any()
    y, v = picked["did"].to_numpy(), picked["se"].to_numpy() ** 2
    w = 1 / v
    fixed = (w * y).sum() / w.sum()
    q = (w * (y - fixed) ** 2).sum()
    tau2 = max(0.0, (q - 2) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (v + tau2)
    row = table[(table["measure"] == "s05") & (table["statistic"] == "agree") & (table["wave"] == "12m")].iloc[0]
    assert row["councils"] == 3 and row["method"].startswith("random effects")
    assert row["pooled"] == pytest.approx((wr * y).sum() / wr.sum())
    assert row["se"] == pytest.approx(1 / np.sqrt(wr.sum()))
    assert row["tau2"] == pytest.approx(tau2, abs=1e-12)


def test_the_councils_returns_differ_where_their_data_and_frameworks_do(network):
    made, _ = network
    manifests = [returns.read_return(p)[0] for p in made]
    assert [m["council"] for m in manifests] == ["Ashby", "Brent", "Corby"]
    assert manifests[0]["wording"]["s01"] == manifests[1]["wording"]["s01"] != manifests[2]["wording"]["s01"]
    assert manifests[0]["wording"]["s02"] == manifests[2]["wording"]["s02"]
    assert {m["projects"]["working-xtra"]["family"] for m in manifests} == {FAMILY}
    dids = [returns.read_return(p)[1]["did"]["did"].round(6).tolist() for p in made]
    assert dids[0] != dids[1] != dids[2]  # other residents, other answers
