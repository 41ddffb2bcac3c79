"""Statistics for paired answers (the same people before and after) and for a family of tests.

Pure functions of numbers: no data access, no words for readers. The financial-resilience check
(:mod:`helpers.evidence.resilience`) uses the paired tests; the ripple (:mod:`helpers.evidence.ripple`)
uses Holm's rule to count clear results within an outcome.

``wilcoxon_paired(before, after, confidence)``, ``hodges_lehmann(differences, confidence)``,
``rank_biserial(differences)``, ``mcnemar_paired(before, after, confidence)``,
``newcombe_paired_interval(both, only_before, only_after, neither, confidence)``, ``holm_clear(p_values, alpha)``
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .estimates import normal_quantile, wilson_interval


def holm_clear(p_values, alpha: float) -> np.ndarray:
    """Holm's step-down rule: which of a family of p-values are clear at family-wise level ``alpha``.

    Sort the k p-values; the j-th smallest (j = 1..k) is clear if it and every smaller one satisfy
    ``p_(i) <= alpha / (k - i + 1)``. Missing p-values are never clear and do not count in k.
    """
    p = np.asarray(p_values, dtype=float)
    clear = np.zeros(len(p), dtype=bool)
    tested = np.flatnonzero(~np.isnan(p))
    k = len(tested)
    for rank, i in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        if p[i] > alpha / (k - rank):
            break
        clear[i] = True
    return clear


def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation: (T+ - T-) / (T+ + T-) on the non-zero differences.

    Ranks are of the absolute differences, ties sharing the average rank (Kerby 2014). +1: every change
    is an increase; -1: every change a decrease.
    """
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d) & (d != 0)]
    if not len(d):
        return math.nan
    ranks = pd.Series(np.abs(d)).rank(method="average").to_numpy()
    plus, minus = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((plus - minus) / (plus + minus))


