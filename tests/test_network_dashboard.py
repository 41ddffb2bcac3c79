"""The network dashboard (issue 17, part 2) on two councils' returns built by hand (tests/network_hand.py, where
every expected figure is worked out), imported with ``network import``.

Widget-level tests change the dropdowns and read the figures the view shows; one test opens the dashboard in
Chromium through the real Voila server (``--network-db``), changes a selection, checks the figures shown, scans
the wording and runs axe.
"""

from __future__ import annotations

import html

import network_hand
import pandas as pd
import pytest
from dashboard_page import choose, open_dashboard, selection, table
from wording import forbidden, visible_text

from helpers.surfaces import dashboard_server, dashboards

SENTENCE_12M = (
    "Across 2 councils, Working Xtra schemes raised agreement that \u2018{short}\u2019 by 6 points, 95% interval 2 "
    "to 10; results varied a lot between councils, so the pooled figure hides real differences."
)


@pytest.fixture(scope="module")
def network_db(tmp_path_factory, fw):
    return network_hand.build(fw, tmp_path_factory.mktemp("network-dashboard"))


@pytest.fixture
def dashboard(network_db, fw):
    return dashboards.NetworkDashboard(network_db, fw)


def _text(d) -> str:
    return html.unescape(d.body.value)


def test_without_a_network_the_dashboard_says_so(fw, tmp_path):
    d = dashboards.NetworkDashboard(tmp_path / "none.duckdb", fw)
    assert len(d.children) == 1
    assert "No council's return has been brought into the network yet" in html.unescape(d.children[0].value)
    assert forbidden(visible_text(d.children[0].value), fw) == []


def test_the_choices(dashboard, fw):
    # the kind of scheme first shown is one with results; the statements are those its councils report
    assert dashboard.family.value == "working-xtra"
    assert [label for label, _ in dashboard.family.options] == ["Council Tax Reduction", "Working Xtra"]
    shorts = [fw.instrument.statement(network_hand.statement(fw, k)).short for k in (0, 1)]
    assert [label for label, _ in dashboard.measure.options] == shorts
    assert [label for label, _ in dashboard.wave.options] == ["6 months", "12 months"]  # not the baseline
    assert dashboard.wave.value == "12m"
    assert [label for label, _ in dashboard.council.options] == ["(none)", "Ashby", "Brent"]


def test_a_statement_pooled_with_its_forest_plot_and_sentence(dashboard, fw):
    second = network_hand.statement(fw, 1)
    dashboard.measure.value = second
    short = fw.instrument.statement(second).short
    assert SENTENCE_12M.format(short=short) in _text(dashboard)
    pooled = dashboard.tables["pooled"]
    assert pooled["measure"].tolist() == [second, second] and pooled["councils"].tolist() == [2, 2]
    assert pooled["pooled"].tolist() == pytest.approx([0.06, 0.06])
    assert pooled["se"].tolist() == pytest.approx([0.02, 0.0141421], abs=1e-6)  # random, then fixed
    assert pooled["tau2"].iloc[0] == pytest.approx(0.0004) and pooled["i2"].iloc[0] == pytest.approx(0.5)
    # the forest plot's text alternative: each council's DiD and interval, then the pooled effects
    assert (
        "Ashby: +4 points (+0.1 to +8); Brent: +8 points (+4 to +12); All councils (random effects): +6 points "
        "(+2 to +10); All councils (fixed effect): +6 points (+3 to +9)"
    ) in _text(dashboard)
    per_council = dashboard.tables[short.lower().replace(" ", "-")]
    ashby = per_council[(per_council["council"] == "Ashby") & (per_council["neighbourhoods"] == "scheme")]
    assert ashby["wave"].tolist() == ["Baseline", "6 months", "12 months"]
    assert ashby["percent_agree"].fillna(-1).tolist() == [55.0, -1, 60.0]  # 6 months: not shown
    assert ashby["answers"].fillna(-1).tolist() == [400, -1, 400]


def test_another_wave_changes_the_figures(dashboard, fw):
    dashboard.measure.value = network_hand.statement(fw, 1)
    dashboard.wave.value = "6m"
    text = _text(dashboard)
    # both councils +2 points, se 2: alike (Q = 0, tau2 = 0), so pooled +2 with se 1 / sqrt(2 x 2500) = 0.01414,
    # interval 2 -/+ 2.77 = -0.77 to +4.77
    assert "by 2 points, 95% interval -1 to 5; results varied little between councils." in text
    assert "Difference-in-differences, 6 months" in text and "12 months" not in text.split("each council")[-1]


def test_a_statement_worded_differently_is_named_not_pooled(dashboard, fw):
    dashboard.measure.value = network_hand.statement(fw, 0)
    short = fw.instrument.statement(network_hand.statement(fw, 0)).short
    text = _text(dashboard)
    assert "This statement does not have two councils' results to pool at this wave yet." in text
    assert (
        f"Agreement that \u2018{short}\u2019: Brent is left out of the pooling, because the question is worded "
        "differently there from the network's framework."
    ) in text
    assert "pooled" not in dashboard.tables
    table = dashboard.tables[short.lower().replace(" ", "-")]
    assert table["council"].unique().tolist() == ["Ashby", "Brent"]


