"""Tests for helpers/weights.py: raking, the weighting summary and linearised standard errors.

Expected values are worked out by hand (in the comments) or by independent code written here:
a line-by-line transliteration of R's survey package (svymean + svyrecvar for a raked design), an
explicit least-squares regression on a dummy matrix, and a seeded Monte-Carlo simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config.errors import UserError
from helpers.config.framework import AgeBand, DimensionCategory, Weighting, WeightingDimension, framework
from helpers.methods.weights import (
    DIAGNOSTIC_COLUMNS,
    KEY_COLUMNS,
    UNKNOWN,
    linearised_mean,
    rake_weights,
    weighting_diagnostics,
    weighting_summary,
)

TWO_BANDS = Weighting(
    age_bands=(AgeBand(id="young", min=16, max=39), AgeBand(id="old", min=40, max=120)),
    genders=("male", "female"),
    max_iterations=1000,
    tolerance=1e-13,
)
AGE_OF = {"young": 25, "old": 60, None: None, "too old": 130}


def respondents(cells, hood="oakfield", wave="baseline"):
    """Survey rows from (age band or None, gender or None) pairs."""
    return pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(len(cells))],
            "neighbourhood": hood,
            "wave": wave,
            "age": pd.array([AGE_OF[a] for a, _ in cells], dtype="Int64"),
            "gender": pd.array([g for _, g in cells], dtype="str"),
        }
    )


def margins(hood="oakfield", **counts):
    """Population rows: young=, old=, male=, female= adults."""
    dims = {"young": "age_band", "old": "age_band", "male": "gender", "female": "gender"}
    return pd.DataFrame(
        [(hood, dims[c], c, n) for c, n in counts.items()],
        columns=["neighbourhood", "dimension", "category", "population"],
    )


# The hand example: 8 respondents in a 2 x 2 table
#                 male  female
#     young         3       1
#     old           1       3
# population: young 220, old 90; male 210, female 100 (310 adults).
# Raking multiplies every weight by an age factor and a gender factor in turn, so the result has
# the form w[a, g] = r[a] * c[g], and it is the unique table of that form with the right margins.
# Try r = (young 2, old 1), c = (male 30, female 20): w = young-male 60, young-female 40,
# old-male 30, old-female 20. Check the margins:
#     young  3*60 + 1*40 = 220     old    1*30 + 3*20 = 90
#     male   3*60 + 1*30 = 210     female 1*40 + 3*20 = 100
# All four hold, so these are the raked weights.
HAND_CELLS = [("young", "male")] * 3 + [("young", "female")] + [("old", "male")] + [("old", "female")] * 3
HAND_WEIGHTS = [60, 60, 60, 40, 30, 20, 20, 20]
HAND_POPULATION = {"young": 220, "old": 90, "male": 210, "female": 100}


def test_rake_hand_example_gives_hand_weights():
    w = rake_weights(respondents(HAND_CELLS), margins(**HAND_POPULATION), TWO_BANDS)
    assert w["weight"].to_numpy() == pytest.approx(HAND_WEIGHTS, rel=1e-10)
    assert list(w["age_band"]) == [a for a, _ in HAND_CELLS]
    assert list(w["weighting_class"])[:4] == ["young x male"] * 3 + ["young x female"]
    assert list(w.columns[:3]) == ["respondent_id", "neighbourhood", "wave"]
    # margins reproduced exactly
    by_age = w.groupby("age_band")["weight"].sum()
    by_gender = w.groupby("gender_class")["weight"].sum()
    assert by_age["young"] == pytest.approx(220) and by_age["old"] == pytest.approx(90)
    assert by_gender["male"] == pytest.approx(210) and by_gender["female"] == pytest.approx(100)
    assert w["converged"].all()


def test_unplaceable_respondents_get_the_mean_weight():
    # The 8 respondents above plus two who cannot be placed on either margin: one with no age
    # and gender "prefer_not", one aged 130 (outside every band) who is transgender. 10 in all.
    # Rule: the unknown category's target is its share of respondents times the population:
    # population 155 (young 110, old 45; male 105, female 50), unknown share 2/10, so the unknown
    # target is 31 on both margins and each unplaceable respondent gets 31 / 2 = 15.5 = 155 / 10,
    # the mean weight. The known categories get the rest in population proportion, 0.8 of each:
    # young 88, old 36, male 84, female 40. With r = (young 2, old 1), c = (male 12, female 8):
    #     young 3*24 + 16 = 88   old 12 + 3*8 = 36   male 3*24 + 12 = 84   female 16 + 3*8 = 40
    cells = HAND_CELLS + [(None, "prefer_not"), ("too old", "transgender")]
    w = rake_weights(respondents(cells), margins(young=110, old=45, male=105, female=50), TWO_BANDS)
    assert w["weight"].to_numpy() == pytest.approx([24, 24, 24, 16, 12, 8, 8, 8, 15.5, 15.5])
    assert list(w["age_band"])[-2:] == [UNKNOWN, UNKNOWN]
    assert list(w["gender_class"])[-2:] == [UNKNOWN, UNKNOWN]
    assert w["weight"].sum() == pytest.approx(155)


def test_partly_placeable_respondents_count_on_the_margin_they_have():
    # An age but no usable gender, or a gender but no age: raked on both margins with "unknown"
    # on the missing one. Check the defining properties independently of the algorithm:
    # (1) every margin hits its target (known categories: population x (1 - unknown share);
    #     unknown: population total x unknown share), (2) weights have the product form
    #     w[a, g] = r[a] c[g] (all cross-ratios of the 3 x 3 table are 1).
    cells = HAND_CELLS + [("young", None), ("old", "transgender"), (None, "female"), (None, "male")]
    cells += [("young", "male"), ("old", "female")]
    pop = {"young": 600, "old": 400, "male": 480, "female": 520}
    w = rake_weights(respondents(cells), margins(**pop), TWO_BANDS)
    n, total = len(cells), 1000
    unknown_age, unknown_gender = 2 / n, 2 / n
    by_age = w.groupby("age_band")["weight"].sum()
    by_gender = w.groupby("gender_class")["weight"].sum()
    assert by_age["young"] == pytest.approx(600 * (1 - unknown_age))
    assert by_age["old"] == pytest.approx(400 * (1 - unknown_age))
    assert by_age[UNKNOWN] == pytest.approx(total * unknown_age)
    assert by_gender["male"] == pytest.approx(480 * (1 - unknown_gender))
    assert by_gender["female"] == pytest.approx(520 * (1 - unknown_gender))
    assert by_gender[UNKNOWN] == pytest.approx(total * unknown_gender)
    assert w["weight"].sum() == pytest.approx(total)
    cell = w.groupby(["age_band", "gender_class"])["weight"].agg(["min", "max"])
    assert (cell["max"] - cell["min"]).max() < 1e-9
    table = cell["min"].unstack()
    for a1, a2 in [("young", "old"), ("young", UNKNOWN), ("old", UNKNOWN)]:
        for g1, g2 in [("male", "female"), ("male", UNKNOWN), ("female", UNKNOWN)]:
            corners = [table.at[a1, g1], table.at[a2, g2], table.at[a1, g2], table.at[a2, g1]]
            if not any(np.isnan(corners)):
                assert corners[0] * corners[1] == pytest.approx(corners[2] * corners[3])


def test_margins_reproduced_for_every_neighbourhood_and_wave():
    fw = framework()
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(n)],
            "neighbourhood": rng.choice(["ash", "birch", "cedar"], n),
            "wave": rng.choice(list(fw.settings.wave_ids), n),
            "age": pd.array(np.where(rng.random(n) < 0.05, -1, rng.integers(16, 99, n)), "Int64"),
            "gender": rng.choice(["male", "female", "transgender", "prefer_not"], n, p=[0.45, 0.5, 0.02, 0.03]),
        }
    )
    frame.loc[frame["age"] == -1, "age"] = pd.NA
    rows = []
    for hood, ages, male in [
        ("ash", [900, 700, 600, 400], 1250),
        ("birch", [300, 500, 500, 700], 960),
        ("cedar", [1000, 1000, 800, 200], 1500),
    ]:
        rows += [(hood, "age_band", b.id, p) for b, p in zip(fw.settings.weighting.age_bands, ages, strict=True)]
        rows += [(hood, "gender", "male", male), (hood, "gender", "female", sum(ages) - male)]
    pop = pd.DataFrame(rows, columns=["neighbourhood", "dimension", "category", "population"])
    w = rake_weights(frame, pop, fw.settings)
    assert w.index.equals(frame.index)
    totals = w.groupby(["neighbourhood", "wave"])["weight"].sum()
    expected = pop[pop["dimension"] == "age_band"].groupby("neighbourhood")["population"].sum()
    for (hood, _), total in totals.items():
        assert total == pytest.approx(expected[hood], rel=1e-7)
    for (hood, _), grp in w.groupby(["neighbourhood", "wave"]):
        share_unknown = (grp["age_band"] == UNKNOWN).mean()
        got = grp[grp["age_band"] != UNKNOWN].groupby("age_band")["weight"].sum()
        want = pop[(pop["neighbourhood"] == hood) & (pop["dimension"] == "age_band")].set_index("category")
        for band, value in got.items():
            assert value == pytest.approx(want.at[band, "population"] * (1 - share_unknown), rel=1e-7)


def test_weight_cap_is_respected_and_margins_still_hold():
    # Uncapped, the hand example's largest weight is 60 against a mean of 310 / 8 = 38.75
    # (1.55 x the mean). Cap at 1.5 x mean = 58.125.
    capped = TWO_BANDS.model_copy(update={"weight_cap": 1.5})
    w = rake_weights(respondents(HAND_CELLS), margins(**HAND_POPULATION), capped)
    assert w["weight"].max() <= 58.125 * (1 + 1e-9)
    assert w["weight"].max() == pytest.approx(58.125)
    by_age = w.groupby("age_band")["weight"].sum()
    by_gender = w.groupby("gender_class")["weight"].sum()
    assert by_age["young"] == pytest.approx(220) and by_age["old"] == pytest.approx(90)
    assert by_gender["male"] == pytest.approx(210) and by_gender["female"] == pytest.approx(100)


def test_impossible_cap_does_not_converge():
    strict_cap = TWO_BANDS.model_copy(update={"weight_cap": 1.0, "max_iterations": 50})
    with pytest.raises(UserError, match=r"did not converge.*'oakfield'.*wave baseline.*cap"):
        rake_weights(respondents(HAND_CELLS), margins(**HAND_POPULATION), strict_cap)


def test_weighting_summary_kish():
    # Hand example weights: 60 x3, 40, 30, 20 x3. sum w = 310; sum w^2 = 3*3600 + 1600 + 900 +
    # 3*400 = 14500. Design effect = 8 * 14500 / 310^2 = 1.20707...; effective n = 310^2 / 14500.
    w = rake_weights(respondents(HAND_CELLS), margins(**HAND_POPULATION), TWO_BANDS)
    s = weighting_summary(w)
    assert list(s.columns) == [
        "neighbourhood",
        "wave",
        "respondents",
        "weight_min",
        "weight_max",
        "design_effect",
        "effective_n",
        "converged",
        "iterations",
    ]
    row = s.iloc[0]
    assert row["respondents"] == 8
    assert row["weight_min"] == pytest.approx(20) and row["weight_max"] == pytest.approx(60)
    assert row["design_effect"] == pytest.approx(8 * 14500 / 310**2)
    assert row["effective_n"] == pytest.approx(310**2 / 14500)
    assert bool(row["converged"]) and row["iterations"] >= 1


# --- bad input ----------------------------------------------------------------------------------


def test_missing_population_margins_name_the_neighbourhood():
    frame = pd.concat([respondents(HAND_CELLS), respondents(HAND_CELLS, hood="elmfield")])
    with pytest.raises(UserError, match="population margins are missing for neighbourhood 'elmfield'"):
        rake_weights(frame, margins(**HAND_POPULATION), TWO_BANDS)


def test_missing_one_category_names_it():
    pop = margins(young=220, male=210, female=100)
    with pytest.raises(UserError, match="'oakfield' lack age band old"):
        rake_weights(respondents(HAND_CELLS), pop, TWO_BANDS)


def test_age_and_gender_totals_must_agree():
    # 310 by age but 312 by gender: 0.65% apart, more than 0.5%
    pop = margins(young=220, old=90, male=212, female=100)
    with pytest.raises(UserError, match=r"'oakfield'.*310.*312.*0\.5%"):
        rake_weights(respondents(HAND_CELLS), pop, TWO_BANDS)
    # 310 against 311 (0.32%) is accepted: genders are rescaled to the age total
    ok = rake_weights(respondents(HAND_CELLS), margins(young=220, old=90, male=211, female=100), TWO_BANDS)
    assert ok["weight"].sum() == pytest.approx(310)


def test_category_with_adults_but_no_respondents_cannot_be_raked():
    cells = [c for c in HAND_CELLS if c[0] == "young"]
    with pytest.raises(UserError, match=r"'oakfield' at wave baseline: no respondent in age band old"):
        rake_weights(respondents(cells), margins(**HAND_POPULATION), TWO_BANDS)


def test_non_convergence_names_neighbourhood_and_wave():
    # Only young men and old women answered, so age fixes gender: the age margin says 220 men
    # while the gender margin says 210. No weights satisfy both; raking oscillates.
    cells = [("young", "male")] * 4 + [("old", "female")] * 4
    frame = respondents(cells, wave="6m")
    with pytest.raises(UserError, match=r"did not converge for neighbourhood 'oakfield', wave 6m"):
        rake_weights(frame, margins(**HAND_POPULATION), TWO_BANDS.model_copy(update={"max_iterations": 30}))


def test_not_strict_leaves_the_neighbourhood_unweighted_with_a_warning():
    frame = pd.concat([respondents(HAND_CELLS), respondents(HAND_CELLS, hood="elmfield")])
    with pytest.warns(UserWarning, match="elmfield"):
        w = rake_weights(frame, margins(**HAND_POPULATION), TWO_BANDS, strict=False)
    elm = w[w["neighbourhood"] == "elmfield"]
    assert elm["weight"].isna().all() and not elm["converged"].any()
    assert w.loc[w["neighbourhood"] == "oakfield", "weight"].to_numpy() == pytest.approx(HAND_WEIGHTS)
    s = weighting_summary(w)
    assert list(s["converged"]) == [False, True]


def test_unknown_wave_is_a_user_error():
    fw = framework()
    with pytest.raises(UserError, match="wave '9m' is not a wave"):
        rake_weights(respondents(HAND_CELLS, wave="9m"), margins(**HAND_POPULATION), fw.settings)


# --- linearisation ------------------------------------------------------------------------------


def r_svymean_raked(y, w, margin_codes, sweeps):
    """R's svymean(~y, design, na.rm=TRUE) for a design from rake(), transliterated.

    survey 4.5, R/multistage.R: svymean.survey.design2 drops NA rows by giving them weight 0
    (a calibrated design keeps every row), centres y at the weighted mean, divides by the weight
    total and hands x = w (y - mean) / W to svyrecvar. Its "raking" branch repeats, 10 times in R,
    ``for (margin in psvar) x <- x - psw * ave(x / psw, margin)`` where psw are the raked weights
    (after the final iteration of rake(); equal to w at convergence). onestage then returns
    n / (n - 1) * sum((x - mean(x))^2) over all rows (one stratum, ids = ~1, no fpc).
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    nas = np.isnan(y)
    pweights = np.where(nas, 0.0, w)
    x = np.where(nas, 0.0, y)
    psum = pweights.sum()
    average = (x * pweights / psum).sum()
    x = (x - average) * pweights / psum
    for _ in range(sweeps):
        for margin in margin_codes:
            ave = pd.Series(x / w).groupby(np.asarray(margin)).transform("mean").to_numpy()
            x = x - w * ave
    n = len(x)
    var = n / (n - 1) * ((x - x.mean()) ** 2).sum()
    return average, np.sqrt(var)


