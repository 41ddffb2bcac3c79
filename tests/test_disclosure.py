"""Disclosure control (helpers/methods/disclosure.py) and its audit (python -m helpers audit-disclosure).

Adversarial tables built by hand: one small cell, two small cells, a zero beside a small cell, a small cell
whose total is printed in another section, a small category in two tables with different margins, a small
category in one wave only, percentages of a small group, and a two-way table. Each expected pattern is worked
out in the comments from the rule in docs/method.md ("Disclosure control"); each protected result is then
attacked by differencing (the linear-algebra audit) and must give nothing away, while the unprotected one must.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from helpers.methods.disclosure import determined, protect, protect_frame, shares, worked_out
from helpers.presentation import formatting as fmt
from helpers.presentation import render
from helpers.presentation.model import Section
from helpers.presentation.sections import Report
from helpers.presentation.tables import profile_shown, questionnaires_shown
from helpers.surfaces.cli import main

MINIMUM = 10


def _line(counts: dict) -> list[tuple]:
    return [tuple(counts)]


def _attack(counts: dict, lines: list, hidden) -> dict:
    """What differencing finds: each hidden cell worked out from the lines' totals and the shown cells."""
    shown = {c: n for c, n in counts.items() if c not in hidden}
    return worked_out([(line, sum(counts[c] for c in line)) for line in lines], shown, hidden)


# --- the rule, on hand-built tables ----------------------------------------------------------------------


def test_one_small_cell_gets_the_smallest_other_cell_hidden_beside_it():
    # Hollins Green at 12 months: age 'not given' is 8 of 326. Hidden alone, 326 - (115 + 107 + 51 + 45) = 8.
    ages = {"65+": 115, "50-64": 107, "35-49": 51, "16-34": 45, "not given": 8}
    assert _attack(ages, _line(ages), {"not given"}) == {"not given": 8}
    result = protect(ages, _line(ages), MINIMUM)
    # Two hidden cells at least, together 10 or more: the smallest other band (16-34, 45) joins it: 53 hidden.
    assert result.small == {"not given"} and result.hidden == {"not given", "16-34"}
    assert _attack(ages, _line(ages), result.hidden) == {}


def test_two_small_cells_that_together_are_still_small_get_a_third():
    # 3 + 4 = 7: both hidden, neither can be told apart, but 207 - 200 = 7 says the two together are fewer
    # than 10, a small count in itself; the smallest other cell (80) joins them: 87 hidden.
    counts = {"a": 120, "b": 80, "c": 3, "d": 4}
    result = protect(counts, _line(counts), MINIMUM)
    assert result.hidden == {"b", "c", "d"} and result.complementary == {"b"}
    # Two small cells that together reach 10 (5 + 6) need nothing more.
    counts = {"a": 120, "b": 80, "c": 5, "d": 6}
    assert protect(counts, _line(counts), MINIMUM).hidden == {"c", "d"}


def test_a_zero_is_shown_and_never_hidden_to_protect_a_small_cell():
    # Hiding the 0 beside the 8 would leave the hidden pair worth 8: still a small number. The 120 is hidden.
    counts = {"small": 8, "none": 0, "some": 120, "most": 200}
    result = protect(counts, _line(counts), MINIMUM)
    assert result.hidden == {"small", "some"}
    assert "none" not in result.hidden


def test_a_small_category_in_one_wave_only_withholds_its_row_total():
    # Transgender: 0, 0 and 3 at the three waves; with its row total (3) printed, 3 - 0 - 0 = 3. No non-zero
    # cell is left to hide beside it, so the row's total must be withheld (it is a small count itself).
    counts = {"baseline": 0, "6m": 0, "12m": 3}
    result = protect(counts, _line(counts), MINIMUM)
    assert result.hidden == {"12m"} and result.withheld == (0,)
    assert determined([], result.hidden) == set()  # with the total withheld, nothing is left to solve


