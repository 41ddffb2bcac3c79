"""helpers.methods.paired: the paired tests of the financial-resilience check and Holm's rule, against hand values
and a published example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.methods import paired

# --- Holm -------------------------------------------------------------------------------------------


def test_holm_step_down_by_hand():
    # k = 3 tested: 0.01 <= 0.05/3 clear; next 0.03 > 0.05/2 stops; the blank one is never clear.
    assert paired.holm_clear([0.01, 0.04, 0.03, np.nan], 0.05).tolist() == [True, False, False, False]
    # 0.01 <= 0.05/3, 0.02 <= 0.05/2, 0.04 <= 0.05/1: all clear.
    assert paired.holm_clear([0.04, 0.01, 0.02], 0.05).tolist() == [True, True, True]
    assert paired.holm_clear([np.nan], 0.05).tolist() == [False]


def test_rank_biserial_by_hand():
    # |d| of the non-zero differences 1, 2, -1, 3, 2: ranks 1.5, 3.5, 1.5, 5, 3.5; T+ = 13.5, T- = 1.5.
    assert paired.rank_biserial([1, 2, -1, 3, 0, 2]) == pytest.approx((13.5 - 1.5) / 15)
    assert paired.rank_biserial([0, 0]) != paired.rank_biserial([0, 0])  # NaN: nobody changed


def test_wilcoxon_exact_p_value_by_enumeration():
    before = np.zeros(8)
    after = np.array([1.5, 2.0, -0.5, 3.0, 2.5, 4.0, -1.0, 3.5])
    # Ranks of |d|: 0.5->1, 1.0->2, ...: T- = 1 + 2 = 3. Sign patterns of ranks 1..8 with sum <= 3:
    # {}, {1}, {2}, {3}, {1,2}: 5 of 256, so the two-sided exact p-value is 2 * 5 / 256.
    out = paired.wilcoxon_paired(before, after, 0.95)
    assert out["n_pairs"] == 8 and out["statistic"] == 33
    assert out["p_value"] == pytest.approx(10 / 256)
    assert out["rank_biserial"] == pytest.approx((33 - 3) / 36)


def test_signed_rank_null_counts_by_hand():
    assert paired._signed_rank_counts(3).tolist() == [1, 1, 1, 2, 1, 1, 1]
    assert paired._signed_rank_counts(4).tolist() == [1, 1, 1, 2, 2, 2, 2, 2, 1, 1, 1]


def test_hodges_lehmann_by_hand():
    # Walsh averages of 1, 2, 4: 1, 1.5, 2.5, 2, 3, 4 -> sorted 1, 1.5, 2, 2.5, 3, 4; median 2.25.
    est, low, high = paired.hodges_lehmann([1, 2, 4], 0.75)
    assert est == pytest.approx(2.25)
    # n = 3: P(T+ <= 0) = 1/8 = 0.125 <= (1 - 0.75)/2, so C = 1: the smallest and largest Walsh averages.
    assert (low, high) == (1.0, 4.0)
    est, low, high = paired.hodges_lehmann([1, 2, 4], 0.95)
    assert math.isnan(low) and math.isnan(high)  # three pairs cannot give a 95% interval


def test_mcnemar_exact_p_value_by_hand():
    # 6 said yes only before, 16 yes only after: p = 2 * sum_{i<=6} C(22, i) / 2^22.
    before = [True] * 59 + [True] * 6 + [False] * 16 + [False] * 80
    after = [True] * 59 + [False] * 6 + [True] * 16 + [False] * 80
    out = paired.mcnemar_paired(before, after, 0.95)
    assert out["n_pairs"] == 161 and out["only_before"] == 6 and out["only_after"] == 16
    assert out["p_value"] == pytest.approx(2 * 110056 / 2**22)
    assert out["change"] == pytest.approx(10 / 161)


def test_newcombe_interval_matches_the_published_example():
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), chapter 8 (Cavo et al.):
    # table 59, 6 / 16, 80 gives -0.0621 (95% CI -0.1186 to -0.0046) for the first minus the second share.
    change, low, high = paired.newcombe_paired_interval(59, 6, 16, 80, 0.95)
    assert change == pytest.approx(0.0621, abs=5e-5)
    assert low == pytest.approx(0.0046, abs=5e-5)
    assert high == pytest.approx(0.1186, abs=5e-5)
