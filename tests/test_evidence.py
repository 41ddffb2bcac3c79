"""helpers/evidence.py: indicators, stories, sentiment and the financial-resilience check, against hand values."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers.config import paths
from helpers.evidence import evidence, ripple
from helpers.presentation.report import ProjectReport
from helpers.store.intake import build_database

SECRET = "Zanzibar-quokka-7731 must never be published"
SHARED = "Marmalade-heron-2218 shared with consent"


# --- helpers to build small hand-made examples ------------------------------------------------------


def _project(fw, start="2025-01"):
    return fw.project("working-xtra").model_copy(update={"start": start})


def _areas(*rows):
    return pd.DataFrame(rows, columns=["neighbourhood", "name", "role"])


def _series(indicator, hood, values, start="2024-07"):
    periods = pd.period_range(start, periods=len(values), freq="Q").asfreq("M", how="start").to_timestamp()
    return pd.DataFrame(
        {"indicator": indicator, "neighbourhood": hood, "period": periods, "value": values, "predicted": np.nan}
    )


# --- Holm -------------------------------------------------------------------------------------------


def test_holm_step_down_by_hand():
    # k = 3 tested: 0.01 <= 0.05/3 clear; next 0.03 > 0.05/2 stops; the blank one is never clear.
    assert evidence.holm_clear([0.01, 0.04, 0.03, np.nan], 0.05).tolist() == [True, False, False, False]
    # 0.01 <= 0.05/3, 0.02 <= 0.05/2, 0.04 <= 0.05/1: all clear.
    assert evidence.holm_clear([0.04, 0.01, 0.02], 0.05).tolist() == [True, True, True]
    assert evidence.holm_clear([np.nan], 0.05).tolist() == [False]


# --- local indicators: direction, noise, prediction -------------------------------------------------


@pytest.fixture
def small_evidence(fw):
    # Quarterly 2024-07, 2024-10, 2025-01 (baseline), 2025-04, 2025-07 (6m, with start 2025-01).
    indicators = pd.concat(
        [
            # crime-asb: lower is better. Pilot falls 50 -> 40 by 6m: 20% better. Comparison flat.
            _series("crime-asb", "p1", [49.0, 51.0, 50.0, 45.0, 40.0]),
            _series("crime-asb", "c1", [50.0, 50.5, 50.0, 50.0, 50.0]),
            # employment-rate: higher is better. Pilot falls 50 -> 45: 10% worse. Comparison flat.
            _series("employment-rate", "p1", [50.0, 50.0, 50.0, 48.0, 45.0]),
            _series("employment-rate", "c1", [50.0, 50.0, 50.0, 50.0, 50.0]),
        ],
        ignore_index=True,
    )
    areas = _areas(("p1", "Pilot One", "pilot"), ("c1", "Comparison One", "comparison"))
    return evidence.build_evidence(fw, _project(fw), areas, indicators=indicators)


def test_calendar_from_the_start_month(small_evidence):
    cal = small_evidence.calendar
    assert str(cal.baseline) == "2025-01" and str(cal.month("6m")) == "2025-07" and str(cal.month("12m")) == "2026-01"
    assert "start month" in cal.source


def test_calendar_derived_from_the_latest_dated_month(fw):
    project = fw.project("working-xtra")  # no start
    months = [pd.Period("2025-10", "M"), pd.Period("2026-04", "M")]
    cal = evidence.project_calendar(fw, project, dated_months=months, survey_waves=("baseline", "6m", "12m"))
    assert str(cal.baseline) == "2025-04"  # 2026-04 is taken as the 12m survey's month
    assert "derived" in cal.source


def test_indicator_change_is_signed_by_the_better_direction(small_evidence):
    ch = evidence.indicator_changes(small_evidence, "6m").set_index(["indicator", "neighbourhood"])
    crime = ch.loc[("crime-asb", "p1")]
    assert crime["baseline_value"] == 50 and crime["value"] == 40 and crime["change"] == -10
    assert crime["improvement"] == 10 and crime["improvement_pct"] == pytest.approx(20)
    assert crime["better_way"] == "better"  # fewer incidents is better
    jobs = ch.loc[("employment-rate", "p1")]
    assert jobs["improvement_pct"] == pytest.approx(-10) and jobs["better_way"] == "worse"
    assert ch.loc[("crime-asb", "c1")]["better_way"] == "no change"


def test_indicator_test_against_noise_by_hand(small_evidence):
    t = evidence.indicator_tests(small_evidence, "6m").set_index("indicator")
    crime = t.loc["crime-asb"]
    # Changes before baseline, % of the baseline value 50: pilot +4, -2; comparison +1, -1.
    sd = math.sqrt(((4 - 0.5) ** 2 + (-2 - 0.5) ** 2 + (1 - 0.5) ** 2 + (-1 - 0.5) ** 2) / 3)  # sqrt(7)
    se = sd * math.sqrt(1 / 1 + 1 / 1)
    assert crime["noise_sd_pct"] == pytest.approx(sd)
    assert crime["se_pct"] == pytest.approx(se)
    assert crime["net_pct"] == pytest.approx(20)
    assert crime["p_value"] == pytest.approx(math.erfc(20 / se / math.sqrt(2)))
    assert crime["direction"] == "better" and crime["clear"] and crime["design"] == "pilot against comparison"
    jobs = t.loc["employment-rate"]
    assert jobs["direction"] == "worse" and jobs["net_pct"] == pytest.approx(-10)
    # No change before baseline at all: no noise estimate, so never counted as clear.
    assert math.isnan(jobs["noise_sd_pct"]) or jobs["noise_sd_pct"] == 0
    assert not jobs["clear"]


def test_no_comparison_areas_uses_the_prediction(fw):
    series = _series("crime-asb", "p1", [49.0, 51.0, 50.0, 45.0, 40.0])
    series.loc[series["period"] >= "2025-04-01", "predicted"] = [50.0, 48.0]
    ev = evidence.build_evidence(fw, _project(fw), _areas(("p1", "Pilot One", "pilot")), indicators=series)
    t = evidence.indicator_tests(ev, "6m").set_index("indicator").loc["crime-asb"]
    assert t["design"] == "against prediction"
    assert t["net_pct"] == pytest.approx(100 * (48 - 40) / 50)  # lower is better: 8 below the prediction


def test_predicted_against_actual_sentence():
    table = pd.DataFrame(
        {
            "indicator": "council-tax-collection",
            "label": "Council tax collection rate",
            "unit": "percent",
            "better": "higher",
            "role": "pilot",
            "period": pd.to_datetime(["2025-07-01", "2026-01-01"]),
            "actual": [48.0, 70.2],
            "predicted": [25.0, 25.0],
            "gap": [23.0, 45.2],
            "neighbourhoods": 2,
        }
    )
    (sentence,) = evidence.predicted_actual_sentences(table)
    assert sentence == (
        "Council tax collection rate: predicted 25%, actual about 70% in the pilot neighbourhoods in "
        "January 2026 (45 points better than predicted)."
    )


def test_sample_council_tax_collection_predicted_25_actual_about_70(sample_db, fw):
    ev = evidence.load_project_evidence(sample_db, fw, "council-tax-reduction")
    table = evidence.predicted_vs_actual(ev)
    pilot = table[(table["role"] == "pilot") & table["predicted"].notna()].iloc[-1]
    assert pilot["predicted"] == 25
    assert 66 <= pilot["actual"] <= 74
    assert any("predicted 25%, actual about 7" in s for s in evidence.predicted_actual_sentences(table))


def test_high_level_indicators_per_ideal(fw):
    table = evidence.high_level_indicators(fw, fw.project("council-tax-reduction"))
    assert set(table["ideal"]) == {"Co-operative place", "Co-operative people", "Co-operative public services"}
    assert "% of those who trust the Council to do a good job" in set(table["measure"])
    assert not table["collected"].any()  # the catalogue has no tier-1 indicators yet


# --- sentiment -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tone"),
    [
        ("Thank you, the staff were wonderful and really helpful!", "positive"),
        ("I love how the new scheme works.", "positive"),
        ("This is terrible, I hate waiting weeks for an answer.", "negative"),
        ("The service is not good at all.", "negative"),
        ("The office opens at nine on Tuesdays.", "neutral"),
        ("A letter about the scheme arrived today.", "neutral"),
    ],
)
def test_sentiment_tone_of_hand_labelled_sentences(text, tone):
    compound = evidence.sentiment_score([text])
    assert evidence.sentiment_tone(compound).tolist() == [tone]


def test_sentiment_thresholds_are_vaders():
    tones = evidence.sentiment_tone([0.05, 0.0499, -0.0499, -0.05, 0.9, -0.9]).tolist()
    assert tones == ["positive", "neutral", "neutral", "negative", "positive", "negative"]


def test_sentiment_shares_and_change_by_hand(fw):
    items = []
    # baseline (2025-01): pilots 2 positive 2 negative, comparisons 2 neutral 2 negative
    # 6m (2025-07): pilots 4 positive, comparisons 2 neutral 2 negative
    texts = {"positive": "Wonderful, thank you so much!", "neutral": "The office opens at nine.", "negative": "Awful."}
    plan = {
        ("p1", "2025-01-10"): ["positive", "positive", "negative", "negative"],
        ("c1", "2025-01-12"): ["neutral", "neutral", "negative", "negative"],
        ("p1", "2025-07-03"): ["positive"] * 4,
        ("c1", "2025-07-04"): ["neutral", "neutral", "negative", "negative"],
    }
    for (hood, day), tones in plan.items():
        for k, tone in enumerate(tones):
            items.append((f"{hood}-{day}-{k}", hood, day, "twitter", texts[tone]))
    frame = pd.DataFrame(items, columns=["item_id", "neighbourhood", "date", "channel", "text"])
    areas = _areas(("p1", "Pilot One", "pilot"), ("c1", "Comparison One", "comparison"))
    ev = evidence.build_evidence(fw, _project(fw), areas, sentiment=frame)
    assert "text" not in ev.sentiment.columns  # the words never leave the scoring step
    shares = evidence.sentiment_shares(ev)
    assert shares["suppressed"].all()  # 4 items per group is below the minimum base of 10
    assert shares["items"].tolist() == [4, 4, 4, 4]
    channels = evidence.sentiment_by_channel(ev)
    assert channels.set_index("channel").loc["twitter"].tolist() == [8, 8]
    change = evidence.sentiment_change(ev, "6m")
    # pilot net: 0 -> 1; comparison: -0.5 -> -0.5; difference 1.
    assert change["difference"] == pytest.approx(1.0)
    pilot_base_var = np.var([1, 1, -1, -1], ddof=1) / 4
    comp_var = np.var([0, 0, -1, -1], ddof=1) / 4
    assert change["se"] == pytest.approx(math.sqrt(pilot_base_var + 0 + 2 * comp_var))


# --- the financial-resilience check ------------------------------------------------------------------


def test_rank_biserial_by_hand():
    # |d| of the non-zero differences 1, 2, -1, 3, 2: ranks 1.5, 3.5, 1.5, 5, 3.5; T+ = 13.5, T- = 1.5.
    assert evidence.rank_biserial([1, 2, -1, 3, 0, 2]) == pytest.approx((13.5 - 1.5) / 15)
    assert evidence.rank_biserial([0, 0]) != evidence.rank_biserial([0, 0])  # NaN: nobody changed


def test_wilcoxon_exact_p_value_by_enumeration():
    before = np.zeros(8)
    after = np.array([1.5, 2.0, -0.5, 3.0, 2.5, 4.0, -1.0, 3.5])
    # Ranks of |d|: 0.5->1, 1.0->2, ...: T- = 1 + 2 = 3. Sign patterns of ranks 1..8 with sum <= 3:
    # {}, {1}, {2}, {3}, {1,2}: 5 of 256, so the two-sided exact p-value is 2 * 5 / 256.
    out = evidence.wilcoxon_paired(before, after, 0.95)
    assert out["n_pairs"] == 8 and out["statistic"] == 33
    assert out["p_value"] == pytest.approx(10 / 256)
    assert out["rank_biserial"] == pytest.approx((33 - 3) / 36)


def test_signed_rank_null_counts_by_hand():
    assert evidence._signed_rank_counts(3).tolist() == [1, 1, 1, 2, 1, 1, 1]
    assert evidence._signed_rank_counts(4).tolist() == [1, 1, 1, 2, 2, 2, 2, 2, 1, 1, 1]


def test_hodges_lehmann_by_hand():
    # Walsh averages of 1, 2, 4: 1, 1.5, 2.5, 2, 3, 4 -> sorted 1, 1.5, 2, 2.5, 3, 4; median 2.25.
    est, low, high = evidence.hodges_lehmann([1, 2, 4], 0.75)
    assert est == pytest.approx(2.25)
    # n = 3: P(T+ <= 0) = 1/8 = 0.125 <= (1 - 0.75)/2, so C = 1: the smallest and largest Walsh averages.
    assert (low, high) == (1.0, 4.0)
    est, low, high = evidence.hodges_lehmann([1, 2, 4], 0.95)
    assert math.isnan(low) and math.isnan(high)  # three pairs cannot give a 95% interval


def test_mcnemar_exact_p_value_by_hand():
    # 6 said yes only before, 16 yes only after: p = 2 * sum_{i<=6} C(22, i) / 2^22.
    before = [True] * 59 + [True] * 6 + [False] * 16 + [False] * 80
    after = [True] * 59 + [False] * 6 + [True] * 16 + [False] * 80
    out = evidence.mcnemar_paired(before, after, 0.95)
    assert out["n_pairs"] == 161 and out["only_before"] == 6 and out["only_after"] == 16
    assert out["p_value"] == pytest.approx(2 * 110056 / 2**22)
    assert out["change"] == pytest.approx(10 / 161)


def test_newcombe_interval_matches_the_published_example():
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), chapter 8 (Cavo et al.):
    # table 59, 6 / 16, 80 gives -0.0621 (95% CI -0.1186 to -0.0046) for the first minus the second share.
    change, low, high = evidence.newcombe_paired_interval(59, 6, 16, 80, 0.95)
    assert change == pytest.approx(0.0621, abs=5e-5)
    assert low == pytest.approx(0.0046, abs=5e-5)
    assert high == pytest.approx(0.1186, abs=5e-5)


# --- consent: an unconsented story appears nowhere ----------------------------------------------------


@pytest.fixture(scope="module")
def consent_db(tmp_path_factory, fw):
    """The sample plus two stories with unique phrases: one without consent, one with."""
    folder = tmp_path_factory.mktemp("consent-sample")
    for f in paths.SAMPLE.glob("*.csv"):
        shutil.copy(f, folder / f.name)
    stories = pd.read_csv(folder / "stories.csv", dtype=str)
    extra = pd.DataFrame(
        [
            (
                "wor-oakfield-12m-secret",
                "working-xtra",
                "oakfield",
                "12m",
                "people-wellbeing",
                "A private account",
                f"{SECRET}. The scheme changed everything for my family.",
                "no",
            ),
            (
                "wor-oakfield-12m-shared",
                "working-xtra",
                "oakfield",
                "12m",
                "people-wellbeing",
                "A shared account",
                f"{SHARED}. The scheme helped us find work.",
                "yes",
            ),
        ],
        columns=stories.columns,
    )
    pd.concat([stories, extra], ignore_index=True).to_csv(folder / "stories.csv", index=False)
    db = tmp_path_factory.mktemp("consent-db") / "workbook.duckdb"
    build_database(folder, fw, db)
    return db


SECTIONS = (
    ripple.in_brief,
    ripple.ripple_section,
    evidence.local_indicators,
    evidence.predicted_against_actual,
    evidence.kpi_tiers,
    evidence.high_level_indicators_section,
    evidence.stories,
    evidence.sentiment,
    evidence.financial_resilience,
)


def test_unconsented_story_appears_in_no_section_or_export(consent_db, fw, tmp_path, capsys):
    from helpers.surfaces.cli import main

    report = ProjectReport(consent_db, "working-xtra", "oakfield", "12m", fw)
    pages = "\n".join(section(report)._repr_html_() for section in SECTIONS)
    assert SECRET not in pages and "Zanzibar" not in pages
    assert "Not for publication" not in pages  # the sample's own unconsented stories
    assert SHARED in pages  # the consented story of the same neighbourhood and wave is shown
    ev = evidence.load_project_evidence(consent_db, fw, "working-xtra")
    assert not ev.stories["text"].str.contains("Zanzibar").any()
    assert "wor-oakfield-12m-secret" not in set(ev.stories["story_id"])
    out = tmp_path / "ripple.csv"
    assert main(["ripple", "--project", "working-xtra", "--db", str(consent_db), "--csv", str(out)]) == 0
    assert main(["ripple", "--project", "working-xtra", "--db", str(consent_db)]) == 0
    printed = capsys.readouterr().out
    for text in (out.read_text(), printed):
        assert "Zanzibar" not in text and "Not for publication" not in text


def test_sentiment_text_never_shown(sample_db, fw):
    report = ProjectReport(sample_db, "council-tax-reduction", "ashgrove", "12m", fw)
    page = evidence.sentiment(report)._repr_html_() + ripple.in_brief(report)._repr_html_()
    for text in ("Waited weeks for a reply", "Really helpful staff", "Letter arrived about the scheme"):
        assert text not in page
    assert "positive" in page.lower()


def test_sections_render_for_both_projects(sample_db, fw):
    for project, hood in (("working-xtra", "brookside"), ("council-tax-reduction", "kingsmoor")):
        report = ProjectReport(sample_db, project, hood, "6m", fw)
        for section in SECTIONS:
            html = section(report)._repr_html_()
            assert html.strip(), section.__name__
        assert 'alt="' in evidence.local_indicators(report)._repr_html_()
    ctr = ProjectReport(sample_db, "council-tax-reduction", "ashgrove", "12m", fw)
    assert "predicted 25%, actual about 7" in evidence.predicted_against_actual(ctr)._repr_html_()
    assert (
        "does not use the financial-resilience check"
        in evidence.financial_resilience(ProjectReport(sample_db, "working-xtra", "oakfield", "12m", fw))._repr_html_()
    )