def test_a_small_cell_whose_total_is_printed_in_another_section_is_protected_by_that_line():
    # A table of modes prints no total, but the header of the report prints 'Responses this wave: 326'. The
    # line is the modes with that total: without it the 6 is safe; with it, 326 - 320 = 6.
    modes = {"post": 184, "online": 84, "placed": 52, "not given": 6}
    assert protect(modes, [], MINIMUM).hidden == {"not given"}  # no published total: nothing to difference
    assert _attack(modes, _line(modes), {"not given"}) == {"not given": 6}
    result = protect(modes, _line(modes), MINIMUM)
    assert result.hidden == {"not given", "placed"}
    assert _attack(modes, _line(modes), result.hidden) == {}


def test_a_small_category_in_two_tables_with_different_margins_is_hidden_alike_in_both():
    # Table A: genders at 12 months, total 319. Table B: each gender's questionnaires by wave with a row total.
    counts = {
        ("female", "baseline"): 150, ("female", "6m"): 160, ("female", "12m"): 182,
        ("male", "baseline"): 120, ("male", "6m"): 125, ("male", "12m"): 134,
        ("transgender", "baseline"): 12, ("transgender", "6m"): 15, ("transgender", "12m"): 3,
    }  # fmt: skip
    table_a = [tuple(c for c in counts if c[1] == "12m")]
    table_b = [tuple(c for c in counts if c[0] == g) for g in ("female", "male", "transgender")]
    # Each table protected on its own: A hides transgender and male at 12 months (3 and the smaller 134); B
    # hides transgender at 12 months and at the baseline (3 and 12). B prints male at 12 months (134), so A's
    # 319 - 182 - 134 = 3 gives the small cell away.
    alone_a = protect(counts, table_a, MINIMUM).hidden
    alone_b = protect(counts, table_b, MINIMUM).hidden
    assert alone_a == {("transgender", "12m"), ("male", "12m")}
    assert alone_b == {("transgender", "12m"), ("transgender", "baseline")}
    both = alone_a | alone_b
    assert ("transgender", "12m") in determined(table_a + table_b, both)
    # Protected together, the male 12-month cell is hidden in B too, and its row gets the smaller male cell
    # beside it (120 at the baseline); nothing can be worked out from either table or both.
    joint = protect(counts, table_a + table_b, MINIMUM).hidden
    assert joint == {
        ("transgender", "12m"),
        ("transgender", "baseline"),
        ("male", "12m"),
        ("male", "baseline"),
    }
    assert _attack(counts, table_a + table_b, joint) == {}


def test_a_two_way_table_with_both_margins_hides_a_rectangle():
    # Rows r1-r3, columns A and B, every row and column total printed; r2/A = 5 is small. Row r2 gets its
    # only other cell (40); column A its smallest helpful cell: r1/A (20), whose row r1 then needs r1/B (30),
    # which also completes column B. Four cells, a rectangle: each hidden cell has a partner in its row and
    # its column, so no sum of rows and columns isolates one.
    counts = {("r1", "A"): 20, ("r1", "B"): 30, ("r2", "A"): 5, ("r2", "B"): 40, ("r3", "A"): 25, ("r3", "B"): 12}
    rows = [tuple(c for c in counts if c[0] == r) for r in ("r1", "r2", "r3")]
    columns = [tuple(c for c in counts if c[1] == k) for k in ("A", "B")]
    hidden = protect(counts, rows + columns, MINIMUM).hidden
    assert hidden == {("r1", "A"), ("r1", "B"), ("r2", "A"), ("r2", "B")}
    assert _attack(counts, rows + columns, hidden) == {}


def test_the_audit_solves_through_rows_and_columns_together():
    # Hidden: r1/A, r1/B and r2/A. Row r1 alone has two hidden cells, but column A's other hidden cell (r2/A)
    # is alone in row r2: r2/A = row r2's total - r2/B = 45 - 40 = 5; then column A gives r1/A = 50 - 25 - 5 =
    # 20, and row r1 gives r1/B = 50 - 20 = 30. All three follow.
    counts = {("r1", "A"): 20, ("r1", "B"): 30, ("r2", "A"): 5, ("r2", "B"): 40, ("r3", "A"): 25, ("r3", "B"): 12}
    rows = [tuple(c for c in counts if c[0] == r) for r in ("r1", "r2", "r3")]
    columns = [tuple(c for c in counts if c[1] == k) for k in ("A", "B")]
    hidden = {("r1", "A"), ("r1", "B"), ("r2", "A")}
    assert _attack(counts, rows + columns, hidden) == {("r1", "A"): 20, ("r1", "B"): 30, ("r2", "A"): 5}


