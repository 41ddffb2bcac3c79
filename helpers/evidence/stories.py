"""Co-operative stories: case studies shared with consent, counted per outcome and wave, and cut to excerpts.

A :class:`~helpers.evidence.project.ProjectEvidence` holds consented stories only (``consent = 'yes'`` in the
SQL of :func:`helpers.store.access.consented_stories`, and again in ``build_evidence``), so nothing here can
return another.

``story_counts(ev)``, ``story_excerpts(ev, ...)``, ``excerpt(text)``
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .project import ProjectEvidence

EXCERPT_CHARACTERS = 220


def _outcome_ids(outcomes: pd.Series) -> pd.Series:
    """Each story's outcome ids (the ``outcomes`` column is 'id;id'), as a list per story."""
    return outcomes.fillna("").astype(str).str.split(";").map(lambda ids: [i.strip() for i in ids if i.strip()])


def story_counts(ev: ProjectEvidence) -> pd.DataFrame:
    """Consented stories per outcome of the map and wave. Columns: outcome, label, wave, stories."""
    waves = ev.fw.settings.wave_ids
    rows = []
    linked = ev.stories.assign(outcome=ev.stories["outcomes"].str.split(";")).explode("outcome")
    linked["outcome"] = linked["outcome"].str.strip()
    for line in ev.project.ripple:
        for wave in waves:
            n = int(((linked["outcome"] == line.outcome) & (linked["wave"] == wave)).sum())
            rows.append((line.outcome, ev.fw.outcomes[line.outcome].label, wave, n))
    return pd.DataFrame(rows, columns=["outcome", "label", "wave", "stories"])


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The start of a story, cut at a word boundary."""
    text = " ".join(str(text).split())
    return textwrap.shorten(text, width=limit, placeholder=" …")


def story_excerpts(
    ev: ProjectEvidence,
    *,
    neighbourhood: str | None = None,
    up_to_wave: str | None = None,
    outcome: str | None = None,
    limit: int = 6,
) -> pd.DataFrame:
    """Short excerpts of consented stories (of one neighbourhood, up to a wave, linked to an outcome, when
    given), newest wave first. Columns: story_id, neighbourhood, wave, outcomes (labels), title, excerpt."""
    waves = ev.fw.settings.wave_ids
    s = ev.stories
    if neighbourhood:
        s = s[s["neighbourhood"] == neighbourhood]
    if up_to_wave:
        s = s[s["wave"].map(waves.index) <= waves.index(up_to_wave)]
    if outcome:
        s = s[_outcome_ids(s["outcomes"]).map(lambda ids: outcome in ids).astype(bool)]
    s = s.assign(_w=s["wave"].map(waves.index)).sort_values(["_w", "story_id"], ascending=[False, True]).head(limit)
    labels = {o: ev.fw.outcomes[o].label for o in ev.fw.outcomes}
    return pd.DataFrame(
        {
            "story_id": s["story_id"],
            "neighbourhood": s["neighbourhood"],
            "wave": s["wave"],
            "outcomes": s["outcomes"].map(lambda v: "; ".join(labels.get(o.strip(), o) for o in str(v).split(";"))),
            "title": s["title"],
            "excerpt": s["text"].map(excerpt),
        }
    ).reset_index(drop=True)
