"""helpers/selfeval.py: validation, save / load / edit in DuckDB, the roll-up to the ideals, comparison.

Roll-up expectations are worked out by hand on a three-area framework (levels score 1-4; an ideal's score
is the mean over the assessed areas that serve it).
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from datetime import date

import pytest

from helpers.config.errors import UserError
from helpers.config.framework import SelfEvaluation
from helpers.presentation import model, render, self_evaluation
from helpers.store import database as store
from helpers.store import selfeval

TODAY = date(2025, 6, 30)


@pytest.fixture
def db(tmp_path, fw):
    path = tmp_path / "workbook.duckdb"
    con = store.connect(path)
    store.ensure_schema(con, fw)
    con.close()
    return path


@pytest.fixture
def writable(monkeypatch):
    monkeypatch.setenv(selfeval.ALLOW_WRITE_ENV, "1")


@pytest.fixture
def tiny(fw):
    """The real framework with three self-evaluation areas: A serves place; B place and people; C people and
    public services."""
    se = fw.self_evaluation
    criteria = se.areas[0].criteria

    def area(i, ideals):
        return {
            "id": i,
            "name": f"Area {i}",
            "statement": "s",
            "ideals": ideals,
            "ideals_reason": "r",
            "criteria": criteria.model_dump(),
        }

    small = SelfEvaluation.model_validate(
        {
            "intro": se.intro,
            "note": se.note,
            "levels": [lvl.model_dump() for lvl in se.levels],
            "areas": [
                area("a", ["place"]),
                area("b", ["place", "people"]),
                area("c", ["people", "public-services"]),
            ],
        }
    )
    return fw.model_copy(update={"self_evaluation": small})


def _assessment(fw, name="Cabinet review", day=date(2025, 3, 31), level="developing", evidence="Minutes of Cabinet"):
    areas = [a.id for a in fw.self_evaluation.areas]
    return selfeval.Assessment(name, day, dict.fromkeys(areas, level), dict.fromkeys(areas, evidence))


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 81, "two\nlines", "tab\there"])
def test_bad_names_are_refused(name):
    with pytest.raises(UserError):
        selfeval.check_name(name)


def test_names_are_trimmed_and_80_characters_allowed():
    assert selfeval.check_name("  Review 2025 ") == "Review 2025"
    assert selfeval.check_name("x" * 80) == "x" * 80


@pytest.mark.parametrize("value", ["", None, "31/03/2025", "2025-02-30", "next week", "2025-07-01", "1999-12-31", 7])
def test_bad_dates_are_refused(value):
    with pytest.raises(UserError):
        selfeval.check_date(value, today=TODAY)


def test_dates_as_text_or_dates():
    assert selfeval.check_date("2025-03-31", today=TODAY) == date(2025, 3, 31)
    assert selfeval.check_date(TODAY, today=TODAY) == TODAY


def test_unknown_area_or_level_is_refused(fw):
    a = _assessment(fw)
    with pytest.raises(UserError, match="unknown level 'excellent'"):
        selfeval.check_assessment(fw, selfeval.Assessment(a.name, a.assessed_on, {"governance": "excellent"}))
    with pytest.raises(UserError, match="unknown performance area 'gardening'"):
        selfeval.check_assessment(fw, selfeval.Assessment(a.name, a.assessed_on, {"gardening": "leading"}))


# --- storage ----------------------------------------------------------------------------------------


def test_saving_is_refused_unless_writing_is_enabled(db, fw, monkeypatch):
    monkeypatch.delenv(selfeval.ALLOW_WRITE_ENV, raising=False)
    assert not selfeval.writing_allowed()
    with pytest.raises(UserError, match="--allow-write"):
        selfeval.save_assessment(db, fw, _assessment(fw), today=TODAY)
    monkeypatch.setenv(selfeval.ALLOW_WRITE_ENV, "yes")  # only "1" enables writing
    with pytest.raises(UserError, match="read-only"):
        selfeval.save_assessment(db, fw, _assessment(fw), today=TODAY)
    assert selfeval.list_assessments(db).empty


def test_save_then_load_round_trip(db, fw, writable):
    levels = {"governance": "leading", "innovation": "aspiring"}
    evidence = {"governance": '=HYPERLINK("x") stays text; \'quotes\', "double" and ünïcode', "learning": "  notes "}
    message = selfeval.save_assessment(
        db, fw, selfeval.Assessment(" Cabinet review ", date(2025, 3, 31), levels, evidence), today=TODAY
    )
    assert message.message == "Saved 'Cabinet review' dated 2025-03-31: 2 of 10 areas assessed."
    assert message.key == ("Cabinet review", date(2025, 3, 31)) and message.revision == 1
    saved = selfeval.list_assessments(db)
    assert saved.to_dict("records") == [
        {"name": "Cabinet review", "assessed_on": date(2025, 3, 31), "areas_assessed": 2}
    ]
    back = selfeval.load_assessment(db, fw, "Cabinet review", "2025-03-31")
    assert back.levels["governance"] == "leading" and back.levels["innovation"] == "aspiring"
    assert back.levels["co-production"] is None
    assert back.evidence["governance"] == evidence["governance"]
    assert back.evidence["learning"] == "notes"
    assert back.evidence["enterprise"] == ""


def test_overwriting_is_refused_unless_editing(db, fw, writable):
    first = _assessment(fw)
    selfeval.save_assessment(db, fw, first, today=TODAY)
    with pytest.raises(UserError, match="already exists; open it to edit it"):
        selfeval.save_assessment(db, fw, _assessment(fw, level="leading"), today=TODAY)
    assert selfeval.load_assessment(db, fw, first.name, first.assessed_on).levels["governance"] == "developing"
    # editing the opened assessment replaces it
    message = selfeval.save_assessment(db, fw, _assessment(fw, level="leading"), editing=first.key, today=TODAY)
    assert message.message.startswith("Updated 'Cabinet review' dated 2025-03-31: 10 of 10")
    assert selfeval.load_assessment(db, fw, first.name, first.assessed_on).levels["governance"] == "leading"
    # an opened assessment saved under a new date is a new assessment; the original stays
    selfeval.save_assessment(db, fw, _assessment(fw, day=date(2025, 6, 1)), editing=first.key, today=TODAY)
    assert len(selfeval.list_assessments(db)) == 2
    # editing one assessment does not license overwriting another
    with pytest.raises(UserError, match="already exists"):
        selfeval.save_assessment(db, fw, _assessment(fw, day=date(2025, 6, 1)), editing=first.key, today=TODAY)


def test_list_is_newest_first(db, fw, writable):
    for name, day in [("B", date(2024, 1, 5)), ("A", date(2025, 1, 5)), ("C", date(2025, 1, 5))]:
        selfeval.save_assessment(db, fw, _assessment(fw, name=name, day=day), today=TODAY)
    saved = selfeval.list_assessments(db)
    assert list(zip(saved["name"], saved["assessed_on"], strict=True)) == [
        ("A", date(2025, 1, 5)),
        ("C", date(2025, 1, 5)),
        ("B", date(2024, 1, 5)),
    ]


def test_load_missing_names_the_saved_ones(db, fw, writable):
    selfeval.save_assessment(db, fw, _assessment(fw), today=TODAY)
    with pytest.raises(UserError, match=r"no saved assessment named 'Other'.*Cabinet review \(2025-03-31\)"):
        selfeval.load_assessment(db, fw, "Other", date(2025, 3, 31))


def test_missing_database_is_a_plain_message(tmp_path, fw):
    with pytest.raises(UserError, match="no workbook database"):
        selfeval.list_assessments(tmp_path / "none.duckdb")


def test_a_database_without_the_table_lists_nothing(tmp_path, fw):
    path = tmp_path / "old.duckdb"
    store.connect(path).close()
    assert selfeval.list_assessments(path).empty


def test_save_waits_for_a_reader_in_another_process(db, fw, writable):
    """DuckDB: one writer or many readers. A kernel reading briefly must not make a save fail."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
            "time.sleep(1.0); c.close()",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        start = time.monotonic()
        selfeval.save_assessment(db, fw, _assessment(fw), today=TODAY)
        assert time.monotonic() - start > 0.3  # it had to wait for the reader
    finally:
        holder.wait(timeout=10)
    assert len(selfeval.list_assessments(db)) == 1


