"""The network's evidence: councils' DiDs from the network database, pooled per family, measure and wave.

``pooled_table(db, fw, family)`` is what ``network meta`` writes and the network report shows: each council's
latest DiD (:func:`helpers.store.network.pooling_rows`) pooled by :func:`helpers.methods.meta.meta_table`,
waves in the framework's order, with the measures left out because councils word them differently.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..methods.meta import meta_table, wording_differences
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
