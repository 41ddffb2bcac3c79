"""Checks across rows, and against what is already loaded (all vectorised).

- population: each category belongs to its dimension (settings.yaml declares them), every neighbourhood has a
  row for every age band and gender (and for every category of another dimension it gives), its age-band total
  equals its gender total and another dimension's is within 0.5% of it; a neighbourhood's rows load together;
- areas: one name per neighbourhood;
- every other kind: neighbourhoods must be in the areas table (ids typed in another case are stored as the
  areas file spells them); stories and sentiment name a neighbourhood that serves their project; stories
  name outcomes of their project's ripple map.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.errors import allowed
from ..config.framework import AGE_BAND, GENDER, MARGIN_TOTALS_TOLERANCE, Framework, WeightingDimension
from .kinds import Kind
from .rejects import REJECT_COLUMNS, cell_rejects


def cross_row_rejects(kind: str, typed: pd.DataFrame, typed_ok: pd.DataFrame, frame: pd.DataFrame, fw: Framework):
    """Rejects of checks across rows (``typed_ok``: the rows with no bad cell)."""
    if kind == "population":
        return population_rejects(typed, typed_ok, frame, fw)
    if kind == "areas":
        return area_name_rejects(typed_ok, frame)
    return []


# --- population ---------------------------------------------------------------------------------------


def population_rejects(
    typed: pd.DataFrame, typed_ok: pd.DataFrame, frame: pd.DataFrame, fw: Framework
) -> list[pd.DataFrame]:
    """Categories of the wrong dimension, neighbourhoods lacking a category, margins that disagree."""
    declared = fw.settings.weighting.declared
    out, mismatch = _category_dimension_rejects(typed_ok, frame, declared)
    whole = typed_ok.loc[~mismatch]
    hoods_with_bad = set(typed.loc[~typed.index.isin(whole.index), "neighbourhood"].dropna())
    whole = whole[~whole["neighbourhood"].isin(hoods_with_bad)]
    if whole.empty:
        return out
    lacking, whole = _missing_category_rejects(whole, frame, declared)
    return out + lacking + _margin_rejects(whole, frame)


def _category_list(dimension: WeightingDimension) -> str:
    """'age band (16-34, ...)', 'gender (male, female)', 'ethnic group (white, ...)'."""
    what = {AGE_BAND: "age band"}.get(dimension.id, dimension.label)
    return f"{what} ({', '.join(dimension.category_ids)})"


def _category_words(dimension: WeightingDimension) -> str:
    """'an age band (16-34, ...)', 'a gender (male, female)', 'an ethnic group (white, ...)'."""
    article = "an" if _category_list(dimension)[:1].lower() in "aeiou" else "a"
    return f"{article} {_category_list(dimension)}"


def _category_dimension_rejects(
    typed_ok: pd.DataFrame, frame: pd.DataFrame, declared: tuple[WeightingDimension, ...]
) -> tuple[list[pd.DataFrame], pd.Series]:
    """A category must belong to its dimension; returns the rejects and which rows do not."""
    allowed_pairs = pd.MultiIndex.from_tuples([(d.id, c) for d in declared for c in d.category_ids])
    pairs = pd.MultiIndex.from_arrays([typed_ok["dimension"].astype(object), typed_ok["category"].astype(object)])
    mismatch = pd.Series(~pairs.isin(allowed_pairs), index=typed_ok.index)
    if not mismatch.any():
        return [], mismatch
    expected = typed_ok.loc[mismatch, "dimension"].map(
        {d.id: f"{_category_words(d)} for dimension {d.id}" for d in declared}
    )
    return [cell_rejects(frame, typed_ok.index[mismatch], "category", expected)], mismatch


def _missing_category_rejects(
    whole: pd.DataFrame, frame: pd.DataFrame, declared: tuple[WeightingDimension, ...]
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Every row of a neighbourhood that lacks an age band or gender, or a category of another dimension it
    gives (another dimension is optional, but all of its categories or none); returns them and the other rows."""
    required = {AGE_BAND, GENDER}
    present = whole.groupby("neighbourhood")[["dimension", "category"]].apply(
        lambda rows: set(zip(rows["dimension"], rows["category"], strict=True))
    )
    needed = present.map(lambda got: [d for d in declared if d.id in required | {dim for dim, _ in got}])
    lacking = pd.Series(
        [[c for d in needed[h] for c in d.category_ids if (d.id, c) not in present[h]] for h in present.index],
        index=present.index,
        dtype=object,
    )
    lacking = lacking[lacking.map(len) > 0]
    if lacking.empty:
        return [], whole
    rows_mask = whole["neighbourhood"].isin(lacking.index)

    def expected_of(h: str) -> str:
        lists = [_category_list(d) for d in needed[h]]
        every = ", ".join(lists[:-1]) + " and " + lists[-1]
        return f"rows for every {every} of neighbourhood {h}; missing: {', '.join(lacking[h])}"

    expected = whole.loc[rows_mask, "neighbourhood"].map(expected_of)
    return [cell_rejects(frame, whole.index[rows_mask], "category", expected)], whole[~rows_mask]


