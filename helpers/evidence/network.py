"""The network's evidence: councils' DiDs from the network database, pooled per family, measure and wave.

``pooled_table(db, fw, family)`` is what ``network meta`` writes and the network report shows: each council's
latest DiD (:func:`helpers.store.network.pooling_rows`) pooled by :func:`helpers.methods.meta.meta_table`,
waves in the framework's order, with the measures left out because councils word them differently.

``council_estimates(db, fw, family)`` is each council's own figures per statement and wave, for its scheme's
neighbourhoods and its comparison neighbourhoods together (:func:`helpers.methods.meta.areas_together`),
beside its DiD: the councils side by side before anything is pooled.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..methods.meta import areas_together, meta_table, wording_differences
from ..store import network


def pooled_table(db: Path | str, fw: Framework, family: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the pooled table, the measures not pooled because their wording differs, with the councils on each)."""
    rows = network.pooling_rows(db, family)
    if family and rows.empty:
        known = network.families(db)
        raise UserError(f"no council's return has the family '{family}'; families held: {allowed(known)}")
    words = network.wording(db)
    differing = wording_differences(words[words["council"].isin(set(rows["council"]))])
    rows = rows[~rows["measure"].isin(set(differing["measure"]))]
    table = meta_table(rows, confidence=fw.settings.thresholds.confidence_level)
    rank = {w: i for i, w in enumerate(fw.settings.wave_ids)}  # waves in the framework's order, not by name
    table = table.sort_values(
        ["family", "measure", "statistic", "wave"],
        key=lambda c: c.map(rank) if c.name == "wave" else c,
        kind="stable",
    )
    return table.reset_index(drop=True), differing


ROLES = {"pilot": "pilot_areas", "comparison": "comparison_areas"}
ESTIMATE_COLUMNS = [
    "council", "project", "measure", "statistic", "role", "wave", "areas", "answers", "estimate", "se", "ci_low",
    "ci_high", "shown",
]  # fmt: skip


def _role_areas(did: pd.DataFrame, column: str) -> list[str]:
    """The neighbourhoods a council's DiD pooled for a role, over all its waves (``;``-separated in the return)."""
    names = {n for cell in did[column].dropna() for n in str(cell).split(";") if n}
    return sorted(names)


def council_estimates(db: Path | str, fw: Framework, family: str) -> pd.DataFrame:
    """Each council's figure per measure, statistic, role and wave (every wave, the framework's order) for the
    family's schemes, from its latest return (:data:`ESTIMATE_COLUMNS`).

    A role's neighbourhoods are those its DiD pooled; at a wave they make one figure only when every one of them
    is published there (``shown``): a figure from some of them would be of another place, and a neighbourhood
    held back for a small base must stay so."""
    did = network.latest_rows(db, "did").merge(network.project_families(db), on=["council", "period", "project"])
    did = did[did["family"] == family]
    scores = network.latest_rows(db, "scores")
    scores = scores[scores["weighted"].fillna(False).astype(bool)]
    level = fw.settings.thresholds.confidence_level
    out = []
    for (council, project, measure, statistic), rows in did.groupby(
        ["council", "project", "measure", "statistic"], sort=True
    ):
        mine = scores[(scores["council"] == council) & (scores["measure"] == measure)]
        mine = mine[mine["statistic"] == statistic]
        for role, column in ROLES.items():
            hoods = _role_areas(rows, column)
            if not hoods:
                continue
            for wave in fw.settings.wave_ids:
                cells = mine[(mine["wave"] == wave) & mine["neighbourhood"].isin(hoods)]
                cells = cells[~cells["suppressed"].fillna(False).astype(bool)].dropna(subset=["estimate", "se"])
                shown = len(cells) == len(hoods) and bool((cells["base_n"] > 0).all())
                figures = (
                    areas_together(cells["estimate"], cells["se"], cells["base_n"], level)
                    if shown
                    else (float("nan"),) * 4
                )
                answers = int(cells["base_n"].sum()) if shown else None
                out.append([council, project, measure, statistic, role, wave, len(hoods), answers, *figures, shown])
    return pd.DataFrame(out, columns=ESTIMATE_COLUMNS)
