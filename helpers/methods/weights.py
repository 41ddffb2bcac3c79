"""Raking weights and linearised standard errors for the Your Voice survey.

Every neighbourhood x wave is weighted on its own: respondents are raked (iterative proportional
fitting) to the neighbourhood's adult population by age band and by gender, so that the weights
add up to the population and reproduce both margins. Standard errors for weighted figures are
Taylor-linearised and allow for the raking. docs/method.md gives the method in words and the R
(``survey`` package) calls these figures match.

Public functions
    rake_weights(responses, population, settings) -> one row per respondent with its weight
    weighting_summary(weights) -> one row per neighbourhood x wave: range of weights, Kish design
        effect and effective sample size, convergence
    linearised_mean(design, values) -> weighted mean (or share) of a variable per neighbourhood x
        wave with its linearised standard error

Respondents who cannot be placed on a margin
    Age blank or outside every age band, or a gender other than those weighted (transgender, prefer
    not to say, blank), puts a respondent in an ``unknown`` category of that margin. The
    ``unknown`` category's population target is its unweighted share of the respondents times the
    population total; the known categories share out the rest of the population in proportion to
    the population figures. Every respondent is raked on both margins (with ``unknown`` where
    needed), so a respondent who gave an age but not a usable gender still counts towards the age
    margin. The weights add up to the population total exactly.

Everything works on the table of respondent counts per neighbourhood x wave x age category x
gender category: raking weights are constant within such a cell, and so are the quantities the
linearisation needs, so no step loops over respondents.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import Settings, Weighting

UNKNOWN = "unknown"
"""The raking category of respondents whose age or gender cannot be placed on a margin."""

MARGIN_TOTALS_TOLERANCE = 0.005
"""Largest relative gap allowed between a neighbourhood's age-band and gender population totals."""

KEY_COLUMNS = ("respondent_id", "neighbourhood", "wave")
WEIGHT_COLUMNS = KEY_COLUMNS + (
    "age_band",
    "gender_class",
    "weighting_class",
    "weight",
    "converged",
    "iterations",
)
SUMMARY_COLUMNS = (
    "neighbourhood",
    "wave",
    "respondents",
    "weight_min",
    "weight_max",
    "design_effect",
    "effective_n",
    "converged",
    "iterations",
)
_MAX_PROBLEMS_SHOWN = 5


# --- the cell design ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CellDesign:
    """Respondents grouped by neighbourhood x wave (a *group*) and raking cell.

    A cell is an age category (the weighting age bands, then ``unknown``) crossed with a gender
    category (the weighting genders, then ``unknown``). Arrays indexed ``[group, age, gender]``.
    """

    groups: pd.DataFrame  # one row per group: neighbourhood, wave (sorted)
    group: np.ndarray  # group index of each respondent
    age: np.ndarray  # age category index of each respondent
    gender: np.ndarray  # gender category index of each respondent
    age_labels: tuple[str, ...]
    gender_labels: tuple[str, ...]
    counts: np.ndarray  # respondents per cell
    weight: np.ndarray  # each respondent's weight in the cell; NaN when the group is unweighted
    converged: np.ndarray  # per group
    iterations: np.ndarray  # per group (0 when raking was not attempted)
    problems: tuple[str, ...]  # why groups could not be weighted
    problem_groups: tuple[int, ...] = ()  # the group index of each problem, in the same order

    @property
    def cell_key(self) -> np.ndarray:
        """One integer per respondent: its group and cell, for ``np.bincount``."""
        n_age, n_gender = len(self.age_labels), len(self.gender_labels)
        return (self.group * n_age + self.age) * n_gender + self.gender

    @property
    def weighted(self) -> np.ndarray:
        """Per group: True when raking weights exist."""
        return self.converged


def _weighting_of(settings: Settings | Weighting) -> tuple[Weighting, tuple[str, ...] | None]:
    if isinstance(settings, Settings):
        return settings.weighting, settings.wave_ids
    if isinstance(settings, Weighting):
        return settings, None
    raise TypeError(f"settings must be framework Settings or Weighting, not {type(settings).__name__}")


def _require_columns(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"{what}: column(s) {', '.join(missing)} missing; expected at least {allowed(columns)}")


def _numeric(series: pd.Series, what: str) -> np.ndarray:
    """A column as float64 with NaN for blanks; a non-number is a user error naming the column."""
    try:
        return pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError):
        raise UserError(f"{what}: values must be numbers or blank") from None


