"""The network's evidence: councils' DiDs from the network database, pooled per family, measure and wave.

``pooled_table(db, fw, family)`` is what ``network meta`` writes and the network report shows: each council's
latest DiD (:func:`helpers.store.network.pooling_rows`) pooled by :func:`helpers.methods.meta.meta_table`,
waves in the framework's order, with the councils left out of a measure because they word it differently from
this workbook's framework.

``council_estimates(db, fw, family)`` is each council's own figures per statement and wave, for its scheme's
neighbourhoods and its comparison neighbourhoods together (:func:`helpers.methods.meta.areas_together`),
beside its DiD: the councils side by side before anything is pooled.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..methods.meta import areas_together, meta_table, worded_as_reference, wording_differences
from ..store import network


def wording_left_out(db: Path | str, fw: Framework, councils: set[str]) -> pd.DataFrame:
    """Of ``councils``, those that word a measure differently from this workbook's framework, per measure
    (:func:`helpers.methods.meta.wording_differences`): ``measure, councils``."""
    from ..store.returns import wording_hashes

    words = network.wording(db)
    return wording_differences(words[words["council"].isin(councils)], wording_hashes(fw))


def pooled_table(db: Path | str, fw: Framework, family: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the pooled table, the councils left out of a measure's pooling because they word it differently from this
    workbook's framework: ``measure, councils``)."""
    rows = network.pooling_rows(db, family)
    if family and rows.empty:
        known = network.families(db)
        raise UserError(f"no council's return has the family '{family}'; families held: {allowed(known)}")
    differing = wording_left_out(db, fw, set(rows["council"]))
    rows = worded_as_reference(rows, differing)
    table = meta_table(rows, confidence=fw.settings.thresholds.confidence_level)
    from ..store.returns import wording_hashes

    # measures and waves in the framework's order (the statements, then health and happiness), not by name;
    # a measure the framework does not hold comes last
    order = {
        "wave": {w: i for i, w in enumerate(fw.settings.wave_ids)},
        "measure": {m: i for i, m in enumerate(wording_hashes(fw))},
    }
    table = table.sort_values(
        ["family", "measure", "statistic", "wave"],
        key=lambda c: c.map(order[c.name]).fillna(len(order[c.name])) if c.name in order else c,
        kind="stable",
    )
    return table.reset_index(drop=True), differing


ROLES = {"pilot": "pilot_areas", "comparison": "comparison_areas"}
ESTIMATE_COLUMNS = [
    "council", "project", "measure", "statistic", "role", "wave", "areas", "answers", "estimate", "se", "ci_low",
    "ci_high", "shown",
]  # fmt: skip
GROUP = ["council", "project", "measure", "statistic"]


def _role_areas(did: pd.DataFrame) -> pd.DataFrame:
    """The neighbourhoods each council's DiD pooled per role, over all its waves (``;``-separated in the return):
    ``council, project, measure, statistic, role, neighbourhood``, each once."""
    parts = []
    for role, column in ROLES.items():
        names = did[[*GROUP, column]].assign(neighbourhood=did[column].fillna("").astype(str).str.split(";"))
        names = names.explode("neighbourhood").drop(columns=column).assign(role=role)
        parts.append(names[names["neighbourhood"].astype(bool)])
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def council_estimates(db: Path | str, fw: Framework, family: str) -> pd.DataFrame:
    """Each council's figure per measure, statistic, role and wave (every wave, the framework's order) for the
    family's schemes, from its latest return (:data:`ESTIMATE_COLUMNS`).

    A role's neighbourhoods are those its DiD pooled; at a wave they make one figure only when every one of them
    is published there (``shown``): a figure from some of them would be of another place, and a neighbourhood
    held back for a small base must stay so (:func:`helpers.methods.meta.areas_together`)."""
    did = network.latest_rows(db, "did").merge(network.project_families(db), on=["council", "period", "project"])
    did = did[did["family"] == family]
    if did.empty:
        return pd.DataFrame(columns=ESTIMATE_COLUMNS)
    scores = network.latest_rows(db, "scores")
    scores = scores[scores["weighted"].fillna(False).astype(bool)]
    published = scores[~scores["suppressed"].fillna(False).astype(bool)]
    waves = pd.DataFrame({"wave": list(fw.settings.wave_ids)})
    cells = _role_areas(did).merge(waves, how="cross")  # every wave of every neighbourhood, published or not
    cells = cells.merge(
        published[["council", "neighbourhood", "measure", "statistic", "wave", "base_n", "estimate", "se"]],
        on=["council", "neighbourhood", "measure", "statistic", "wave"],
        how="left",
    )
    by = [*GROUP, "role", "wave"]
    out = areas_together(cells, by, fw.settings.thresholds.confidence_level)
    rank = {w: k for k, w in enumerate(fw.settings.wave_ids)}
    roles = {r: k for k, r in enumerate(ROLES)}
    out = out.sort_values(
        by, key=lambda c: c.map(rank) if c.name == "wave" else (c.map(roles) if c.name == "role" else c), kind="stable"
    )
    return out[ESTIMATE_COLUMNS].reset_index(drop=True)