def _margin_rejects(whole: pd.DataFrame, frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Every row of a neighbourhood whose age-band total differs from its gender total, or from another
    dimension's total by more than the weighting allows (MARGIN_TOTALS_TOLERANCE: census tables of different
    counts seldom agree to the person; the weighting rescales them to the age-band total)."""
    totals = whole.groupby(["neighbourhood", "dimension"])["population"].sum().unstack()
    if not {AGE_BAND, GENDER} <= set(totals.columns):
        return []
    expected = pd.Series("", index=totals.index, dtype=object)
    differ = totals[GENDER] != totals[AGE_BAND]
    expected[differ] = [
        f"the age-band total ({totals.at[h, AGE_BAND]:.0f}) to equal the gender total ({totals.at[h, GENDER]:.0f}) "
        f"for neighbourhood {h}"
        for h in totals.index[differ]
    ]
    for dim in [c for c in totals.columns if c not in (AGE_BAND, GENDER)]:
        apart = (totals[dim] - totals[AGE_BAND]).abs() > MARGIN_TOTALS_TOLERANCE * totals[AGE_BAND]
        apart &= totals[dim].notna() & (expected == "")
        expected[apart] = [
            f"the {dim} total ({totals.at[h, dim]:.0f}) to be within {MARGIN_TOTALS_TOLERANCE:.1%} of the "
            f"age-band total ({totals.at[h, AGE_BAND]:.0f}) for neighbourhood {h}"
            for h in totals.index[apart]
        ]
    expected = expected[expected != ""]
    if expected.empty:
        return []
    rows_mask = whole["neighbourhood"].isin(expected.index)
    return [
        cell_rejects(frame, whole.index[rows_mask], "population", whole.loc[rows_mask, "neighbourhood"].map(expected))
    ]


def companion_rejects(spec: Kind, typed: pd.DataFrame, rejects: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that load together (a population's neighbourhood: the weights need every margin) are refused
    together: each good row of a group with a bad row is a reject naming that bad row."""
    group = spec.load_together
    if not group or rejects.empty:
        return rejects
    bad_rows = typed.index.isin(rejects["row"])
    groups = set(typed.loc[bad_rows, group].dropna())
    mask = typed[group].isin(groups) & ~bad_rows
    if not mask.any():
        return rejects
    first_bad = (
        pd.Series(typed.index[bad_rows], index=typed.index[bad_rows])
        .groupby(typed.loc[bad_rows, group].to_numpy())
        .min()
    )
    expected = typed.loc[mask, group].map(
        lambda h: f"every row of {group} {h} to be valid: they load together, and row {first_bad[h]} is not"
    )
    extra = cell_rejects(frame, typed.index[mask], group, expected)
    extra.insert(0, "file", rejects["file"].iloc[0])
    return pd.concat([rejects, extra], ignore_index=True).sort_values(["row"], kind="stable").reset_index(drop=True)


# --- areas --------------------------------------------------------------------------------------------


