"""Report sections (in process, no kernel): privacy, suppression and the unweighted fallback."""

from __future__ import annotations

import duckdb
import pytest

from helpers.config import paths
from helpers.presentation.report import ProjectReport
from helpers.store.intake import build_database


@pytest.fixture(scope="module")
def db_without_millbrook_population(tmp_path_factory, fw):
    db = tmp_path_factory.mktemp("nopop") / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM population WHERE neighbourhood = 'millbrook'")
    con.close()
    return db


def test_a_neighbourhood_without_population_is_reported_unweighted_and_says_why(db_without_millbrook_population):
    report = ProjectReport(db_without_millbrook_population, "working-xtra", "millbrook", "12m")
    html = report.statement_estimates()._repr_html_()
    assert "unweighted" in html and "millbrook" in html
    assert not report.weighted_here
    profile = report.respondent_profile()._repr_html_()
    assert "could not be weighted" in profile


def test_other_neighbourhoods_stay_weighted(db_without_millbrook_population):
    report = ProjectReport(db_without_millbrook_population, "working-xtra", "oakfield", "12m")
    assert report.weighted_here
    assert "weighted, 95% Wilson interval" in report.statement_estimates()._repr_html_()


def test_profile_suppresses_small_counts_and_shows_no_individual(sample_db):
    report = ProjectReport(sample_db, "working-xtra", "oakfield", "12m")
    html = report.respondent_profile()._repr_html_()
    assert "fewer than 10" in html  # e.g. transgender or not-given gender counts
    assert "OAK-12m-" not in html  # no respondent ids
    assert report.data.here["respondent_id"].str.startswith("OAK-12m").all()


def test_unknown_selection_is_a_plain_error(sample_db):
    from helpers.config.errors import UserError

    with pytest.raises(UserError, match="not mapped to project working-xtra"):
        ProjectReport(sample_db, "working-xtra", "ashgrove", "12m").header()


def test_points_are_signed_whole_numbers_without_negative_zero():
    from helpers.presentation.report import points

    assert [points(x) for x in (0.123, -0.004, -0.051, 0.0, 0.995)] == ["+12", "0", "-5", "0", "+100"]
