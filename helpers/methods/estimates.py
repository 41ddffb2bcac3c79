"""Survey estimates, change against baseline and difference-in-differences.

Public functions and their tidy outputs (docs/method.md explains the method in plain English):

``scores(responses, population, framework, *, require_weights=True)``
    One row per neighbourhood x wave x measure x statistic x weighted, columns::

        neighbourhood, wave, measure, statistic, base_n, effective_n, estimate, se,
        ci_low, ci_high, weighted, suppressed, low_base

    ``measure`` is ``s01``..``s17`` (statistics ``agree``, ``disagree``, ``mean``),
    ``general_health`` (``good``) or ``happiness`` (``mean``, ``low``, ``very_high``). Shares are
    proportions in [0, 1]. ``base_n`` is the number who answered the item. Sorted by
    neighbourhood, wave (framework order), measure (instrument order), statistic (the order
    above), weighted (unweighted first). A suppressed row (base below the minimum) keeps
    ``base_n`` and blanks ``effective_n, estimate, se, ci_low, ci_high``.

``change(scores_df, framework)``
    Each later wave against the baseline, per neighbourhood x measure x statistic x weighted::

        neighbourhood, measure, statistic, wave, baseline, estimate, baseline_estimate,
        difference, se, ci_low, ci_high, p_value, significant, weighted, suppressed

    ``se = sqrt(se_wave^2 + se_baseline^2)`` (independent samples), normal-theory interval and
    two-sided p-value; ``significant`` when ``p_value < 1 - confidence_level``. ``suppressed``
    when either side is suppressed; then the difference, se, interval, p-value and
    significance are blank. A row exists only when both waves have scores.

``did(scores_df, population, areas, project_id, framework)``
    Difference-in-differences for one project, weighted estimates only::

        project, measure, statistic, wave, pilot_change, pilot_se, comparison_change,
        comparison_se, did, se, ci_low, ci_high, p_value, significant, design, suppressed,
        pilot_areas, comparison_areas, left_out

    Pilot (and comparison) neighbourhoods are pooled with weights equal to their share of the
    role's adult population; ``did = pilot_change - comparison_change``. ``design`` is
    ``difference-in-differences``, or ``before-and-after`` when the project has no comparison
    neighbourhoods (then ``did`` is the pilot change and the comparison columns are blank).
    A neighbourhood suppressed or without an estimate at the wave or the baseline is left out of
    its role's pool for that row (``pilot_areas``, ``comparison_areas``: the ``;``-separated ids
    pooled; ``left_out``: those left out). ``suppressed`` is True when a role has no usable
    neighbourhood: the row's figures are then blank.

``wilson_interval(p, n_eff, confidence)``
    Wilson score interval, vectorised.

Notes for tables: ``INTERVAL_NOTE``, ``PARALLEL_TRENDS_NOTE``, ``BEFORE_AFTER_NOTE`` and
``interval_note(framework)`` (the interval note with the confidence level and bases filled in).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import Framework, Instrument
from . import weights

SCORE_COLUMNS = (
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
)
CHANGE_COLUMNS = (
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
)
DID_COLUMNS = (
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
)
DIFFERENCE_IN_DIFFERENCES = "difference-in-differences"
BEFORE_AND_AFTER = "before-and-after"

INTERVAL_NOTE = (
    "Each range is a confidence interval: ranges worked out this way would contain the true "
    "figure for the whole neighbourhood in the stated share of repeated surveys, so a range shows "
    "how far the figure could be from the truth because only some residents answered. For shares "
    "(such as % agreeing) the range is a Wilson score interval on the effective sample size, "
    "which allows for the weighting; for averages and for changes it is the estimate plus or "
    "minus the normal multiple of its standard error. Standard errors allow for the weighting "
    "to the population."
)
PARALLEL_TRENDS_NOTE = (
    "Difference-in-differences compares the change in the pilot neighbourhoods with the change "
    "in the comparison neighbourhoods over the same time. It rests on one assumption: that "
    "without the project, residents' answers in the pilot neighbourhoods would have moved in "
    "the same way as in the comparison neighbourhoods (parallel trends). Changes that affect "
    "everywhere alike, such as the economy or the season, then cancel out. If something else "
    "happened only in the pilot or only in the comparison neighbourhoods, the figure would "
    "wrongly count it as the project's effect."
)
BEFORE_AFTER_NOTE = (
    "This project has no comparison neighbourhoods, so the figures are the change in the pilot "
    "neighbourhoods since the baseline (before and after). A change may be the project's doing, "
    "but it may also come from anything else that changed over the same time, such as the "
    "economy, the season or local events; without comparison neighbourhoods these cannot be "
    "told apart. Treat the change as a description, not as proof of the project's effect."
)


def interval_note(framework: Framework) -> str:
    """:data:`INTERVAL_NOTE` with the confidence level and the base thresholds stated."""
    th = framework.settings.thresholds
    return (
        f"Intervals are {th.confidence_level:.0%} confidence intervals. {INTERVAL_NOTE} Figures "
        f"from fewer than {th.minimum_base} answers are not shown; fewer than {th.low_base} "
        "answers are flagged as a low base."
    )


# --- intervals ----------------------------------------------------------------------------------


def normal_quantile(p: float) -> float:
    """The standard normal quantile (``scipy.stats.norm.ppf``), from the standard library.

    Report kernels avoid importing SciPy for two normal-distribution functions: its import is a
    noticeable share of each report's cost. ``tests/test_estimates.py`` checks both against SciPy.
    """
    return NormalDist().inv_cdf(p)


def two_sided_p(z) -> np.ndarray:
    """Two-sided normal p-value ``2 * (1 - Phi(|z|)) = erfc(|z| / sqrt 2)``, vectorised; NaN stays NaN."""
    z = np.abs(np.asarray(z, dtype=float))
    return np.vectorize(math.erfc, otypes=[float])(z / math.sqrt(2))


def _z(confidence: float) -> float:
    return normal_quantile(0.5 + confidence / 2)


def wilson_interval(p, n_eff, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportions ``p`` from (effective) sample sizes ``n_eff``.

    ``(p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z`` the normal quantile
    for ``confidence`` (0.95 -> 1.96). Vectorised; NaN where ``p`` or ``n_eff`` is missing or
    ``n_eff`` is not positive. Returns ``(low, high)`` arrays clipped to [0, 1].
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n_eff, dtype=float)
    z2 = _z(confidence) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.where(n > 0, n, np.nan)
        denominator = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = np.sqrt(z2) * np.sqrt(p * (1 - p) / n + z2 / (4 * n**2)) / denominator
    low = np.where(p == 0, 0.0, np.clip(centre - half, 0, 1))  # exact ends at p = 0 and 1
    high = np.where(p == 1, 1.0, np.clip(centre + half, 0, 1))
    return np.where(np.isnan(centre), np.nan, low), np.where(np.isnan(centre), np.nan, high)


# --- scores -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    """One statistic of one measure: ``y`` is its value for each answer code."""

    measure: str
    statistic: str
    kind: str  # "share" or "mean"
    y: np.ndarray


@dataclass(frozen=True)
class Measure:
    id: str
    codes: np.ndarray  # the allowed answer codes, ascending
    statistics: tuple[Statistic, ...]


def measures(instrument: Instrument) -> tuple[Measure, ...]:
    """The measures ``scores`` reports, in instrument order, built from the framework."""

    def codes_of(scale) -> np.ndarray:
        return np.array(sorted(int(c.code) for c in scale), dtype=float)

    def share(measure: str, name: str, codes: np.ndarray, chosen) -> Statistic:
        return Statistic(measure, name, "share", np.isin(codes, list(chosen)).astype(float))

    def between(ends: tuple[int, int]) -> range:
        return range(ends[0], ends[1] + 1)

    st, gh, hp = instrument.statements, instrument.general_health, instrument.happiness
    agreement, health = codes_of(st.scale), codes_of(gh.scale)
    happy = np.arange(hp.min, hp.max + 1, dtype=float)
    out = [
        Measure(
            sid,
            agreement,
            (
                share(sid, "agree", agreement, st.agree_codes),
                share(sid, "disagree", agreement, st.disagree_codes),
                Statistic(sid, "mean", "mean", agreement),
            ),
        )
        for sid in instrument.statement_ids
    ]
    out.append(Measure(gh.id, health, (share(gh.id, "good", health, gh.good_codes),)))
    out.append(
        Measure(
            hp.id,
            happy,
            (
                Statistic(hp.id, "mean", "mean", happy),
                share(hp.id, "low", happy, between(hp.low)),
                share(hp.id, "very_high", happy, between(hp.very_high)),
            ),
        )
    )
    return tuple(out)


def _order(instrument: Instrument) -> dict[tuple[str, str], int]:
    """Sort rank of every (measure, statistic) pair."""
    pairs = [(s.measure, s.statistic) for m in measures(instrument) for s in m.statistics]
    return {pair: i for i, pair in enumerate(pairs)}


def _answer_positions(responses: pd.DataFrame, measure: Measure) -> np.ndarray:
    """0 for no answer, else 1 + the position of the answer among the measure's codes."""
    values = weights._numeric(responses[measure.id], f"survey responses: column {measure.id}")
    answered = ~np.isnan(values)
    low, high = int(measure.codes[0]), int(measure.codes[-1])
    lookup = np.full(high - low + 2, -1, dtype=np.int64)  # last slot: anything out of range
    lookup[measure.codes.astype(np.int64) - low] = np.arange(len(measure.codes))
    whole = answered & (values == np.floor(values)) & (values >= low) & (values <= high)
    slot = np.where(whole, np.where(whole, values, low) - low, high - low + 1).astype(np.int64)
    position = lookup[slot]
    bad = answered & (position < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = responses.iloc[i]
        who = ", ".join(f"{c} {row[c]}" for c in ("respondent_id", "neighbourhood", "wave") if c in row.index)
        raise UserError(
            f"survey responses: column {measure.id} has {values[i]:g} ({who}); expected one of "
            f"{allowed(int(c) for c in measure.codes)} or blank"
        )
    return np.where(answered, position + 1, 0)


def _empty_scores() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})