def test_percentages_of_a_hidden_count_are_hidden_with_it():
    # 'Who answered': 8 of 326 hidden, and 45 beside it; 115 / 326 = 35.3%, 8 / 326 = 2.5% must not show.
    counts = pd.DataFrame(
        {
            "question": ["Age band"] * 5,
            "answer": ["65+", "50-64", "35-49", "16-34", "not given"],
            "respondents": [115, 107, 51, 45, 8],
        }
    )
    table = profile_shown(counts, 326, MINIMUM)
    assert table["Respondents"].tolist() == ["115", "107", "51", fmt.NOT_SHOWN, fmt.NOT_SHOWN]
    assert table["Share"].tolist() == ["35%", "33%", "16%", "", ""]
    assert pd.isna(shares([8, 115], 326, [True, False])[0])
    assert shares([8, 115], 326, [True, False])[1] == pytest.approx(115 / 326)


def test_protect_frame_names_the_lines_by_columns():
    frame = pd.DataFrame(
        {"question": ["Gender"] * 3 + ["Mode"] * 3, "answer": list("FMTPOX"), "n": [182, 134, 3, 200, 110, 9]}
    )
    out = protect_frame(frame, "n", [["question"]], MINIMUM)
    assert out.loc[out["hidden"], "answer"].tolist() == ["M", "T", "O", "X"]
    assert not out["total_withheld"].any()
    # One line over the whole table (a grand total of 638): the 3 and the 9 together are 12, enough.
    assert protect_frame(frame, "n", [[]], MINIMUM).loc[lambda f: f["hidden"], "answer"].tolist() == ["T", "X"]


def test_questionnaires_below_the_minimum_read_fewer_than_and_are_blank_in_the_download():
    counts = pd.DataFrame({"baseline": [300, 7], "6m": [0, 250]}, index=pd.Index(["a", "b"], name="neighbourhood"))
    shown, numbers = questionnaires_shown(counts, MINIMUM)
    assert shown.loc["b", "baseline"] == "fewer than 10" and shown.loc["a", "6m"] == "0"
    assert pd.isna(numbers.loc["b", "baseline"]) and numbers.loc["a", "baseline"] == 300


# --- the sections, on the sample database ----------------------------------------------------------------


def test_who_answered_hides_the_small_counts_and_the_smallest_beside_them(sample_db, fw):
    # Counted here from the database, not by the workbook: Hollins Green at 12 months.
    con = duckdb.connect(str(sample_db), read_only=True)
    modes = dict(
        con.execute(
            "SELECT coalesce(mode, 'none'), count(*) FROM survey WHERE neighbourhood = 'hollins' AND wave = '12m' "
            "GROUP BY 1"
        ).fetchall()
    )
    con.close()
    assert modes == {"post": 184, "online": 84, "placed": 52, "none": 6}  # 326 questionnaires
    report = Report(sample_db, "working-xtra", "hollins", "12m")
    section = report.respondent_profile()
    table = section.tables[0].display.set_index(["Question", "Answer"])
    assert "(326 questionnaires)" in section.tables[0].caption
    # Mode: 'not given' (6) is small; the smallest other mode, placed (52), is hidden beside it.
    assert table.loc[("How returned", "not given"), "Respondents"] == fmt.NOT_SHOWN
    assert table.loc[("How returned", "Placed in the neighbourhood"), "Respondents"] == fmt.NOT_SHOWN
    assert table.loc[("How returned", "By post"), ["Respondents", "Share"]].tolist() == ["184", "56%"]  # 184/326
    assert table.loc[("How returned", "Online"), ["Respondents", "Share"]].tolist() == ["84", "26%"]  # 84/326
    # Gender: transgender 1, prefer not to say 4, not given 5: three small cells worth 10 together, enough.
    gender = table.loc["Gender"]
    assert set(gender.index[gender["Respondents"] == fmt.NOT_SHOWN]) == {
        "not given",
        "Prefer not to say",
        "Transgender",
    }
    assert any("Not shown: fewer than 10 people" in n for n in section.notes)


