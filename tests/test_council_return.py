"""A council's return (issue 17, part 1): only what the reports publish, in a format others can check.

The data is not the sample as committed: Brookside's 6-month wave is cut to 8 questionnaires (below the
minimum base of 10, so its scores are suppressed) and a self-assessment is saved, under another council's name.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from datetime import date

import pandas as pd
import pytest

from helpers.config import paths
from helpers.config.errors import UserError
from helpers.config.framework import load_framework
from helpers.store import returns, selfeval
from helpers.store.intake import build_database
from helpers.surfaces.cli import main

COUNCIL = "Testshire Co-operative Council"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory, fw):
    """The sample with Brookside's 6-month wave cut to 8 questionnaires, and one self-assessment saved."""
    source = tmp_path_factory.mktemp("return-source")
    for f in paths.SAMPLE.glob("*.csv"):
        shutil.copy(f, source / f.name)
    survey = pd.read_csv(source / "survey.csv", dtype=str, keep_default_na=False)
    here = survey.index[(survey["neighbourhood"] == "brookside") & (survey["wave"] == "6m")]
    survey.drop(index=here[8:]).to_csv(source / "survey.csv", index=False)
    db = tmp_path_factory.mktemp("return-db") / "workbook.duckdb"
    build_database(source, fw, db)
    areas = [a.id for a in fw.self_evaluation.areas]
    levels = dict.fromkeys(areas, "developing") | {areas[0]: "leading"}
    os.environ[selfeval.ALLOW_WRITE_ENV] = "1"
    try:
        older = selfeval.Assessment("First look", date(2025, 1, 31), dict.fromkeys(areas, "aspiring"), {})
        selfeval.save_assessment(db, fw, older, today=date(2026, 1, 31))
        newer = selfeval.Assessment("Cabinet review", date(2025, 6, 30), levels, dict.fromkeys(areas, "Minutes"))
        selfeval.save_assessment(db, fw, newer, today=date(2026, 1, 31))
    finally:
        os.environ.pop(selfeval.ALLOW_WRITE_ENV)
    return db