def calibrate_route(y, w, margin_codes):
    """The same variance by R's calibrate(..., calfun = "raking") route: residuals of the
    least-squares regression of z = x / w on the full dummy matrix (qr.resid), times w."""
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    answered = ~np.isnan(y)
    big_w = w[answered].sum()
    mean = (w * np.where(answered, y, 0)).sum() / big_w
    z = np.where(answered, (np.where(answered, y, 0) - mean) / big_w, 0.0)
    dummies = [np.asarray(m)[:, None] == np.unique(m)[None, :] for m in margin_codes]
    design_matrix = np.hstack(dummies).astype(float)
    coef, *_ = np.linalg.lstsq(design_matrix, z, rcond=None)
    u = w * (z - design_matrix @ coef)
    n = len(y)
    return mean, np.sqrt(n / (n - 1) * ((u - u.mean()) ** 2).sum())


def survey_sample(seed, n, item_missing=0.15):
    fw = framework()
    rng = np.random.default_rng(seed)
    age = rng.integers(16, 90, n).astype(float)
    age[rng.random(n) < 0.04] = np.nan
    gender = rng.choice(["male", "female", "prefer_not"], n, p=[0.42, 0.55, 0.03])
    older = np.nan_to_num(age, nan=50) / 90
    y = (rng.random(n) < 0.25 + 0.5 * older + 0.1 * (gender == "female")).astype(float)
    y[rng.random(n) < item_missing + 0.2 * (1 - older)] = np.nan
    frame = pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(n)],
            "neighbourhood": "oakfield",
            "wave": "baseline",
            "age": pd.array(np.where(np.isnan(age), -1, age).astype(int), dtype="Int64"),
            "gender": gender,
        }
    )
    frame.loc[np.isnan(age), "age"] = pd.NA
    ages = [3100, 2600, 2200, 1900]
    rows = [("oakfield", "age_band", b.id, p) for b, p in zip(fw.settings.weighting.age_bands, ages, strict=True)]
    rows += [("oakfield", "gender", "male", 4800), ("oakfield", "gender", "female", 5000)]
    pop = pd.DataFrame(rows, columns=["neighbourhood", "dimension", "category", "population"])
    return frame, pop, y, fw