def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of the 2^n sign patterns giving each signed-rank sum T+ = 0 .. n(n+1)/2 (no ties)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=float)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def hodges_lehmann(differences, confidence: float) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate of the typical (pseudo-median) difference, with its distribution-free interval.

    Estimate: the median of the Walsh averages ``(d_i + d_j) / 2, i <= j`` (zeros included). Interval:
    the ``C``-th smallest and ``C``-th largest Walsh average, ``C`` the largest count with
    ``P(T+ <= C - 1) <= (1 - confidence) / 2`` under the signed-rank null distribution (exact for up to
    60 differences, the normal approximation above; Hollander & Wolfe, Nonparametric Statistical
    Methods, 3.2). Returns (estimate, low, high); NaN ends when the sample is too small for the level.
    """
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    n = len(d)
    if not n:
        return math.nan, math.nan, math.nan
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    estimate = float(np.median(walsh))
    m = len(walsh)
    alpha = 1 - confidence
    if n <= 60:
        cdf = np.cumsum(_signed_rank_counts(n)) / 2.0**n
        c = int(np.searchsorted(cdf, alpha / 2, side="right"))  # number of t with P(T <= t) <= alpha/2
    else:
        z = normal_quantile(1 - alpha / 2)
        c = int(math.floor(m / 2 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    if c < 1:
        return estimate, math.nan, math.nan
    return estimate, float(walsh[c - 1]), float(walsh[m - c])


def wilcoxon_paired(before, after, confidence: float) -> dict:
    """Wilcoxon signed-rank test of after - before, with the rank-biserial effect size and HL interval.

    Pairs with a blank side are dropped; zero differences are dropped for the test and the effect size
    (Wilcoxon's convention, scipy's ``zero_method='wilcox'``) but kept in the Hodges-Lehmann estimate.
    scipy chooses the exact null distribution for small samples without ties and the normal
    approximation otherwise. Returns n_pairs, n_changed, median_before, median_after, statistic (T+),
    p_value, rank_biserial, estimate, ci_low, ci_high.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    keep = ~np.isnan(b) & ~np.isnan(a)
    b, a = b[keep], a[keep]
    d = a - b
    nonzero = d[d != 0]
    out = {
        "n_pairs": int(len(d)),
        "n_changed": int(len(nonzero)),
        "median_before": float(np.median(b)) if len(b) else math.nan,
        "median_after": float(np.median(a)) if len(a) else math.nan,
    }
    if len(nonzero):
        ranks = pd.Series(np.abs(nonzero)).rank(method="average").to_numpy()
        out["statistic"] = float(ranks[nonzero > 0].sum())
        from scipy.stats import wilcoxon  # only the resilience check needs it

        out["p_value"] = float(wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided").pvalue)
    else:
        out["statistic"], out["p_value"] = math.nan, math.nan
    out["rank_biserial"] = rank_biserial(d)
    out["estimate"], out["ci_low"], out["ci_high"] = hodges_lehmann(d, confidence)
    return out


def _wilson(yes: int, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson interval of ``yes`` out of ``n`` (:func:`helpers.methods.estimates.wilson_interval`), as floats."""
    low, high = wilson_interval(yes / n, n, confidence)
    return float(low), float(high)


def newcombe_paired_interval(
    both: int, only_before: int, only_after: int, neither: int, confidence: float
) -> tuple[float, float, float]:
    """Change in a paired share (after - before) with Newcombe's (1998) hybrid score interval (method 10).

    ``both`` said yes at both stages, ``only_before`` yes before only, ``only_after`` yes after only,
    ``neither`` yes at neither. Wilson intervals for the two shares are combined allowing for the
    correlation of the pairs (phi, with Newcombe's continuity adjustment). Returns (change, low, high).
    """
    n = both + only_before + only_after + neither
    p_before, p_after = (both + only_before) / n, (both + only_after) / n
    l1, u1 = _wilson(both + only_before, n, confidence)
    l2, u2 = _wilson(both + only_after, n, confidence)
    margins = (both + only_before) * (only_after + neither) * (both + only_after) * (only_before + neither)
    phi = 0.0
    if margins > 0:
        a = both * neither - only_before * only_after
        phi = (a - n / 2) / math.sqrt(margins) if a > n / 2 else (0.0 if a >= 0 else a / math.sqrt(margins))
    change = p_after - p_before
    low = change - math.sqrt(
        max((p_after - l2) ** 2 - 2 * phi * (p_after - l2) * (u1 - p_before) + (u1 - p_before) ** 2, 0)
    )
    high = change + math.sqrt(
        max((u2 - p_after) ** 2 - 2 * phi * (u2 - p_after) * (p_before - l1) + (p_before - l1) ** 2, 0)
    )
    return change, max(low, -1.0), min(high, 1.0)


def mcnemar_paired(before, after, confidence: float) -> dict:
    """McNemar's exact test for a yes/no answer given before and after (True = yes).

    The p-value is the two-sided exact binomial test on the discordant pairs: ``min(1, 2 P(X <= min(b, c)))``
    with X ~ Binomial(b + c, 1/2). Returns n_pairs, share_before, share_after, only_before (b),
    only_after (c), change (share after - before), ci_low, ci_high (Newcombe), p_value.
    """
    b_ = pd.array(before, dtype="boolean")
    a_ = pd.array(after, dtype="boolean")
    keep = ~(b_.isna() | a_.isna())
    b_, a_ = np.asarray(b_[keep], dtype=bool), np.asarray(a_[keep], dtype=bool)
    both, only_before = int((b_ & a_).sum()), int((b_ & ~a_).sum())
    only_after, neither = int((~b_ & a_).sum()), int((~b_ & ~a_).sum())
    n = both + only_before + only_after + neither
    out = {"n_pairs": n, "only_before": only_before, "only_after": only_after}
    if not n:
        return out | dict.fromkeys(("share_before", "share_after", "change", "ci_low", "ci_high", "p_value"), math.nan)
    discordant = only_before + only_after
    k = min(only_before, only_after)
    tail = sum(math.comb(discordant, i) for i in range(k + 1)) / 2.0**discordant if discordant else 1.0
    change, low, high = newcombe_paired_interval(both, only_before, only_after, neither, confidence)
    return out | {
        "share_before": (both + only_before) / n,
        "share_after": (both + only_after) / n,
        "change": change,
        "ci_low": low,
        "ci_high": high,
        "p_value": min(1.0, 2 * tail),
    }
