"""Raking weights and linearised standard errors for the Your Voice survey.

Every neighbourhood x wave is weighted on its own: respondents are raked (iterative proportional
fitting) to the neighbourhood's adult population on each margin the settings choose (age band and
gender unless ``weighting.rake_to`` or ``rake_to_by_project`` say otherwise: any dimension the
framework declares and the population file carries, such as ethnic group), so that the weights
add up to the population and reproduce every margin. An optional cap on a weight (a multiple of
the mean weight) is applied inside the raking, which goes on until the margins and the cap both
hold. Standard errors for weighted figures are Taylor-linearised and allow for the raking.
docs/method.md gives the method in words and the R (``survey`` package) calls these figures match.

Public functions
    rake_weights(responses, population, settings) -> one row per respondent with its weight
    weighting_summary(weights) -> one row per neighbourhood x wave: range of weights, Kish design
        effect and effective sample size, convergence
    weighting_diagnostics(responses, population, settings) -> the same per neighbourhood x wave,
        before and after trimming (the weight cap), with how many weights reach the cap and why a
        neighbourhood x wave could not be weighted
    linearised_mean(design, values) -> weighted mean (or share) of a variable per neighbourhood x
        wave with its linearised standard error

Respondents who cannot be placed on a margin
    An answer in no category of a margin (age blank or outside every age band; a gender other than
    those weighted, such as transgender or prefer not to say; an ethnic group the census groups
    leave out, prefer not to say, blank) puts a respondent in an ``unknown`` category of that
    margin. The ``unknown`` category's population target is its unweighted share of the
    respondents times the population total; the known categories share out the rest of the
    population in proportion to the population figures (the ``pro-rata`` rule of
    :class:`helpers.config.framework.WeightingDimension`). Every respondent is raked on every
    margin (with ``unknown`` where needed), so a respondent who gave an age but not a usable gender
    still counts towards the age margin. The weights add up to the population total exactly.

Everything works on the table of respondent counts per neighbourhood x wave x raking cell, a cell
being one category of every margin (an array ``[group, age, gender, ...]``, one axis per margin):
raking weights are constant within such a cell, and so are the quantities the linearisation
needs, so no step loops over respondents.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import (
    AGE_BAND,
    MARGIN_TOTALS_TOLERANCE,
    UNKNOWN_CATEGORY,
    Settings,
    Weighting,
    WeightingDimension,
)

UNKNOWN = UNKNOWN_CATEGORY
"""The raking category of respondents whose answer cannot be placed on a margin."""

KEY_COLUMNS = ("respondent_id", "neighbourhood", "wave")
WEIGHT_COLUMNS = KEY_COLUMNS + (
    "age_band",
    "gender_class",
    "weighting_class",
    "weight",
    "converged",
    "iterations",
)
"""The columns of :func:`rake_weights` with the default margins (another margin adds its ``<id>_class``)."""
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
DIAGNOSTIC_COLUMNS = (
    "neighbourhood",
    "wave",
    "stage",
    "respondents",
    "weight_min",
    "weight_max",
    "max_to_mean",
    "design_effect",
    "effective_n",
    "converged",
    "iterations",
    "at_or_over_cap",
    "problem",
)
RAKED, TRIMMED = "raked", "raked and trimmed"
"""The stages of :func:`weighting_diagnostics`: before trimming (no cap) and after (with the cap)."""
_MAX_PROBLEMS_SHOWN = 5


# --- the cell design ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Margin:
    """One margin of a design: the declared dimension and its categories, then ``unknown``."""

    dimension: WeightingDimension
    labels: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.dimension.id

    @property
    def column(self) -> str:
        """The column of :func:`rake_weights` holding each respondent's category of this margin."""
        return margin_column(self.dimension.id)

    @property
    def word(self) -> str:
        """How a message names one category of it ('age band 16-34', 'gender male', 'ethnicity white')."""
        return "age band" if self.id == AGE_BAND else self.id

    @property
    def words(self) -> str:
        """How a message names all its categories ('the age bands', 'the genders', 'the ethnicity categories')."""
        return {AGE_BAND: "age bands", "gender": "genders"}.get(self.id, f"{self.id} categories")


def margin_column(dimension_id: str) -> str:
    """The weights table's column for a dimension: ``age_band`` for age band, else ``<id>_class``."""
    return AGE_BAND if dimension_id == AGE_BAND else f"{dimension_id}_class"


def _margins_of(weighting: Weighting, project: str | None) -> tuple[Margin, ...]:
    return tuple(Margin(d, d.category_ids + (UNKNOWN,)) for d in weighting.margins(project))