def _codes(values: pd.Series, categories) -> np.ndarray:
    """Position of each value among ``categories``; -1 for blanks and other values."""
    codes, uniques = pd.factorize(values)
    lookup = {c: i for i, c in enumerate(categories)}
    positions = np.array([lookup.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return positions[codes]  # factorize gives -1 for blanks: the appended -1


def _group_index(responses: pd.DataFrame, wave_order: tuple[str, ...] | None):
    """Group (neighbourhood x wave) of each respondent, groups sorted by neighbourhood then wave."""
    for col in ("neighbourhood", "wave"):
        blank = responses[col].isna()
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0])
            raise UserError(f"survey responses: row {row + 1} has a blank {col}; every row needs one")
    hood_code, hoods = pd.factorize(responses["neighbourhood"], sort=True)
    if wave_order is None:
        wave_code, waves = pd.factorize(responses["wave"], sort=True)
    else:
        waves = pd.Index(wave_order)
        wave_code = _codes(responses["wave"], wave_order)
        if (wave_code < 0).any():
            bad = responses["wave"][wave_code < 0].iloc[0]
            raise UserError(
                f"survey responses: wave '{bad}' is not a wave of the framework; known: {allowed(wave_order)}"
            )
    combined = hood_code.astype(np.int64) * len(waves) + wave_code
    present, group = np.unique(combined, return_inverse=True)
    groups = pd.DataFrame(
        {
            "neighbourhood": np.asarray(hoods)[present // len(waves)].astype(object),
            "wave": np.asarray(waves)[present % len(waves)].astype(object),
        }
    )
    return groups, group.astype(np.int64)


def _place(responses: pd.DataFrame, weighting: Weighting):
    """Age and gender category index of each respondent (last index = unknown)."""
    age = _numeric(responses["age"], "survey responses: column age")
    bands = weighting.age_bands
    age_idx = np.full(len(responses), len(bands), dtype=np.int64)
    for i, band in enumerate(bands):
        age_idx[(age >= band.min) & (age <= band.max) & (age_idx == len(bands))] = i
    gender_idx = _codes(responses["gender"], weighting.genders)
    gender_idx = np.where(gender_idx < 0, len(weighting.genders), gender_idx)
    return age_idx, gender_idx


def _population_margins(population: pd.DataFrame | None, weighting: Weighting, hoods):
    """Population by age band and by gender for each neighbourhood in ``hoods``.

    Returns ``(age_pop, gender_pop, problems)``: arrays ``[neighbourhood, category]`` with NaN
    where a neighbourhood lacks margins, and a message per neighbourhood that cannot be weighted.
    File-level mistakes (unknown dimension or category, negative or repeated rows) raise.
    """
    band_ids = [b.id for b in weighting.age_bands]
    genders = list(weighting.genders)
    pop = _population_rows(population, band_ids, genders)
    age_pop, gender_pop = _margin_arrays(pop, hoods, band_ids, genders)
    problems: dict[int, str] = {}
    for h, hood in enumerate(hoods):
        problem = _margins_problem(hood, age_pop[h], gender_pop[h], band_ids, genders)
        if problem:
            problems[h] = problem
    return age_pop, gender_pop, problems


def _population_rows(population: pd.DataFrame | None, band_ids: list[str], genders: list[str]) -> pd.DataFrame:
    """The population file's ``neighbourhood, dimension, category, population`` (a number), checked."""
    if population is None or population.empty:
        population = pd.DataFrame(columns=["neighbourhood", "dimension", "category", "population"])
    _require_columns(population, ("neighbourhood", "dimension", "category", "population"), "population")
    pop = population[["neighbourhood", "dimension", "category"]].astype(object).copy()
    pop["population"] = _numeric(population["population"], "population: column population")
    _check_population_rows(pop, band_ids, genders)
    return pop


def _check_population_rows(pop: pd.DataFrame, band_ids: list[str], genders: list[str]) -> None:
    """Raise on the population file's first unknown dimension or category, negative or repeated row."""
    bad_dim = ~pop["dimension"].isin(["age_band", "gender"])
    if bad_dim.any():
        raise UserError(
            f"population: dimension '{pop['dimension'][bad_dim].iloc[0]}' is not allowed; known: age_band, gender"
        )
    for dim, known in (("age_band", band_ids), ("gender", genders)):
        rows = pop[pop["dimension"] == dim]
        bad = ~rows["category"].isin(known)
        if bad.any():
            r = rows[bad].iloc[0]
            raise UserError(
                f"population: neighbourhood '{r['neighbourhood']}' has {dim} category "
                f"'{r['category']}', which is not a weighting category; known: {allowed(known)}"
            )
    bad_n = ~(np.isfinite(pop["population"]) & (pop["population"] >= 0))
    if bad_n.any():
        r = pop[bad_n].iloc[0]
        raise UserError(
            f"population: neighbourhood '{r['neighbourhood']}', {r['dimension']} {r['category']}: "
            "population must be a number of adults, 0 or more"
        )
    dup = pop.duplicated(["neighbourhood", "dimension", "category"])
    if dup.any():
        r = pop[dup].iloc[0]
        raise UserError(
            f"population: neighbourhood '{r['neighbourhood']}' has {r['dimension']} "
            f"'{r['category']}' more than once; give each category once"
        )


def _margin_arrays(pop: pd.DataFrame, hoods, band_ids: list[str], genders: list[str]):
    """``(age_pop, gender_pop)``: arrays ``[neighbourhood, category]``, NaN where ``pop`` has no row."""
    age_pop = np.full((len(hoods), len(band_ids)), np.nan)
    gender_pop = np.full((len(hoods), len(genders)), np.nan)
    hood_pos = {h: i for i, h in enumerate(hoods)}
    pop = pop[pop["neighbourhood"].isin(hood_pos)]
    for dim, known, target in (("age_band", band_ids, age_pop), ("gender", genders, gender_pop)):
        rows = pop[pop["dimension"] == dim]
        i = rows["neighbourhood"].map(hood_pos).to_numpy(dtype=np.int64)
        j = rows["category"].map({c: k for k, c in enumerate(known)}).to_numpy(dtype=np.int64)
        target[i, j] = rows["population"].to_numpy()
    return age_pop, gender_pop


def _margins_problem(hood, age_pop: np.ndarray, gender_pop: np.ndarray, band_ids, genders) -> str | None:
    """The reason one neighbourhood's margins cannot be raked to (missing, 0 adults, totals apart), or None."""
    expected = f"expected population rows for age_band {', '.join(band_ids)} and gender {', '.join(genders)}"
    missing = [f"age band {b}" for b, v in zip(band_ids, age_pop, strict=True) if v != v]
    missing += [f"gender {g}" for g, v in zip(genders, gender_pop, strict=True) if v != v]
    if len(missing) == len(band_ids) + len(genders):
        return f"population margins are missing for neighbourhood '{hood}'; {expected}"
    if missing:
        return f"population margins for neighbourhood '{hood}' lack {', '.join(missing)}; " + expected
    age_total, gender_total = age_pop.sum(), gender_pop.sum()
    if age_total <= 0:
        return f"population for neighbourhood '{hood}' totals 0 adults"
    if abs(age_total - gender_total) > MARGIN_TOTALS_TOLERANCE * age_total:
        return (
            f"population for neighbourhood '{hood}': the age bands total {age_total:,.0f} "
            f"adults but the genders total {gender_total:,.0f} "
            f"({abs(age_total - gender_total) / age_total:.1%} apart); they must agree "
            f"within {MARGIN_TOTALS_TOLERANCE:.1%}"
        )
    return None


def _rake_cells(counts, age_target, gender_target, cap, max_iterations: int, tolerance: float):
    """Iterative proportional fitting on cell counts, all groups at once.

    ``counts[g, a, k]`` respondents; targets ``[g, a]`` and ``[g, k]`` (each summing to the
    group's population total); ``cap[g]`` the largest weight allowed or None. One iteration
    adjusts to the age margin, then the gender margin, then caps. A group has converged when
    every margin total is within ``tolerance`` x population of its target; it is then left alone.
    Returns ``(weight[g, a, k], converged[g], iterations[g], gap[g])``.
    """
    n = counts.astype(float)
    total = age_target.sum(axis=1)
    size = n.sum(axis=(1, 2))
    start = np.divide(total, size, out=np.zeros_like(total), where=size > 0)
    weight = np.where(n > 0, start[:, None, None], 0.0)
    converged = np.zeros(len(n), dtype=bool)
    iterations = np.zeros(len(n), dtype=np.int64)
    gap = np.full(len(n), np.inf)
    active = np.flatnonzero(size > 0)
    for iteration in range(1, max_iterations + 1):
        if active.size == 0:
            break
        w, c = weight[active], n[active]
        a_t, g_t = age_target[active], gender_target[active]
        got = (c * w).sum(axis=2)
        w = w * np.divide(a_t, got, out=np.ones_like(got), where=got > 0)[:, :, None]
        got = (c * w).sum(axis=1)
        w = w * np.divide(g_t, got, out=np.ones_like(got), where=got > 0)[:, None, :]
        if cap is not None:
            w = np.minimum(w, cap[active][:, None, None])
        off = (
            np.maximum(
                np.abs((c * w).sum(axis=2) - a_t).max(axis=1),
                np.abs((c * w).sum(axis=1) - g_t).max(axis=1),
            )
            / total[active]
        )
        weight[active] = w
        iterations[active] = iteration
        gap[active] = off
        done = off <= tolerance
        converged[active[done]] = True
        active = active[~done]
    return weight, converged, iterations, gap


@dataclass(frozen=True)
class _GroupMargins:
    """Per group (neighbourhood x wave): its neighbourhood's population margins and the raking targets."""

    hood_of_group: np.ndarray  # the neighbourhood index of each group
    hood_problems: dict[int, str]  # why a neighbourhood cannot be weighted, by neighbourhood index
    size: np.ndarray  # [g] respondents
    total: np.ndarray  # [g] adults (the age-band total)
    age_pop: np.ndarray  # [g, age band]
    gender_pop: np.ndarray  # [g, gender], rescaled to the age-band total
    age_target: np.ndarray  # [g, age category]: the age bands, then unknown
    gender_target: np.ndarray  # [g, gender category]: the genders, then unknown


def _group_margins(population: pd.DataFrame | None, weighting: Weighting, groups: pd.DataFrame, counts):
    """Each group's population margins and raking targets, ``unknown`` categories included."""
    hoods = list(dict.fromkeys(groups["neighbourhood"]))
    age_pop, gender_pop, hood_problems = _population_margins(population, weighting, hoods)
    hood_of_group = groups["neighbourhood"].map({h: i for i, h in enumerate(hoods)}).to_numpy()
    age_pop, gender_pop = age_pop[hood_of_group], gender_pop[hood_of_group]
    total = age_pop.sum(axis=1)
    size = counts.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        # the gender margin is rescaled to the age-band total (they agree within 0.5%)
        gender_pop = gender_pop * (total / gender_pop.sum(axis=1))[:, None]
        unknown_age = counts[:, -1, :].sum(axis=1) / size
        unknown_gender = counts[:, :, -1].sum(axis=1) / size
    age_target = np.column_stack([age_pop * (1 - unknown_age)[:, None], total * unknown_age])
    gender_target = np.column_stack([gender_pop * (1 - unknown_gender)[:, None], total * unknown_gender])
    return _GroupMargins(
        hood_of_group=hood_of_group,
        hood_problems=hood_problems,
        size=size,
        total=total,
        age_pop=age_pop,
        gender_pop=gender_pop,
        age_target=age_target,
        gender_target=gender_target,
    )


def _unweightable(groups: pd.DataFrame, counts, margins: _GroupMargins, age_labels, gender_labels) -> dict[int, str]:
    """The reason each group that cannot be raked cannot (its neighbourhood's margins, an empty category)."""
    problems: dict[int, str] = {}
    for g in range(len(groups)):
        hood, wave = groups.at[g, "neighbourhood"], groups.at[g, "wave"]
        h = margins.hood_of_group[g]
        if h in margins.hood_problems:
            problems[g] = margins.hood_problems[h] + f" (it has {margins.size[g]} responses at wave {wave})"
            continue
        for what, labels, pop, got in (
            ("age band", age_labels[:-1], margins.age_pop[g], counts[g, :-1, :].sum(axis=1)),
            ("gender", gender_labels[:-1], margins.gender_pop[g], counts[g, :, :-1].sum(axis=0)),
        ):
            problem = _category_problem(hood, wave, what, labels, pop, got)
            if problem:
                problems[g] = problem
                break
    return problems


def _category_problem(hood, wave, what: str, labels, pop, got) -> str | None:
    """A margin category with adults but no respondents, or respondents but no adults; else None."""
    empty = [lab for lab, p, c in zip(labels, pop, got, strict=True) if p > 0 and c == 0]
    if empty:
        return (
            f"cannot weight neighbourhood '{hood}' at wave {wave}: no respondent in "
            f"{what} {', '.join(empty)}, where the population has adults; raking needs at "
            "least one respondent in every category (merge categories in settings.yaml "
            "weighting, or use unweighted figures)"
        )
    zero = [lab for lab, p, c in zip(labels, pop, got, strict=True) if p == 0 and c > 0]
    if zero:
        return (
            f"cannot weight neighbourhood '{hood}' at wave {wave}: the population file "
            f"gives 0 adults in {what} {', '.join(zero)} but respondents are in it"
        )
    return None


def _rake_groups(counts, margins: _GroupMargins, weighting: Weighting, ok: np.ndarray):
    """Rake the groups marked ``ok``: ``(weight[g, a, k], converged[g], iterations[g], gap[g])``.

    ``weight`` is NaN in every group not raked or not converged; ``gap`` (how far the margins
    still are, as a share of the population) is NaN in the groups not raked.
    """
    n_groups = len(counts)
    cap = None
    if weighting.weight_cap is not None:
        cap = np.where(margins.size > 0, weighting.weight_cap * margins.total / np.maximum(margins.size, 1), np.inf)
    weight = np.full(counts.shape, np.nan)
    converged = np.zeros(n_groups, dtype=bool)
    iterations = np.zeros(n_groups, dtype=np.int64)
    gap = np.full(n_groups, np.nan)
    if ok.any():
        weight[ok], converged[ok], iterations[ok], gap[ok] = _rake_cells(
            counts[ok],
            margins.age_target[ok],
            margins.gender_target[ok],
            None if cap is None else cap[ok],
            weighting.max_iterations,
            weighting.tolerance,
        )
        weight[~converged] = np.nan
    return weight, converged, iterations, gap


def _not_converged(groups: pd.DataFrame, g: int, weighting: Weighting, gap: float) -> str:
    """The problem of group ``g``, whose raking stopped ``gap`` of the population short of its margins."""
    hint = " or the weight cap (weighting.weight_cap) cannot be met" if weighting.weight_cap is not None else ""
    return (
        f"raking did not converge for neighbourhood '{groups.at[g, 'neighbourhood']}', "
        f"wave {groups.at[g, 'wave']} after {weighting.max_iterations} iterations "
        f"(margins still {gap:.2e} of the population away): the respondents' mix "
        f"of age and gender cannot match the population margins{hint}; check the "
        "population file or raise weighting.max_iterations in settings.yaml"
    )


def build_design(
    responses: pd.DataFrame,
    population: pd.DataFrame | None,
    settings: Settings | Weighting,
    *,
    strict: bool = True,
) -> CellDesign:
    """Place respondents in raking cells and rake every neighbourhood x wave.

    With ``strict`` a neighbourhood x wave that cannot be weighted raises a UserError listing every
    such case; otherwise its weights are NaN and the reasons are in ``problems``.
    """
    weighting, wave_order = _weighting_of(settings)
    _require_columns(responses, ("neighbourhood", "wave", "age", "gender"), "survey responses")
    groups, group = _group_index(responses, wave_order)
    age_idx, gender_idx = _place(responses, weighting)
    age_labels = tuple(b.id for b in weighting.age_bands) + (UNKNOWN,)
    gender_labels = tuple(weighting.genders) + (UNKNOWN,)
    n_age, n_gender, n_groups = len(age_labels), len(gender_labels), len(groups)
    key = (group * n_age + age_idx) * n_gender + gender_idx
    counts = np.bincount(key, minlength=n_groups * n_age * n_gender).reshape(n_groups, n_age, n_gender)

    margins = _group_margins(population, weighting, groups, counts)
    problems = _unweightable(groups, counts, margins, age_labels, gender_labels)
    ok = np.array([g not in problems for g in range(n_groups)], dtype=bool)
    weight, converged, iterations, gap = _rake_groups(counts, margins, weighting, ok)
    for g in np.flatnonzero(ok & ~converged):
        problems[g] = _not_converged(groups, g, weighting, gap[g])
    ordered = tuple(problems[g] for g in sorted(problems))
    if strict and ordered:
        shown = "; ".join(ordered[:_MAX_PROBLEMS_SHOWN])
        more = len(ordered) - _MAX_PROBLEMS_SHOWN
        raise UserError(shown + (f"; ... and {more} more" if more > 0 else ""))
    return CellDesign(
        groups=groups,
        group=group,
        age=age_idx,
        gender=gender_idx,
        age_labels=age_labels,
        gender_labels=gender_labels,
        counts=counts,
        weight=weight,
        converged=converged,
        iterations=iterations,
        problems=ordered,
        problem_groups=tuple(sorted(problems)),
    )


# --- public: weights ----------------------------------------------------------------------------


def rake_weights(
    responses: pd.DataFrame,
    population: pd.DataFrame,
    settings: Settings | Weighting,
    *,
    strict: bool = True,
) -> pd.DataFrame:
    """Raking weights for every respondent, per neighbourhood x wave.

    Parameters
    ----------
    responses
        Survey rows with at least ``respondent_id, neighbourhood, wave, age, gender``.
    population
        ``neighbourhood, dimension, category, population``: adults 16+ per age band
        (``dimension = age_band``) and per gender (``dimension = gender``).
    settings
        ``framework().settings`` (waves are then checked and ordered) or its ``weighting``.
    strict
        True (default): any neighbourhood x wave that cannot be weighted raises a UserError
        naming it. False: its respondents get ``weight`` NaN and ``converged`` False, and a
        warning lists the reasons.

    Returns
    -------
    DataFrame, in the responses' row order and index, with columns ``respondent_id,
    neighbourhood, wave`` then

    - ``age_band``: the weighting age band, or ``unknown`` (age blank or outside every band)
    - ``gender_class``: the weighting gender, or ``unknown`` (transgender, prefer not, blank)
    - ``weighting_class``: ``"<age_band> x <gender_class>"``, the raking cell
    - ``weight``: adults this respondent stands for; per neighbourhood x wave the weights add up
      to the population total and reproduce both margins
    - ``converged``, ``iterations``: of the raking of the respondent's neighbourhood x wave

    Method
    ------
    Iterative proportional fitting from equal starting weights: scale to the age-band margin,
    then to the gender margin, repeat until every margin total is within ``tolerance`` x the
    population total of its target (at most ``max_iterations``). The gender margin is first
    rescaled to the age-band total (the two may differ by at most 0.5%).

    Respondents whose age or gender cannot be placed are raked in an ``unknown`` category of
    that margin, whose target is the category's unweighted share of respondents times the
    population total; the known categories share out the rest in population proportions. So a
    respondent with an age band but no usable gender still counts towards the age margin, and a
    respondent with neither gets the mean weight (population / respondents) when everyone unknown
    on one margin is unknown on both.

    With ``weight_cap`` set, after each iteration any weight above ``weight_cap`` x the mean weight
    is cut to that value and raking goes on; convergence then also means the capped weights
    reproduce the margins.

    Raises
    ------
    UserError
        Population margins missing for a neighbourhood with responses; age and gender totals more
        than 0.5% apart; a category with adults but no respondents (or respondents but no adults);
        raking not converged (names neighbourhood and wave).

    Not split further: most of its length is this docstring; the work is in :func:`build_design`
    and ``_respondent_weights``.
    """
    _require_columns(responses, KEY_COLUMNS, "survey responses")
    design = build_design(responses, population, settings, strict=strict)
    if design.problems and not strict:
        warnings.warn(
            "some neighbourhood x waves are not weighted: " + "; ".join(design.problems),
            stacklevel=2,
        )
    out = _respondent_weights(responses, design)
    if isinstance(settings, Settings):
        out.attrs["wave_order"] = settings.wave_ids
    return out


def _respondent_weights(responses: pd.DataFrame, design: CellDesign) -> pd.DataFrame:
    """:func:`rake_weights`' table: the responses' key columns, raking cell, weight and convergence."""
    n_gender = len(design.gender_labels)
    cells = design.age * n_gender + design.gender
    labels = np.array([f"{a} x {g}" for a in design.age_labels for g in design.gender_labels], dtype=object)
    out = pd.DataFrame(
        {c: responses[c] for c in KEY_COLUMNS},
        index=responses.index,
    )
    out["age_band"] = np.asarray(design.age_labels, dtype=object)[design.age]
    out["gender_class"] = np.asarray(design.gender_labels, dtype=object)[design.gender]
    out["weighting_class"] = labels[cells]
    out["weight"] = design.weight[design.group, design.age, design.gender]
    out["converged"] = design.converged[design.group]
    out["iterations"] = design.iterations[design.group]
    return out


def weighting_summary(weights: pd.DataFrame, *, wave_order: tuple[str, ...] | list[str] | None = None) -> pd.DataFrame:
    """One row per neighbourhood x wave describing the weights from :func:`rake_weights`.

    Columns: ``neighbourhood, wave, respondents, weight_min, weight_max, design_effect,
    effective_n, converged, iterations``. ``design_effect`` is Kish's
    ``n * sum(w^2) / sum(w)^2`` and ``effective_n`` is ``sum(w)^2 / sum(w^2)`` (= respondents /
    design effect). Sorted by neighbourhood, then wave in ``wave_order`` when given, else in the
    framework's order when ``weights`` came from ``rake_weights(..., framework().settings)``,
    else alphabetically.
    """
    _require_columns(weights, ("neighbourhood", "wave", "weight", "converged", "iterations"), "weights")
    w = weights[["neighbourhood", "wave", "converged", "iterations"]].copy()
    w["w"] = weights["weight"].astype(float)
    w["w2"] = w["w"] ** 2
    by = w.groupby(["neighbourhood", "wave"], sort=True, observed=True)
    out = by.agg(
        respondents=("w", "size"),
        weight_min=("w", "min"),
        weight_max=("w", "max"),
        total=("w", lambda s: s.sum(min_count=len(s))),
        total2=("w2", lambda s: s.sum(min_count=len(s))),
        converged=("converged", "all"),
        iterations=("iterations", "max"),
    ).reset_index()
    out["design_effect"] = out["respondents"] * out["total2"] / out["total"] ** 2
    out["effective_n"] = out["total"] ** 2 / out["total2"]
    unweighted = ~out["converged"]
    out.loc[unweighted, ["weight_min", "weight_max", "design_effect", "effective_n"]] = np.nan
    wave_order = wave_order if wave_order is not None else weights.attrs.get("wave_order")
    if wave_order is not None:
        rank = {wv: i for i, wv in enumerate(wave_order)}
        out = out.assign(_rank=out["wave"].map(rank)).sort_values(["neighbourhood", "_rank", "wave"], kind="stable")
    return out[list(SUMMARY_COLUMNS)].reset_index(drop=True)


# --- linearisation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSums:
    """Per group x cell x variable: answerers and sums of y and y^2 over those who answered."""

    answered: np.ndarray  # [g, a, k, v]
    sum_y: np.ndarray
    sum_y2: np.ndarray


def _solve_psd(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm solution of symmetric positive semi-definite systems, batched over axis 0.

    The margin dummies are collinear (each set adds up to one) and a category may be empty, so
    the normal equations are singular; the fitted values (the projection) are still unique.
    """
    values, vectors = np.linalg.eigh(matrix)
    top = values.max(axis=1, keepdims=True)
    inverse = np.divide(1.0, values, out=np.zeros_like(values), where=values > 1e-10 * top)
    return vectors @ (inverse[:, :, None] * (np.swapaxes(vectors, 1, 2) @ rhs))


def _margin_fit(counts: np.ndarray, s_z: np.ndarray) -> np.ndarray:
    """Step 3 of :func:`linearised_estimates`: per cell, the fitted value ``X b`` (``[g, a, k, v]``) of the
    unweighted least-squares fit of ``z`` on the age and gender category dummies, from ``counts[g, a, k]``
    and the cell sums of ``z``, ``s_z[g, a, k, v]``."""
    n_age, n_gender = counts.shape[1], counts.shape[2]
    c = counts.astype(float)
    normal = np.zeros((len(c), n_age + n_gender, n_age + n_gender))
    idx_a, idx_g = np.arange(n_age), np.arange(n_gender)
    normal[:, idx_a, idx_a] = c.sum(axis=2)
    normal[:, n_age + idx_g, n_age + idx_g] = c.sum(axis=1)
    normal[:, :n_age, n_age:] = c
    normal[:, n_age:, :n_age] = np.swapaxes(c, 1, 2)
    rhs = np.concatenate([s_z.sum(axis=2), s_z.sum(axis=1)], axis=1)  # [g, a+k, v]
    coef = _solve_psd(normal, rhs)
    return coef[:, :n_age, None, :] + coef[:, None, n_age:, :]  # [g, a, k, v]


def linearised_estimates(counts: np.ndarray, weight: np.ndarray, sums: CellSums):
    """Weighted means of several variables per group with their linearised standard errors.

    ``counts[g, a, k]`` respondents per raking cell (all respondents, answering or not),
    ``weight[g, a, k]`` the raked weight in the cell. For each group and variable:

    1. estimate ``m = sum(w y) / W`` over answerers, ``W = sum(w)`` over answerers;
    2. influence values ``z_i = (y_i - m) / W`` for answerers and 0 for the others (who stay in
       the design);
    3. residuals ``e = z - X b`` from the least-squares fit of ``z`` on the raking-margin dummies
       ``X`` (age categories and gender categories, ``unknown`` included), over all respondents
       and unweighted: the design (pre-raking) weights are equal, so this is the design-weighted
       fit that calibration theory and R's ``survey`` package use;
    4. variance ``n / (n - 1) * sum((u_i - mean(u))^2)`` with ``u_i = w_i e_i`` over all ``n``
       respondents of the group (one stratum, no clusters, with replacement, no fpc).

    Everything is computed from cell sums: the dummies, the weights and the fitted values are
    constant within a cell. Returns ``(estimate, se, kish_n)``, each ``[g, v]``, where ``kish_n``
    is ``sum(w)^2 / sum(w^2)`` over the answerers.
    """
    n_c = counts.astype(float)[..., None]
    w = weight[..., None]
    a, y1, y2 = sums.answered, sums.sum_y, sums.sum_y2
    with np.errstate(invalid="ignore", divide="ignore"):
        big_w = (w * a).sum(axis=(1, 2))
        mean = (w * y1).sum(axis=(1, 2)) / big_w
        m = mean[:, None, None, :]
        wt = big_w[:, None, None, :]
        s_z = (y1 - m * a) / wt  # sum of z in the cell
        s_zz = (y2 - 2 * m * y1 + m**2 * a) / wt**2  # sum of z^2 in the cell
    s_z = np.nan_to_num(s_z)
    s_zz = np.nan_to_num(s_zz)
    fitted = _margin_fit(counts, s_z)  # step 3

    w0 = np.nan_to_num(w)
    sum_u = (w0 * (s_z - n_c * fitted)).sum(axis=(1, 2))
    sum_uu = (w0**2 * (s_zz - 2 * fitted * s_z + n_c * fitted**2)).sum(axis=(1, 2))
    n = counts.astype(float).sum(axis=(1, 2))[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = n / (n - 1) * (sum_uu - sum_u**2 / n)
        # the margins can explain an item completely (say, every young person agrees and nobody
        # older does): the variance is then 0 up to rounding, relative to its raw size
        raw = (w0**2 * s_zz).sum(axis=(1, 2))
        var = np.where(var <= 1e-12 * raw, 0.0, var)
        se = np.sqrt(var)
        se = np.where((n > 1) & np.isfinite(mean), se, np.nan)
        kish = big_w**2 / (w**2 * a).sum(axis=(1, 2))
    return mean, se, kish


def _values_of(design: pd.DataFrame, values) -> np.ndarray:
    """:func:`linearised_mean`'s ``values`` as floats in the design's row order, NaN for non-answerers."""
    if isinstance(values, pd.Series):
        y = _numeric(values.reindex(design.index), "values")
    else:
        y = _numeric(pd.Series(values), "values")
    if len(y) != len(design):
        raise ValueError(f"values has {len(y)} entries but the design has {len(design)} rows")
    return y


def linearised_mean(design: pd.DataFrame, values) -> pd.DataFrame:
    """Weighted mean of one variable per neighbourhood x wave with its linearised standard error.

    Parameters
    ----------
    design
        The output of :func:`rake_weights` (columns ``neighbourhood, wave, age_band,
        gender_class, weight``).
    values
        One value per design row (a Series aligned on the design's index, or an array in its row
        order); NaN / <NA> = the respondent did not answer. A share is the mean of a 0/1 variable.

    Returns
    -------
    DataFrame ``neighbourhood, wave, base_n, estimate, se, effective_n``: ``base_n`` answered;
    ``effective_n`` is Kish's ``sum(w)^2 / sum(w^2)`` over those who answered.

    Non-answerers are a domain: the estimate is over those who answered, their influence values
    are zero, but they stay in the design, so their margin dummies still enter the calibration
    residuals. This is R's ``svymean(~y, rake(...), na.rm = TRUE)`` (docs/method.md).
    """
    _require_columns(design, ("neighbourhood", "wave", "age_band", "gender_class", "weight"), "design")
    y = _values_of(design, values)
    groups, group = _group_index(design, None)
    age, age_labels = pd.factorize(design["age_band"], sort=True)
    gender, gender_labels = pd.factorize(design["gender_class"], sort=True)
    n_g, n_a, n_k = len(groups), len(age_labels), len(gender_labels)
    key = (group * n_a + age) * n_k + gender
    size = n_g * n_a * n_k

    def cell_sum(x):
        return np.bincount(key, weights=x, minlength=size).reshape(n_g, n_a, n_k)

    w = design["weight"].to_numpy(dtype=float)
    counts = np.bincount(key, minlength=size).reshape(n_g, n_a, n_k)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_w = np.where(counts > 0, cell_sum(w) / counts, 0.0)
    spread = np.abs(w - cell_w.ravel()[key])
    if np.nanmax(spread, initial=0) > 1e-9 * np.nanmax(np.abs(w), initial=1):
        raise ValueError("weights vary within a raking cell; pass a design from rake_weights")
    answered = ~np.isnan(y)
    y0 = np.where(answered, y, 0.0)
    sums = CellSums(
        answered=cell_sum(answered.astype(float))[..., None],
        sum_y=cell_sum(y0)[..., None],
        sum_y2=cell_sum(y0**2)[..., None],
    )
    estimate, se, kish = linearised_estimates(counts, cell_w, sums)
    out = groups.copy()
    out["base_n"] = sums.answered.sum(axis=(1, 2))[:, 0].astype(np.int64)
    out["estimate"] = estimate[:, 0]
    out["se"] = se[:, 0]
    out["effective_n"] = kish[:, 0]
    return out