def test_linearised_se_matches_r_rake_and_calibrate_transliterations():
    frame, pop, y, fw = survey_sample(seed=11, n=240)
    w = rake_weights(frame, pop, fw.settings)
    got = linearised_mean(w, pd.Series(y, index=w.index))
    margins_ = [w["age_band"].to_numpy(), w["gender_class"].to_numpy()]
    # converged projection (many sweeps of R's algorithm) and R's calibrate() route agree exactly
    est_r, se_r = r_svymean_raked(y, w["weight"], margins_, sweeps=200)
    est_c, se_c = calibrate_route(y, w["weight"], margins_)
    assert got.at[0, "base_n"] == int((~np.isnan(y)).sum())
    assert got.at[0, "estimate"] == pytest.approx(est_r, rel=1e-12)
    assert got.at[0, "se"] == pytest.approx(se_r, rel=1e-9)
    assert got.at[0, "se"] == pytest.approx(se_c, rel=1e-9)
    # R's rake() stops after 10 sweeps; for an ordinary sample that is the same to many digits
    _, se_r10 = r_svymean_raked(y, w["weight"], margins_, sweeps=10)
    assert got.at[0, "se"] == pytest.approx(se_r10, rel=1e-6)
    answered = ~np.isnan(y)
    kish = w["weight"][answered].sum() ** 2 / (w["weight"][answered] ** 2).sum()
    assert got.at[0, "effective_n"] == pytest.approx(kish)