@dataclass(frozen=True)
class CellDesign:
    """Respondents grouped by neighbourhood x wave (a *group*) and raking cell.

    A cell is one category of every margin (each margin's categories, then ``unknown``). Arrays
    are indexed ``[group, category of the first margin, of the second, ...]``.
    """

    groups: pd.DataFrame  # one row per group: neighbourhood, wave (sorted)
    group: np.ndarray  # group index of each respondent
    margins: tuple[Margin, ...]
    category: np.ndarray  # [respondent, margin]: the category index of each respondent on each margin
    counts: np.ndarray  # respondents per cell
    weight: np.ndarray  # each respondent's weight in the cell; NaN when the group is unweighted
    converged: np.ndarray  # per group
    iterations: np.ndarray  # per group (0 when raking was not attempted)
    problems: tuple[str, ...]  # why groups could not be weighted
    problem_groups: tuple[int, ...] = ()  # the group index of each problem, in the same order
    cap: np.ndarray | None = None  # per group: the largest weight allowed (None: no cap)

    @property
    def cell_shape(self) -> tuple[int, ...]:
        return self.counts.shape[1:]

    @property
    def n_cells(self) -> int:
        """Cells per group (the product of the margins' category counts)."""
        return int(np.prod(self.cell_shape))

    @property
    def cell(self) -> np.ndarray:
        """Each respondent's cell within its group, as one integer (C order over the margins)."""
        return np.ravel_multi_index(tuple(self.category.T), self.cell_shape).astype(np.int64)

    @property
    def cell_key(self) -> np.ndarray:
        """One integer per respondent: its group and cell, for ``np.bincount``."""
        return self.group * self.n_cells + self.cell

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


def _code_text(value) -> str:
    """An answer code as text, so that 3, 3.0 and '3' are the same code."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


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


def _place(responses: pd.DataFrame, margins: tuple[Margin, ...]) -> np.ndarray:
    """Category index of each respondent on each margin, ``[respondent, margin]`` (last index = unknown)."""
    out = np.empty((len(responses), len(margins)), dtype=np.int64)
    for m, margin in enumerate(margins):
        out[:, m] = _place_on(responses[margin.dimension.column], margin.dimension)
    return out


def _place_on(values: pd.Series, dimension: WeightingDimension) -> np.ndarray:
    """Each answer's category of one dimension: by ``min``/``max`` for numbers, by ``codes`` otherwise."""
    unknown = len(dimension.categories)
    if dimension.banded:
        number = _numeric(values, f"survey responses: column {dimension.column}")
        placed = np.full(len(values), unknown, dtype=np.int64)
        for i, band in enumerate(dimension.categories):
            placed[(number >= band.min) & (number <= band.max) & (placed == unknown)] = i
        return placed
    category_of = {_code_text(code): i for i, c in enumerate(dimension.categories) for code in c.codes}
    codes, uniques = pd.factorize(values)
    positions = np.array([category_of.get(_code_text(u), unknown) for u in uniques] + [unknown], dtype=np.int64)
    return positions[codes]  # factorize gives -1 for blanks: the appended unknown


def _population_margins(population: pd.DataFrame | None, weighting: Weighting, margins: tuple[Margin, ...], hoods):
    """Population by category of each margin for each neighbourhood in ``hoods``.

    Returns ``(pops, problems)``: one array ``[neighbourhood, category]`` per margin with NaN where a
    neighbourhood lacks a figure, and a message per neighbourhood that cannot be weighted. File-level
    mistakes (a dimension or category the framework does not declare, negative or repeated rows) raise.
    """
    pop = _population_rows(population, weighting)
    pops = _margin_arrays(pop, hoods, margins)
    problems: dict[int, str] = {}
    for h, hood in enumerate(hoods):
        problem = _margins_problem(hood, [p[h] for p in pops], margins)
        if problem:
            problems[h] = problem
    return pops, problems


def _population_rows(population: pd.DataFrame | None, weighting: Weighting) -> pd.DataFrame:
    """The population file's ``neighbourhood, dimension, category, population`` (a number), checked."""
    if population is None or population.empty:
        population = pd.DataFrame(columns=["neighbourhood", "dimension", "category", "population"])
    _require_columns(population, ("neighbourhood", "dimension", "category", "population"), "population")
    pop = population[["neighbourhood", "dimension", "category"]].astype(object).copy()
    pop["population"] = _numeric(population["population"], "population: column population")
    _check_population_rows(pop.reset_index(drop=True), weighting)
    return pop


