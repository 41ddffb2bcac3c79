"""Checks across rows, and against what is already loaded (all vectorised).

- population: each category belongs to its dimension, every neighbourhood has a row for every age band
  and gender, and its age-band total equals its gender total; a neighbourhood's rows load together;
- areas: one name per neighbourhood;
- every other kind: neighbourhoods must be in the areas table (ids typed in another case are stored as the
  areas file spells them); stories and sentiment name a neighbourhood that serves their project; stories
  name outcomes of their project's ripple map.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.errors import allowed
from ..config.framework import Framework
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
    wt = fw.settings.weighting
    bands, genders = [b.id for b in wt.age_bands], list(wt.genders)
    out, mismatch = _category_dimension_rejects(typed_ok, frame, bands, genders)
    whole = typed_ok.loc[~mismatch]
    hoods_with_bad = set(typed.loc[~typed.index.isin(whole.index), "neighbourhood"].dropna())
    whole = whole[~whole["neighbourhood"].isin(hoods_with_bad)]
    if whole.empty:
        return out
    lacking, whole = _missing_category_rejects(whole, frame, bands, genders)
    return out + lacking + _margin_rejects(whole, frame)


def _category_dimension_rejects(
    typed_ok: pd.DataFrame, frame: pd.DataFrame, bands: list[str], genders: list[str]
) -> tuple[list[pd.DataFrame], pd.Series]:
    """A category must belong to its dimension; returns the rejects and which rows do not."""
    by_dimension = {"age_band": set(bands), "gender": set(genders)}
    allowed_pairs = pd.MultiIndex.from_tuples([(d, c) for d, cats in by_dimension.items() for c in cats])
    pairs = pd.MultiIndex.from_arrays([typed_ok["dimension"].astype(object), typed_ok["category"].astype(object)])
    mismatch = pd.Series(~pairs.isin(allowed_pairs), index=typed_ok.index)
    if not mismatch.any():
        return [], mismatch
    expected = typed_ok.loc[mismatch, "dimension"].map(
        {
            "age_band": f"an age band ({', '.join(bands)}) for dimension age_band",
            "gender": f"a gender ({', '.join(genders)}) for dimension gender",
        }
    )
    return [cell_rejects(frame, typed_ok.index[mismatch], "category", expected)], mismatch


def _missing_category_rejects(
    whole: pd.DataFrame, frame: pd.DataFrame, bands: list[str], genders: list[str]
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Every row of a neighbourhood that lacks an age band or gender; returns them and the other rows."""
    present = whole.groupby("neighbourhood")["category"].agg(set)
    needed = set(bands) | set(genders)
    lacking = present.map(lambda got: sorted(needed - got, key=[*bands, *genders].index))
    lacking = lacking[lacking.map(len) > 0]
    if lacking.empty:
        return [], whole
    rows_mask = whole["neighbourhood"].isin(lacking.index)
    expected = whole.loc[rows_mask, "neighbourhood"].map(
        lambda h: (
            f"rows for every age band ({', '.join(bands)}) and gender ({', '.join(genders)}) "
            f"of neighbourhood {h}; missing: {', '.join(lacking[h])}"
        )
    )
    return [cell_rejects(frame, whole.index[rows_mask], "category", expected)], whole[~rows_mask]


def _margin_rejects(whole: pd.DataFrame, frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Every row of a neighbourhood whose age-band total differs from its gender total."""
    totals = whole.groupby(["neighbourhood", "dimension"])["population"].sum().unstack()
    if not {"age_band", "gender"} <= set(totals.columns):
        return []
    differ = totals[totals["age_band"] != totals["gender"]]
    if differ.empty:
        return []
    rows_mask = whole["neighbourhood"].isin(differ.index)
    expected = whole.loc[rows_mask, "neighbourhood"].map(
        lambda h: (
            f"the age-band total ({differ.at[h, 'age_band']}) to equal the gender total "
            f"({differ.at[h, 'gender']}) for neighbourhood {h}"
        )
    )
    return [cell_rejects(frame, whole.index[rows_mask], "population", expected)]


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