def test_non_answerers_stay_in_the_design_for_the_calibration():
    # Dropping the non-answerers before residualising (a different, wrong, design) gives a
    # different standard error; the function must give R's na.rm = TRUE figure.
    frame, pop, y, fw = survey_sample(seed=5, n=150, item_missing=0.3)
    w = rake_weights(frame, pop, fw.settings)
    got = linearised_mean(w, y)
    margins_ = [w["age_band"].to_numpy(), w["gender_class"].to_numpy()]
    _, se_r = r_svymean_raked(y, w["weight"], margins_, sweeps=200)
    keep = ~np.isnan(y)
    _, se_dropped = r_svymean_raked(y[keep], w["weight"][keep], [m[keep] for m in margins_], 200)
    assert got.at[0, "se"] == pytest.approx(se_r, rel=1e-9)
    assert abs(se_dropped / se_r - 1) > 1e-3


def test_linearised_variance_matches_monte_carlo_variance_of_the_raked_estimator():
    # 3000 independent samples of 150 from a population where the outcome depends strongly on
    # age; the sample over-represents older people and item non-response depends on age. Each
    # sample is one "neighbourhood", raked to the same known margins. The spread of the raked
    # estimates across samples is the true sampling variance; the mean of the linearised
    # variances must match it. The unresidualised (calibration-blind) variance must not.
    rng = np.random.default_rng(20240611)
    reps, n = 3000, 150
    bands = TWO_BANDS.model_copy(
        update={
            "age_bands": (
                AgeBand(id="a", min=16, max=34),
                AgeBand(id="b", min=35, max=64),
                AgeBand(id="c", min=65, max=120),
            ),
            "tolerance": 1e-10,
        }
    )
    band_age = np.array([25, 50, 75])
    q_age, q_female = np.array([0.15, 0.35, 0.5]), 0.6
    size = reps * n
    a = rng.choice(3, size, p=q_age)
    female = rng.random(size) < q_female
    p_yes = np.array([0.05, 0.5, 0.85])[a] + 0.1 * female
    y = (rng.random(size) < p_yes).astype(float)
    y[rng.random(size) < np.array([0.3, 0.1, 0.05])[a]] = np.nan
    hood = np.repeat([f"s{i:04d}" for i in range(reps)], n)
    frame = pd.DataFrame(
        {
            "respondent_id": np.arange(size).astype(str),
            "neighbourhood": hood,
            "wave": "baseline",
            "age": band_age[a],
            "gender": np.where(female, "female", "male"),
        }
    )
    pop_rows = []
    for h in np.unique(hood):
        pop_rows += [(h, "age_band", "a", 3000), (h, "age_band", "b", 4000), (h, "age_band", "c", 3000)]
        pop_rows += [(h, "gender", "male", 5000), (h, "gender", "female", 5000)]
    pop = pd.DataFrame(pop_rows, columns=["neighbourhood", "dimension", "category", "population"])
    w = rake_weights(frame, pop, bands)
    got = linearised_mean(w, y)
    mc_var = got["estimate"].var(ddof=1)
    lin_var = (got["se"] ** 2).mean()
    assert lin_var / mc_var == pytest.approx(1, abs=0.1)
    # the same influence values without the calibration residuals: clearly too big
    answered = ~np.isnan(y)
    ww = w["weight"].to_numpy()
    big_w = pd.Series(np.where(answered, ww, 0)).groupby(hood).transform("sum").to_numpy()
    mean = got.set_index("neighbourhood")["estimate"].reindex(hood).to_numpy()
    u = np.where(answered, ww * (np.nan_to_num(y) - mean) / big_w, 0)
    u = pd.Series(u).groupby(hood)
    naive = (n / (n - 1) * u.apply(lambda s: ((s - s.mean()) ** 2).sum())).mean()
    assert naive / mc_var > 1.3
    # and the raked estimator is close to its target: the mean among the population who would
    # answer (item non-response is a domain), sum(P_a (1 - m_a) pi_a) / sum(P_a (1 - m_a)) with
    # pi_a the age band's average outcome (+ 0.1 x half female)
    share = np.array([0.3, 0.4, 0.3]) * (1 - np.array([0.3, 0.1, 0.05]))
    truth = (share * (np.array([0.05, 0.5, 0.85]) + 0.05)).sum() / share.sum()
    assert got["estimate"].mean() == pytest.approx(truth, abs=3 * np.sqrt(mc_var / reps) + 0.002)


