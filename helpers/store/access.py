"""The data-access layer: read what the analysis needs from the store, in tidy frames.

This is the only module that queries survey, story and sentiment tables for outputs. Privacy rules
are enforced here, once, rather than in each notebook: stories without consent never leave this
module, and no function returns an individual's answers or demographics to a report.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..config.framework import Framework
from . import database as store


def _int_columns(fw: Framework) -> list[str]:
    ins = fw.instrument
    return [
        *ins.statement_ids,
        ins.general_health.id,
        ins.happiness.id,
        *(i.id for i in ins.household.items),
        ins.age.id,
    ]


def load_responses(con: duckdb.DuckDBPyConnection, fw: Framework, neighbourhoods=None) -> pd.DataFrame:
    """Survey rows with answers as nullable integers (blank = <NA>). For computation, never for display.

    ``neighbourhoods``: None for every neighbourhood; a list (possibly empty) for those only."""
    where, params = "", []
    if neighbourhoods is not None:
        neighbourhoods = list(neighbourhoods) or [None]  # an empty list matches no row
        where = f"WHERE neighbourhood IN ({', '.join('?' * len(neighbourhoods))})"
        params = list(neighbourhoods)
    frame = store.read_table(con, "survey", where + " ORDER BY neighbourhood, wave, respondent_id", params)
    if frame.empty:
        return frame
    for col in _int_columns(fw):
        frame[col] = frame[col].astype("Int64")
    return frame


def load_population(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return store.read_table(con, "population", "ORDER BY neighbourhood, dimension, category")


def load_areas(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return store.read_table(con, "areas", "ORDER BY project, neighbourhood")


def consented_stories(con: duckdb.DuckDBPyConnection, project: str, neighbourhood: str | None = None) -> pd.DataFrame:
    """Stories with consent 'yes' only: the one gate every output goes through."""
    where = "WHERE consent = 'yes' AND project = ?"
    params = [project]
    if neighbourhood:
        where += " AND neighbourhood = ?"
        params.append(neighbourhood)
    return store.read_table(con, "stories", where + " ORDER BY wave, story_id", params)
