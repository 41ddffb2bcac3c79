"""Tests for helpers/methods/meta.py: pooling councils' DiD by fixed and random effects.

Expected numbers are worked by hand in the comments (DerSimonian-Laird on three studies; none and large
heterogeneity), or published: the BCG vaccine trials (Colditz et al. 1994), whose DerSimonian-Laird
meta-analysis of log risk ratios is the worked example of Viechtbauer (2010), "Conducting meta-analyses in R
with the metafor package", Journal of Statistical Software 36(3), and of metafor's documentation (rma with
method="DL"): tau^2 = 0.3088, I^2 = 92.12%, Q(df = 12) = 152.2330, estimate -0.7141, se 0.1787, 95% CI
-1.0644 to -0.3638; fixed effect -0.4303, se 0.0405, CI -0.5097 to -0.3509.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.methods.meta import (
    FIXED_EFFECT,
    RANDOM_EFFECTS,
    meta_table,
    pool,
    worded_as_reference,
    wording_differences,
)

Z95 = 1.959963984540054


def test_dersimonian_laird_three_studies_by_hand():
    # y = 1, 3, 8 with variances 1, 1, 2 -> fixed-effect weights w = 1, 1, 0.5, sum w = 2.5
    # fixed = (1*1 + 1*3 + 0.5*8) / 2.5 = 8 / 2.5 = 3.2, se = 1 / sqrt(2.5)
    # Q = 1*(1-3.2)^2 + 1*(3-3.2)^2 + 0.5*(8-3.2)^2 = 4.84 + 0.04 + 11.52 = 16.4 on k - 1 = 2 df
    # C = sum w - sum w^2 / sum w = 2.5 - (1 + 1 + 0.25) / 2.5 = 2.5 - 0.9 = 1.6
    # tau2 = (16.4 - 2) / 1.6 = 9; I2 = (16.4 - 2) / 16.4 = 0.878049
    # random weights 1/(1+9), 1/(1+9), 1/(2+9) = 0.1, 0.1, 1/11; sum = 3.2/11
    # pooled = (0.1*1 + 0.1*3 + 8/11) / (3.2/11) = (4.4/11 + 8/11) / (3.2/11) = 12.4 / 3.2 = 3.875
    # se = sqrt(11 / 3.2) = 1.854050
    r = pool([1, 3, 8], [1, 1, 2], "dl")
    assert r.method == RANDOM_EFFECTS
    assert r.councils == 3
    assert r.q == pytest.approx(16.4)
    assert r.tau2 == pytest.approx(9.0)
    assert r.i2 == pytest.approx(14.4 / 16.4)
    assert r.pooled == pytest.approx(3.875)
    assert r.se == pytest.approx(math.sqrt(11 / 3.2))
    assert r.ci_low == pytest.approx(3.875 - Z95 * math.sqrt(11 / 3.2))
    assert r.ci_high == pytest.approx(3.875 + Z95 * math.sqrt(11 / 3.2))

    f = pool([1, 3, 8], [1, 1, 2], "fixed")
    assert f.method == FIXED_EFFECT
    assert f.pooled == pytest.approx(3.2)
    assert f.se == pytest.approx(1 / math.sqrt(2.5))
    assert math.isnan(f.tau2)  # the fixed effect assumes no spread between councils
    assert f.i2 == pytest.approx(14.4 / 16.4)


# BCG trials (Colditz et al. 1994): vaccinated TB cases, vaccinated without TB, control cases, controls without
BCG = [
    (4, 119, 11, 128),
    (6, 300, 29, 274),
    (3, 228, 11, 209),
    (62, 13536, 248, 12619),
    (33, 5036, 47, 5761),
    (180, 1361, 372, 1079),
    (8, 2537, 10, 619),
    (505, 87886, 499, 87892),
    (29, 7470, 45, 7232),
    (17, 1699, 65, 1600),
    (186, 50448, 141, 27197),
    (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]


def test_published_example_bcg_trials():
    tp, tn, cp, cn = np.array(BCG, dtype=float).T
    y = np.log(tp / (tp + tn)) - np.log(cp / (cp + cn))  # log risk ratio
    v = 1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)
    r = pool(y, v, "dl")
    assert r.q == pytest.approx(152.2330, abs=5e-4)
    assert r.tau2 == pytest.approx(0.3088, abs=5e-5)
    assert r.i2 == pytest.approx(0.9212, abs=5e-5)
    assert r.pooled == pytest.approx(-0.7141, abs=5e-5)
    assert r.se == pytest.approx(0.1787, abs=5e-5)
    assert (r.ci_low, r.ci_high) == (pytest.approx(-1.0644, abs=5e-5), pytest.approx(-0.3638, abs=5e-5))
    f = pool(y, v, "fixed")
    assert (f.pooled, f.se) == (pytest.approx(-0.4303, abs=5e-5), pytest.approx(0.0405, abs=5e-5))
    assert (f.ci_low, f.ci_high) == (pytest.approx(-0.5097, abs=5e-5), pytest.approx(-0.3509, abs=5e-5))


def test_no_heterogeneity_random_equals_fixed():
    # y = 2, 4 with variances 4, 4: w = 0.25 each, fixed = 3, Q = 0.25*1 + 0.25*1 = 0.5 < 1 df
    # -> tau2 = max(0, (0.5 - 1) / C) = 0, I2 = 0; pooled 3, se = 1 / sqrt(0.5)
    r = pool([2, 4], [4, 4], "dl")
    assert (r.tau2, r.i2) == (0.0, 0.0)
    assert r.pooled == pytest.approx(3.0)
    assert r.se == pytest.approx(math.sqrt(2))
    same = pool([5, 5, 5], [1, 2, 3], "dl")  # identical effects: Q = 0
    assert (same.tau2, same.i2, same.pooled) == (0.0, 0.0, pytest.approx(5.0))


def test_large_heterogeneity():
    # y = 0, 10, 20, variances 1: fixed = 10, Q = 100 + 0 + 100 = 200 on 2 df, C = 3 - 3/3 = 2
    # tau2 = (200 - 2) / 2 = 99, I2 = 198/200 = 0.99; equal random weights 1/100: pooled 10,
    # se = sqrt(100 / 3) = 5.7735 (against the fixed effect's 1/sqrt(3) = 0.5774)
    r = pool([0, 10, 20], [1, 1, 1], "dl")
    assert r.tau2 == pytest.approx(99.0)
    assert r.i2 == pytest.approx(0.99)
    assert r.pooled == pytest.approx(10.0)
    assert r.se == pytest.approx(math.sqrt(100 / 3))
    assert pool([0, 10, 20], [1, 1, 1], "fixed").se == pytest.approx(1 / math.sqrt(3))


def test_paule_mandel_with_equal_variances_matches_the_spread():
    # with equal variances v, Paule-Mandel solves sum (y_i - mean)^2 / (v + tau2) = k - 1:
    # y = 0, 10, 20, v = 1 -> 200 / (1 + tau2) = 2 -> tau2 = 99 (the same as DerSimonian-Laird here)
    r = pool([0, 10, 20], [1, 1, 1], "paule-mandel")
    assert r.tau2 == pytest.approx(99.0, rel=1e-6)


def test_pool_refuses_what_cannot_be_pooled():
    with pytest.raises(ValueError):
        pool([1.0], [1.0])
    with pytest.raises(ValueError):
        pool([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        pool([1.0, 2.0], [1.0, 1.0], "reml")


def test_meta_table_groups_filters_and_labels():
    rows = pd.DataFrame(
        [
            # family, measure, statistic, wave, council, did, se, suppressed
            ["jobs", "s05", "agree", "12m", "A", 1.0, 1.0, False],
            ["jobs", "s05", "agree", "12m", "B", 3.0, 1.0, False],
            ["jobs", "s05", "agree", "12m", "C", 8.0, math.sqrt(2), False],
            ["jobs", "s05", "agree", "12m", "D", 50.0, 1.0, True],  # suppressed: not pooled
            ["jobs", "s05", "agree", "6m", "A", 2.0, 2.0, False],
            ["jobs", "s05", "agree", "6m", "B", 4.0, 2.0, False],
            ["jobs", "s05", "agree", "6m", "C", math.nan, math.nan, False],  # blank: not pooled
            ["jobs", "s06", "agree", "12m", "A", 1.0, 1.0, False],  # one council only: no row
        ],
        columns=["family", "measure", "statistic", "wave", "council", "did", "se", "suppressed"],
    )
    t = meta_table(rows)
    assert list(t.columns) == [
        "family",
        "measure",
        "statistic",
        "wave",
        "councils",
        "pooled",
        "se",
        "ci_low",
        "ci_high",
        "tau2",
        "i2",
        "method",
    ]
    assert t[["wave", "method"]].values.tolist() == [
        ["12m", RANDOM_EFFECTS],
        ["12m", FIXED_EFFECT],
        ["6m", RANDOM_EFFECTS],
        ["6m", FIXED_EFFECT],
    ]
    assert t["councils"].tolist() == [3, 3, 2, 2]
    assert t["pooled"].tolist() == pytest.approx([3.875, 3.2, 3.0, 3.0])  # the hand-worked cases above
    assert t.loc[0, "tau2"] == pytest.approx(9.0)


def test_wording_differences_leave_out_the_councils_that_differ_from_the_network():
    wording = pd.DataFrame(
        [
            ["Ashby", "s01", "aaa"],
            ["Brent", "s01", "aaa"],
            ["Corby", "s01", "bbb"],
            ["Ashby", "s02", "ccc"],
            ["Brent", "s02", "ccc"],
            ["Ashby", "s03", "xxx"],  # the network words s03 as "ddd": both councils differ from it
            ["Brent", "s03", "yyy"],
            ["Ashby", "s09", "eee"],  # s09 is not in the network's framework: the councils differ from each other
            ["Corby", "s09", "fff"],
            ["Ashby", "s10", "ggg"],  # nor s10, but the councils agree: nothing to leave out
            ["Brent", "s10", "ggg"],
        ],
        columns=["council", "measure", "sha256"],
    )
    reference = {"s01": "aaa", "s02": "ccc", "s03": "ddd"}
    d = wording_differences(wording, reference)
    assert d.values.tolist() == [["s01", ("Corby",)], ["s03", ("Ashby", "Brent")], ["s09", ("Ashby", "Corby")]]
    rows = wording.assign(did=range(len(wording)))
    kept = worded_as_reference(rows, d)
    assert list(zip(kept["council"], kept["measure"], strict=True)) == [
        ("Ashby", "s01"),
        ("Brent", "s01"),
        ("Ashby", "s02"),
        ("Brent", "s02"),
        ("Ashby", "s10"),
        ("Brent", "s10"),
    ]
