"""The network's workbook (issue 17, part 2): returns imported once each, tampered ones refused, councils'
DiD pooled per family, and a measure worded differently left out and named.

Returns are synthetic (helpers.surfaces.network_sample) with their manifests edited where a test needs another
period, family or wording. The pooled figures are checked against DerSimonian-Laird worked here with numpy,
independently of statsmodels.
"""

from __future__ import annotations

import io
import zipfile

import duckdb
import numpy as np
import pandas as pd
import pytest

from helpers.store import returns
from helpers.surfaces.cli import main
from helpers.surfaces.network_sample import council_return_tables, synthetic_manifest

Z95 = 1.959963984540054


def _write(fw, folder, i, seed, **manifest_changes):
    """A synthetic council's return, its manifest changed as given (``wording_s01``: another hash for s01)."""
    rng = np.random.default_rng(seed)
    tables = council_return_tables(rng, fw, 4, {"6m": 0.03, "12m": 0.06}, 0.05, (600, 1000))
    manifest = synthetic_manifest(fw, f"Synthetic council {i:03d}")
    if "wording_s01" in manifest_changes:
        manifest["wording"] = {**manifest["wording"], "s01": manifest_changes.pop("wording_s01")}
    if "family" in manifest_changes:
        family = manifest_changes.pop("family")
        manifest["projects"] = {
            pid: {**p, "family": family if pid == "working-xtra" else p["family"]}
            for pid, p in manifest["projects"].items()
        }
    manifest.update(manifest_changes)
    name = f"council-{i:03d}-{manifest['period']}-{seed}.zip"
    return returns.write_return(folder / name, manifest, tables)


def _count(db, table="network_did"):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def three(fw, tmp_path):
    return [_write(fw, tmp_path, i, seed=i) for i in (1, 2, 3)]


def test_import_is_idempotent_and_keeps_returns_by_period(fw, tmp_path, three, capsys):
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", *map(str, three), "--db", str(db)]) == 0
    rows = _count(db)
    assert main(["network", "import", str(three[0]), "--db", str(db)]) == 0
    assert "Synthetic council 001, 2026-01: already held; nothing added" in capsys.readouterr().out
    assert _count(db) == rows and _count(db, "network_returns") == 3
    # the same council's next period is kept beside the first
    later = _write(fw, tmp_path, 1, seed=11, period="2026-07")
    assert main(["network", "import", str(later), "--db", str(db)]) == 0
    assert _count(db, "network_returns") == 4 and _count(db) == rows * 4 // 3
    # a corrected return for a period held replaces it: nothing doubled
    corrected = _write(fw, tmp_path, 2, seed=12)
    assert main(["network", "import", str(corrected), "--db", str(db)]) == 0
    assert "Synthetic council 002, 2026-01: imported, replacing the return held for that period" in (
        capsys.readouterr().out
    )
    assert _count(db, "network_returns") == 4 and _count(db) == rows * 4 // 3


def test_a_tampered_return_is_refused_and_nothing_is_loaded(tmp_path, three, capsys):
    with zipfile.ZipFile(three[2]) as z:
        files = {n: z.read(n) for n in z.namelist()}
    did = pd.read_parquet(io.BytesIO(files["did.parquet"]))
    did.loc[0, "did"] = 0.5  # a council's effect inflated after the return was written
    buffer = io.BytesIO()
    did.to_parquet(buffer, index=False)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as z:
        for name, data in files.items():
            z.writestr(name, buffer.getvalue() if name == "did.parquet" else data)
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", str(three[0]), str(tampered), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "tampered.zip: did.parquet does not match the sha256 its manifest gives" in err
    assert "Traceback" not in err
    assert not db.exists()  # checked before anything was loaded: the good return waits for a clean import
    (tmp_path / "not-a-zip.zip").write_text("hello")
    assert main(["network", "import", str(tmp_path / "not-a-zip.zip"), "--db", str(db)]) == 2
    assert "damaged" in capsys.readouterr().err


def _dl(y, v):
    """DerSimonian-Laird, written out: fixed weights, Q, C, tau2 truncated at 0, random weights."""
    w = 1 / v
    fixed = (w * y).sum() / w.sum()
    q = (w * (y - fixed) ** 2).sum()
    c = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (q - (len(y) - 1)) / c)
    wr = 1 / (v + tau2)
    return (wr * y).sum() / wr.sum(), 1 / np.sqrt(wr.sum()), tau2, max(0.0, (q - (len(y) - 1)) / q)


