"""The fieldwork dashboard on a hand-built case: returns, who is missing and the weighting, figures worked by hand.

The survey is built here, cell by cell, for Working Xtra's four neighbourhoods (the sample's areas and population):

- every neighbourhood at the baseline: 10 answers in each age band x gender cell (80); but Hollins Green: 4 aged
  16-34, 26, 26 and 24 older, half of them men (80);
- Oakfield (pilot) at 12 months: ages 12, 12, 24, 24 (16-34 .. 65+), a man for every two women, each cell in the
  product of the two (4 men and 8 women aged 16-34, ...): 72 answers, 40 by post, 12 placed, 18 online, 2 with
  no mode;
- Brookside (pilot) at 12 months: 2 in each cell, 16 answers (10 by post, 6 online): every group fewer than 10;
- Millbrook (comparison) at 12 months: nobody aged 16-34, 5 in each other cell (30): it cannot be weighted yet;
- Hollins Green (comparison) at 12 months: nothing back yet.

A sample whose cells are the product of its margins rakes in one step: the weight of a cell is
``n x P_age x P_gender / (P x n_age x n_gender)``, so the design effect ``n sum(w^2) / sum(w)^2`` is worked out
below from the population file without the workbook's raking. The targets are the planner's formula by hand:
``(z_0.975 + z_0.80)^2 x (3 x 0.25 + 0.24) / 0.10^2`` per role, shared out by adults and rounded up. The smallest
change is ``(z_0.975 + z_0.80) x sqrt(deff x 0.25 x sum 1/n_i)`` (docs/method.md).
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import shutil
from pathlib import Path
from statistics import NormalDist
from types import SimpleNamespace

import pandas as pd
import pytest
from dashboard_page import choose, open_dashboard, selection, table
from wording import forbidden, visible_text

from helpers.config import paths
from helpers.store.intake import build_database
from helpers.surfaces import dashboard_server, dashboards

BANDS = {"16-34": 20, "35-49": 40, "50-64": 57, "65+": 70}  # an age in each band
Z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.80)


def _cells(ages: dict[str, int], men_share: float) -> dict[tuple[str, str], int]:
    """Answers per (age band, gender) as the product of the margins (whole numbers by construction)."""
    out = {}
    for band, n in ages.items():
        men = round(n * men_share)
        out[band, "male"], out[band, "female"] = men, n - men
    return out


BASELINE = _cells(dict.fromkeys(BANDS, 20), 0.5)
HOLLINS_BASELINE = _cells({"16-34": 4, "35-49": 26, "50-64": 26, "65+": 24}, 0.5)  # 4 young: hidden, with 65+
WAVE = {
    "oakfield": (
        _cells({"16-34": 12, "35-49": 12, "50-64": 24, "65+": 24}, 1 / 3),
        ["post"] * 40 + ["placed"] * 12 + ["online"] * 18 + [""] * 2,
    ),
    "brookside": (_cells(dict.fromkeys(BANDS, 4), 0.5), ["post"] * 10 + ["online"] * 6),
    "millbrook": (_cells({"16-34": 0, "35-49": 10, "50-64": 10, "65+": 10}, 0.5), ["online"] * 30),
}


def _rows(hood: str, wave: str, cells: dict, modes: list[str]) -> list[dict]:
    people = [(band, gender) for (band, gender), n in cells.items() for _ in range(n)]
    modes = modes or ["post"] * len(people)
    return [
        {
            "respondent_id": f"{hood}-{wave}-{i:03d}",
            "neighbourhood": hood,
            "wave": wave,
            "mode": mode,
            **{f"s{k:02d}": 3 for k in range(1, 18)},
            "gender": gender,
            "age": BANDS[band],
        }
        for i, ((band, gender), mode) in enumerate(zip(people, modes, strict=True))
    ]


@pytest.fixture(scope="module")
def hand_db(tmp_path_factory, fw) -> Path:
    folder = tmp_path_factory.mktemp("fieldwork-case")
    for name in ("areas.csv", "population.csv"):
        shutil.copy(paths.SAMPLE / name, folder / name)
    rows = []
    for hood in ("brookside", "oakfield", "hollins", "millbrook"):
        rows += _rows(hood, "baseline", HOLLINS_BASELINE if hood == "hollins" else BASELINE, [])
    for hood, (cells, modes) in WAVE.items():
        rows += _rows(hood, "12m", cells, modes)
    columns = pd.read_csv(paths.SAMPLE / "survey.csv", nrows=0).columns  # the other questions left blank
    pd.DataFrame(rows).reindex(columns=columns).to_csv(folder / "survey.csv", index=False)
    db = tmp_path_factory.mktemp("fieldwork-db") / "workbook.duckdb"
    build_database(folder, fw, db)
    return db


@pytest.fixture(scope="module")
def hand() -> SimpleNamespace:
    """The expected figures, worked out from the population file and the cells above."""
    pop = pd.read_csv(paths.SAMPLE / "population.csv")
    adults = pop[pop["dimension"] == "age_band"].groupby("neighbourhood")["population"].sum()
    per_role = math.ceil(Z**2 * (3 * 0.25 + 0.6 * 0.4) / 0.10**2)
    targets = {}
    for hoods in (("brookside", "oakfield"), ("hollins", "millbrook")):
        for h in hoods:
            targets[h] = math.ceil(per_role * adults[h] / sum(adults[x] for x in hoods) - 1e-9)

    def deff(hood: str, cells: dict) -> float:
        p = pop[pop["neighbourhood"] == hood].set_index(["dimension", "category"])["population"]
        n = sum(cells.values())
        by_age = {b: sum(v for (a, _), v in cells.items() if a == b) for b in BANDS}
        by_gender = {g: sum(v for (_, k), v in cells.items() if k == g) for g in ("male", "female")}
        total = p["age_band"].sum()
        w = {
            (a, g): n * p["age_band", a] * p["gender", g] / (total * by_age[a] * by_gender[g])
            for (a, g), c in cells.items()
            if c
        }
        return n * sum(cells[c] * w[c] ** 2 for c in w) / sum(cells[c] * w[c] for c in w) ** 2

    def change(deff_: float, *samples: int) -> float:
        return Z * math.sqrt(deff_ * 0.25 * sum(1 / n for n in samples))

    return SimpleNamespace(
        per_role=per_role,
        targets=targets,
        adults=adults,
        pop=pop,
        deff=deff,
        change=change,
        deffs={h: deff(h, WAVE[h][0]) for h in ("oakfield", "brookside")},
    )


def test_the_hand_case_is_what_the_docstring_says(hand):
    assert hand.per_role == 778  # the planner's published example: 50% -> 60%, 80% power, 95% confidence
    assert hand.targets == {"brookside": 340, "oakfield": 439, "hollins": 435, "millbrook": 344}
    assert sum(WAVE["oakfield"][0].values()) == 72 and WAVE["oakfield"][0]["16-34", "male"] == 4


def _points(share: float) -> str:
    value = round(100 * share)
    return f"{value} point" + ("" if value == 1 else "s")


# --- the view, without a browser ---------------------------------------------------------------------------


def test_view_all_neighbourhoods(hand_db, fw, hand):
    d = dashboards.FieldworkDashboard(hand_db, fw)
    d.project.value = "working-xtra"
    assert (d.neighbourhood.value, d.wave.value) == ("all", "12m")  # the latest wave with questionnaires
    returns = d.tables["returns"]
    totals = returns[returns["mode"] == "all"].set_index("neighbourhood")
    assert totals["responses"].to_dict() == {"brookside": 16, "oakfield": 72, "hollins": 0, "millbrook": 30}
    assert totals["target"].to_dict() == hand.targets
    oak = returns[returns["neighbourhood"] == "oakfield"].set_index("mode")["responses"].to_dict()
    # by post 40, placed 12, online 18, not recorded 2 (all 72): the 2 is hidden, and with it the smallest
    # other count (placed, 12), so that 72 - 40 - 18 = 14 says nothing about either
    assert {m: oak[m] for m in ("post", "online", "all")} == {"post": 40, "online": 18, "all": 72}
    assert pd.isna(oak["placed"]) and pd.isna(oak["not recorded"])
    text = visible_text(d.body.value)
    assert "Working Xtra, 12 months: 118 questionnaires back of 1,558 needed (8%); 1,440 still needed." in text
    assert "Hollins Green (comparison): nothing back yet." in text
    assert "Brookside (pilot): every age group and gender is in line with the adults (within a fifth)." in text
    assert "Millbrook (comparison): people aged 16-34 (no answers yet; 31% of adults). Look for more" in text
    assert "Millbrook (nobody aged 16-34 has answered yet, and the neighbourhood has adults in that group)" in text


def test_view_one_neighbourhood_and_the_weighting(hand_db, fw, hand):
    d = dashboards.FieldworkDashboard(hand_db, fw)
    d.project.value = "working-xtra"
    d.neighbourhood.value = "oakfield"
    groups = d.tables["groups"].set_index("category")
    pop = hand.pop[hand.pop["neighbourhood"] == "oakfield"].set_index("category")["population"]
    assert groups.loc["16-34", "share_of_responses"] == pytest.approx(12 / 72)
    assert groups.loc["16-34", "share_of_adults"] == pytest.approx(pop["16-34"] / hand.adults["oakfield"])
    under = groups.index[groups["under_represented"] == True].tolist()  # noqa: E712
    assert under == ["16-34", "35-49", "Male"]  # 17% v 31%, 17% v 25%, 33% v 49%: below four fifths
    weighting = d.tables["weighting"].set_index("neighbourhood").loc["oakfield"]
    deff = hand.deffs["oakfield"]
    assert weighting["design_effect"] == pytest.approx(deff, rel=1e-6)
    assert weighting["effective_n"] == pytest.approx(72 / deff, rel=1e-6)
    assert weighting["detectable_change"] == pytest.approx(hand.change(deff, 80, 72), rel=1e-6)
    assert weighting["detectable_at_target"] == pytest.approx(hand.change(deff, 80, 439), rel=1e-6)
    text = visible_text(d.body.value)
    assert f"as precise as about {72 / deff:.0f} answers from a simple random sample" in text
    assert f"(a weighting effect of {deff:.2f};" in text
    assert (
        f"With 80 questionnaires at the baseline and 72 now, the smallest change in Oakfield on its own that the "
        f"survey could show is about {_points(hand.change(deff, 80, 72))}" in text
    )
    assert f"once the target of 439 is reached, about {_points(hand.change(deff, 80, 439))}" in text
    assert "Weighting the 72 answers to match Oakfield's adults by age group and gender makes them" in text


def test_the_weighting_words_name_the_projects_own_margins(hand_db, fw):
    """A project weighted to age alone (settings' rake_to_by_project) is said to be, on the page and in its note."""
    weighting = fw.settings.weighting.model_copy(update={"rake_to_by_project": {"working-xtra": ("age_band",)}})
    age_only = fw.model_copy(update={"settings": fw.settings.model_copy(update={"weighting": weighting})})
    d = dashboards.FieldworkDashboard(hand_db, age_only)
    d.project.value = "working-xtra"
    d.neighbourhood.value = "oakfield"
    text = visible_text(d.body.value)
    assert "Weighting the 72 answers to match Oakfield's adults by age group makes them" in text
    assert "weighting the answers to match the adults by age group makes some answers count for more" in text
    assert "gender makes" not in text


def test_the_projects_design_pools_the_roles(hand_db, fw, hand):
    d = dashboards.FieldworkDashboard(hand_db, fw)
    d.project.value = "working-xtra"
    pooled = d.tables["weighting"].set_index("neighbourhood").loc["all"]
    # Brookside and Oakfield can be weighted (Millbrook cannot, Hollins Green has nothing): their average by answers
    deff = (16 * hand.deffs["brookside"] + 72 * hand.deffs["oakfield"]) / 88
    assert pooled["design_effect"] == pytest.approx(deff, rel=1e-6)
    assert pooled["detectable_change"] == pytest.approx(hand.change(deff, 160, 88, 160, 30), rel=1e-6)
    assert pooled["detectable_at_target"] == pytest.approx(hand.change(deff, 160, 340 + 439, 160, 435 + 344), rel=1e-6)


def test_the_baseline_counts_a_later_wave_as_large(hand_db, fw, hand):
    d = dashboards.FieldworkDashboard(hand_db, fw)
    d.project.value = "working-xtra"
    d.neighbourhood.value = "oakfield"
    d.wave.value = "baseline"
    weighting = d.tables["weighting"].set_index("neighbourhood").loc["oakfield"]
    deff = hand.deff("oakfield", BASELINE)
    assert weighting["detectable_change"] == pytest.approx(hand.change(deff, 80, 80), rel=1e-6)
    assert weighting["detectable_at_target"] == pytest.approx(hand.change(deff, 439, 439), rel=1e-6)
    assert "With 80 questionnaires now and as many at a later wave" in visible_text(d.body.value)


def _cells_of(view_html: str, key: str) -> list[list[str]]:
    table = re.search(rf'<table data-table="{key}".*?</table>', view_html, re.S).group(0)
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_small_groups_are_not_shown_nor_can_be_worked_out(hand_db, fw):
    d = dashboards.FieldworkDashboard(hand_db, fw)
    d.project.value = "working-xtra"
    d.neighbourhood.value = "brookside"  # 2 answers in each cell: every group fewer than 10
    for key in ("groups", "fieldwork"):
        rows = d.tables[key][d.tables[key]["part"] == "margins"]
        assert rows["responses"].isna().all() and rows["share_of_responses"].isna().all()
        assert set(rows["note"]) == {"not shown"}
    assert [(c[1], c[2]) for c in _cells_of(d.body.value, "groups")] == [("not shown", "")] * 6  # never 4, 25%
    # Hollins Green at the baseline: 4 aged 16-34 beside 26, 26 and 24. The 4 is hidden, and so is the smallest
    # count beside it (24), or 80 - 26 - 26 - 24 would give it away; the genders (40 and 40) are shown.
    d.wave.value = "baseline"
    d.neighbourhood.value = "hollins"
    shown = {c[0]: (c[1], c[2], c[4]) for c in _cells_of(d.body.value, "groups")}
    assert shown == {
        "People aged 16-34": ("not shown", "", "yes: look for more"),
        "People aged 35-49": ("26", f"{26 / 80:.0%}", ""),
        "People aged 50-64": ("26", f"{26 / 80:.0%}", ""),
        "People aged 65+": ("not shown", "", ""),
        "Men": ("40", "50%", ""),
        "Women": ("40", "50%", ""),
    }
    assert "people aged 16-34 (answers not shown; 31% of adults). Look for more" in visible_text(d.body.value)


def test_the_whole_table_downloads_as_csv(hand_db, fw):
    d = dashboards.FieldworkDashboard(hand_db, fw)
    d.project.value = "working-xtra"
    links = re.findall(r'download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', d.body.value)
    assert [name for name, _ in links] == [
        "working-xtra-12m-all-returns.csv",
        "working-xtra-12m-all-groups.csv",
        "working-xtra-12m-all-weighting.csv",
        "working-xtra-12m-all-fieldwork.csv",
    ]
    whole = pd.read_csv(io.StringIO(base64.b64decode(links[-1][1]).decode("utf-8")))
    assert set(whole["part"]) == {"returns", "margins", "weighting"}
    assert whole.loc[(whole["part"] == "returns") & (whole["mode"] == "all"), "responses"].sum() == 118


def test_no_fieldwork_view_reads_like_code(sample_db, hand_db, fw):
    """Every project and wave of the sample for all neighbourhoods, each neighbourhood at its latest wave; every
    selection of the hand-built case (nothing back, too few to show, cannot be weighted, the baseline)."""
    found = []

    def scan(d: dashboards.FieldworkDashboard, project: str, waves, each: bool) -> None:
        d.project.value = project
        for wave in waves:
            d.wave.value = wave
            for _, hood in d.neighbourhood.options if each else [("", "all")]:
                d.neighbourhood.value = hood
                found.extend(forbidden(visible_text(d.body.value), fw))

    sample = dashboards.FieldworkDashboard(sample_db, fw)
    for project in fw.project_ids:
        scan(sample, project, fw.settings.wave_ids, each=False)
        scan(sample, project, [fw.settings.wave_ids[-1]], each=True)
    scan(dashboards.FieldworkDashboard(hand_db, fw), "working-xtra", ["baseline", "12m"], each=True)
    assert found[:5] == []
    import matplotlib.pyplot as plt

    assert not plt.get_fignums()  # every chart was closed


def test_a_project_without_neighbourhoods_says_so(tmp_path, fw):
    import duckdb

    db = tmp_path / "w.duckdb"
    build_database(paths.SAMPLE, fw, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM areas WHERE project = 'council-tax-reduction'")
    con.close()
    d = dashboards.FieldworkDashboard(db, fw)
    d.project.value = "council-tax-reduction"
    assert "No neighbourhoods are mapped to Council Tax Reduction in the areas table yet." in html.unescape(
        d.body.value
    )


# --- in a real browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(playwright_browser, hand_db, tmp_path_factory):
    log = tmp_path_factory.mktemp("fieldwork-server") / "voila.log"
    with dashboard_server.running(hand_db, log=log, options=("--pool-size", "1")) as url:
        yield url


@pytest.mark.browser
def test_fieldwork_dashboard_in_chromium(server, playwright_browser, fw, hand, tmp_path_factory, serious_violations):
    shots = tmp_path_factory.mktemp("fieldwork-screenshots")
    print(f"\nfieldwork dashboard screenshots: {shots}")
    page = open_dashboard(playwright_browser, server, "fieldwork.ipynb", ".wb-fieldwork")
    try:
        choose(page, "Project", "Working Xtra")
        assert selection(page) == "working-xtra|12m|all"
        body = page.inner_text(".wb-body")
        assert "Working Xtra, 12 months: 118 questionnaires back of 1,558 needed (8%); 1,440 still needed." in body
        returns = table(page, "returns", index=True)
        # post, placed, online, not recorded, back, target. Brookside's online 6 is small: hidden, with the smallest
        # other count that is not zero (post, 10); Oakfield's not recorded 2 is hidden with placed (12).
        hidden = "not shown"
        expected = {
            "Brookside (pilot)": (hidden, "0", hidden, "0", "16", hand.targets["brookside"]),
            "Oakfield (pilot)": ("40", hidden, "18", hidden, "72", hand.targets["oakfield"]),
            "Hollins Green (comparison)": ("0", "0", "0", "0", "0", hand.targets["hollins"]),
            "Millbrook (comparison)": ("0", "0", "30", "0", "30", hand.targets["millbrook"]),
        }
        for hood, (post, placed, online, unknown, back, target) in expected.items():
            row = returns.loc[hood]
            assert (row["By post"], row["Placed in the neighbourhood"], row["Online"]) == (post, placed, online)
            assert (row["Not recorded"], row["Back so far"], row["Target"]) == (unknown, back, str(target))
            assert row["% of target"] == f"{int(back) / target:.0%}"
            assert row["Still needed"] == f"{target - int(back):,}"
        weighting = table(page, "weighting", index=True)
        assert weighting.loc["Millbrook (comparison)", "Weighting effect"] == "not yet"
        assert weighting.loc["Hollins Green (comparison)", "Weighting effect"] == "nothing back yet"
        deff = (16 * hand.deffs["brookside"] + 72 * hand.deffs["oakfield"]) / 88
        pooled = weighting.loc["All neighbourhoods (pilot areas against comparison areas)"]
        assert pooled["Smallest change now"] == _points(hand.change(deff, 160, 88, 160, 30))
        assert page.locator(".wb-body figure img").count() == 1
        page.screenshot(path=str(shots / "all.png"), full_page=True)

        choose(page, "Neighbourhood", "Oakfield (pilot)")
        groups = table(page, "groups", index=True)
        assert groups.loc["People aged 16-34", "Share of answers"] == "17%"  # 12 of 72
        assert groups.loc["Men", "Share of adults"] == f"{3038 / 6200:.0%}"
        assert groups.loc["Men", "Under-represented"] == "yes: look for more"
        assert groups.loc["People aged 65+", "Under-represented"] == ""
        deff = hand.deffs["oakfield"]
        oak = table(page, "weighting", index=True).loc["Oakfield (pilot)"]
        assert (oak["Weighting effect"], oak["As precise as"]) == (f"{deff:.2f}", f"{72 / deff:.0f}")
        assert oak["Smallest change now"] == _points(hand.change(deff, 80, 72))
        assert oak["At the target"] == _points(hand.change(deff, 80, 439))

        choose(page, "Survey wave", "Baseline")
        assert selection(page) == "working-xtra|baseline|oakfield"
        assert table(page, "returns", index=True).loc["Oakfield (pilot)", "Back so far"] == "80"
        assert "Oakfield (pilot): every age group and gender is in line" in page.inner_text(".wb-body")
        with page.expect_download() as info:
            page.locator(".wb-body a.wb-download").last.click()
        assert info.value.suggested_filename == "working-xtra-baseline-oakfield-fieldwork.csv"
        csv = pd.read_csv(info.value.path())
        assert csv.loc[(csv["part"] == "returns") & (csv["mode"] == "post"), "responses"].tolist() == [80]
        assert forbidden(visible_text(page.content()), fw) == []
        assert serious_violations(page) == []
    finally:
        page.close()