# --- roll-up and comparison (hand-computed) ----------------------------------------------------------


def test_level_scores_follow_the_framework_order(fw):
    assert selfeval.level_scores(fw) == {"aspiring": 1, "developing": 2, "achieving": 3, "leading": 4}


def _close(a, b):
    return (a is None or (isinstance(a, float) and math.isnan(a))) if b is None else a == pytest.approx(b)


def test_roll_up_by_hand(tiny):
    # A = Leading (4), B = Aspiring (1), C not assessed.
    # place: A, B -> (4 + 1) / 2 = 2.5 from 2 of 2; people: B, C -> 1 from 1 of 2; public services: C -> blank.
    a = selfeval.Assessment("x", date(2025, 1, 1), {"a": "leading", "b": "aspiring", "c": None})
    rolled = selfeval.roll_up(tiny, a)
    assert list(rolled["ideal"]) == ["place", "people", "public-services"]
    assert list(rolled["areas"]) == [2, 2, 1]
    assert list(rolled["assessed"]) == [2, 1, 0]
    for got, want in zip(rolled["score"], [2.5, 1.0, None], strict=True):
        assert _close(got, want)


def test_comparison_by_hand(tiny):
    first = selfeval.Assessment("x", date(2025, 1, 1), {"a": "leading", "b": "aspiring"})
    # A = Achieving (3), B = Developing (2), C = Leading (4)
    second = selfeval.Assessment("y", date(2025, 6, 1), {"a": "achieving", "b": "developing", "c": "leading"})
    areas = selfeval.compare_areas(tiny, first, second)
    assert list(areas["first_level"]) == ["Leading", "Aspiring", "not assessed"]
    assert list(areas["second_level"]) == ["Achieving", "Developing", "Leading"]
    for got, want in zip(areas["change"], [-1.0, 1.0, None], strict=True):
        assert _close(got, want)
    ideals = selfeval.compare_ideals(tiny, first, second)
    # place 2.5 -> (3 + 2) / 2 = 2.5; people 1 -> (2 + 4) / 2 = 3; public services blank -> 4
    for got, want in zip(ideals["second_score"], [2.5, 3.0, 4.0], strict=True):
        assert _close(got, want)
    for got, want in zip(ideals["change"], [0.0, 2.0, None], strict=True):
        assert _close(got, want)
    assert list(ideals["second_assessed"]) == [2, 2, 1]