def scores(
    responses: pd.DataFrame,
    population: pd.DataFrame | None,
    framework: Framework,
    *,
    require_weights: bool = True,
    project: str | None = None,
) -> pd.DataFrame:
    """Weighted and unweighted estimates per neighbourhood x wave x measure x statistic.

    Unweighted rows: the share (or mean) of those who answered; ``se = sqrt(p(1-p)/n)`` for shares
    and ``s / sqrt(n)`` for means; ``effective_n = base_n``.

    Weighted rows: respondents raked to the neighbourhood's population on the margins settings choose
    for ``project`` (age band and gender unless ``weighting.rake_to`` or ``rake_to_by_project`` add
    others; :func:`helpers.methods.weights.rake_weights`); the standard error is linearised and allows for the
    raking (:func:`helpers.methods.weights.linearised_estimates`); non-answerers of an item stay in the
    design (R's ``svymean(..., na.rm = TRUE)``). ``effective_n`` for shares is ``p(1-p)/se^2``
    (the Kish effective n of those who answered when ``p`` is 0 or 1 or ``se`` is 0); for means
    it is the Kish effective n of those who answered.

    Intervals: Wilson score on ``effective_n`` for shares, ``estimate +/- z se`` for means.
    Disclosure: ``base_n < minimum_base`` -> ``suppressed`` with the figures blank;
    ``base_n < low_base`` -> ``low_base``.

    ``require_weights`` True (default): a neighbourhood x wave that cannot be weighted (no
    population margins for its neighbourhood, a margin category without respondents, raking not
    converging) raises a UserError naming it. False: such a neighbourhood x wave gets
    unweighted rows only (its weighted rows are absent) and a warning names it.

    See the module docstring for the columns and their order.
    """
    table, problems = scores_and_weighting_problems(
        responses, population, framework, require_weights=require_weights, project=project
    )
    if len(problems):
        warnings.warn(
            "weighted rows left out (unweighted rows only) for: " + "; ".join(problems["reason"]),
            stacklevel=2,
        )
    return table


