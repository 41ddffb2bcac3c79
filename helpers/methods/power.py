"""Sample size and power for a change in a statement's share agreeing: pure arithmetic, no files.

The question a council asks before a baseline is "how many responses do we need?", and during the
project "what change could the responses we have show?". Both are answered here for the two designs the
workbook reports (docs/method.md, "Sample size"):

- ``did``, difference-in-differences: four independent samples, pilot and comparison areas, each at the
  baseline and at a later wave. The pilot's share moves by ``change``; the comparison areas' share does
  not (the change the project should make over and above the trend).
- ``before-after``: two independent samples, the pilot areas at the baseline and at a later wave.

The formula (the textbook's variance sum, e.g. Lohr, *Sampling: Design and Analysis*, and the
Fleiss "without continuity correction" formula for two proportions)::

    n = deff x (z_(1-a/2) + z_(1-b))^2 x sum_i p_i (1 - p_i) / D^2

is the number of responses in *each* of the samples (each role at each wave), where ``p_i`` are the
samples' shares agreeing (baseline ``p``; ``p + D`` for the pilot's later wave), ``D`` the change,
``deff`` the design effect of the weighting (Kish's, from the raking; 1 for a simple random sample),
``a`` one minus the confidence level and ``1 - b`` the power. The arithmetic is done by statsmodels'
``NormalIndPower`` (a two-sided z test) on the standardised effect ``D / sqrt(deff x sum / 2)``, which is
this formula (statsmodels also counts the far tail and solves numerically: a few thousandths of a response
fewer).

Not Cohen's h: statsmodels' ``proportion_effectsize`` measures a change as ``2 asin(sqrt(p2)) -
2 asin(sqrt(p1))``, which gives a few responses more or fewer (385 before the design effect for 50% ->
60% by the variance sum, 388 by Cohen's h). :func:`responses_needed_cohens_h` gives that figure too, for
comparison; the workbook plans with the variance sum because it is the variance the reports' tests use.

Every function returns unrounded numbers: the caller rounds a number of responses *up*
(:func:`round_up`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

DESIGNS = {"did": 4, "before-after": 2}
DEFAULT_POWER = 0.80  # the chance of finding a real change that plans and reports assume
"""Each design and how many independent samples it compares."""

DESIGN_WORDS = {
    "did": "difference-in-differences (pilot and comparison areas, each at the baseline and the later wave)",
    "before-after": "before and after (the pilot areas at the baseline and the later wave)",
}


def check_inputs(
    baseline: float,
    change: float | None = None,
    *,
    design: str = "did",
    confidence: float = 0.95,
    power: float = 0.80,
    design_effect: float = 1.0,
) -> None:
    """ValueError with a plain reason for a value outside its range (the CLI turns it into a message)."""
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}; got {design!r}")
    if not 0 < baseline < 1:
        raise ValueError(f"the baseline share must be between 0 and 1 (e.g. 0.5 for 50%); got {baseline:g}")
    if change is not None:
        if not 0 < abs(change) < 1:
            raise ValueError(f"the change must be a proportion between 0 and 1 (0.10 = 10 points); got {change:g}")
        if not 0 < baseline + change < 1:
            raise ValueError(
                f"a baseline share of {baseline:.0%} cannot change by {change * 100:+.0f} points "
                "(it would leave 0-100%)"
            )
    if not 0.5 <= confidence < 1:
        raise ValueError(f"the confidence level must be between 0.5 and 1 (e.g. 0.95); got {confidence:g}")
    if not 0.5 <= power < 1:
        raise ValueError(f"the power must be between 0.5 and 1 (e.g. 0.80); got {power:g}")
    if not design_effect >= 1:
        raise ValueError(f"the design effect must be 1 or more (1 = a simple random sample); got {design_effect:g}")


def z_values(confidence: float = 0.95, power: float = 0.80) -> tuple[float, float]:
    """``(z_(1-a/2), z_(1-b))``: 1.96 and 0.84 at 95% confidence and 80% power."""
    from scipy.stats import norm

    return float(norm.ppf(1 - (1 - confidence) / 2)), float(norm.ppf(power))


def shares(baseline: float, change: float, design: str = "did") -> tuple[float, ...]:
    """The samples' shares agreeing: (pilot before, pilot after[, comparison before, comparison after])."""
    pilot = (baseline, baseline + change)
    return pilot + ((baseline, baseline) if DESIGNS[design] == 4 else ())


def variance_sum(baseline: float, change: float, design: str = "did") -> float:
    """``sum_i p_i (1 - p_i)`` over the design's samples."""
    return sum(p * (1 - p) for p in shares(baseline, change, design))


def textbook_responses(
    baseline: float,
    change: float,
    *,
    design: str = "did",
    confidence: float = 0.95,
    power: float = 0.80,
    design_effect: float = 1.0,
) -> float:
    """The closed formula ``deff (z_a + z_b)^2 sum p(1-p) / D^2`` (responses per sample, unrounded)."""
    z_a, z_b = z_values(confidence, power)
    return design_effect * (z_a + z_b) ** 2 * variance_sum(baseline, change, design) / change**2


def _standardised(change: float, spread: float) -> float:
    """The effect size NormalIndPower expects for two equal samples: ``D / sqrt(spread / 2)``."""
    return abs(change) / math.sqrt(spread / 2)


def _solver():
    from statsmodels.stats.power import NormalIndPower

    return NormalIndPower()