def test_meta_pools_the_councils_dids(fw, tmp_path, capsys):
    folder = tmp_path / "returns"
    folder.mkdir()
    paths = [_write(fw, folder, i, seed=100 + i, family="employment support") for i in range(1, 6)]
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", *map(str, paths), "--db", str(db)]) == 0
    out = tmp_path / "pooled.csv"
    assert main(["network", "meta", "--family", "employment support", "--csv", str(out), "--db", str(db)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [
        *("family", "measure", "statistic", "wave", "councils", "pooled", "se", "ci_low", "ci_high"),
        *("tau2", "i2", "method"),
    ]
    project = fw.project("working-xtra")
    assert set(table["family"]) == {"employment support"}
    assert len(table) == len(project.survey_statements) * 2 * 2  # measures x later waves x two methods
    assert table["wave"].tolist()[:4] == ["6m", "6m", "12m", "12m"]  # the framework's wave order
    assert set(table["councils"]) == {5}
    # one row against the councils' own DiDs, pooled by hand
    dids = [returns.read_return(p)[1]["did"] for p in paths]
    picked = [
        d[(d["project"] == "working-xtra") & (d["measure"] == "s05") & (d["wave"] == "12m")].iloc[0] for d in dids
    ]
    y, v = np.array([r["did"] for r in picked]), np.array([r["se"] ** 2 for r in picked])
    pooled, se, tau2, i2 = _dl(y, v)
    row = table[(table["measure"] == "s05") & (table["wave"] == "12m")].iloc[0]
    assert row["method"] == "random effects (DerSimonian-Laird)"
    assert (row["pooled"], row["se"], row["tau2"], row["i2"]) == pytest.approx((pooled, se, tau2, i2))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((pooled - Z95 * se, pooled + Z95 * se))
    fixed = table[(table["measure"] == "s05") & (table["wave"] == "12m")].iloc[1]
    assert fixed["method"] == "fixed effect (inverse variance)"
    assert fixed["pooled"] == pytest.approx((y / v).sum() / (1 / v).sum())
    # an unknown family is a plain error naming those held
    assert main(["network", "meta", "--family", "housing", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "no council's return has the family 'housing'" in err and "employment support" in err


def test_a_council_wording_a_measure_differently_is_left_out_of_it_and_named(fw, tmp_path, capsys):
    paths = [_write(fw, tmp_path, i, seed=200 + i) for i in (1, 2, 3)]
    paths.append(_write(fw, tmp_path, 4, seed=204, wording_s01="0" * 64))  # council 4 asks s01 differently
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", *map(str, paths), "--db", str(db)]) == 0
    out = tmp_path / "pooled.csv"
    capsys.readouterr()
    assert main(["network", "meta", "--family", "working-xtra", "--csv", str(out), "--db", str(db)]) == 0
    said = capsys.readouterr().out
    assert (
        "left out of s01's pooling, worded differently from this workbook's framework: Synthetic council 004"
    ) in said
    table = pd.read_csv(out)
    assert set(table.loc[table["measure"] == "s01", "councils"]) == {3}  # the three worded as the framework
    assert set(table.loc[table["measure"] != "s01", "councils"]) == {4}


def test_meta_without_a_network_database_is_a_plain_error(tmp_path, capsys):
    assert main(["network", "meta", "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "no network database yet" in err and "Traceback" not in err


def test_a_return_whose_table_does_not_fit_is_refused_whole(fw, tmp_path, three, capsys):
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", str(three[0]), "--db", str(db)]) == 0
    manifest, tables, _ = returns.read_return(three[1])
    tables["did"] = tables["did"].assign(did="about five points")  # words where the network holds numbers
    odd = returns.write_return(tmp_path / "odd.zip", manifest, tables)
    capsys.readouterr()
    assert main(["network", "import", str(odd), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "odd.zip: did.parquet does not fit the network's did table" in err and "Traceback" not in err
    assert _count(db, "network_returns") == 1 and _count(db, "network_projects") == 2  # nothing of it kept