def test_real_framework_every_area_at_one_level(fw):
    a = _assessment(fw, level="achieving")
    rolled = selfeval.roll_up(fw, a)
    assert list(rolled["score"]) == [3.0, 3.0, 3.0]
    assert list(rolled["assessed"]) == list(rolled["areas"])
    assert all(n >= 3 for n in rolled["areas"])  # the framework's documented constraint


def test_the_documented_example(fw):
    """docs/dashboards.md: Governance at Achieving and Co-production at Leading, nothing else assessed."""
    a = selfeval.Assessment("x", date(2025, 1, 1), {"governance": "achieving", "co-production": "leading"})
    rolled = selfeval.roll_up(fw, a).set_index("ideal")
    assert rolled.loc["public-services", "score"] == 3.5 and rolled.loc["public-services", "assessed"] == 2
    assert rolled.loc["public-services", "areas"] == 9
    assert rolled.loc["people", "score"] == 4.0 and (
        rolled.loc["people", "assessed"],
        rolled.loc["people", "areas"],
    ) == (1, 5)
    assert math.isnan(rolled.loc["place", "score"]) and rolled.loc["place", "assessed"] == 0


def test_comparison_chart_is_drawn_and_closed(tiny):
    import matplotlib.pyplot as plt

    first = selfeval.Assessment("x", date(2025, 1, 1), {"a": "leading"})
    second = selfeval.Assessment("y", date(2025, 6, 1), {"a": "achieving", "c": "aspiring"})
    table = selfeval.compare_areas(tiny, first, second)
    fig = self_evaluation.comparison_chart(
        table, label="area_name", fw=tiny, first=first.label, second=second.label, title="t"
    )
    html = render.chart_html(model.draw(fig, "alt"))
    assert html.startswith('<figure class="chart"><img src="data:image/svg+xml;base64,')
    assert not plt.get_fignums()