def responses_needed(
    baseline: float,
    change: float,
    *,
    design: str = "did",
    confidence: float = 0.95,
    power: float = 0.80,
    design_effect: float = 1.0,
) -> float:
    """Responses needed in each sample (each role at each wave) to detect ``change`` (unrounded).

    Solved by statsmodels' NormalIndPower on the variance sum (the module's docstring); within a hundredth of a
    response of :func:`textbook_responses`.
    """
    check_inputs(baseline, change, design=design, confidence=confidence, power=power, design_effect=design_effect)
    spread = design_effect * variance_sum(baseline, change, design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = _solver().solve_power(
            effect_size=_standardised(change, spread), alpha=1 - confidence, power=power, ratio=1.0
        )
    return float(n)


def responses_needed_cohens_h(
    baseline: float, change: float, *, confidence: float = 0.95, power: float = 0.80, design_effect: float = 1.0
) -> float:
    """Before-and-after only: statsmodels' Cohen's h route (``proportion_effectsize``), times the design effect.

    Shown for comparison: a few responses away from :func:`responses_needed` (the module's docstring).
    """
    from statsmodels.stats.proportion import proportion_effectsize

    check_inputs(baseline, change, design="before-after", confidence=confidence, power=power)
    h = abs(float(proportion_effectsize(baseline + change, baseline)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = _solver().solve_power(effect_size=h, alpha=1 - confidence, power=power, ratio=1.0)
    return float(n) * design_effect


def _per_sample(responses: float | Sequence[float], design: str) -> tuple[float, ...]:
    """Each sample's responses: one number for all, or one per sample in :func:`shares`' order."""
    k = DESIGNS[design]
    if isinstance(responses, int | float):
        values = (float(responses),) * k
    else:
        values = tuple(float(r) for r in responses)
        if len(values) != k:
            raise ValueError(f"{design} compares {k} samples; got {len(values)} numbers of responses")
    if any(not v > 0 for v in values):
        raise ValueError("every sample needs at least one response")
    return values


def standard_error(
    baseline: float,
    change: float,
    responses: float | Sequence[float],
    *,
    design: str = "did",
    design_effect: float = 1.0,
) -> float:
    """Standard error of the estimated change: ``sqrt(deff sum_i p_i (1 - p_i) / n_i)``."""
    counts = _per_sample(responses, design)
    terms = (p * (1 - p) / n for p, n in zip(shares(baseline, change, design), counts, strict=True))
    return math.sqrt(design_effect * sum(terms))


def power_of(
    baseline: float,
    change: float,
    responses: float | Sequence[float],
    *,
    design: str = "did",
    confidence: float = 0.95,
    design_effect: float = 1.0,
) -> float:
    """The chance of a clear result (at ``confidence``) when the true change is ``change``."""
    se = standard_error(baseline, change, responses, design=design, design_effect=design_effect)
    # statsmodels' power for two equal samples of n1 at effect d is Phi(d sqrt(n1/2) - z) + Phi(-d sqrt(n1/2) - z);
    # an effect of D / (se sqrt(n1 / 2)) at any n1 gives exactly D / se there.
    n1 = 2.0
    return float(_solver().power(effect_size=abs(change) / se / math.sqrt(n1 / 2), nobs1=n1, alpha=1 - confidence))


def detectable_change(
    baseline: float,
    responses: float | Sequence[float],
    *,
    design: str = "did",
    confidence: float = 0.95,
    power: float = 0.80,
    design_effect: float = 1.0,
) -> float:
    """The smallest rise in the share agreeing the responses would show as clear with ``power`` (a proportion).

    ``responses``: one number for every sample, or one per sample (pilot before, pilot after[, comparison
    before, comparison after]). Returns NaN when no rise up to 100% would be found that often.
    """
    from scipy.optimize import brentq

    check_inputs(baseline, design=design, confidence=confidence, power=power, design_effect=design_effect)
    _per_sample(responses, design)
    top = 1 - baseline - 1e-9

    def gap(change: float) -> float:
        return (
            power_of(baseline, change, responses, design=design, confidence=confidence, design_effect=design_effect)
            - power
        )

    if gap(top) < 0:
        return math.nan
    return float(brentq(gap, 1e-9, top, xtol=1e-10))


def detectable_change_approx(
    responses: Sequence[float],
    *,
    baseline: float = 0.5,
    confidence: float = 0.95,
    power: float = 0.80,
    design_effect: float = 1.0,
) -> float:
    """The smallest change in a share detectable with these independent samples, by the normal approximation
    with every sample at the ``baseline`` share: ``(z_a + z_b) sqrt(deff sum p(1-p)/n_i)``. Closed form and
    standard library only (a report states it without loading SciPy); :func:`detectable_change` solves the
    exact version."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2) + NormalDist().inv_cdf(power)
    return z * math.sqrt(design_effect * sum(baseline * (1 - baseline) / n for n in responses))


def round_up(responses: float) -> int:
    """A number of responses, rounded up (a hair over a whole number is not a response more)."""
    return int(math.ceil(responses - 1e-9))


def allocate(total: int, populations: Sequence[float]) -> list[int]:
    """Share ``total`` responses out in proportion to ``populations``, each rounded up (so they add to at least
    ``total``). Proportional allocation keeps the population-weighted pool as precise as a simple random sample
    of the role; with no population figures (all zero) the responses are shared equally."""
    pops = [max(float(p), 0.0) for p in populations]
    if not pops:
        return []
    whole = sum(pops)
    weights = [p / whole for p in pops] if whole > 0 else [1 / len(pops)] * len(pops)
    return [round_up(total * w) for w in weights]
