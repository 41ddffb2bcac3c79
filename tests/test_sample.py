"""The committed sample is exactly what the seeded generator writes, and says it is synthetic."""

from __future__ import annotations

import pandas as pd

from helpers.config import paths
from helpers.store.sample import write_sample


def test_regenerated_sample_is_byte_identical(tmp_path, fw):
    written = write_sample(fw, tmp_path)
    for path in written:
        committed = paths.SAMPLE / path.name
        assert committed.exists(), f"{committed} is not committed"
        assert path.read_bytes() == committed.read_bytes(), f"{path.name} differs from the committed sample"


def test_sample_shape_matches_the_brief(fw):
    areas = pd.read_csv(paths.SAMPLE / "areas.csv")
    survey = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    assert areas["neighbourhood"].nunique() >= 6
    for project in fw.project_ids:
        roles = set(areas.loc[areas["project"] == project, "role"])
        assert roles == {"pilot", "comparison"}
    sizes = survey.groupby(["neighbourhood", "wave"]).size()
    assert len(sizes) == areas["neighbourhood"].nunique() * 3
    assert sizes.between(150, 400).all()
    blank_share = (survey[[f"s{n:02d}" for n in range(1, 18)]] == "").to_numpy().mean()
    assert 0.01 < blank_share < 0.1  # realistic item non-response
    assert "SYNTHETIC" in (paths.SAMPLE / "README.md").read_text()


def test_sample_is_skewed_from_the_population():
    survey = pd.read_csv(paths.SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    population = pd.read_csv(paths.SAMPLE / "population.csv")
    age = pd.to_numeric(survey["age"], errors="coerce")
    sample_old = (age >= 65).sum() / age.notna().sum()
    pop = population[population["dimension"] == "age_band"]
    pop_old = pop.loc[pop["category"] == "65+", "population"].sum() / pop["population"].sum()
    assert sample_old > pop_old + 0.08


def test_council_tax_collection_predicted_vs_actual():
    ind = pd.read_csv(paths.SAMPLE / "indicators.csv")
    ctc = ind[(ind["indicator"] == "council-tax-collection") & (ind["period"] == "2026-01")]
    pilots = ctc[ctc["neighbourhood"].isin(["ashgrove", "westwood"])]
    assert (pilots["predicted"] == 25).all()
    assert pilots["value"].between(65, 75).all()