def test_the_audit_finds_nothing_in_a_protected_section_and_the_leak_in_the_old_one(sample_db, fw, tmp_path, capsys):
    report = Report(sample_db, "working-xtra", "hollins", "12m")
    header, profile = report.header(), report.respondent_profile()
    _page(tmp_path / "protected" / "hollins.html", header, profile)
    assert main(["audit-disclosure", str(tmp_path / "protected")]) == 0
    assert capsys.readouterr().out.startswith("no hidden figure can be worked out")
    # The table as it was published before: only the small counts blank, every other band and the total shown.
    old = profile.tables[0].display.copy()
    counts = {"65+": 115, "50-64": 107, "35-49": 51, "16-34": 45}
    old.loc[(old["Question"] == "Age band") & old["Answer"].isin(counts), "Respondents"] = [
        str(counts[a]) for a in old.loc[(old["Question"] == "Age band") & old["Answer"].isin(counts), "Answer"]
    ]
    old.loc[old["Answer"] == "not given", "Respondents"] = "fewer than 10"
    leaky = Section().table("who-answered", old, profile.tables[0].caption)
    _page(tmp_path / "leaky" / "hollins.html", header, leaky)
    assert main(["audit-disclosure", str(tmp_path / "leaky")]) == 1
    printed = capsys.readouterr().out
    assert "Age band / not given / Respondents: hidden, but the number in the caption (326) gives 8" in printed


def _page(path, *sections) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(render.to_html(s, heading=2, downloads="page") for s in sections)
    path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>", encoding="utf-8")


# --- the audit, on deliberately leaky outputs ------------------------------------------------------------


def _table(rows, columns, caption="Who answered") -> Section:
    return Section().table("t", pd.DataFrame(rows, columns=columns), caption)


def test_the_audit_uses_a_total_printed_in_another_section(tmp_path, capsys):
    modes = _table(
        [("By post", "184"), ("Online", "84"), ("Placed", "52"), ("not given", "fewer than 10")],
        ["How returned", "Respondents"],
        caption="How the questionnaires came back",
    )
    header = Section().text("Survey wave: 12 months. Responses this wave: 326.")
    _page(tmp_path / "alone" / "r.html", modes)
    assert main(["audit-disclosure", str(tmp_path / "alone")]) == 0  # no total anywhere: nothing to subtract
    capsys.readouterr()
    _page(tmp_path / "with-header" / "r.html", header, modes)
    assert main(["audit-disclosure", str(tmp_path / "with-header")]) == 1
    out = capsys.readouterr().out
    assert "not given / Respondents: hidden, but a total printed on the same page (326) gives 6" in out


def test_the_audit_uses_another_block_of_the_same_column_as_the_total(tmp_path, capsys):
    # No total printed anywhere, but gender adds up to 326 in full, so age's one hidden cell is 326 - 318 = 8.
    rows = [("Age band", "16-49", "200"), ("Age band", "50+", "118"), ("Age band", "not given", "fewer than 10")]
    rows += [("Gender", "Female", "182"), ("Gender", "Male", "144")]
    _page(tmp_path / "r.html", _table(rows, ["Question", "Answer", "Respondents"]))
    assert main(["audit-disclosure", str(tmp_path)]) == 1
    assert "Age band / not given / Respondents: hidden, but the total of another block" in capsys.readouterr().out


def test_the_audit_finds_a_share_of_a_hidden_count(tmp_path, capsys):
    rows = [("Female", "182", "56%"), ("Male", "134", "41%"), ("Transgender", "not shown", "1%")]
    rows += [("not given", "not shown", "")]
    _page(tmp_path / "r.html", _table(rows, ["Gender", "Respondents", "Share"]))
    assert main(["audit-disclosure", str(tmp_path)]) == 1
    assert "Transgender / Respondents: hidden, but its percentage 1% is shown" in capsys.readouterr().out