# --- a third margin, trimming and the weighting diagnostics ---------------------------------------------------

ETHNICITY = WeightingDimension(
    id="ethnicity",
    label="ethnic group",
    column="ethnicity",
    categories=(
        DimensionCategory(id="white", codes=("white",)),
        DimensionCategory(id="minority", codes=("black", "asian", "mixed", "other")),
    ),
)
THREE_MARGINS = TWO_BANDS.model_copy(
    update={"dimensions": (ETHNICITY,), "rake_to": ("age_band", "gender", "ethnicity")}
)

DECLARED_NOT_RAKED = THREE_MARGINS.model_copy(update={"rake_to": ("age_band", "gender")})


def respondents3(cells, hood="oakfield", wave="baseline"):
    """Survey rows from (age band, gender, ethnic group answer) triples."""
    frame = respondents([(a, g) for a, g, _ in cells], hood, wave)
    frame["ethnicity"] = pd.array([e for _, _, e in cells], dtype="str")
    return frame


def margins3(hood="oakfield", **counts):
    """Population rows: young=, old=, male=, female=, white=, minority= adults."""
    rows = margins(hood, **{k: v for k, v in counts.items() if k not in ("white", "minority")})
    extra = [(hood, "ethnicity", c, counts[c]) for c in ("white", "minority") if c in counts]
    return pd.concat([rows, pd.DataFrame(extra, columns=rows.columns)], ignore_index=True)


# The three-margin hand example: 11 respondents in a 2 x 2 x 2 table (age band, gender, white or minority)
#                 white   minority              (answers: minority is any of black, asian, mixed, other)
#   young male      2        1
#   young female    1        1
#   old male        1        1
#   old female      3        1
# Raking multiplies every weight by an age, a gender and an ethnic-group factor in turn, so the result has
# the form w[a, g, e] = r[a] c[g] t[e]: the unique table of that form with the right margins. Take
# r = (young 2, old 1), c = (male 3, female 2), t = (white 1, minority 4):
#   young male 6 | 24    young female 4 | 16    old male 3 | 12    old female 2 | 8     (white | minority)
# and choose the population as these weights' margins:
#   young 2*6 + 24 + 4 + 16 = 56          old   3 + 12 + 3*2 + 8 = 29        (85 adults)
#   male  2*6 + 24 + 3 + 12 = 51          female 4 + 16 + 3*2 + 8 = 34
#   white 2*6 + 4 + 3 + 3*2 = 25          minority 24 + 16 + 12 + 8 = 60
# so these are the raked weights.
HAND3_CELLS = (
    [("young", "male", "white")] * 2
    + [("young", "male", "asian")]
    + [("young", "female", "white"), ("young", "female", "black")]
    + [("old", "male", "white"), ("old", "male", "mixed")]
    + [("old", "female", "white")] * 3
    + [("old", "female", "other")]
)
HAND3_WEIGHTS = [6, 6, 24, 4, 16, 3, 12, 2, 2, 2, 8]
HAND3_POPULATION = {"young": 56, "old": 29, "male": 51, "female": 34, "white": 25, "minority": 60}


def test_three_margins_hand_example_gives_hand_weights():
    w = rake_weights(respondents3(HAND3_CELLS), margins3(**HAND3_POPULATION), THREE_MARGINS)
    assert w["weight"].to_numpy() == pytest.approx(HAND3_WEIGHTS, rel=1e-10)
    assert list(w.columns) == [
        *KEY_COLUMNS,
        "age_band",
        "gender_class",
        "ethnicity_class",
        "weighting_class",
        "weight",
        "converged",
        "iterations",
    ]
    assert w.attrs["margins"] == ("age_band", "gender_class", "ethnicity_class")
    assert list(w["ethnicity_class"])[:3] == ["white", "white", "minority"]
    assert w.at[2, "weighting_class"] == "young x male x minority"
    # ethnicity declared but not raked to (the default margins): the answers and the rows are left alone
    two = rake_weights(respondents3(HAND3_CELLS), margins3(**HAND3_POPULATION), DECLARED_NOT_RAKED)
    assert "ethnicity_class" not in two.columns
    assert two.loc[two["weighting_class"] == "young x male", "weight"].nunique() == 1
    assert w["weight"].sum() == pytest.approx(85) and two["weight"].sum() == pytest.approx(85)