@pytest.fixture(scope="module")
def the_return(small_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("return") / "testshire.zip"
    assert main(["return", "--out", str(out), "--council", COUNCIL, "--db", str(small_db)]) == 0
    return out


def _cli_csv(tmp_path, *argv) -> pd.DataFrame:
    out = tmp_path / f"{argv[0]}-{len(argv)}.csv"
    assert main([*argv, "--csv", str(out)]) == 0
    return pd.read_csv(out)


def test_scores_are_the_published_figures_and_nothing_small(the_return, small_db, tmp_path, fw):
    manifest, tables, _ = returns.read_return(the_return)
    scores = tables["scores"]
    # the command line stops at Brookside's 8 questionnaires (they cannot be weighted), so it is asked for the
    # other neighbourhoods (each is weighted on its own, so their figures are the same)
    others = sorted(set(scores["neighbourhood"]) - {"brookside"})
    published = _cli_csv(tmp_path, "scores", "--neighbourhood", ",".join(others), "--db", str(small_db))
    assert list(scores.columns) == list(published.columns)
    keys = ["neighbourhood", "wave", "measure", "statistic", "weighted"]
    both = scores.merge(published, on=keys, suffixes=("", "_csv"), validate="one_to_one")
    assert len(both) == len(published) == (scores["neighbourhood"] != "brookside").sum()
    figures = ["base_n", "effective_n", "estimate", "se", "ci_low", "ci_high"]
    assert not both["suppressed"].any()
    for col in figures:  # every row of the other neighbourhoods: exactly the published figure
        assert both[col].astype(float).tolist() == both[f"{col}_csv"].astype(float).tolist()
    # Brookside at 6 months (8 questionnaires): unweighted rows only (as the reports), every one suppressed with
    # every figure blank, its count included (the reports say "fewer than 10 responses"); no other suppression
    small = scores[scores["suppressed"]]
    assert set(small["neighbourhood"] + "/" + small["wave"]) == {"brookside/6m"}
    assert not small["weighted"].any()
    assert len(small) == len(scores[(scores["neighbourhood"] == "brookside") & (scores["wave"] == "6m")])
    assert small[figures].isna().all().all()
    # no count under the minimum base is shown anywhere
    assert (scores["base_n"].dropna() >= fw.settings.thresholds.minimum_base).all()


def test_did_is_what_the_reports_and_the_cli_give(the_return, small_db, tmp_path, fw):
    from helpers.evidence.context import ProjectData

    _, tables, _ = returns.read_return(the_return)
    did = tables["did"]
    # council-tax-reduction: the command line's own table
    expected = _cli_csv(tmp_path, "did", "--project", "council-tax-reduction", "--db", str(small_db))
    got = did[did["project"] == "council-tax-reduction"].reset_index(drop=True)
    assert len(got) == len(expected) > 0
    for col in ("did", "se", "ci_low", "ci_high"):
        assert got[col].tolist() == pytest.approx(expected[col].tolist(), nan_ok=True)
    # working-xtra (Brookside is a pilot; the command line stops): the reports' table, Brookside left out at 6m
    reports = ProjectData(small_db, "working-xtra", fw).did
    got = did[did["project"] == "working-xtra"].reset_index(drop=True)
    assert got["did"].tolist() == pytest.approx(reports["did"].tolist(), nan_ok=True)
    assert set(got.loc[got["wave"] == "6m", "left_out"]) == {"brookside"}


def test_no_respondent_rows_and_no_free_text(the_return, small_db, fw):
    manifest, tables, _ = returns.read_return(the_return)
    respondent_columns = {"respondent_id", "age", "gender", "ethnicity", "text", "evidence_text", "name", "comment"}
    for name, table in tables.items():
        assert not respondent_columns & set(table.columns), name
    # stories: the consented ones' titles only
    stories = pd.read_csv(paths.SAMPLE / "stories.csv")
    consented = stories[stories["consent"] == "yes"]
    assert list(tables["stories"].columns) == ["project", "neighbourhood", "wave", "title"]
    assert sorted(tables["stories"]["title"]) == sorted(consented["title"])
    assert len(consented) < len(stories)  # the sample has stories without consent: they are left out
    # self-evaluation: the latest assessment (30 June 2025, not 31 January), levels only, no names or evidence
    se = tables["self_evaluation"]
    assert list(se.columns) == ["assessed_on", "area", "area_name", "level", "level_name", "score"]
    assert len(se) == len(fw.self_evaluation.areas)
    assert set(se["assessed_on"]) == {"2025-06-30"}
    assert se["level"].tolist() == ["leading"] + ["developing"] * (len(se) - 1)
    assert se["score"].tolist() == [4.0] + [2.0] * (len(se) - 1)


def test_manifest_says_who_what_and_when(the_return, fw):
    manifest, tables, _ = returns.read_return(the_return)
    assert manifest["council"] == COUNCIL
    assert manifest["synthetic"] is False
    assert manifest["waves"] == ["baseline", "6m", "12m"]
    # the sample's projects have no start month: the latest dated month (2026-01) is the 12-month survey's
    assert manifest["projects"]["working-xtra"]["fieldwork"] == {
        "baseline": "2025-01",
        "6m": "2025-07",
        "12m": "2026-01",
    }
    assert manifest["period"] == "2026-01"
    assert manifest["projects"]["working-xtra"]["family"] == "working-xtra"
    assert len(manifest["projects"]["working-xtra"]["ripple_map_sha256"]) == 64
    assert set(manifest["wording"]) == {*fw.instrument.statement_ids, "general_health", "happiness"}
    assert manifest["workbook_version"] == "0.1.0"
    for name, table in tables.items():
        assert manifest["tables"][f"{name}.parquet"]["rows"] == len(table)


def test_audit_disclosure_passes_on_the_unzipped_return(the_return, tmp_path, capsys):
    with zipfile.ZipFile(the_return) as z:
        z.extractall(tmp_path / "unzipped")
    assert main(["audit-disclosure", str(tmp_path / "unzipped")]) == 0
    out = capsys.readouterr().out
    assert "no hidden figure can be worked out: 6 tables in 6 files" in out  # every table of the return read


def test_a_tampered_or_damaged_return_is_refused(the_return, tmp_path):
    with zipfile.ZipFile(the_return) as z:
        files = {n: z.read(n) for n in z.namelist()}
    scores = pd.read_parquet(io.BytesIO(files["scores.parquet"]))
    scores.loc[0, "estimate"] = 0.99  # a figure changed after the return was written
    buffer = io.BytesIO()
    scores.to_parquet(buffer, index=False)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as z:
        for name, data in files.items():
            z.writestr(name, buffer.getvalue() if name == "scores.parquet" else data)
    with pytest.raises(UserError, match=r"scores.parquet does not match the sha256 its manifest gives"):
        returns.read_return(tampered)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(the_return.read_bytes()[: the_return.stat().st_size // 2])
    with pytest.raises(UserError, match="damaged"):
        returns.read_return(damaged)


def test_the_same_tables_give_the_same_bytes(the_return, tmp_path):
    manifest, tables, _ = returns.read_return(the_return)
    first = returns.write_return(tmp_path / "first.zip", manifest, tables)
    second = returns.write_return(tmp_path / "second.zip", manifest, tables)
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "first.zip",
        "second.zip",
    ]  # written atomically: no temporary file left beside them


def test_a_reworded_statement_changes_only_its_own_wording_hash(framework_copy, fw):
    instrument = framework_copy / "instrument.yaml"
    text = instrument.read_text(encoding="utf-8")
    instrument.write_text(text.replace('text: "I love where I live"', 'text: "I like where I live"'), encoding="utf-8")
    mine, theirs = returns.wording_hashes(fw), returns.wording_hashes(load_framework(framework_copy))
    assert [m for m in mine if mine[m] != theirs[m]] == ["s01"]
    assert (
        returns.framework_hashes(fw)["framework_version"]
        != returns.framework_hashes(load_framework(framework_copy))["framework_version"]
    )


def test_return_without_a_database_is_a_plain_error(tmp_path, capsys):
    assert main(["return", "--out", str(tmp_path / "r.zip"), "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "no such database" in err and "Traceback" not in err
    assert not (tmp_path / "r.zip").exists()
