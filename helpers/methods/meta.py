"""Pooling councils' difference-in-differences across the network: a meta-analysis per measure and wave.

Each council measures the same statements the same way and computes its own difference-in-differences (DiD)
for a project; no council sees another's residents. What one council cannot see is whether its effect holds
elsewhere. Treating each council's DiD and its standard error as one study, the network pools them:

* **fixed effect** (inverse variance): every council estimates one common effect; weights ``w_i = 1 / v_i``,
  ``pooled = sum(w_i y_i) / sum(w_i)``, ``se = 1 / sqrt(sum(w_i))``. Right only when the councils' true
  effects are the same; labelled as such.
* **random effects** (DerSimonian and Laird 1986, the default): the councils' true effects differ, spread
  with variance ``tau2`` around the pooled effect. With Cochran's ``Q = sum(w_i (y_i - fixed)^2)`` on
  ``k - 1`` degrees of freedom and ``C = sum(w_i) - sum(w_i^2) / sum(w_i)``, ``tau2 = max(0, (Q - (k - 1)) /
  C)``; the weights become ``1 / (v_i + tau2)``. ``I2 = max(0, (Q - (k - 1)) / Q)`` is the share of the
  spread between councils that is more than chance (Higgins and Thompson 2002). Paule-Mandel (the iterated
  estimator statsmodels offers beside DerSimonian-Laird) is available as ``method="paule-mandel"``.

The arithmetic is ``statsmodels.stats.meta_analysis.combine_effects`` (checked against R's ``metafor``); this
module chooses what is pooled: a council's row enters only with a published DiD and a positive standard
error, a group needs at least two councils, and a council that words a measure differently from the network's
own framework is left out of that measure's pooling and named (:func:`wording_differences`), because a different
question is a different measure; the other councils' figures for it are still pooled.

``pool(effects, variances, method, confidence)``, ``meta_table(rows, methods, confidence)``,
``wording_differences(wording, reference)``, ``worded_as_reference(rows, differing)``
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

RANDOM_EFFECTS = "random effects (DerSimonian-Laird)"
PAULE_MANDEL = "random effects (Paule-Mandel)"
FIXED_EFFECT = "fixed effect (inverse variance)"
METHODS = {"dl": RANDOM_EFFECTS, "paule-mandel": PAULE_MANDEL, "fixed": FIXED_EFFECT}
"""The methods :func:`pool` offers, by the short name the command line takes, and the label a table shows."""

GROUP = ["family", "measure", "statistic", "wave"]
META_COLUMNS = [*GROUP, "councils", "pooled", "se", "ci_low", "ci_high", "tau2", "i2", "method"]
MINIMUM_COUNCILS = 2


@dataclass(frozen=True)
class Pooled:
    """One pooled estimate: the effect, its standard error and interval, the heterogeneity and the method."""

    councils: int
    pooled: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float  # blank (NaN) for the fixed effect, which assumes none
    i2: float  # share of the spread between councils beyond chance, 0 to 1
    q: float
    method: str


def pool(effects, variances, method: str = "dl", confidence: float = 0.95) -> Pooled:
    """Pool ``effects`` with sampling ``variances`` (one per council) by ``method`` (a key of :data:`METHODS`).

    Raises ``ValueError`` for fewer than two studies or a variance that is not positive: the callers filter
    those out first (:func:`meta_table`), so this is a programming error, not a user's."""
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.asarray(effects, dtype=float)
    v = np.asarray(variances, dtype=float)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if len(y) < MINIMUM_COUNCILS or len(y) != len(v):
        raise ValueError("pooling needs at least two effects, each with its variance")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("every effect needs a finite value and a positive variance")
    with np.errstate(divide="ignore", invalid="ignore"):  # its own I2 divides by zero when Q = 0; ours is below
        res = combine_effects(y, v, method_re="iterated" if method == "paule-mandel" else "dl", alpha=1 - confidence)
    q, df = float(res.q), len(y) - 1
    i2 = (q - df) / q if q > df else 0.0  # Q at or below its degrees of freedom: no spread beyond chance
    if method == "fixed":
        est, se, tau2 = float(res.mean_effect_fe), float(res.sd_eff_w_fe), math.nan
    else:
        # statsmodels 0.15 leaves DerSimonian-Laird's tau2 negative when Q < k - 1 (and weighs by it); the
        # estimator is truncated at zero, so the random-effects weights are made here from the truncated tau2
        tau2 = max(0.0, float(res.tau2))
        w = 1 / (v + tau2)
        est, se = float((w * y).sum() / w.sum()), float(1 / math.sqrt(w.sum()))
    z = _z(confidence)  # normal intervals, as metafor and the rest of the workbook give
    return Pooled(len(y), est, se, est - z * se, est + z * se, tau2, i2, q, METHODS[method])