def _check_population_rows(pop: pd.DataFrame, weighting: Weighting) -> None:
    """Raise on the population table's first undeclared dimension or category, negative or repeated row
    (rows counted from 1 in the table's order)."""
    declared = {d.id: d.category_ids for d in weighting.declared}
    bad_dim = ~pop["dimension"].isin(list(declared))
    if bad_dim.any():
        i = int(np.flatnonzero(bad_dim.to_numpy())[0])
        raise UserError(
            f"population: row {i + 1}, column dimension: '{pop.at[i, 'dimension']}' is not a weighting "
            f"dimension of the framework; expected one of {allowed(declared)} (settings.yaml weighting)"
        )
    for dim, known in declared.items():
        rows = pop[pop["dimension"] == dim]
        bad = ~rows["category"].isin(known)
        if bad.any():
            i = int(rows.index[bad.to_numpy()][0])
            raise UserError(
                f"population: row {i + 1}, column category: neighbourhood '{pop.at[i, 'neighbourhood']}' has "
                f"{dim} category '{pop.at[i, 'category']}', which is not a weighting category; known: {allowed(known)}"
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


def _margin_arrays(pop: pd.DataFrame, hoods, margins: tuple[Margin, ...]) -> list[np.ndarray]:
    """One array ``[neighbourhood, category]`` per margin (its categories, no unknown), NaN where ``pop``
    has no row."""
    hood_pos = {h: i for i, h in enumerate(hoods)}
    pop = pop[pop["neighbourhood"].isin(hood_pos)]
    out = []
    for margin in margins:
        known = margin.labels[:-1]
        target = np.full((len(hoods), len(known)), np.nan)
        rows = pop[pop["dimension"] == margin.id]
        i = rows["neighbourhood"].map(hood_pos).to_numpy(dtype=np.int64)
        j = rows["category"].map({c: k for k, c in enumerate(known)}).to_numpy(dtype=np.int64)
        target[i, j] = rows["population"].to_numpy()
        out.append(target)
    return out


def _margins_problem(hood, pops: list[np.ndarray], margins: tuple[Margin, ...]) -> str | None:
    """The reason one neighbourhood's margins cannot be raked to (missing, 0 adults, totals apart), or None."""
    expected = "expected population rows for " + " and ".join(f"{m.id} {', '.join(m.labels[:-1])}" for m in margins)
    missing = [
        f"{m.word} {c}"
        for m, p in zip(margins, pops, strict=True)
        for c, v in zip(m.labels[:-1], p, strict=True)
        if v != v
    ]
    if len(missing) == sum(len(p) for p in pops):
        return f"population margins are missing for neighbourhood '{hood}'; {expected}"
    if missing:
        return f"population margins for neighbourhood '{hood}' lack {', '.join(missing)}; " + expected
    first, total = margins[0], pops[0].sum()
    if total <= 0:
        return f"population for neighbourhood '{hood}' totals 0 adults"
    for margin, p in zip(margins[1:], pops[1:], strict=True):
        other = p.sum()
        if abs(total - other) > MARGIN_TOTALS_TOLERANCE * total:
            return (
                f"population for neighbourhood '{hood}': the {first.words} total {total:,.0f} "
                f"adults but the {margin.words} total {other:,.0f} "
                f"({abs(total - other) / total:.1%} apart); they must agree "
                f"within {MARGIN_TOTALS_TOLERANCE:.1%}"
            )
    return None


# --- raking -------------------------------------------------------------------------------------


def _other_axes(n_margins: int, *keep: int) -> tuple[int, ...]:
    """The cell axes of a ``[group, *cells]`` array other than those of the margins ``keep``."""
    return tuple(1 + m for m in range(n_margins) if m not in keep)


def _along(values: np.ndarray, margin: int, n_margins: int) -> np.ndarray:
    """``values[group, category]`` (or ``[group, category, v]``) shaped to broadcast over one margin's axis."""
    shape = [values.shape[0]] + [1] * n_margins + list(values.shape[2:])
    shape[1 + margin] = values.shape[1]
    return values.reshape(shape)


def _rake_cells(counts, targets, cap, max_iterations: int, tolerance: float):
    """Iterative proportional fitting on cell counts, all groups at once.

    ``counts[g, *cells]`` respondents; ``targets`` one array ``[g, category]`` per margin (each summing
    to the group's population total); ``cap[g]`` the largest weight allowed or None. One iteration
    adjusts to each margin in turn. A group has converged when every margin total is within
    ``tolerance`` x population of its target; it is then left alone.
    Returns ``(weight[g, *cells], converged[g], iterations[g], gap[g])``.

    With a cap, each adjustment scales the margin's cells by the factor that meets the margin with every
    weight cut to the cap (:func:`_capped_factor`), so the weights converge to ``min(cap, u)`` with ``u`` of
    raking's product form: the cells whose raked weight would pass the cap are held at it and the others are
    raked to make up the margins (the weights closest to the raked ones, in raking's sense, that meet the
    margins and the cap).
    """
    n = counts.astype(float)
    n_margins = n.ndim - 1
    total = targets[0].sum(axis=1)
    size = n.sum(axis=_other_axes(n_margins))
    start = np.divide(total, size, out=np.zeros_like(total), where=size > 0)
    weight = np.where(n > 0, start.reshape((-1,) + (1,) * n_margins), 0.0)
    raked = weight.copy()  # u: the weights before the cap (= weight without one)
    converged = np.zeros(len(n), dtype=bool)
    iterations = np.zeros(len(n), dtype=np.int64)
    gap = np.full(len(n), np.inf)
    active = np.flatnonzero(size > 0)
    for iteration in range(1, max_iterations + 1):
        if active.size == 0:
            break
        w, c = raked[active], n[active]
        for m, target in enumerate(targets):
            if cap is None:
                got = (c * w).sum(axis=_other_axes(n_margins, m))
                factor = np.divide(target[active], got, out=np.ones_like(got), where=got > 0)
            else:
                factor = _capped_factor(np.moveaxis(c, 1 + m, 1), np.moveaxis(w, 1 + m, 1), cap[active], target[active])
            w = w * _along(factor, m, n_margins)
        capped = w if cap is None else np.minimum(w, cap[active].reshape((-1,) + (1,) * n_margins))
        off = (
            np.maximum.reduce(
                [
                    np.abs((c * capped).sum(axis=_other_axes(n_margins, m)) - target[active]).max(axis=1)
                    for m, target in enumerate(targets)
                ]
            )
            / total[active]
        )
        raked[active] = w
        weight[active] = capped
        iterations[active] = iteration
        gap[active] = off
        done = off <= tolerance
        converged[active[done]] = True
        active = active[~done]
    return weight, converged, iterations, gap


def _capped_factor(counts: np.ndarray, raked: np.ndarray, cap: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per group and category of one margin: the factor ``f`` with ``sum(counts * min(cap, f * raked))`` over
    the category's cells equal to its target.

    ``counts`` and ``raked`` are ``[g, category, ...]`` (the margin's axis first), ``cap[g]``, ``target[g,
    category]``. The sum is piecewise linear in ``f``, rising, with a kink where each cell reaches the cap
    (``f = cap / raked``): with the cells in the order they reach it, the first ``i`` capped, ``f = (target -
    cap * their respondents) / sum(counts * raked)`` over the rest, for the ``i`` whose ``f`` lies between the
    ``i``-th and the next kink. A category the cap cannot reach (more than ``cap`` x its respondents) gets the
    factor that caps every cell, and the margin stays short: raking does not converge.
    """
    g, k = counts.shape[:2]
    c = counts.reshape(g, k, -1)
    u = raked.reshape(g, k, -1)
    cap3 = cap[:, None, None]
    reaches = (c > 0) & (u > 0)
    kink = np.where(reaches, cap3 / np.where(reaches, u, 1.0), np.inf)
    order = np.argsort(kink, axis=2, kind="stable")
    kink = np.take_along_axis(kink, order, axis=2)
    c = np.take_along_axis(c, order, axis=2)
    cu = c * np.take_along_axis(u, order, axis=2)
    zero = np.zeros((g, k, 1))
    held = cap3 * np.concatenate([zero, np.cumsum(c, axis=2)], axis=2)  # the first i cells at the cap
    free = np.concatenate([np.cumsum(cu[:, :, ::-1], axis=2)[:, :, ::-1], zero], axis=2)  # the others
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (target[:, :, None] - held) / free
    low = np.concatenate([zero, kink], axis=2)
    high = np.concatenate([kink, np.full((g, k, 1), np.inf)], axis=2)
    fits = (free > 0) & (f >= low * (1 - 1e-12)) & (f <= high * (1 + 1e-12))
    chosen = np.take_along_axis(f, np.argmax(fits, axis=2)[:, :, None], axis=2)[:, :, 0]
    every_capped = np.where(np.isfinite(kink), kink, 0.0).max(axis=2)
    fallback = np.where(c.sum(axis=2) > 0, every_capped, 1.0)
    return np.where(fits.any(axis=2), chosen, fallback)


@dataclass(frozen=True)
class _GroupMargins:
    """Per group (neighbourhood x wave): its neighbourhood's population margins and the raking targets."""

    hood_of_group: np.ndarray  # the neighbourhood index of each group
    hood_problems: dict[int, str]  # why a neighbourhood cannot be weighted, by neighbourhood index
    size: np.ndarray  # [g] respondents
    total: np.ndarray  # [g] adults (the first margin's total)
    pops: tuple[np.ndarray, ...]  # per margin [g, category], rescaled to the first margin's total
    targets: tuple[np.ndarray, ...]  # per margin [g, category]: the categories, then unknown


def _group_margins(population, weighting: Weighting, margins: tuple[Margin, ...], groups: pd.DataFrame, counts):
    """Each group's population margins and raking targets, ``unknown`` categories included."""
    hoods = list(dict.fromkeys(groups["neighbourhood"]))
    pops, hood_problems = _population_margins(population, weighting, margins, hoods)
    hood_of_group = groups["neighbourhood"].map({h: i for i, h in enumerate(hoods)}).to_numpy()
    pops = [p[hood_of_group] for p in pops]
    total = pops[0].sum(axis=1)
    n_margins = counts.ndim - 1
    size = counts.sum(axis=_other_axes(n_margins))
    scaled, targets = [], []
    for m, pop in enumerate(pops):
        with np.errstate(invalid="ignore", divide="ignore"):
            if m > 0:  # every other margin is rescaled to the first's total (they agree within 0.5%)
                pop = pop * (total / pop.sum(axis=1))[:, None]
            unknown = counts.sum(axis=_other_axes(n_margins, m))[:, -1] / size
        scaled.append(pop)
        targets.append(np.column_stack([pop * (1 - unknown)[:, None], total * unknown]))
    return _GroupMargins(
        hood_of_group=hood_of_group,
        hood_problems=hood_problems,
        size=size,
        total=total,
        pops=tuple(scaled),
        targets=tuple(targets),
    )


def _unweightable(groups: pd.DataFrame, counts, gm: _GroupMargins, margins: tuple[Margin, ...]) -> dict[int, str]:
    """The reason each group that cannot be raked cannot (its neighbourhood's margins, an empty category)."""
    problems: dict[int, str] = {}
    n_margins = counts.ndim - 1
    by_margin = [counts.sum(axis=_other_axes(n_margins, m)) for m in range(n_margins)]
    for g in range(len(groups)):
        hood, wave = groups.at[g, "neighbourhood"], groups.at[g, "wave"]
        h = gm.hood_of_group[g]
        if h in gm.hood_problems:
            problems[g] = gm.hood_problems[h] + f" (it has {gm.size[g]} responses at wave {wave})"
            continue
        for m, margin in enumerate(margins):
            problem = _category_problem(
                hood, wave, margin.word, margin.labels[:-1], gm.pops[m][g], by_margin[m][g, :-1]
            )
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


def _cap_of(weighting: Weighting, gm: _GroupMargins) -> np.ndarray | None:
    """Per group: the largest weight allowed (``weight_cap`` x the mean weight), or None without a cap."""
    if weighting.weight_cap is None:
        return None
    return np.where(gm.size > 0, weighting.weight_cap * gm.total / np.maximum(gm.size, 1), np.inf)


def _rake_groups(counts, gm: _GroupMargins, weighting: Weighting, ok: np.ndarray):
    """Rake the groups marked ``ok``: ``(weight[g, *cells], converged[g], iterations[g], gap[g])``.

    ``weight`` is NaN in every group not raked or not converged; ``gap`` (how far the margins
    still are, as a share of the population) is NaN in the groups not raked.
    """
    n_groups = len(counts)
    cap = _cap_of(weighting, gm)
    weight = np.full(counts.shape, np.nan)
    converged = np.zeros(n_groups, dtype=bool)
    iterations = np.zeros(n_groups, dtype=np.int64)
    gap = np.full(n_groups, np.nan)
    if ok.any():
        weight[ok], converged[ok], iterations[ok], gap[ok] = _rake_cells(
            counts[ok],
            [t[ok] for t in gm.targets],
            None if cap is None else cap[ok],
            weighting.max_iterations,
            weighting.tolerance,
        )
        weight[~converged] = np.nan
    return weight, converged, iterations, gap


def _not_converged(groups: pd.DataFrame, g: int, weighting: Weighting, margins, gap: float) -> str:
    """The problem of group ``g``, whose raking stopped ``gap`` of the population short of its margins."""
    hint = " or the weight cap (weighting.weight_cap) cannot be met" if weighting.weight_cap is not None else ""
    labels = [m.dimension.label for m in margins]
    mix = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return (
        f"raking did not converge for neighbourhood '{groups.at[g, 'neighbourhood']}', "
        f"wave {groups.at[g, 'wave']} after {weighting.max_iterations} iterations "
        f"(margins still {gap:.2e} of the population away): the respondents' mix "
        f"of {mix} cannot match the population margins{hint}; check the "
        "population file or raise weighting.max_iterations in settings.yaml"
    )


def build_design(
    responses: pd.DataFrame,
    population: pd.DataFrame | None,
    settings: Settings | Weighting,
    *,
    strict: bool = True,
    project: str | None = None,
) -> CellDesign:
    """Place respondents in raking cells and rake every neighbourhood x wave to the margins settings choose
    for ``project`` (``weighting.rake_to_by_project``; ``rake_to`` for another project or None).

    With ``strict`` a neighbourhood x wave that cannot be weighted raises a UserError listing every
    such case; otherwise its weights are NaN and the reasons are in ``problems``.
    """
    weighting, wave_order = _weighting_of(settings)
    return _design(responses, population, weighting, wave_order, strict=strict, project=project)


def _design(responses, population, weighting: Weighting, wave_order, *, strict: bool, project) -> CellDesign:
    """:func:`build_design` with the weighting and the wave order already taken from the settings."""
    margins = _margins_of(weighting, project)
    _require_columns(
        responses, ("neighbourhood", "wave") + tuple(m.dimension.column for m in margins), "survey responses"
    )
    groups, group = _group_index(responses, wave_order)
    category = _place(responses, margins)
    shape = tuple(len(m.labels) for m in margins)
    n_groups, n_cells = len(groups), int(np.prod(shape))
    key = group * n_cells + np.ravel_multi_index(tuple(category.T), shape)
    counts = np.bincount(key, minlength=n_groups * n_cells).reshape((n_groups,) + shape)

    gm = _group_margins(population, weighting, margins, groups, counts)
    problems = _unweightable(groups, counts, gm, margins)
    ok = np.array([g not in problems for g in range(n_groups)], dtype=bool)
    weight, converged, iterations, gap = _rake_groups(counts, gm, weighting, ok)
    for g in np.flatnonzero(ok & ~converged):
        problems[g] = _not_converged(groups, g, weighting, margins, gap[g])
    ordered = tuple(problems[g] for g in sorted(problems))
    if strict and ordered:
        shown = "; ".join(ordered[:_MAX_PROBLEMS_SHOWN])
        more = len(ordered) - _MAX_PROBLEMS_SHOWN
        raise UserError(shown + (f"; ... and {more} more" if more > 0 else ""))
    return CellDesign(
        groups=groups,
        group=group,
        margins=margins,
        category=category,
        counts=counts,
        weight=weight,
        converged=converged,
        iterations=iterations,
        problems=ordered,
        problem_groups=tuple(sorted(problems)),
        cap=_cap_of(weighting, gm),
    )


# --- public: weights ----------------------------------------------------------------------------


def rake_weights(
    responses: pd.DataFrame,
    population: pd.DataFrame,
    settings: Settings | Weighting,
    *,
    strict: bool = True,
    project: str | None = None,
) -> pd.DataFrame:
    """Raking weights for every respondent, per neighbourhood x wave.

    Parameters
    ----------
    responses
        Survey rows with at least ``respondent_id, neighbourhood, wave`` and the column of each margin
        raked to (``age`` and ``gender`` by default; ``ethnicity`` when that margin is chosen).
    population
        ``neighbourhood, dimension, category, population``: adults 16+ per category of each dimension
        (``age_band``, ``gender`` and any other the framework declares).
    settings
        ``framework().settings`` (waves are then checked and ordered) or its ``weighting``.
    strict
        True (default): any neighbourhood x wave that cannot be weighted raises a UserError
        naming it. False: its respondents get ``weight`` NaN and ``converged`` False, and a
        warning lists the reasons.
    project
        The project whose margins to use (``weighting.rake_to_by_project``); None: ``rake_to``.

    Returns
    -------
    DataFrame, in the responses' row order and index, with columns ``respondent_id,
    neighbourhood, wave`` then

    - one column per margin with the respondent's category or ``unknown``: ``age_band`` (age blank
      or outside every band), ``gender_class`` (transgender, prefer not, blank), ``<id>_class`` for
      another dimension (prefer not to say, blank, an answer in none of its categories)
    - ``weighting_class``: the categories joined by ``" x "``, the raking cell
    - ``weight``: adults this respondent stands for; per neighbourhood x wave the weights add up
      to the population total and reproduce every margin
    - ``converged``, ``iterations``: of the raking of the respondent's neighbourhood x wave

    ``attrs["margins"]`` names the margin columns (for :func:`linearised_mean`).

    Method
    ------
    Iterative proportional fitting from equal starting weights: scale to each margin in turn (in
    the order settings give them), repeat until every margin total is within ``tolerance`` x the
    population total of its target (at most ``max_iterations``). Every margin is first rescaled to
    the first margin's total (they may differ by at most 0.5%).

    Respondents whose answer cannot be placed on a margin are raked in an ``unknown`` category of
    that margin, whose target is the category's unweighted share of respondents times the
    population total; the known categories share out the rest in population proportions. So a
    respondent with an age band but no usable gender still counts towards the age margin, and a
    respondent unknown on every margin gets the mean weight (population / respondents) when
    everyone unknown on one margin is unknown on all.

    With ``weight_cap`` set, after each iteration any weight above ``weight_cap`` x the mean weight
    is cut to that value and raking goes on; convergence then also means the capped weights
    reproduce the margins (:func:`weighting_diagnostics` shows the weights before and after).

    Raises
    ------
    UserError
        Population margins missing for a neighbourhood with responses; margin totals more than
        0.5% apart; a category with adults but no respondents (or respondents but no adults);
        raking not converged (names neighbourhood and wave).

    Not split further: most of its length is this docstring; the work is in :func:`build_design`
    and ``_respondent_weights``.
    """
    _require_columns(responses, KEY_COLUMNS, "survey responses")
    design = build_design(responses, population, settings, strict=strict, project=project)
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
    cells = design.cell
    labels = np.array([" x ".join(c) for c in itertools.product(*(m.labels for m in design.margins))], dtype=object)
    out = pd.DataFrame(
        {c: responses[c] for c in KEY_COLUMNS},
        index=responses.index,
    )
    for m, margin in enumerate(design.margins):
        out[margin.column] = np.asarray(margin.labels, dtype=object)[design.category[:, m]]
    out["weighting_class"] = labels[cells]
    out["weight"] = design.weight.reshape(len(design.groups), -1)[design.group, cells]
    out["converged"] = design.converged[design.group]
    out["iterations"] = design.iterations[design.group]
    out.attrs["margins"] = tuple(m.column for m in design.margins)
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


def weighting_diagnostics(
    responses: pd.DataFrame,
    population: pd.DataFrame | None,
    settings: Settings | Weighting,
    *,
    project: str | None = None,
) -> pd.DataFrame:
    """How the weights came out per neighbourhood x wave, before trimming and (with a ``weight_cap``) after.

    One row per neighbourhood x wave x ``stage``: ``raked`` (raking without the cap) and, when settings
    cap the weights, ``raked and trimmed`` (the weights :func:`rake_weights` gives). Columns
    ``neighbourhood, wave, stage, respondents, weight_min, weight_max, max_to_mean`` (the largest weight
    over the mean weight: what the cap limits), ``design_effect`` (Kish's ``n sum(w^2) / sum(w)^2``),
    ``effective_n`` (``sum(w)^2 / sum(w^2)``), ``converged``, ``iterations``, ``at_or_over_cap`` (respondents
    whose weight is at or over the cap: those trimming cuts, before it; blank without a cap) and
    ``problem`` (why a neighbourhood x wave could not be weighted; blank when it was). Figures are blank
    where the stage did not converge. Sorted by neighbourhood, wave (the framework's order when
    ``settings`` are the framework's), stage.
    """
    weighting, wave_order = _weighting_of(settings)
    stages = [(RAKED, weighting.model_copy(update={"weight_cap": None}))]
    if weighting.weight_cap is not None:
        stages.append((TRIMMED, weighting))
    frames = []
    for order, (stage, stage_weighting) in enumerate(stages):
        design = _design(responses, population, stage_weighting, wave_order, strict=False, project=project)
        table = _design_diagnostics(design, weighting.weight_cap)
        frames.append(table.assign(stage=stage, _stage=order, _group=np.arange(len(table))))
    out = pd.concat(frames, ignore_index=True).sort_values(["_group", "_stage"], kind="stable")
    return out[list(DIAGNOSTIC_COLUMNS)].reset_index(drop=True)


def _design_diagnostics(design: CellDesign, weight_cap: float | None) -> pd.DataFrame:
    """:func:`weighting_diagnostics`' figures for one design, a row per group in the design's order."""
    n_groups = len(design.groups)
    counts = design.counts.reshape(n_groups, -1).astype(float)
    weight = design.weight.reshape(n_groups, -1)
    present = counts > 0
    ok = design.converged
    with np.errstate(invalid="ignore", divide="ignore"):
        size = counts.sum(axis=1)
        total = np.nansum(counts * weight, axis=1)
        total2 = np.nansum(counts * weight**2, axis=1)
        mean = total / size
        low = np.where(present, weight, np.inf).min(axis=1, initial=np.inf)
        high = np.where(present, weight, -np.inf).max(axis=1, initial=-np.inf)
        out = design.groups.copy()
        out["respondents"] = size.astype(np.int64)
        out["weight_min"] = np.where(ok, low, np.nan)
        out["weight_max"] = np.where(ok, high, np.nan)
        out["max_to_mean"] = np.where(ok, high / mean, np.nan)
        out["design_effect"] = np.where(ok, size * total2 / total**2, np.nan)
        out["effective_n"] = np.where(ok, total**2 / total2, np.nan)
    out["converged"] = ok
    out["iterations"] = design.iterations
    if weight_cap is None:
        out["at_or_over_cap"] = pd.array([pd.NA] * n_groups, dtype="Int64")
    else:
        cap = weight_cap * mean * (1 - 1e-9)
        reached = np.where(present & (weight >= cap[:, None]), counts, 0).sum(axis=1)
        out["at_or_over_cap"] = pd.array(np.where(ok, reached, 0).astype(np.int64), dtype="Int64")
        out.loc[~ok, "at_or_over_cap"] = pd.NA
    problems = dict(zip(design.problem_groups, design.problems, strict=True))
    out["problem"] = [problems.get(g, "") for g in range(n_groups)]
    return out


# --- linearisation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSums:
    """Per group x cell x variable: answerers and sums of y and y^2 over those who answered
    (arrays ``[g, *cells, v]``)."""

    answered: np.ndarray
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
    """Step 3 of :func:`linearised_estimates`: per cell, the fitted value ``X b`` (``[g, *cells, v]``) of the
    unweighted least-squares fit of ``z`` on the dummies of every margin's categories, from
    ``counts[g, *cells]`` and the cell sums of ``z``, ``s_z[g, *cells, v]``.

    The normal matrix ``X'X`` has a block per pair of margins: the respondents in each pair of their
    categories (on the diagonal, each category's respondents)."""
    n_margins = counts.ndim - 1
    sizes = counts.shape[1:]
    start = np.concatenate([[0], np.cumsum(sizes)])
    c = counts.astype(float)
    normal = np.zeros((len(c), start[-1], start[-1]))
    for m in range(n_margins):
        span = np.arange(start[m], start[m + 1])
        normal[:, span, span] = c.sum(axis=_other_axes(n_margins, m))
        for k in range(m + 1, n_margins):
            block = c.sum(axis=_other_axes(n_margins, m, k))  # [g, category of m, category of k]
            normal[:, start[m] : start[m + 1], start[k] : start[k + 1]] = block
            normal[:, start[k] : start[k + 1], start[m] : start[m + 1]] = np.swapaxes(block, 1, 2)
    rhs = np.concatenate([s_z.sum(axis=_other_axes(n_margins, m)) for m in range(n_margins)], axis=1)  # [g, p, v]
    coef = _solve_psd(normal, rhs)
    fitted = _along(coef[:, start[0] : start[1], :], 0, n_margins)
    for m in range(1, n_margins):
        fitted = fitted + _along(coef[:, start[m] : start[m + 1], :], m, n_margins)
    return fitted


def linearised_estimates(counts: np.ndarray, weight: np.ndarray, sums: CellSums):
    """Weighted means of several variables per group with their linearised standard errors.

    ``counts[g, *cells]`` respondents per raking cell (all respondents, answering or not; one axis
    per margin), ``weight[g, *cells]`` the raked (and perhaps capped) weight in the cell. For each
    group and variable:

    1. estimate ``m = sum(w y) / W`` over answerers, ``W = sum(w)`` over answerers;
    2. influence values ``z_i = (y_i - m) / W`` for answerers and 0 for the others (who stay in
       the design);
    3. residuals ``e = z - X b`` from the least-squares fit of ``z`` on the raking-margin dummies
       ``X`` (every margin's categories, ``unknown`` included), over all respondents and
       unweighted: the design (pre-raking) weights are equal, so this is the design-weighted fit
       that calibration theory and R's ``survey`` package use;
    4. variance ``n / (n - 1) * sum((u_i - mean(u))^2)`` with ``u_i = w_i e_i`` over all ``n``
       respondents of the group (one stratum, no clusters, with replacement, no fpc).

    Everything is computed from cell sums: the dummies, the weights and the fitted values are
    constant within a cell. Returns ``(estimate, se, kish_n)``, each ``[g, v]``, where ``kish_n``
    is ``sum(w)^2 / sum(w^2)`` over the answerers.
    """
    n_margins = counts.ndim - 1
    cells = _other_axes(n_margins)
    n_c = counts.astype(float)[..., None]
    w = weight[..., None]
    a, y1, y2 = sums.answered, sums.sum_y, sums.sum_y2
    with np.errstate(invalid="ignore", divide="ignore"):
        big_w = (w * a).sum(axis=cells)
        mean = (w * y1).sum(axis=cells) / big_w
        m = mean.reshape((len(mean),) + (1,) * n_margins + (-1,))
        wt = big_w.reshape(m.shape)
        s_z = (y1 - m * a) / wt  # sum of z in the cell
        s_zz = (y2 - 2 * m * y1 + m**2 * a) / wt**2  # sum of z^2 in the cell
    s_z = np.nan_to_num(s_z)
    s_zz = np.nan_to_num(s_zz)
    fitted = _margin_fit(counts, s_z)  # step 3

    w0 = np.nan_to_num(w)
    sum_u = (w0 * (s_z - n_c * fitted)).sum(axis=cells)
    sum_uu = (w0**2 * (s_zz - 2 * fitted * s_z + n_c * fitted**2)).sum(axis=cells)
    n = counts.astype(float).sum(axis=cells)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = n / (n - 1) * (sum_uu - sum_u**2 / n)
        # the margins can explain an item completely (say, every young person agrees and nobody
        # older does): the variance is then 0 up to rounding, relative to its raw size
        raw = (w0**2 * s_zz).sum(axis=cells)
        var = np.where(var <= 1e-12 * raw, 0.0, var)
        se = np.sqrt(var)
        se = np.where((n > 1) & np.isfinite(mean), se, np.nan)
        kish = big_w**2 / (w**2 * a).sum(axis=cells)
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


def linearised_mean(design: pd.DataFrame, values, *, margins: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Weighted mean of one variable per neighbourhood x wave with its linearised standard error.

    Parameters
    ----------
    design
        The output of :func:`rake_weights` (columns ``neighbourhood, wave, weight`` and a column per
        margin: ``age_band, gender_class`` and any ``<id>_class``).
    values
        One value per design row (a Series aligned on the design's index, or an array in its row
        order); NaN / <NA> = the respondent did not answer. A share is the mean of a 0/1 variable.
    margins
        The margin columns; default: those :func:`rake_weights` recorded in ``design.attrs``, else
        ``age_band, gender_class``.

    Returns
    -------
    DataFrame ``neighbourhood, wave, base_n, estimate, se, effective_n``: ``base_n`` answered;
    ``effective_n`` is Kish's ``sum(w)^2 / sum(w^2)`` over those who answered.

    Non-answerers are a domain: the estimate is over those who answered, their influence values
    are zero, but they stay in the design, so their margin dummies still enter the calibration
    residuals. This is R's ``svymean(~y, rake(...), na.rm = TRUE)`` (docs/method.md).
    """
    margins = tuple(margins or design.attrs.get("margins") or ("age_band", "gender_class"))
    _require_columns(design, ("neighbourhood", "wave", "weight") + margins, "design")
    y = _values_of(design, values)
    groups, group = _group_index(design, None)
    codes, shape = [], []
    for column in margins:
        code, labels = pd.factorize(design[column], sort=True)
        codes.append(code)
        shape.append(len(labels))
    n_g, n_cells = len(groups), int(np.prod(shape))
    key = group * n_cells + np.ravel_multi_index(tuple(codes), shape)
    size = n_g * n_cells

    def cell_sum(x):
        return np.bincount(key, weights=x, minlength=size).reshape([n_g, *shape])

    w = design["weight"].to_numpy(dtype=float)
    counts = np.bincount(key, minlength=size).reshape([n_g, *shape])
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
    out["base_n"] = sums.answered.sum(axis=_other_axes(len(shape)))[:, 0].astype(np.int64)
    out["estimate"] = estimate[:, 0]
    out["se"] = se[:, 0]
    out["effective_n"] = kish[:, 0]
    return out