def scores_and_weighting_problems(
    responses: pd.DataFrame,
    population: pd.DataFrame | None,
    framework: Framework,
    *,
    require_weights: bool = False,
    project: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`scores`, and the neighbourhood x waves that could not be weighted with why (columns
    neighbourhood, wave, reason), as data rather than a warning."""
    problems = pd.DataFrame(columns=["neighbourhood", "wave", "reason"])
    if responses.empty:
        return _empty_scores(), problems
    specs = measures(framework.instrument)
    weights._require_columns(responses, [m.id for m in specs] + ["neighbourhood", "wave"], "survey responses")
    design = weights.build_design(responses, population, framework.settings, strict=require_weights, project=project)
    if design.problems:
        groups = design.groups.iloc[list(design.problem_groups)]
        problems = pd.DataFrame(
            {
                "neighbourhood": groups["neighbourhood"].to_numpy(),
                "wave": groups["wave"].to_numpy(),
                "reason": list(design.problems),
            }
        )
    return _scores_of_design(responses, design, framework), problems


def _scores_of_design(responses: pd.DataFrame, design: weights.CellDesign, framework: Framework) -> pd.DataFrame:
    """The estimates of :func:`scores` for a design already built."""
    th = framework.settings.thresholds
    sums, stats = _statistic_sums(responses, design, measures(framework.instrument))
    is_share = np.array([s.kind == "share" for s in stats])
    n, u_est, u_se = _unweighted(sums, is_share)
    w_est, w_se, w_eff = _weighted(design, sums, is_share)

    # [group, statistic, weighted]
    est = np.stack([u_est, w_est], axis=2)
    se = np.stack([u_se, w_se], axis=2)
    eff = np.stack([n.astype(float), w_eff], axis=2)
    base = np.stack([n, n], axis=2).astype(np.int64)
    ci_low, ci_high = _intervals(est, se, eff, is_share, th.confidence_level)
    suppressed = base < th.minimum_base
    for arr in (est, se, eff, ci_low, ci_high):
        arr[suppressed] = np.nan
    figures = {
        "base_n": base,
        "effective_n": eff,
        "estimate": est,
        "se": se,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "suppressed": suppressed,
        "low_base": base < th.low_base,
    }
    return _score_rows(design, stats, figures)


def _statistic_sums(
    responses: pd.DataFrame, design: weights.CellDesign, specs: tuple[Measure, ...]
) -> tuple[weights.CellSums, list[Statistic]]:
    """Per group x raking cell x statistic (every statistic of every measure, in order): answerers and
    the sums of ``y`` and ``y^2``; and the statistics."""
    n_groups = len(design.groups)
    n_cells = n_groups * design.n_cells
    key = design.cell_key
    answered, sum_y, sum_y2, stats = [], [], [], []
    for m in specs:
        k = len(m.codes) + 1
        table = np.bincount(key * k + _answer_positions(responses, m), minlength=n_cells * k)
        table = table.reshape(n_cells, k)[:, 1:].astype(float)
        for s in m.statistics:
            answered.append(table.sum(axis=1))
            sum_y.append(table @ s.y)
            sum_y2.append(table @ s.y**2)
            stats.append(s)
    shape = (n_groups, *design.cell_shape, len(stats))
    sums = weights.CellSums(
        answered=np.column_stack(answered).reshape(shape),
        sum_y=np.column_stack(sum_y).reshape(shape),
        sum_y2=np.column_stack(sum_y2).reshape(shape),
    )
    return sums, stats


def _unweighted(sums: weights.CellSums, is_share: np.ndarray):
    """Per ``[group, statistic]``: ``(n, estimate, se)``, the answerers and their plain share or mean."""
    cells = tuple(range(1, sums.answered.ndim - 1))  # one axis per raking margin
    n = sums.answered.sum(axis=cells)
    s1, s2 = sums.sum_y.sum(axis=cells), sums.sum_y2.sum(axis=cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = s1 / n
        var_mean = (s2 - n * est**2) / (n - 1) / n
        se = np.sqrt(np.where(is_share, est * (1 - est) / n, np.clip(var_mean, 0, None)))
    return n, est, se


def _weighted(design: weights.CellDesign, sums: weights.CellSums, is_share: np.ndarray):
    """Per ``[group, statistic]``: ``(estimate, se, effective_n)`` from the raked weights (linearised se)."""
    est, se, kish = weights.linearised_estimates(design.counts, design.weight, sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_eff = est * (1 - est) / se**2
    degenerate = (est <= 0) | (est >= 1) | (se == 0)
    return est, se, np.where(is_share, np.where(degenerate, kish, share_eff), kish)


def _intervals(est, se, eff, is_share: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` per ``[group, statistic, weighted]``: Wilson on ``eff`` for shares, ``est +/- z se`` for
    means."""
    share3 = np.broadcast_to(is_share[None, :, None], est.shape)
    z = _z(confidence)
    w_low, w_high = wilson_interval(est, eff, confidence)
    return np.where(share3, w_low, est - z * se), np.where(share3, w_high, est + z * se)


def _score_rows(design: weights.CellDesign, stats: list[Statistic], figures: dict[str, np.ndarray]) -> pd.DataFrame:
    """The scores table from ``[group, statistic, weighted]`` arrays: a row per group x statistic x weighted
    (unweighted first), without the weighted rows of groups that could not be weighted."""
    n_groups, n_stats = len(design.groups), len(stats)
    group = np.repeat(np.arange(n_groups), n_stats * 2)
    stat = np.tile(np.repeat(np.arange(n_stats), 2), n_groups)
    weighted = np.tile(np.array([False, True]), n_groups * n_stats)
    keep = ~weighted | design.weighted[group]
    columns = {
        "neighbourhood": design.groups["neighbourhood"].to_numpy()[group],
        "wave": design.groups["wave"].to_numpy()[group],
        "measure": np.array([s.measure for s in stats], dtype=object)[stat],
        "statistic": np.array([s.statistic for s in stats], dtype=object)[stat],
        "weighted": weighted,
        **{name: values.ravel() for name, values in figures.items()},
    }
    out = pd.DataFrame({c: columns[c] for c in SCORE_COLUMNS})
    return out[keep].reset_index(drop=True)


# --- change -------------------------------------------------------------------------------------


def _test(difference, se, confidence: float):
    """Normal-theory interval, two-sided p-value and significance (nullable boolean)."""
    z = _z(confidence)
    difference = np.asarray(difference, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = two_sided_p(difference / se)
    significant = pd.array(p < 1 - confidence, dtype="boolean")
    significant[np.isnan(p)] = pd.NA
    return difference - z * se, difference + z * se, p, significant


def _sorted(frame: pd.DataFrame, framework: Framework, by: list[str]) -> pd.DataFrame:
    order = _order(framework.instrument)
    waves = {w: i for i, w in enumerate(framework.settings.wave_ids)}
    ranks = {
        "_pair": [order.get(p, len(order)) for p in zip(frame["measure"], frame["statistic"], strict=True)],
        "_wave": frame["wave"].map(waves).fillna(len(waves)).to_numpy(),
    }
    keys = [{"measure": "_pair", "statistic": "_pair", "wave": "_wave"}.get(c, c) for c in by]
    keys = list(dict.fromkeys(keys))
    return (frame.assign(**ranks).sort_values(keys, kind="stable").drop(columns=list(ranks))).reset_index(drop=True)


def change(scores_df: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Each later wave against the baseline, per neighbourhood x measure x statistic x weighted.

    See the module docstring for the columns. Estimates are independent cross-sections, so the
    variance of the difference is the sum of the two variances.
    """
    baseline = framework.settings.baseline
    conf = framework.settings.thresholds.confidence_level
    keys = ["neighbourhood", "measure", "statistic", "weighted"]
    base = scores_df.loc[scores_df["wave"] == baseline, keys + ["estimate", "se", "suppressed"]]
    later = scores_df.loc[scores_df["wave"] != baseline, keys + ["wave", "estimate", "se", "suppressed"]]
    both = later.merge(base, on=keys, how="inner", suffixes=("", "_base"))
    suppressed = (both["suppressed"] | both["suppressed_base"]).to_numpy(dtype=bool)
    difference = (both["estimate"] - both["estimate_base"]).to_numpy(dtype=float, copy=True)
    se = np.sqrt(both["se"].to_numpy(dtype=float) ** 2 + both["se_base"].to_numpy(dtype=float) ** 2)
    difference[suppressed] = np.nan
    se[suppressed] = np.nan
    low, high, p, significant = _test(difference, se, conf)
    out = pd.DataFrame(
        {
            "neighbourhood": both["neighbourhood"],
            "measure": both["measure"],
            "statistic": both["statistic"],
            "wave": both["wave"],
            "baseline": baseline,
            "estimate": both["estimate"].astype(float),
            "baseline_estimate": both["estimate_base"].astype(float),
            "difference": difference,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "p_value": p,
            "significant": significant,
            "weighted": both["weighted"].astype(bool),
            "suppressed": suppressed,
        }
    )
    out = _sorted(out, framework, ["neighbourhood", "measure", "statistic", "wave", "weighted"])
    return out[list(CHANGE_COLUMNS)]


# --- difference-in-differences ------------------------------------------------------------------


def _project_areas(areas: pd.DataFrame, project_id: str) -> dict[str, list[str]]:
    weights._require_columns(areas, ("neighbourhood", "project", "role"), "areas")
    rows = areas.loc[areas["project"] == project_id, ["neighbourhood", "role"]]
    if rows.empty:
        raise UserError(
            f"areas: no neighbourhoods for project '{project_id}'; add rows with project "
            f"{project_id} and role pilot or comparison"
        )
    bad = ~rows["role"].isin(["pilot", "comparison"])
    if bad.any():
        raise UserError(
            f"areas: neighbourhood '{rows['neighbourhood'][bad].iloc[0]}' of project "
            f"'{project_id}' has role '{rows['role'][bad].iloc[0]}'; expected pilot or comparison"
        )
    twice = rows["neighbourhood"].duplicated()
    if twice.any():
        raise UserError(
            f"areas: neighbourhood '{rows['neighbourhood'][twice].iloc[0]}' appears more than "
            f"once for project '{project_id}'; give it one role"
        )
    roles = {r: sorted(rows.loc[rows["role"] == r, "neighbourhood"]) for r in ("pilot", "comparison")}
    if not roles["pilot"]:
        raise UserError(f"areas: project '{project_id}' has no pilot neighbourhoods")
    return roles


def _adults(population: pd.DataFrame, hoods: list[str]) -> pd.Series:
    """Adult population (sum of the age-band margin) of each neighbourhood."""
    weights._require_columns(population, ("neighbourhood", "dimension", "population"), "population")
    ages = population[population["dimension"] == "age_band"]
    total = ages.groupby("neighbourhood")["population"].sum().reindex(hoods)
    missing = total.index[total.isna() | (total <= 0)]
    if len(missing):
        raise UserError(
            f"population margins are missing for neighbourhood '{missing[0]}'; pooling the "
            "project's neighbourhoods needs each one's adult population by age band"
        )
    return total.astype(float)


def _area_figures(weighted: pd.DataFrame, hoods: list[str], index: pd.MultiIndex) -> tuple[np.ndarray, np.ndarray]:
    """Each neighbourhood's published estimate and se per (measure, statistic, wave) row of ``index``, a column
    per neighbourhood in ``hoods``: NaN where it is suppressed (a small base) or has no estimate."""
    cells = weighted[weighted["neighbourhood"].isin(hoods)].set_index(["measure", "statistic", "wave", "neighbourhood"])
    est = cells["estimate"].where(~cells["suppressed"]).unstack("neighbourhood").reindex(index=index, columns=hoods)
    se = cells["se"].where(~cells["suppressed"]).unstack("neighbourhood").reindex(index=index, columns=hoods)
    return est.to_numpy(dtype=float), se.to_numpy(dtype=float)


def _did_rows(weighted: pd.DataFrame, framework: Framework) -> tuple[pd.MultiIndex, pd.MultiIndex]:
    """The table's (measure, statistic, wave) rows, every later wave with scores; and each row's baseline."""
    baseline = framework.settings.baseline
    combos = weighted[["measure", "statistic"]].drop_duplicates()
    waves = [w for w in framework.settings.wave_ids if w != baseline and w in set(weighted["wave"])]
    rows = pd.MultiIndex.from_tuples(
        [(m, s, w) for m, s in combos.itertuples(index=False) for w in waves],
        names=["measure", "statistic", "wave"],
    )
    at_base = pd.MultiIndex.from_tuples([(m, s, baseline) for m, s, _ in rows], names=["measure", "statistic", "wave"])
    return rows, at_base


@dataclass(frozen=True)
class RoleChange:
    """One role's pooled change from the baseline per row, and the neighbourhoods it pools."""

    change: np.ndarray
    se: np.ndarray
    used: list[str]  # per row: the ';'-separated neighbourhoods pooled ('' when none could be)
    left_out: list[str]  # per row: the ';'-separated neighbourhoods of the role left out of the pool


def _role_change(weighted: pd.DataFrame, members: list[str], adults: pd.Series, rows, at_base) -> RoleChange:
    """A role's pooled change from the baseline and its se, per row, over the neighbourhoods whose estimate is
    published at both the baseline and the row's wave (each weighted by its share of those neighbourhoods'
    adults). A neighbourhood suppressed or missing at either wave is left out of the pool, never in it; the
    change is blank only when no neighbourhood of the role is usable."""
    wave_est, wave_se = _area_figures(weighted, members, rows)
    base_est, base_se = _area_figures(weighted, members, at_base)
    usable = ~(np.isnan(wave_est) | np.isnan(base_est))
    people = np.where(usable, adults.reindex(members).to_numpy(dtype=float), 0.0)
    total = people.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = people / total
    diff = np.where(usable, wave_est - base_est, 0.0)
    var = np.where(usable, wave_se**2 + base_se**2, 0.0)
    none = total[:, 0] == 0
    change = np.where(none, np.nan, (share * diff).sum(axis=1))
    se = np.where(none, np.nan, np.sqrt((share**2 * var).sum(axis=1)))
    names = np.array(members, dtype=object)
    used = [";".join(names[row]) for row in usable]
    left_out = [";".join(names[~row]) for row in usable]
    return RoleChange(change, se, used, left_out)


def _contrast(changes: dict[str, tuple[np.ndarray, np.ndarray]], n_rows: int) -> dict:
    """The pilot's change less the comparison's (difference-in-differences), or with no comparison
    neighbourhoods the pilot's alone (before-and-after): the table's change, ``did``, ``se`` and
    ``design`` columns."""
    pilot_change, pilot_se = changes["pilot"].change, changes["pilot"].se
    if "comparison" in changes:
        comparison_change, comparison_se = changes["comparison"].change, changes["comparison"].se
        return {
            "pilot_change": pilot_change,
            "pilot_se": pilot_se,
            "comparison_change": comparison_change,
            "comparison_se": comparison_se,
            "did": pilot_change - comparison_change,
            "se": np.sqrt(pilot_se**2 + comparison_se**2),
            "design": DIFFERENCE_IN_DIFFERENCES,
        }
    blank = np.full(n_rows, np.nan)
    return {
        "pilot_change": pilot_change,
        "pilot_se": pilot_se,
        "comparison_change": blank,
        "comparison_se": blank,
        "did": pilot_change,
        "se": pilot_se,
        "design": BEFORE_AND_AFTER,
    }


def did(
    scores_df: pd.DataFrame,
    population: pd.DataFrame,
    areas: pd.DataFrame,
    project_id: str,
    framework: Framework,
) -> pd.DataFrame:
    """Difference-in-differences (or before-and-after) for one project, per measure and wave.

    For each role (pilot, comparison) the neighbourhoods' weighted estimates are pooled with
    weights ``p_j`` = neighbourhood j's share of the role's adults: pooled estimate
    ``sum(p_j est_j)``, pooled se ``sqrt(sum(p_j^2 se_j^2))`` (neighbourhoods independent). The
    role's change is its pooled wave figure minus its pooled baseline figure (variances add);
    ``did = pilot_change - comparison_change`` with ``se`` the square root of the four variances'
    sum, a normal-theory interval and two-sided p-value. A neighbourhood suppressed (a small base)
    or missing for the measure at the wave or the baseline is left out of its role's pool for that
    row, and the others are pooled with their shares of the remaining adults; ``pilot_areas`` and
    ``comparison_areas`` name the neighbourhoods pooled, ``left_out`` those left out (``;``-separated
    ids). The row is blank (``suppressed`` True) only when a role has no usable neighbourhood. See
    the module docstring for the columns.
    """
    framework.project(project_id)
    roles = _project_areas(areas, project_id)
    hoods = roles["pilot"] + roles["comparison"]
    adults = _adults(population, hoods)
    weighted = scores_df[scores_df["weighted"].astype(bool) & scores_df["neighbourhood"].isin(hoods)]
    rows, at_base = _did_rows(weighted, framework)
    changes = {
        role: _role_change(weighted, members, adults, rows, at_base) for role, members in roles.items() if members
    }
    figures = _contrast(changes, len(rows))
    blank = [""] * len(rows)
    pooled = {
        "pilot_areas": changes["pilot"].used,
        "comparison_areas": changes["comparison"].used if "comparison" in changes else blank,
        "left_out": [
            ";".join(p for p in parts if p)
            for parts in zip(
                changes["pilot"].left_out,
                changes["comparison"].left_out if "comparison" in changes else blank,
                strict=True,
            )
        ],
    }
    low, high, p, significant = _test(figures["did"], figures["se"], framework.settings.thresholds.confidence_level)
    out = pd.DataFrame(
        {
            "project": project_id,
            "measure": rows.get_level_values("measure").astype(object),
            "statistic": rows.get_level_values("statistic").astype(object),
            "wave": rows.get_level_values("wave").astype(object),
            **figures,
            "ci_low": low,
            "ci_high": high,
            "p_value": p,
            "significant": significant,
            "suppressed": np.isnan(np.asarray(figures["did"], dtype=float)),
            **pooled,
        }
    )
    out = _sorted(out, framework, ["measure", "statistic", "wave"])
    return out[list(DID_COLUMNS)]