def test_this_council_beside_the_network(dashboard, fw):
    dashboard.council.value = "Brent"
    levels = dashboard.tables["self-evaluation-network"]
    assert levels["Brent"].unique().tolist() == ["Aspiring"]
    assert levels["Aspiring"].tolist() == [1] * len(fw.self_evaluation.areas)
    assert levels["Leading"].tolist() == [1] * len(fw.self_evaluation.areas)
    ripple = dashboard.tables["ripple-network"]
    by_council = ripple.groupby("council")
    assert sorted(by_council.groups) == ["Ashby", "Brent"]
    # every ideal: Ashby +0.40, Brent -0.10; ripple.yaml: 0.2 and up "moderate", above -0.2 "little or none"
    assert by_council["strength"].unique().map(lambda v: [round(x, 2) for x in v]).to_dict() == {
        "Ashby": [0.4],
        "Brent": [-0.1],
    }
    assert by_council["strength_words"].unique().map(list).to_dict() == {
        "Ashby": ["moderate"],
        "Brent": ["little or none"],
    }


def test_a_kind_of_scheme_without_results_says_so(dashboard, fw):
    dashboard.family.value = "council-tax-reduction"
    text = _text(dashboard)
    assert "No council has sent results for this kind of scheme yet, so there is nothing to pool." in text
    assert dashboard.measure.options == ()
    assert "Something went wrong" not in text


def test_the_dashboard_speaks_plainly(dashboard, fw):
    for measure in (network_hand.statement(fw, 0), network_hand.statement(fw, 1)):
        dashboard.measure.value = measure
        assert forbidden(visible_text(dashboard.body.value), fw) == []


# --- in a real browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(playwright_browser, network_db, sample_db, tmp_path_factory):
    log = tmp_path_factory.mktemp("network-server") / "voila.log"
    options = ("--pool-size", "1", "--network-db", str(network_db))
    with dashboard_server.running(sample_db, log=log, options=options) as url:
        yield url


@pytest.mark.browser
def test_network_dashboard_in_chromium(server, playwright_browser, fw, tmp_path_factory, serious_violations):
    shots = tmp_path_factory.mktemp("network-screenshots")
    print(f"\nnetwork dashboard screenshots: {shots}")
    second = fw.instrument.statement(network_hand.statement(fw, 1)).short
    page = open_dashboard(playwright_browser, server, "network.ipynb", ".wb-network")
    try:
        assert page.locator(".voila-error").count() == 0 and "Traceback" not in page.content()
        choose(page, "Statement", second)
        assert selection(page) == f"working-xtra|12m|{network_hand.statement(fw, 1)}|"
        assert SENTENCE_12M.format(short=second) in page.inner_text(".wb-body")
        pooled = table(page, "pooled")
        assert pooled["Interval"].tolist() == ["+2 to +10", "+3 to +9"]
        assert pooled["Variation between councils beyond chance"].tolist() == ["50%", "assumed none"]
        assert page.locator(".wb-body figure img").count() == 2  # the forest plot and the councils' estimates
        choose(page, "This council", "Brent")
        levels = table(page, "self-evaluation-network")
        assert levels["Brent"].unique().tolist() == ["Aspiring"]
        estimates = table(page, second.lower().replace(" ", "-"))
        assert estimates.iloc[0].tolist() == [
            "Ashby",
            "pilot areas",
            "55% (50% to 60%), 400 answers",
            "not shown",
            "60% (55% to 65%), 400 answers",
            "+4 points (+0.1 to +8)",
        ]
        height = page.evaluate("() => document.querySelector('.wb-dashboard').scrollHeight") + 700
        page.set_viewport_size({"width": 1280, "height": min(height, 16000)})
        page.screenshot(path=str(shots / "network.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        with page.expect_download() as info:
            page.locator(".wb-body a.wb-download").nth(1).click()
        csv = pd.read_csv(info.value.path())
        assert csv["pooled"].round(4).tolist() == [0.06, 0.06]
        assert forbidden(visible_text(page.content()), fw) == []
        assert serious_violations(page) == []
    finally:
        page.close()


def test_the_server_passes_the_network_database_to_its_kernels(tmp_path):
    env = dashboard_server.server_environment(tmp_path / "workbook.duckdb", False, tmp_path / "net.duckdb")
    assert env["WORKBOOK_NETWORK_DB"] == str((tmp_path / "net.duckdb").resolve())
    from helpers.surfaces.cli import build_parser

    args = build_parser().parse_args(["dashboard", "--network-db", str(tmp_path / "net.duckdb")])
    assert args.network_db == tmp_path / "net.duckdb"
