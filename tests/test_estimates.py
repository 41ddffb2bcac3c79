"""Tests for helpers/estimates.py: Wilson intervals, scores, change and difference-in-differences.

Expected numbers are published values (Newcombe 1998), hand calculations written out in the
comments, or an independent computation in this file (the closed-form Wilson interval, the
normal p-value through math.erfc, and the calibration residuals by an explicit least-squares
fit on a dummy matrix).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.config.errors import UserError
from helpers.config.framework import AgeBand, Weighting, framework
from helpers.methods import estimates
from helpers.methods.estimates import change, did, scores, wilson_interval

FW = framework()
Z95 = 1.959963984540054


def with_settings(fw=FW, **thresholds):
    """The framework with two age bands (young 16-39, old 40+) and the thresholds given."""
    weighting = Weighting(
        age_bands=(AgeBand(id="young", min=16, max=39), AgeBand(id="old", min=40, max=120)),
        genders=("male", "female"),
        max_iterations=1000,
        tolerance=1e-13,
    )
    th = fw.settings.thresholds.model_copy(update=thresholds)
    settings = fw.settings.model_copy(update={"weighting": weighting, "thresholds": th})
    return fw.model_copy(update={"settings": settings})


def survey(n, hood="oakfield", wave="baseline", **answers):
    """n survey rows; every answer column blank unless given; ages and genders cycle evenly."""
    frame = pd.DataFrame(
        {
            "respondent_id": [f"{hood}-{wave}-{i}" for i in range(n)],
            "neighbourhood": hood,
            "wave": wave,
            "mode": "post",
            "age": pd.array([[25, 60][i % 2] for i in range(n)], dtype="Int64"),
            "gender": [["male", "male", "female", "female"][i % 4] for i in range(n)],
        }
    )
    for col in list(FW.instrument.statement_ids) + ["general_health", "happiness"]:
        values = answers.get(col, [None] * n)
        frame[col] = pd.array(values, dtype="Int64")
    return frame


def population(*hoods, young=600, old=400, male=480, female=520):
    rows = []
    for h in hoods:
        rows += [(h, "age_band", "young", young), (h, "age_band", "old", old)]
        rows += [(h, "gender", "male", male), (h, "gender", "female", female)]
    return pd.DataFrame(rows, columns=["neighbourhood", "dimension", "category", "population"])


def row(frame, **where):
    mask = np.ones(len(frame), dtype=bool)
    for k, v in where.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]


# --- Wilson -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score
        # interval without continuity correction), 95%
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_table_1(successes, n, low, high):
    lo, hi = wilson_interval(successes / n, n, 0.95)
    assert round(float(lo), 4) == low
    assert round(float(hi), 4) == high


def test_wilson_is_vectorised_and_matches_the_closed_form():
    p = np.array([0.1, 0.5, 0.93, np.nan])
    n = np.array([12.5, 40.0, 300.0, 50.0])
    lo, hi = wilson_interval(p, n, 0.9)
    z = 1.6448536269514722  # normal 95th percentile: a 90% interval
    for i in range(3):
        centre = (p[i] + z * z / (2 * n[i])) / (1 + z * z / n[i])
        half = z / (1 + z * z / n[i]) * math.sqrt(p[i] * (1 - p[i]) / n[i] + z * z / (4 * n[i] ** 2))
        assert lo[i] == pytest.approx(centre - half) and hi[i] == pytest.approx(centre + half)
    assert np.isnan(lo[3]) and np.isnan(hi[3])
    lo, hi = wilson_interval([0.0, 1.0], [10, 10], 0.95)
    assert lo[0] == 0 and hi[1] == 1


# --- scores -------------------------------------------------------------------------------------


def test_scores_columns_rows_and_order():
    fw = with_settings(minimum_base=1, low_base=2)
    frame = pd.concat(
        [
            survey(8, wave="12m", s01=[1, 2, 3, 4, 5, 5, 4, 3]),
            survey(8, wave="baseline", s01=[1, 2, 3, 4, 5, 5, 4, 3]),
            survey(8, hood="ashby", wave="6m", s01=[1, 2, 3, 4, 5, 5, 4, 3]),
        ]
    )
    out = scores(frame, population("oakfield", "ashby"), fw)
    assert list(out.columns) == [
        "neighbourhood",
        "wave",
        "measure",
        "statistic",
        "base_n",
        "effective_n",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "weighted",
        "suppressed",
        "low_base",
    ]
    per_group = (17 * 3 + 1 + 3) * 2
    assert len(out) == 3 * per_group
    groups = out[["neighbourhood", "wave"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert groups == [("ashby", "6m"), ("oakfield", "baseline"), ("oakfield", "12m")]
    first = out.iloc[:per_group]
    assert list(first["measure"].drop_duplicates()) == [*FW.instrument.statement_ids, "general_health", "happiness"]
    assert list(first["statistic"][:6]) == ["agree", "agree", "disagree", "disagree", "mean", "mean"]
    assert list(first["weighted"][:2]) == [False, True]
    assert list(first.loc[first["measure"] == "happiness", "statistic"].drop_duplicates()) == [
        "mean",
        "low",
        "very_high",
    ]
    assert list(first.loc[first["measure"] == "general_health", "statistic"].drop_duplicates()) == ["good"]
    assert out["base_n"].dtype == np.int64
    for col in ("weighted", "suppressed", "low_base"):
        assert out[col].dtype == bool


def test_unweighted_rows_by_hand():
    # 20 answers to s01: codes 1 x2, 2 x3, 3 x5, 4 x6, 5 x4 (and 4 blanks).
    # agree (4-5) = 10/20 = 0.5, se = sqrt(.5 * .5 / 20) = 0.111803
    # disagree (1-2) = 5/20 = 0.25, se = sqrt(.25 * .75 / 20) = 0.096825
    # mean = (2 + 6 + 15 + 24 + 20) / 20 = 3.35; sum of squares about the mean
    #   2*2.35^2 + 3*1.35^2 + 5*0.35^2 + 6*0.65^2 + 4*1.65^2 = 11.045 + 5.4675 + 0.6125 + 2.535 + 10.89
    #   = 30.55, s^2 = 30.55 / 19, se = sqrt(30.55 / 19 / 20) = 0.283539
    # happiness: 0, 3, 4, 5, 9, 10 repeated; low (0-4) = 3/6, very high (9-10) = 2/6
    answers = [1] * 2 + [2] * 3 + [3] * 5 + [4] * 6 + [5] * 4 + [None] * 4
    happy = [0, 3, 4, 5, 9, 10] * 4
    health = [1, 2, 3, 4] * 6
    fw = with_settings()
    out = scores(survey(24, s01=answers, happiness=happy, general_health=health), population("oakfield"), fw)
    r = row(out, measure="s01", statistic="agree", weighted=False)
    assert r["base_n"] == 20 and r["effective_n"] == 20
    assert r["estimate"] == pytest.approx(0.5) and r["se"] == pytest.approx(0.1118034)
    lo, hi = map(float, wilson_interval(0.5, 20, 0.95))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    r = row(out, measure="s01", statistic="disagree", weighted=False)
    assert r["estimate"] == pytest.approx(0.25) and r["se"] == pytest.approx(0.0968246)
    r = row(out, measure="s01", statistic="mean", weighted=False)
    assert r["estimate"] == pytest.approx(3.35) and r["se"] == pytest.approx(0.2835394)
    assert r["ci_low"] == pytest.approx(3.35 - Z95 * 0.2835394)
    assert r["ci_high"] == pytest.approx(3.35 + Z95 * 0.2835394)
    assert row(out, measure="happiness", statistic="low", weighted=False)["estimate"] == pytest.approx(0.5)
    assert row(out, measure="happiness", statistic="very_high", weighted=False)["estimate"] == pytest.approx(1 / 3)
    assert row(out, measure="happiness", statistic="mean", weighted=False)["estimate"] == pytest.approx(31 / 6)
    assert row(out, measure="general_health", statistic="good", weighted=False)["estimate"] == pytest.approx(0.5)
    assert r["low_base"] and not r["suppressed"]


# The raking hand example of tests/test_weights.py: cells young-male x3, young-female, old-male,
# old-female x3 against young 220, old 90, male 210, female 100 give weights 60, 60, 60, 40, 30,
# 20, 20, 20.
HAND = pd.DataFrame(
    {
        "respondent_id": [f"r{i}" for i in range(8)],
        "neighbourhood": "oakfield",
        "wave": "baseline",
        "mode": "post",
        "age": pd.array([25, 25, 25, 25, 60, 60, 60, 60], dtype="Int64"),
        "gender": ["male", "male", "male", "female", "male", "female", "female", "female"],
    }
)
HAND_WEIGHTS = np.array([60, 60, 60, 40, 30, 20, 20, 20], dtype=float)


def hand_survey(**answers):
    frame = HAND.copy()
    for col in list(FW.instrument.statement_ids) + ["general_health", "happiness"]:
        frame[col] = pd.array(answers.get(col, [None] * 8), dtype="Int64")
    return frame


def calibration_se(y, w, age, gender):
    """Linearised se of the weighted mean by the calibration route, written out: z = influence
    values (0 for non-answerers), least-squares residuals on age and gender dummies, then
    n/(n-1) * sum((w e - mean)^2)."""
    answered = ~np.isnan(y)
    big_w = w[answered].sum()
    m = (w * np.nan_to_num(y))[answered].sum() / big_w
    z = np.where(answered, (np.nan_to_num(y) - m) / big_w, 0.0)
    x = np.column_stack([age == a for a in np.unique(age)] + [gender == g for g in np.unique(gender)])
    coef, *_ = np.linalg.lstsq(x.astype(float), z, rcond=None)
    u = w * (z - x @ coef)
    n = len(y)
    return m, math.sqrt(n / (n - 1) * ((u - u.mean()) ** 2).sum())


def test_weighted_rows_by_hand_and_by_explicit_regression():
    # s01 answers 5, 4, 2, 4, 1, 5, blank, 3 -> agree 1, 1, 0, 1, 0, 1, -, 0.
    # Weighted agree = (60 + 60 + 40 + 20) / (60*3 + 40 + 30 + 20*2) = 180 / 290 = 0.620690
    # Weighted mean = (300 + 240 + 120 + 160 + 30 + 100 + 60) / 290 = 1010 / 290 = 3.482759
    fw = with_settings(minimum_base=1, low_base=2)
    s01 = [5, 4, 2, 4, 1, 5, None, 3]
    out = scores(hand_survey(s01=s01), population("oakfield", young=220, old=90, male=210, female=100), fw)
    age = HAND["age"].to_numpy(dtype=float)
    gender = HAND["gender"].to_numpy()
    y = np.array([np.nan if v is None else float(v >= 4) for v in s01])
    m, se = calibration_se(y, HAND_WEIGHTS, age, gender)
    r = row(out, measure="s01", statistic="agree", weighted=True)
    assert r["base_n"] == 7
    assert r["estimate"] == pytest.approx(180 / 290) and m == pytest.approx(180 / 290)
    assert r["se"] == pytest.approx(se, rel=1e-8)
    p = 180 / 290
    assert r["effective_n"] == pytest.approx(p * (1 - p) / se**2, rel=1e-8)
    lo, hi = map(float, wilson_interval(p, p * (1 - p) / se**2, 0.95))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    r = row(out, measure="s01", statistic="mean", weighted=True)
    y_mean = np.array([np.nan if v is None else float(v) for v in s01])
    m, se = calibration_se(y_mean, HAND_WEIGHTS, age, gender)
    assert r["estimate"] == pytest.approx(1010 / 290) and r["se"] == pytest.approx(se, rel=1e-8)
    kish = 290**2 / (3 * 60**2 + 40**2 + 30**2 + 2 * 20**2)
    assert r["effective_n"] == pytest.approx(kish)
    assert r["ci_low"] == pytest.approx(1010 / 290 - Z95 * se, rel=1e-8)


def test_weighted_share_of_one_uses_kish_effective_n():
    # Everyone who answered agrees: p = 1, se = 0, so effective n falls back to Kish over the
    # answerers (weights 60, 60, 40, 30, 20 -> 210^2 / 10100) and Wilson gives (low, 1).
    fw = with_settings(minimum_base=1, low_base=2)
    s02 = [5, 4, None, 4, 5, 4, None, None]
    out = scores(hand_survey(s02=s02), population("oakfield", young=220, old=90, male=210, female=100), fw)
    r = row(out, measure="s02", statistic="agree", weighted=True)
    kish = 210**2 / (2 * 60**2 + 40**2 + 30**2 + 20**2)
    assert r["estimate"] == pytest.approx(1) and r["se"] == pytest.approx(0, abs=1e-12)
    assert r["effective_n"] == pytest.approx(kish)
    z2 = Z95**2
    assert r["ci_low"] == pytest.approx(kish / (kish + z2)) and r["ci_high"] == pytest.approx(1)


def test_item_explained_by_the_margins_has_zero_weighted_se():
    # Every young respondent agrees and no older one does: after raking to the age margin the
    # weighted share is exactly young adults / all adults = 220 / 310 in every sample, so its
    # linearised se is 0 and effective n falls back to Kish over all 8 (310^2 / 14500).
    fw = with_settings(minimum_base=1, low_base=2)
    pop = population("oakfield", young=220, old=90, male=210, female=100)
    out = scores(hand_survey(s01=[5, 5, 5, 5, 1, 1, 1, 1]), pop, fw)
    r = row(out, measure="s01", statistic="agree", weighted=True)
    assert r["estimate"] == pytest.approx(220 / 310) and r["se"] == 0
    assert r["effective_n"] == pytest.approx(310**2 / 14500)


@pytest.mark.parametrize(
    ("answered", "suppressed", "low_base"),
    [(9, True, True), (10, False, True), (29, False, True), (30, False, False)],
)
def test_suppression_and_low_base_at_the_boundaries(answered, suppressed, low_base):
    n = 40
    s01 = [4] * answered + [None] * (n - answered)
    out = scores(survey(n, s01=s01), population("oakfield"), with_settings())
    for weighted in (False, True):
        r = row(out, measure="s01", statistic="agree", weighted=weighted)
        assert r["base_n"] == answered
        assert r["suppressed"] == suppressed and r["low_base"] == low_base
        blanks = [r[c] for c in ("effective_n", "estimate", "se", "ci_low", "ci_high")]
        assert all(np.isnan(blanks)) == suppressed
        assert not any(np.isnan(blanks)) or suppressed


def test_missing_margins_raise_naming_the_neighbourhood_unless_weights_are_optional():
    frame = pd.concat([survey(12, s01=[4] * 12), survey(12, hood="elmfield", s01=[2] * 12)])
    fw = with_settings()
    with pytest.raises(UserError, match="population margins are missing for neighbourhood 'elmfield'"):
        scores(frame, population("oakfield"), fw)
    with pytest.warns(UserWarning, match="elmfield"):
        out = scores(frame, population("oakfield"), fw, require_weights=False)
    assert not out.loc[out["neighbourhood"] == "elmfield", "weighted"].any()
    assert out.loc[out["neighbourhood"] == "oakfield", "weighted"].sum() == 55
    assert row(out, neighbourhood="elmfield", measure="s01", statistic="disagree")["estimate"] == 1


def test_bad_answer_code_names_column_and_respondent():
    frame = survey(4, s03=[1, 7, None, 2])
    with pytest.raises(UserError, match=r"column s03 has 7 \(respondent_id oakfield-baseline-1"):
        scores(frame, population("oakfield"), with_settings())


# --- change -------------------------------------------------------------------------------------


def scores_frame(rows):
    """A hand-built scores frame: (neighbourhood, wave, measure, statistic, estimate, se,
    weighted, suppressed)."""
    frame = pd.DataFrame(
        rows,
        columns=["neighbourhood", "wave", "measure", "statistic", "estimate", "se", "weighted", "suppressed"],
    )
    frame.loc[frame["suppressed"], ["estimate", "se"]] = np.nan
    return frame


def normal_p(z):
    return math.erfc(abs(z) / math.sqrt(2))


def test_change_by_hand():
    sc = scores_frame(
        [
            ("oakfield", "baseline", "s01", "agree", 0.40, 0.03, True, False),
            ("oakfield", "6m", "s01", "agree", 0.45, 0.04, True, False),
            ("oakfield", "12m", "s01", "agree", 0.50, 0.04, True, False),
            ("oakfield", "baseline", "s01", "agree", 0.38, 0.03, False, False),
            ("oakfield", "12m", "s01", "agree", np.nan, np.nan, False, True),
            ("oakfield", "baseline", "happiness", "mean", 7.0, 0.1, True, False),
            ("oakfield", "12m", "happiness", "mean", 6.8, 0.1, True, False),
        ]
    )
    out = change(sc, FW)
    assert list(out.columns) == [
        "neighbourhood",
        "measure",
        "statistic",
        "wave",
        "baseline",
        "estimate",
        "baseline_estimate",
        "difference",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "weighted",
        "suppressed",
    ]
    # 12m weighted: 0.50 - 0.40 = 0.10, se sqrt(.04^2 + .03^2) = 0.05, z = 2
    r = row(out, measure="s01", wave="12m", weighted=True)
    assert r["baseline"] == "baseline" and r["baseline_estimate"] == pytest.approx(0.40)
    assert r["difference"] == pytest.approx(0.10) and r["se"] == pytest.approx(0.05)
    assert r["ci_low"] == pytest.approx(0.10 - Z95 * 0.05) and r["ci_high"] == pytest.approx(0.10 + Z95 * 0.05)
    assert r["p_value"] == pytest.approx(normal_p(2.0)) and bool(r["significant"])
    # 6m: 0.05 / 0.05 = z 1, p = 0.3173, not significant
    r = row(out, measure="s01", wave="6m", weighted=True)
    assert r["p_value"] == pytest.approx(normal_p(1.0)) and not bool(r["significant"])
    # happiness: -0.2 / sqrt(0.02) = z -1.414
    r = row(out, measure="happiness", wave="12m")
    assert r["difference"] == pytest.approx(-0.2) and r["p_value"] == pytest.approx(normal_p(0.2 / math.sqrt(0.02)))
    # a suppressed side blanks the comparison
    r = row(out, measure="s01", wave="12m", weighted=False)
    assert r["suppressed"] and np.isnan(r["difference"]) and np.isnan(r["p_value"])
    assert pd.isna(r["significant"])
    # order: measure, statistic, wave (framework order), weighted
    assert list(zip(out["measure"], out["wave"], out["weighted"], strict=True)) == [
        ("s01", "6m", True),
        ("s01", "12m", False),
        ("s01", "12m", True),
        ("happiness", "12m", True),
    ]


# --- difference-in-differences ------------------------------------------------------------------


def areas(*rows, project="working-xtra"):
    return pd.DataFrame(
        [(h, h.title(), project, role) for h, role in rows],
        columns=["neighbourhood", "name", "project", "role"],
    )


PILOTS_AND_COMPARISON = [
    # pilots ash (3000 adults) and birch (1000): pooling shares 0.75 and 0.25
    ("ash", "baseline", "s01", "agree", 0.40, 0.02, True, False),
    ("ash", "12m", "s01", "agree", 0.50, 0.02, True, False),
    ("birch", "baseline", "s01", "agree", 0.60, 0.04, True, False),
    ("birch", "12m", "s01", "agree", 0.60, 0.04, True, False),
    # comparison cedar
    ("cedar", "baseline", "s01", "agree", 0.50, 0.03, True, False),
    ("cedar", "12m", "s01", "agree", 0.52, 0.03, True, False),
    # unweighted rows are ignored
    ("ash", "baseline", "s01", "agree", 0.10, 0.01, False, False),
]


def test_did_by_hand():
    # pilot pooled: baseline .75*.40 + .25*.60 = .45, 12m .75*.50 + .25*.60 = .525
    #   pooled variance each wave .75^2 * .02^2 + .25^2 * .04^2 = .000225 + .0001 = .000325
    #   pilot change .075, se sqrt(2 * .000325) = sqrt(.00065)
    # comparison change .02, se sqrt(.0009 * 2) = sqrt(.0018)
    # did = .055, se = sqrt(.00065 + .0018) = sqrt(.00245) = .049497
    sc = scores_frame(PILOTS_AND_COMPARISON)
    pop = population("ash", young=2000, old=1000, male=1500, female=1500)
    pop = pd.concat([pop, population("birch", young=500, old=500, male=500, female=500)])
    pop = pd.concat([pop, population("cedar")])
    ar = areas(("ash", "pilot"), ("birch", "pilot"), ("cedar", "comparison"))
    out = did(sc, pop, ar, "working-xtra", FW)
    assert list(out.columns) == [
        "project",
        "measure",
        "statistic",
        "wave",
        "pilot_change",
        "pilot_se",
        "comparison_change",
        "comparison_se",
        "did",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "design",
        "suppressed",
        "pilot_areas",
        "comparison_areas",
        "left_out",
    ]
    assert len(out) == 1
    r = out.iloc[0]
    assert r["project"] == "working-xtra" and r["wave"] == "12m"
    assert r["design"] == "difference-in-differences"
    assert r["pilot_change"] == pytest.approx(0.075) and r["pilot_se"] == pytest.approx(math.sqrt(0.00065))
    assert r["comparison_change"] == pytest.approx(0.02) and r["comparison_se"] == pytest.approx(math.sqrt(0.0018))
    assert r["did"] == pytest.approx(0.055) and r["se"] == pytest.approx(math.sqrt(0.00245))
    assert r["ci_low"] == pytest.approx(0.055 - Z95 * math.sqrt(0.00245))
    assert r["p_value"] == pytest.approx(normal_p(0.055 / math.sqrt(0.00245)))
    assert not bool(r["significant"]) and not r["suppressed"]


def test_before_and_after_when_no_comparison_neighbourhoods():
    sc = scores_frame(PILOTS_AND_COMPARISON)
    pop = pd.concat(
        [
            population("ash", young=2000, old=1000, male=1500, female=1500),
            population("birch", young=500, old=500, male=500, female=500),
        ]
    )
    out = did(sc, pop, areas(("ash", "pilot"), ("birch", "pilot")), "working-xtra", FW)
    r = out.iloc[0]
    assert r["design"] == "before-and-after"
    assert r["did"] == pytest.approx(0.075) and r["se"] == pytest.approx(math.sqrt(0.00065))
    assert np.isnan(r["comparison_change"]) and np.isnan(r["comparison_se"])
    assert r["p_value"] == pytest.approx(normal_p(0.075 / math.sqrt(0.00065)))
    assert bool(r["significant"])


def _birch_suppressed_at_12m(hidden: float = np.nan) -> pd.DataFrame:
    """The pilots-and-comparison case with birch's 12-month figure suppressed (a small base); ``hidden``: what
    its estimate would have been (a suppressed row never carries it: the test checks nothing depends on it)."""
    rows = [r for r in PILOTS_AND_COMPARISON if not (r[0] == "birch" and r[1] == "12m")]
    rows.append(("birch", "12m", "s01", "agree", hidden, 0.05, True, True))
    return scores_frame(rows)


def test_did_leaves_a_suppressed_neighbourhood_out_of_its_pool():
    # birch is suppressed at 12 months: the pilot pool is ash alone (share 1) at both waves.
    #   pilot change .50 - .40 = .10, se sqrt(.02^2 + .02^2) = sqrt(.0008)
    #   comparison (cedar) change .02, se sqrt(.0018); did .08, se sqrt(.0026)
    pop = pd.concat([population(h) for h in ("ash", "birch", "cedar")])
    ar = areas(("ash", "pilot"), ("birch", "pilot"), ("cedar", "comparison"))
    r = did(_birch_suppressed_at_12m(), pop, ar, "working-xtra", FW).iloc[0]
    assert not r["suppressed"]
    assert r["pilot_change"] == pytest.approx(0.10) and r["pilot_se"] == pytest.approx(math.sqrt(0.0008))
    assert r["comparison_change"] == pytest.approx(0.02)
    assert r["did"] == pytest.approx(0.08) and r["se"] == pytest.approx(math.sqrt(0.0026))
    assert (r["pilot_areas"], r["comparison_areas"], r["left_out"]) == ("ash", "cedar", "birch")


def test_a_left_out_neighbourhood_cannot_be_worked_out_from_the_pool():
    """The pooled figures are the same whatever the suppressed neighbourhood's figure was: differencing the pool
    against the published neighbourhoods gives nothing about it."""
    pop = pd.concat([population(h) for h in ("ash", "birch", "cedar")])
    ar = areas(("ash", "pilot"), ("birch", "pilot"), ("cedar", "comparison"))
    low = did(_birch_suppressed_at_12m(0.05), pop, ar, "working-xtra", FW)
    high = did(_birch_suppressed_at_12m(0.95), pop, ar, "working-xtra", FW)
    pd.testing.assert_frame_equal(low, high)


def test_did_blank_only_when_a_role_has_no_usable_neighbourhood():
    rows = [r for r in PILOTS_AND_COMPARISON if not (r[1] == "12m" and r[0] in ("ash", "birch"))]
    rows += [(h, "12m", "s01", "agree", np.nan, np.nan, True, True) for h in ("ash", "birch")]
    pop = pd.concat([population(h) for h in ("ash", "birch", "cedar")])
    ar = areas(("ash", "pilot"), ("birch", "pilot"), ("cedar", "comparison"))
    r = did(scores_frame(rows), pop, ar, "working-xtra", FW).iloc[0]
    assert r["suppressed"] and np.isnan(r["did"]) and np.isnan(r["pilot_change"])
    assert r["comparison_change"] == pytest.approx(0.02)
    assert pd.isna(r["significant"])
    assert (r["pilot_areas"], r["comparison_areas"], r["left_out"]) == ("", "cedar", "ash;birch")


def test_did_bad_input():
    sc = scores_frame(PILOTS_AND_COMPARISON)
    pop = pd.concat([population(h) for h in ("ash", "birch")])
    ar = areas(("ash", "pilot"), ("birch", "pilot"), ("cedar", "comparison"))
    with pytest.raises(UserError, match="population margins are missing for neighbourhood 'cedar'"):
        did(sc, pop, ar, "working-xtra", FW)
    with pytest.raises(UserError, match="no pilot neighbourhoods"):
        did(sc, pop, areas(("cedar", "comparison")), "working-xtra", FW)
    with pytest.raises(UserError, match="no neighbourhoods for project 'council-tax-reduction'"):
        did(sc, pop, ar, "council-tax-reduction", FW)
    with pytest.raises(UserError, match="unknown project"):
        did(sc, pop, ar, "no-such-project", FW)


def test_notes_are_plain_text():
    assert "parallel trends" in estimates.PARALLEL_TRENDS_NOTE
    assert "Wilson" in estimates.INTERVAL_NOTE and "effective sample size" in estimates.INTERVAL_NOTE
    assert "no comparison neighbourhoods" in estimates.BEFORE_AFTER_NOTE
    assert estimates.interval_note(FW).startswith("Intervals are 95% confidence intervals.")


def test_normal_functions_agree_with_scipy():
    from scipy.stats import norm

    from helpers.methods.estimates import normal_quantile, two_sided_p

    for p in (0.9, 0.95, 0.975, 0.995):
        assert abs(normal_quantile(p) - norm.ppf(p)) < 1e-9
    z = np.array([0.0, 0.5, 1.96, -2.5, 6.0, np.nan])
    expected = 2 * norm.sf(np.abs(z))
    np.testing.assert_allclose(two_sided_p(z), expected, rtol=1e-9, equal_nan=True)
