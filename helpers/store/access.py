"""The data-access layer: read what the analysis needs from the store, in tidy frames.

This is the only module that queries survey, story and sentiment tables for outputs. Privacy rules
are enforced here, once, rather than in each notebook: stories without consent never leave this
module, and no function returns an individual's answers or demographics to a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..config.errors import UserError, allowed
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
    """Survey rows with answers as nullable integers (blank = <NA>). For computation, never for display."""
    where, params = "", []
    if neighbourhoods:
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


@dataclass
class ReportData:
    """Everything one project report reads, loaded once from a read-only connection."""

    fw: Framework
    project: str
    neighbourhood: str
    wave: str
    areas: pd.DataFrame
    population: pd.DataFrame
    responses: pd.DataFrame  # the project's neighbourhoods, every wave (for change and DiD)

    @property
    def role(self) -> str:
        rows = self.areas[(self.areas["project"] == self.project) & (self.areas["neighbourhood"] == self.neighbourhood)]
        return str(rows["role"].iloc[0])

    @property
    def name(self) -> str:
        rows = self.areas[self.areas["neighbourhood"] == self.neighbourhood]
        return str(rows["name"].iloc[0])

    @property
    def here(self) -> pd.DataFrame:
        """This neighbourhood's responses for this wave."""
        r = self.responses
        return r[(r["neighbourhood"] == self.neighbourhood) & (r["wave"] == self.wave)]


def check_selection(fw: Framework, areas: pd.DataFrame, project: str, neighbourhood: str, wave: str) -> None:
    """Refuse a project, neighbourhood or wave the data does not have, listing the valid values."""
    fw.project(project)
    mapped = areas.loc[areas["project"] == project, "neighbourhood"].tolist()
    if neighbourhood not in mapped:
        raise UserError(
            f"neighbourhood '{neighbourhood}' is not mapped to project {project} in the areas "
            f"table; mapped: {allowed(mapped) if mapped else 'none'}"
        )
    if wave not in fw.settings.wave_ids:
        raise UserError(f"unknown wave '{wave}'; known: {allowed(fw.settings.wave_ids)}")


def report_data(db: Path | str, fw: Framework, project: str, neighbourhood: str, wave: str) -> ReportData:
    """Open the database read-only, check the selection, and load the report's data."""
    con = store.connect(db, read_only=True)
    try:
        areas = load_areas(con)
        check_selection(fw, areas, project, neighbourhood, wave)
        hoods = areas.loc[areas["project"] == project, "neighbourhood"].tolist()
        responses = load_responses(con, fw, hoods)
        population = load_population(con)
    finally:
        con.close()
    have = responses[(responses["neighbourhood"] == neighbourhood) & (responses["wave"] == wave)]
    if have.empty:
        raise UserError(f"no survey responses for {neighbourhood} at wave {wave}")
    return ReportData(fw, project, neighbourhood, wave, areas, population, responses)