def test_a_project_can_rake_to_its_own_margins():
    settings = THREE_MARGINS.model_copy(
        update={
            "rake_to": ("age_band", "gender"),
            "rake_to_by_project": {"council-tax-reduction": THREE_MARGINS.rake_to},
        }
    )
    frame, pop = respondents3(HAND3_CELLS), margins3(**HAND3_POPULATION)
    mine = rake_weights(frame, pop, settings, project="council-tax-reduction")
    assert mine["weight"].to_numpy() == pytest.approx(HAND3_WEIGHTS, rel=1e-10)
    other = rake_weights(frame, pop, settings, project="working-xtra")
    age_and_gender = rake_weights(frame, pop[pop["dimension"] != "ethnicity"], TWO_BANDS)
    assert other["weight"].to_numpy() == pytest.approx(age_and_gender["weight"].to_numpy(), rel=1e-12)
    assert not np.allclose(other["weight"], mine["weight"])


def test_a_neighbourhood_without_the_third_margin_cannot_be_raked_to_it():
    pop = margins3(**{k: v for k, v in HAND3_POPULATION.items() if k != "minority"})
    with pytest.raises(
        UserError, match=r"'oakfield' lack ethnicity minority; expected population rows for .*ethnicity"
    ):
        rake_weights(respondents3(HAND3_CELLS), pop, THREE_MARGINS)
    pop = margins3(**{**HAND3_POPULATION, "minority": 62})  # 87 against 85: 2.4% apart
    with pytest.raises(UserError, match=r"the age bands total 85 adults but the ethnicity categories total 87"):
        rake_weights(respondents3(HAND3_CELLS), pop, THREE_MARGINS)


def test_a_population_row_the_framework_does_not_declare_names_row_and_column():
    pop = pd.concat(
        [
            margins(**HAND_POPULATION),
            pd.DataFrame(
                [("oakfield", "tenure", "owner", 200)], columns=["neighbourhood", "dimension", "category", "population"]
            ),
        ],
        ignore_index=True,
    )
    with pytest.raises(
        UserError,
        match=r"population: row 5, column dimension: 'tenure' is not a weighting dimension.*one of age_band, gender",
    ):
        rake_weights(respondents(HAND_CELLS), pop, TWO_BANDS)
    pop = margins3(**{**HAND3_POPULATION})
    pop.loc[5, "category"] = "asian"
    with pytest.raises(
        UserError, match=r"row 6, column category: .*ethnicity category 'asian'.*known: white, minority"
    ):
        rake_weights(respondents3(HAND3_CELLS), pop, THREE_MARGINS)


def survey_sample3(seed, n):
    """A neighbourhood's answers with unknowns on every margin (no age, gender prefer not, ethnic group prefer
    not) and item non-response that depends on age; population margins for age band, gender and ethnic group."""
    frame, pop, y, fw = survey_sample(seed, n)
    rng = np.random.default_rng(seed + 1)
    frame["ethnicity"] = rng.choice(
        ["white", "asian", "black", "mixed", "other", "prefer_not"], n, p=[0.8, 0.08, 0.04, 0.03, 0.02, 0.03]
    )
    minority = frame["ethnicity"].isin(["asian", "black", "mixed", "other"]).to_numpy()
    y = np.where(np.isnan(y), np.nan, np.where(minority & (rng.random(n) < 0.3), 1 - np.nan_to_num(y), y))
    extra = pd.DataFrame(
        [("oakfield", "ethnicity", "white", 6900), ("oakfield", "ethnicity", "minority", 2900)], columns=pop.columns
    )
    settings = fw.settings.weighting.model_copy(
        update={
            "dimensions": (ETHNICITY,),
            "rake_to": ("age_band", "gender", "ethnicity"),
            "tolerance": 1e-13,
            "max_iterations": 1000,
        }
    )
    return frame, pd.concat([pop, extra], ignore_index=True), y, settings


def svy_raked(w, pop, total, y, trim=None):
    """The svy package's own raking of the same respondents to the same targets (unknown categories at their
    share of respondents, the known ones sharing the rest in population proportion, each margin scaled to
    the age-band total), and its Taylor mean of y: ``(weights, estimate, se)``."""
    svy = pytest.importorskip("svy")
    pl = pytest.importorskip("polars")
    columns = {"age_band": "age_band", "gender_class": "gender", "ethnicity_class": "ethnicity"}
    controls = {}
    for column, dimension in columns.items():
        unknown = float((w[column] == UNKNOWN).mean())
        p = pop[pop["dimension"] == dimension].set_index("category")["population"].astype(float)
        controls[column] = {k: v * total / p.sum() * (1 - unknown) for k, v in p.items()}
        if unknown:
            controls[column][UNKNOWN] = total * unknown
    data = pl.DataFrame({**{c: w[c].tolist() for c in columns}, "y": y.tolist(), "w0": [1.0] * len(w)})
    sample = svy.Sample(data, svy.Design(wgt="w0"))
    trimming = None if trim is None else svy.TrimConfig(upper=svy.Threshold("mean", trim), max_iter=20000)
    sample = sample.weighting.rake(controls=controls, tol=1e-9 if trim else 1e-12, max_iter=1000, trimming=trimming)
    result = sample.estimation.mean("y", drop_nulls=True).to_polars()
    return sample.data["rk_wgt"].to_numpy(), result["est"][0], result["se"][0]