def _z(confidence: float) -> float:
    """The two-sided normal critical value for ``confidence``."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def usable(rows: pd.DataFrame) -> pd.DataFrame:
    """The councils' rows that can be pooled: a published DiD (not suppressed, not blank) with a positive se."""
    ok = rows["did"].notna() & rows["se"].notna() & (rows["se"] > 0)
    if "suppressed" in rows:
        ok &= ~rows["suppressed"].fillna(False).astype(bool)
    return rows[ok]


def meta_table(
    rows: pd.DataFrame, methods: tuple[str, ...] = ("dl", "fixed"), confidence: float = 0.95
) -> pd.DataFrame:
    """The pooled table (:data:`META_COLUMNS`), a row per family x measure x statistic x wave x method.

    ``rows`` has one row per council x family x measure x statistic x wave with columns ``council, did, se``
    (and optionally ``suppressed``). A group with fewer than two councils whose DiD can be pooled has no
    row: one council's figure is its own, not the network's. Sorted by the group, then the methods' order."""
    out = []
    for key, group in usable(rows).groupby(GROUP, sort=True):
        if group["council"].nunique() != len(group):
            raise ValueError(f"a council appears twice in {key}")
        if len(group) < MINIMUM_COUNCILS:
            continue
        for m in methods:
            p = pool(group["did"], group["se"] ** 2, m, confidence)
            out.append([*key, p.councils, p.pooled, p.se, p.ci_low, p.ci_high, p.tau2, p.i2, p.method])
    return pd.DataFrame(out, columns=META_COLUMNS).astype({"councils": "int64"})


def wording_differences(wording: pd.DataFrame, reference: Mapping[str, str]) -> pd.DataFrame:
    """The councils left out of a measure's pooling because they word it differently from ``reference`` (the
    network's own framework: measure -> the sha256 of its wording, :func:`helpers.store.returns.wording_hashes`).

    ``wording`` has a row per council x measure with its wording's hash (``council, measure, sha256``). A measure
    the reference does not hold has no wording to pool to: when the councils word it differently, each is left
    out. Returns ``measure, councils`` (a tuple of the councils left out, in order), a row per measure with any, in
    order of measure."""
    out = []
    for measure, group in wording.groupby("measure", sort=True):
        expected = reference.get(measure)
        if expected is None:
            differ = group["council"] if group["sha256"].nunique() > 1 else group["council"].iloc[:0]
        else:
            differ = group.loc[group["sha256"] != expected, "council"]
        if len(differ):
            out.append([measure, tuple(sorted(set(differ)))])
    return pd.DataFrame(out, columns=["measure", "councils"])


def worded_as_reference(rows: pd.DataFrame, differing: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (a row per council and measure, among others) without those :func:`wording_differences` left out."""
    left_out = {(c, m) for m, cs in zip(differing["measure"], differing["councils"], strict=True) for c in cs}
    keep = [(c, m) not in left_out for c, m in zip(rows["council"], rows["measure"], strict=True)]
    return rows[keep]


def areas_together(cells: pd.DataFrame, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Each group's neighbourhoods (one council's pilot or comparison areas at a wave) as one figure.

    ``cells`` has a row per neighbourhood with ``by`` and ``estimate, se, base_n``; a row whose estimate is blank
    (held back, or missing) makes its group's figure blank: a figure from some of the neighbourhoods would be of
    another place. A return holds each neighbourhood's published estimate, se and number of answers but not its
    population, so the network weighs each neighbourhood by its answers (``p_j = n_j / sum(n)``): ``estimate =
    sum(p_j est_j)``, ``se = sqrt(sum(p_j^2 se_j^2))`` (neighbourhoods independent), a normal interval. A
    council's own DiD weighs by adults instead, so this figure can differ a little from its reports'.

    Returns ``by`` and ``areas, answers, estimate, se, ci_low, ci_high, shown``, a row per group."""
    n = cells["base_n"].astype(float)
    usable = cells["estimate"].notna() & cells["se"].notna() & (n > 0)
    parts = cells[by].assign(
        usable=usable.astype(int),
        n=n.where(usable, 0.0),
        n_est=(n * cells["estimate"]).where(usable, 0.0),
        n2_var=(n**2 * cells["se"] ** 2).where(usable, 0.0),
    )
    sums = parts.groupby(by, sort=True, dropna=False).agg(
        areas=("usable", "size"), usable=("usable", "sum"), n=("n", "sum"), n_est=("n_est", "sum"),
        n2_var=("n2_var", "sum"),
    )  # fmt: skip
    shown = (sums["usable"] == sums["areas"]) & (sums["n"] > 0)
    total = sums["n"].where(shown)
    estimate, se = sums["n_est"] / total, np.sqrt(sums["n2_var"]) / total
    z = _z(confidence)
    out = pd.DataFrame(
        {
            "areas": sums["areas"],
            "answers": total,
            "estimate": estimate,
            "se": se,
            "ci_low": estimate - z * se,
            "ci_high": estimate + z * se,
            "shown": shown,
        }
    )
    return out.reset_index()
