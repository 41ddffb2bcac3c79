"""Project-level results shared between a batch's kernels: used only when asked, never stale."""

from __future__ import annotations

import duckdb
import pytest

from helpers import cache, paths
from helpers.intake import build_database
from helpers.report import ProjectReport


def _counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_without_the_variable_everything_is_computed(sample_db, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    report = ProjectReport(sample_db, "working-xtra", "oakfield", "12m")
    compute, calls = _counting(41)
    assert cache.shared(report, "x", compute) == 41 and cache.shared(report, "x", compute) == 41
    assert len(calls) == 2


def test_a_second_kernel_loads_what_the_first_saved(sample_db, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    first = ProjectReport(sample_db, "working-xtra", "oakfield", "12m")
    other = ProjectReport(sample_db, "working-xtra", "brookside", "12m")  # same project, another report
    compute, calls = _counting({"a": 1})
    assert cache.shared(first, "x", compute) == {"a": 1}
    assert cache.shared(other, "x", compute) == {"a": 1}
    assert len(calls) == 1
    # Another project never shares it.
    ctr = ProjectReport(sample_db, "council-tax-reduction", "ashgrove", "12m")
    assert cache.shared(ctr, "x", compute) == {"a": 1} and len(calls) == 2


def test_new_data_gives_a_new_key(fw, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    db = tmp_path / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    compute, calls = _counting(1)
    cache.shared(ProjectReport(db, "working-xtra", "oakfield", "12m"), "x", compute)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM survey WHERE neighbourhood = 'millbrook' AND wave = '12m' AND respondent_id LIKE '%1'")
    con.close()
    cache.shared(ProjectReport(db, "working-xtra", "oakfield", "12m"), "x", compute)
    assert len(calls) == 2


@pytest.mark.parametrize("hood", ["oakfield", "millbrook"])
def test_shared_sections_equal_the_ones_computed_in_place(sample_db, tmp_path, monkeypatch, hood):
    from helpers import evidence, ripple

    sections = (
        lambda r: r.difference_in_differences(),
        lambda r: ripple.ripple_section(r),
        lambda r: evidence.kpi_tiers(r),
        lambda r: evidence.sentiment(r),
        lambda r: ripple.in_brief(r),
    )
    monkeypatch.delenv(cache.ENV, raising=False)
    plain = [s(ProjectReport(sample_db, "working-xtra", hood, "12m"))._repr_html_() for s in sections]
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    ProjectReport(sample_db, "working-xtra", "brookside", "12m").difference_in_differences()  # fill the cache
    shared = [s(ProjectReport(sample_db, "working-xtra", hood, "12m"))._repr_html_() for s in sections]
    assert shared == plain