def test_three_margins_weights_and_se_match_svy_and_the_r_transliterations():
    # svy (PyPI; polars-based, by samplics' author) reproduces R's rake() + svymean(): an independent
    # implementation of the raking and of the linearised variance with the calibration residuals.
    frame, pop, y, settings = survey_sample3(seed=23, n=300)
    w = rake_weights(frame, pop, settings)
    assert (w[["age_band", "gender_class", "ethnicity_class"]] == UNKNOWN).any().all()  # unknowns on each
    got = linearised_mean(w, y)
    weights_svy, est_svy, se_svy = svy_raked(w, pop, 9800, y)
    assert w["weight"].to_numpy() == pytest.approx(weights_svy, rel=1e-9)
    assert got.at[0, "estimate"] == pytest.approx(est_svy, rel=1e-12)
    assert got.at[0, "se"] == pytest.approx(se_svy, rel=1e-9)
    # and the two transliterations in this file, now with three margins
    margins_ = [w[c].to_numpy() for c in ("age_band", "gender_class", "ethnicity_class")]
    _, se_r = r_svymean_raked(y, w["weight"], margins_, sweeps=300)
    _, se_c = calibrate_route(y, w["weight"], margins_)
    assert got.at[0, "se"] == pytest.approx(se_r, rel=1e-9)
    assert got.at[0, "se"] == pytest.approx(se_c, rel=1e-9)
    # leaving the third margin out of the residuals (a two-margin design) gives a different figure
    _, se_two = calibrate_route(y, w["weight"], margins_[:2])
    assert abs(se_two / se_c - 1) > 1e-3


# Trimming, by hand. The hand example's raked weights are young-male 60 (x3), young-female 40, old-male 30,
# old-female 20 (x3); the mean weight is 310 / 8 = 38.75, so a cap of 1.5 x the mean is 58.125 and only
# young-male passes it. Raking with a cap gives min(cap, u) with u of raking's product form (the cells whose
# raked weight would pass the cap are held at it, the others raked to make up the margins):
#     young-male = 58.125, three of them: 174.375
#     young:  174.375 + young-female = 220   -> young-female = 45.625
#     male:   174.375 + old-male     = 210   -> old-male     = 35.625
#     old:    35.625 + 3 old-female  = 90    -> old-female   = 18.125
#     female: 45.625 + 3 * 18.125    = 100   (holds)
# and u(young-male) = 45.625 * 35.625 / 18.125 = 89.7 passes the cap, so that cell is rightly held.
HAND_TRIMMED = [58.125] * 3 + [45.625, 35.625] + [18.125] * 3


def test_trimming_hand_example_gives_hand_weights():
    w = rake_weights(
        respondents(HAND_CELLS), margins(**HAND_POPULATION), TWO_BANDS.model_copy(update={"weight_cap": 1.5})
    )
    assert w["weight"].to_numpy() == pytest.approx(HAND_TRIMMED, rel=1e-9)
    assert w["converged"].all()


def test_weighting_diagnostics_before_and_after_trimming_by_hand():
    # raked:   60 x3, 40, 30, 20 x3: sum 310, sum w^2 = 14500; design effect 8 * 14500 / 310^2, effective n
    #          310^2 / 14500, largest / mean = 60 / 38.75, three weights over the cap (58.125)
    # trimmed: 58.125 x3, 45.625, 35.625, 18.125 x3: sum 310, sum w^2 = 3 * 3378.515625 + 2081.640625
    #          + 1269.140625 + 3 * 328.515625 = 14471.875; largest / mean = 1.5, three at the cap
    capped = TWO_BANDS.model_copy(update={"weight_cap": 1.5})
    d = weighting_diagnostics(respondents(HAND_CELLS), margins(**HAND_POPULATION), capped)
    assert list(d.columns) == list(DIAGNOSTIC_COLUMNS)
    assert list(d["stage"]) == ["raked", "raked and trimmed"]
    raked, trimmed = d.iloc[0], d.iloc[1]
    assert (raked["weight_min"], raked["weight_max"]) == pytest.approx((20, 60))
    assert raked["max_to_mean"] == pytest.approx(60 / 38.75)
    assert raked["design_effect"] == pytest.approx(8 * 14500 / 310**2)
    assert raked["effective_n"] == pytest.approx(310**2 / 14500)
    assert raked["at_or_over_cap"] == 3
    assert (trimmed["weight_min"], trimmed["weight_max"]) == pytest.approx((18.125, 58.125))
    assert trimmed["max_to_mean"] == pytest.approx(1.5)
    assert trimmed["design_effect"] == pytest.approx(8 * 14471.875 / 310**2)
    assert trimmed["effective_n"] == pytest.approx(310**2 / 14471.875)
    assert trimmed["at_or_over_cap"] == 3
    assert d["converged"].all() and (d["problem"] == "").all() and (d["respondents"] == 8).all()
    # without a cap: one stage, nothing to count against a cap
    plain = weighting_diagnostics(respondents(HAND_CELLS), margins(**HAND_POPULATION), TWO_BANDS)
    assert list(plain["stage"]) == ["raked"] and plain["at_or_over_cap"].isna().all()
    assert plain.iloc[0]["design_effect"] == pytest.approx(raked["design_effect"])


def test_weighting_diagnostics_say_why_a_group_is_not_weighted():
    frame = pd.concat([respondents(HAND_CELLS), respondents(HAND_CELLS, hood="elmfield")], ignore_index=True)
    impossible = TWO_BANDS.model_copy(update={"weight_cap": 1.0, "max_iterations": 50})
    d = weighting_diagnostics(frame, margins(**HAND_POPULATION), impossible)
    elm = d[d["neighbourhood"] == "elmfield"]
    assert len(elm) == 2 and elm["problem"].str.contains("population margins are missing").all()
    assert elm["design_effect"].isna().all() and not elm["converged"].any()
    oak = d[d["neighbourhood"] == "oakfield"].set_index("stage")
    assert oak.at["raked", "converged"] and not oak.at["raked and trimmed", "converged"]
    assert "did not converge" in oak.at["raked and trimmed", "problem"]


