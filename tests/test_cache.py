"""Project-level results shared between a batch's kernels: used only when asked, never stale."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from helpers.config import cache, paths
from helpers.store.intake import build_database


def _counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def _project(db, results=None):
    from helpers.evidence.context import ProjectData

    return ProjectData(db, "working-xtra", results=results)


def test_without_a_folder_results_live_in_memory_for_their_holder(sample_db, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    compute, calls = _counting(41)
    first = _project(sample_db)
    assert first.results.folder is None
    assert first.result("x", compute) == 41 and first.result("x", compute) == 41
    assert len(calls) == 1  # once for this holder
    assert _project(sample_db).result("x", compute) == 41 and len(calls) == 2  # another holder computes its own


def test_a_second_kernel_loads_what_the_first_saved(sample_db, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    compute, calls = _counting({"a": 1})
    assert _project(sample_db).result("x", compute) == {"a": 1}
    assert _project(sample_db).result("x", compute) == {"a": 1}  # a new process would find the file
    assert len(calls) == 1
    # Another project never shares it.
    from helpers.evidence.context import ProjectData

    assert ProjectData(sample_db, "council-tax-reduction").result("x", compute) == {"a": 1} and len(calls) == 2


def test_the_cache_knows_only_keys():
    results = cache.ResultCache()
    compute, calls = _counting("v")
    assert results.get("k", compute) == results.get("k", compute) == "v" and len(calls) == 1
    assert results.get("other", compute) == "v" and len(calls) == 2


def test_new_data_gives_a_new_key(fw, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    db = tmp_path / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    compute, calls = _counting(1)
    _project(db).result("x", compute)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM survey WHERE neighbourhood = 'millbrook' AND wave = '12m' AND respondent_id LIKE '%1'")
    con.close()
    _project(db).result("x", compute)
    assert len(calls) == 2


@pytest.mark.parametrize("hood", ["oakfield", "millbrook"])
def test_shared_sections_equal_the_ones_computed_in_place(sample_db, tmp_path, hood):
    from helpers.evidence.context import Selection
    from helpers.presentation.render import to_html
    from helpers.presentation.sections import build

    names = ("difference_in_differences", "kpi_tiers", "sentiment", "local_indicators", "predicted_against_actual")

    def shown(results, neighbourhood, wave):
        data = _project(sample_db, results)
        return [to_html(build(data, name, Selection("working-xtra", neighbourhood, wave))) for name in names]

    plain = shown(cache.ResultCache(), hood, "12m")
    # Fill the cache from other reports: another neighbourhood at this wave, this neighbourhood at another.
    for other, wave in (("brookside", "12m"), (hood, "6m")):
        shown(cache.ResultCache(tmp_path), other, wave)
    assert shown(cache.ResultCache(tmp_path), hood, "12m") == plain
    # The cache was used, not bypassed: the local indicators chart comes from the 6m report.
    assert any(p.name.startswith(f"working-xtra-indicator-trend-{hood}-") for p in tmp_path.iterdir())


@pytest.mark.parametrize("hood", ["oakfield", "millbrook"])
def test_shared_ripple_sections_equal_the_ones_computed_in_place(sample_db, tmp_path, hood):
    from helpers.evidence.context import ProjectData, Selection
    from helpers.presentation.render import to_html
    from helpers.presentation.sections import build

    names = ("ripple", "in_brief")

    def shown(results, neighbourhood, wave):
        data = ProjectData(sample_db, "working-xtra", results=results)
        return [to_html(build(data, name, Selection("working-xtra", neighbourhood, wave))) for name in names]

    plain = shown(cache.ResultCache(), hood, "12m")
    # Fill the cache from other reports: another neighbourhood at this wave, this neighbourhood at another.
    for other, wave in (("brookside", "12m"), (hood, "6m")):
        shown(cache.ResultCache(tmp_path), other, wave)
    assert shown(cache.ResultCache(tmp_path), hood, "12m") == plain
    # The cache was used, not bypassed: the ripple at 12m and its section were saved by the brookside report.
    saved = [p.name for p in tmp_path.iterdir()]
    assert any(n.startswith("working-xtra-ripple-12m-") for n in saved)
    assert any(n.startswith("working-xtra-section-ripple-12m-") for n in saved)


def test_kernels_needing_the_same_result_at_once_compute_it_once(sample_db, tmp_path):
    """Two processes ask for the same result together: one computes it (slowly), the other waits and loads it."""
    log = tmp_path / "computed.log"
    script = f"""
import os, sys, time
from helpers.evidence.context import ProjectData

def compute():
    with open({str(log)!r}, "a") as f:
        f.write(str(os.getpid()) + "\\n")
    time.sleep(1.5)
    return "the result"

print(ProjectData({str(sample_db)!r}, "working-xtra").result("slow", compute))
"""
    env = {**__import__("os").environ, cache.ENV: str(tmp_path / "cache")}
    runs = [
        subprocess.Popen([sys.executable, "-c", script, hood], stdout=subprocess.PIPE, text=True, env=env)
        for hood in ("oakfield", "brookside")
    ]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert outputs == ["the result", "the result"]
    assert len(log.read_text().splitlines()) == 1