def test_the_audit_finds_a_hidden_count_printed_in_another_table(tmp_path, capsys):
    first = _table([("Female", "182"), ("Male", "not shown"), ("Transgender", "not shown")], ["Gender", "Respondents"])
    second = _table([("Male", "134"), ("Female", "182")], ["Gender", "Respondents"], caption="By gender, online")
    _page(tmp_path / "r.html", first, second)
    assert main(["audit-disclosure", str(tmp_path)]) == 1
    assert "Male / Respondents: hidden, but printed as 134 in 'By gender, online'" in capsys.readouterr().out


def test_the_audit_reads_csv_and_xlsx_files_with_a_total_row(tmp_path, capsys):
    frame = pd.DataFrame(
        {
            "category": ["a", "b", "c", "Total"],
            "respondents": [50, None, 20, 77],
            "suppressed": [False, True, False, False],
        }
    )
    frame.to_csv(tmp_path / "counts.csv", index=False)
    assert main(["audit-disclosure", str(tmp_path)]) == 1
    assert "counts.csv: counts.csv: b / respondents: hidden, but the table's total row (77) gives 7" in (
        capsys.readouterr().out
    )
    (tmp_path / "counts.csv").unlink()
    frame.to_excel(tmp_path / "counts.xlsx", index=False)
    assert main(["audit-disclosure", str(tmp_path)]) == 1
    assert "b / respondents: hidden, but the table's total row (77) gives 7" in capsys.readouterr().out


def test_the_audit_of_a_folder_that_is_not_there_is_a_plain_error(tmp_path, capsys):
    assert main(["audit-disclosure", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "Traceback" not in err


# --- a dataset that is not the sample: small waves -------------------------------------------------------


@pytest.fixture(scope="module")
def small_waves_db(tmp_path_factory, fw):
    """The sample with Brookside's 6-month wave cut to 8 questionnaires and Oakfield's 12-month wave to 12."""
    import shutil

    from helpers.config import paths
    from helpers.store.intake import build_database

    source = tmp_path_factory.mktemp("small-waves")
    for f in paths.SAMPLE.glob("*.csv"):
        shutil.copy(f, source / f.name)
    survey = pd.read_csv(source / "survey.csv", dtype=str, keep_default_na=False)
    for hood, wave, keep in (("brookside", "6m", 8), ("oakfield", "12m", 12)):
        here = survey.index[(survey["neighbourhood"] == hood) & (survey["wave"] == wave)]
        survey = survey.drop(index=here[keep:])
    survey.to_csv(source / "survey.csv", index=False)
    db = tmp_path_factory.mktemp("small-waves-db") / "workbook.duckdb"
    build_database(source, fw, db)
    return db


def test_no_figure_of_small_waves_can_be_worked_out_from_any_section(small_waves_db, tmp_path, capsys):
    """Every section of the two small waves' reports, and the overview, as pages with their downloads: the
    audit finds nothing, and the 8 questionnaires read 'fewer than 10' wherever they are counted."""
    from helpers.presentation.sections import load_all

    for hood, wave in (("brookside", "6m"), ("oakfield", "12m")):
        report = Report(small_waves_db, "working-xtra", hood, wave)
        names = [n for n, spec in load_all().items() if spec.applies is None or spec.applies(report.fw, "working-xtra")]
        _page(tmp_path / f"{hood}-{wave}.html", *(report.show(n) for n in names))
    overview = Report.overview(small_waves_db, "working-xtra")
    _page(tmp_path / "overview.html", overview.show("project_neighbourhoods"), overview.show("areas_side_by_side"))
    assert main(["audit-disclosure", str(tmp_path)]) == 0, capsys.readouterr().out
    small = (tmp_path / "brookside-6m.html").read_text()
    assert "Responses this wave: fewer than 10." in small and "(fewer than 10 questionnaires)" in small
    assert "8 questionnaires" not in small and "with 8 " not in small
    assert "<td>fewer than 10</td>" in (tmp_path / "overview.html").read_text()