def test_trimmed_three_margin_weights_and_se_match_svy():
    # svy trims differently (cut to the cap, share the excess among the others, rake again, until the raked
    # weights keep under the cap): it reaches the same weights as raking with the cap held (to its
    # tolerance), and its linearised SE for its own trimmed weights is the one this module gives them.
    frame, pop, y, settings = survey_sample3(seed=31, n=300)
    capped = settings.model_copy(update={"weight_cap": 1.8, "tolerance": 1e-11})
    w = rake_weights(frame, pop, capped)
    ratio = w["weight"] / w["weight"].mean()
    assert ratio.max() == pytest.approx(1.8) and (ratio > 1.8 - 1e-9).sum() >= 2
    for column, dimension in (("age_band", "age_band"), ("ethnicity_class", "ethnicity")):
        got = w.groupby(column)["weight"].sum()
        p = pop[pop["dimension"] == dimension].set_index("category")["population"]
        share_unknown = (w[column] == UNKNOWN).mean()
        for category, value in p.items():
            assert got[category] == pytest.approx(value * 9800 / p.sum() * (1 - share_unknown), rel=1e-9)
    weights_svy, est_svy, se_svy = svy_raked(w, pop, 9800, y, trim=1.8)
    assert w["weight"].to_numpy() == pytest.approx(weights_svy, rel=1e-6)
    mine = linearised_mean(w.assign(weight=weights_svy), y)
    assert mine.at[0, "estimate"] == pytest.approx(est_svy, rel=1e-12)
    assert mine.at[0, "se"] == pytest.approx(se_svy, rel=1e-9)
    # trimming moved the figure: the SE of the untrimmed weights is another number
    untrimmed = linearised_mean(rake_weights(frame, pop, settings), y)
    assert abs(untrimmed.at[0, "se"] / linearised_mean(w, y).at[0, "se"] - 1) > 1e-3


def test_cli_weights_table_and_csv(sample_db, tmp_path, capsys):
    from helpers.store import access, database
    from helpers.surfaces.cli import main

    assert main(["weights", "--project", "working-xtra", "--wave", "12m", "--db", str(sample_db)]) == 0
    out = capsys.readouterr().out
    assert "oakfield" in out and "kingsmoor" not in out and out.strip().endswith("raked to age_band, gender")
    csv = tmp_path / "weights.csv"
    assert main(["weights", "--csv", str(csv), "--db", str(sample_db)]) == 0
    table = pd.read_csv(csv)
    assert set(table["stage"]) == {"raked"} and len(table) == 7 * 3  # seven neighbourhoods, three waves
    # the same figures as the summary of the respondents' weights (a separate computation, respondent by respondent)
    con = database.connect(sample_db, read_only=True)
    responses, population = access.load_responses(con, framework(), None), access.load_population(con)
    con.close()
    summary = weighting_summary(rake_weights(responses, population, framework().settings))
    merged = table.merge(summary, on=["neighbourhood", "wave"], suffixes=("", "_summary"))
    assert len(merged) == 21
    assert merged["design_effect"].to_numpy() == pytest.approx(merged["design_effect_summary"].to_numpy(), rel=1e-12)
    assert merged["weight_max"].to_numpy() == pytest.approx(merged["weight_max_summary"].to_numpy(), rel=1e-12)
    assert main(["weights", "--project", "allotments", "--db", str(sample_db)]) == 2
    assert "unknown project 'allotments'" in capsys.readouterr().err


def _with_weighting(fw, **update):
    weighting = fw.settings.weighting.model_copy(update=update)
    return fw.model_copy(update={"settings": fw.settings.model_copy(update={"weighting": weighting})})


def test_the_scores_command_weights_a_project_to_its_own_margins(sample_db, fw, capsys):
    """``scores --project P`` gives P's neighbourhoods weighted to P's margins: the same figures as a framework
    whose margins for every project are P's; without --project it says which margins it used."""
    from argparse import Namespace

    from helpers.surfaces.cli import table_for

    own = _with_weighting(fw, rake_to_by_project={"working-xtra": ("age_band",)})
    everyone = _with_weighting(fw, rake_to=("age_band",))
    hoods = ["brookside", "hollins", "millbrook", "oakfield"]  # the sample's Working Xtra areas (areas.csv)

    def args(**given):
        return Namespace(**({"db": sample_db, "neighbourhood": None, "wave": None, "project": None} | given))

    mine = table_for("scores", own, args(project="working-xtra"))
    expected = table_for("scores", everyone, args(neighbourhood=hoods))
    assert sorted(mine["neighbourhood"].unique()) == hoods
    key = ["neighbourhood", "wave", "measure", "statistic"]
    mine, expected = mine.sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, expected)
    default = table_for("scores", own, args(neighbourhood=hoods)).sort_values(key).reset_index(drop=True)
    assert not np.allclose(default["estimate"], mine["estimate"], equal_nan=True)  # the margins matter here
    assert "give --project for a project's own margins" in capsys.readouterr().err
    change = table_for("change", own, args(project="working-xtra"))
    assert sorted(change["neighbourhood"].unique()) == hoods
    with pytest.raises(UserError, match=r"unknown neighbourhood 'ashgrove' in project 'working-xtra'; known: "):
        table_for("scores", own, args(project="working-xtra", neighbourhood=["ashgrove"]))