def area_name_rejects(typed_ok: pd.DataFrame, frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Every row of a neighbourhood given more than one name."""
    names = typed_ok.groupby("neighbourhood")["name"].nunique()
    clash = names[names > 1].index
    if not len(clash):
        return []
    mask = typed_ok["neighbourhood"].isin(clash)
    listed = typed_ok[mask].groupby("neighbourhood")["name"].agg(lambda s: "', '".join(sorted(set(s))))
    expected = typed_ok.loc[mask, "neighbourhood"].map(
        lambda h: f"one name for neighbourhood {h} on every row (got '{listed[h]}')"
    )
    return [cell_rejects(frame, typed_ok.index[mask], "name", expected)]


# --- references to what is loaded, and to the framework ----------------------------------------------


def known_neighbourhoods(spec: Kind, areas: pd.DataFrame) -> list[str]:
    """The neighbourhood ids a file of this kind may use: the areas table's, and the whole area's id if any."""
    known = sorted(set(areas["neighbourhood"])) if not areas.empty else []
    return known + ([spec.whole_area] if spec.whole_area else [])


def canonical_neighbourhoods(hoods: pd.Series, areas: pd.DataFrame, spec: Kind) -> pd.Series:
    """Neighbourhood ids as the areas table spells them, where they differ only in case (and unambiguously)."""
    known = known_neighbourhoods(spec, areas)
    folded = pd.Series(known, dtype=object).groupby(pd.Series(known, dtype=object).str.lower()).agg(list)
    canonical = {k: v[0] for k, v in folded.items() if len(v) == 1}
    differ = hoods.notna() & ~hoods.isin(known)
    if not differ.any():
        return hoods
    fixed = hoods[differ].str.lower().map(canonical)
    out = hoods.copy()
    out[fixed.index[fixed.notna()]] = fixed[fixed.notna()]
    return out


def reference_rejects(
    spec: Kind, typed: pd.DataFrame, fw: Framework, areas: pd.DataFrame, name: str, frame: pd.DataFrame
) -> pd.DataFrame:
    """Rows that name a neighbourhood, project or outcome the workbook does not know (vectorised).

    ``areas`` is the loaded areas table (neighbourhood, project). Tidies a story's outcomes in ``typed``
    ("a ; b" is stored as "a;b").
    """
    parts = []
    if spec.name != "areas":
        unknown = _unknown_neighbourhoods(spec, typed, areas, frame, parts)
        if spec.serves_project and not areas.empty:
            parts += _unserved_rejects(typed, areas, unknown, frame)
    if "outcomes" in spec.names:
        parts += _outcome_rejects(typed, fw, frame)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REJECT_COLUMNS[1:])
    table.insert(0, "file", name)
    return table


def _unknown_neighbourhoods(
    spec: Kind, typed: pd.DataFrame, areas: pd.DataFrame, frame: pd.DataFrame, parts: list
) -> np.ndarray:
    """Adds the rejects of neighbourhoods not in the areas table to ``parts``; returns which rows they are."""
    known = known_neighbourhoods(spec, areas)
    hoods = typed["neighbourhood"]
    unknown = hoods.notna() & ~hoods.isin(known)
    if unknown.any():
        hint = allowed(known) if not areas.empty else "none yet: import the areas file first"
        expected = f"a neighbourhood in the areas table ({hint})"
        parts.append(cell_rejects(frame, typed.index[unknown], "neighbourhood", expected))
    return unknown.to_numpy()


def _unserved_rejects(
    typed: pd.DataFrame, areas: pd.DataFrame, unknown: np.ndarray, frame: pd.DataFrame
) -> list[pd.DataFrame]:
    """Rows whose (known) neighbourhood does not serve their project."""
    hoods = typed["neighbourhood"]
    served = pd.MultiIndex.from_arrays([areas["neighbourhood"].astype(object), areas["project"].astype(object)])
    asked = pd.MultiIndex.from_arrays([hoods.astype(object), typed["project"].astype(object)])
    wrong = ~asked.isin(served) & ~unknown & typed["project"].notna().to_numpy() & hoods.notna().to_numpy()
    if not wrong.any():
        return []
    serves = areas.groupby("project")["neighbourhood"].agg(lambda s: allowed(sorted(s)))
    expected = typed.loc[wrong, "project"].map(
        lambda p: f"a neighbourhood that serves project {p} in the areas table ({serves.get(p, 'none')})"
    )
    return [cell_rejects(frame, typed.index[wrong], "neighbourhood", expected)]


def _outcome_rejects(typed: pd.DataFrame, fw: Framework, frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Rows whose outcomes are not ids of their project's ripple map (or none at all)."""
    listed = typed["outcomes"].fillna("").str.split(";").explode().str.strip()
    listed = listed[listed != ""]
    tidy = listed.groupby(level=0).agg(";".join)  # "a ; b" is stored as "a;b"
    typed.loc[tidy.index, "outcomes"] = tidy
    project_of = typed["project"].loc[listed.index]
    valid = {(p.id, o) for p in fw.projects for o in p.outcome_ids}
    ok = pd.Series(
        pd.MultiIndex.from_arrays([project_of.astype(object), listed.astype(object)]).isin(list(valid)),
        index=listed.index,
    )
    has_any = pd.Series(False, index=typed.index)
    has_any[listed.index.unique()] = True
    wrong_rows = set(listed.index[~ok]) | set(typed.index[~has_any & typed["outcomes"].notna()])
    wrong = typed.index.isin(list(wrong_rows)) & typed["project"].notna()
    if not wrong.any():
        return []
    rows = typed.index[wrong]
    unknown_ids = listed[~ok].groupby(level=0).agg(lambda s: ", ".join(s))
    by_project = {p.id: allowed(p.outcome_ids) for p in fw.projects}
    base = typed.loc[wrong, "project"].map(
        lambda p: f"outcome ids of {p}'s ripple map separated by ';' ({by_project[p]})"
    )
    not_in = unknown_ids.reindex(rows)
    expected = base.where(not_in.isna(), base + "; not in it: " + not_in.fillna(""))
    return [cell_rejects(frame, rows, "outcomes", expected)]
