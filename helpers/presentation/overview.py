"""One project's neighbourhoods side by side: pilots against comparisons, every wave.

``notebooks/overview.ipynb`` calls these sections; the batch renders it once per project as
``reports/<project>/overview.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..config import paths
from ..config.framework import Framework
from ..methods import estimates
from ..store import access as analysis
from ..store import database as store
from . import charts
from .report import PCT, ProjectReport, Section, points


@dataclass
class ProjectOverview:
    """Every neighbourhood mapped to a project, at every wave with data."""

    db: Path | str
    project_id: str
    fw: Framework | None = None

    def __post_init__(self) -> None:
        self.db = paths.resolve(self.db)
        if self.fw is None:
            from ..config.framework import framework

            self.fw = framework()
        self.project = self.fw.project(self.project_id)

    @cached_property
    def _report(self) -> ProjectReport:
        """A report for the project's first neighbourhood and latest wave: it loads all the project's data."""
        con = store.connect(self.db, read_only=True)
        try:
            areas = analysis.load_areas(con)
            waves = con.execute("SELECT DISTINCT wave FROM survey").fetchall()
        finally:
            con.close()
        hoods = areas.loc[areas["project"] == self.project_id, "neighbourhood"].tolist()
        if not hoods:
            from ..config.errors import UserError

            raise UserError(f"no neighbourhoods are mapped to project {self.project_id} in the areas table")
        have = {w for (w,) in waves}
        latest = [w for w in self.fw.settings.wave_ids if w in have][-1]
        return ProjectReport(self.db, self.project_id, hoods[0], latest, fw=self.fw)

    @property
    def latest_wave(self) -> str:
        return self._report.wave

    @property
    def areas(self) -> pd.DataFrame:
        a = self._report.data.areas
        return a[a["project"] == self.project_id].sort_values(["role", "neighbourhood"], ascending=[False, True])

    def neighbourhoods(self) -> Section:
        """Which neighbourhoods are pilots and which are comparisons, with questionnaires per wave."""
        r = self._report.data.responses
        counts = r.groupby(["neighbourhood", "wave"]).size().unstack(fill_value=0)
        waves = [w for w in self.fw.settings.wave_ids if w in counts.columns]
        table = self.areas[["name", "neighbourhood", "role"]].merge(
            counts[waves].reset_index(), on="neighbourhood", how="left"
        )
        table = table.rename(columns={"name": "Neighbourhood", "role": "Role"}).drop(columns="neighbourhood")
        labels = {w.id: f"Questionnaires, {w.label}" for w in self.fw.settings.waves}
        table = table.rename(columns=labels).fillna(0)
        return Section().table(table, f"{self.project.name}: neighbourhoods and questionnaires returned")

    def side_by_side(self) -> Section:
        """Weighted % agreeing with each ripple statement, every neighbourhood, at the latest wave."""
        sc = self._report.scores
        wave = self.latest_wave
        names = dict(zip(self.areas["neighbourhood"], self.areas["name"], strict=True))
        roles = dict(zip(self.areas["neighbourhood"], self.areas["role"], strict=True))
        rows = sc[
            sc["neighbourhood"].isin(names)
            & (sc["wave"] == wave)
            & sc["measure"].isin(self.project.survey_statements)
            & (sc["statistic"] == "agree")
            & sc["weighted"]
        ].copy()
        rows["label"] = rows["measure"].map(lambda m: f"{m}: {self.fw.instrument.statement(m).short}")
        rows["group"] = rows["neighbourhood"].map(lambda h: f"{names[h]} ({roles[h]})")
        order = {h: i for i, h in enumerate(self.areas["neighbourhood"])}
        rows = rows.sort_values(
            ["measure", "neighbourhood"], key=lambda c: c.map(order) if c.name == "neighbourhood" else c
        )
        level = f"{self.fw.settings.thresholds.confidence_level:.0%}"
        fig = charts.estimate_dots(
            rows,
            title=f"% agreeing at {wave}, pilots and comparisons (weighted, {level} interval)",
            minimum_base=self.fw.settings.thresholds.minimum_base,
        )
        minimum = self.fw.settings.thresholds.minimum_base
        wide = rows.assign(
            shown=[
                f"fewer than {minimum} responses" if s else PCT.format(e)
                for s, e in zip(rows["suppressed"], rows["estimate"], strict=True)
            ]
        ).pivot(index="label", columns="group", values="shown")
        wide = wide[[g for g in dict.fromkeys(rows["group"])]].reset_index().rename(columns={"label": "Statement"})
        alt = f"% agreeing per statement for {len(names)} neighbourhoods at {wave}; the table below gives every figure."
        s = Section().chart(fig, alt)
        return s.table(wide, f"% agree (4 or 5), weighted, {wave}")

    def difference_in_differences(self) -> Section:
        """The project's DiD at every later wave, for the ripple statements."""
        did = self._report.did
        rows = did[did["measure"].isin(self.project.survey_statements) & (did["statistic"] == "agree")]
        out = pd.DataFrame(
            {
                "Statement": rows["measure"].map(lambda m: f"{m}: {self.fw.instrument.statement(m).short}"),
                "Wave": rows["wave"],
                "Pilot change": [f"{points(v)}" if pd.notna(v) else "" for v in rows["pilot_change"]],
                "Comparison change": [f"{points(v)}" if pd.notna(v) else "" for v in rows["comparison_change"]],
                "Difference (points)": [f"{points(v)}" if pd.notna(v) else "not shown" for v in rows["did"]],
                "Interval": [
                    "" if pd.isna(lo) else f"{points(lo)} to {points(hi)}"
                    for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
                ],
                "Clear?": [
                    "" if pd.isna(v) else ("yes" if s else "no")
                    for v, s in zip(rows["did"], rows["significant"], strict=True)
                ],
            }
        )
        before_after = (rows["design"] == estimates.BEFORE_AND_AFTER).any()
        s = Section().table(out, f"{self.project.name}: pilot change minus comparison change (weighted)")
        return s.text(estimates.BEFORE_AFTER_NOTE if before_after else estimates.PARALLEL_TRENDS_NOTE, "note")
