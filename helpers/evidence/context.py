"""The data context every section reads: one project's data, loaded once, and each result computed once.

:class:`ProjectData` opens the database read-only, loads the project's areas, population and survey responses,
and computes the survey scores, change, difference-in-differences, the other evidence and the ripple on
first use, through the one cache (:class:`helpers.config.cache.ResultCache`) under a key made of the
project's imported data, the code and the framework. A report, an overview and a dashboard each hold one;
a :class:`Selection` says which part of it a section shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..config import cache, paths
from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..methods import estimates
from ..store import access
from ..store import database as store


@dataclass(frozen=True)
class Selection:
    """What a section shows: a project, and optionally a neighbourhood, a wave, an outcome and an ideal.

    ``outcome`` narrows a survey or evidence section to that outcome's lines of the ripple map; ``None``
    shows them all (a report). ``ideal`` narrows the ripple to one ideal's outcomes."""

    project: str
    neighbourhood: str | None = None
    wave: str | None = None
    outcome: str | None = None
    ideal: str | None = None

    def but(self, **changes) -> Selection:
        return replace(self, **changes)


class ProjectData:
    """One project's data (read-only) and every result computed from it, each once."""

    def __init__(self, db: Path | str | None, project_id: str, fw: Framework | None = None, results=None):
        if fw is None:
            from ..config.framework import framework

            fw = framework()
        self.fw = fw
        self.project = fw.project(project_id)
        self.db = paths.resolve(db)
        if not Path(self.db).exists():
            raise UserError(f"no database at {self.db}: build it first (python -m helpers build-db)")
        con = store.connect(self.db, read_only=True)
        try:
            self.all_areas = access.load_areas(con)
            self.areas = self._project_areas(self.all_areas)
            hoods = self.areas["neighbourhood"].tolist()
            self.responses = access.load_responses(con, fw, hoods)
            self.population = access.load_population(con)
            self.key = cache.project_key(self.db, store.data_fingerprint(con, project_id, hoods), fw)
        finally:
            con.close()
        self.results = results if results is not None else cache.ResultCache.from_environment()

    def _project_areas(self, areas: pd.DataFrame) -> pd.DataFrame:
        """This project's neighbourhoods (neighbourhood, name, role): pilots first, then by id."""
        mine = areas.loc[areas["project"] == self.project.id, ["neighbourhood", "name", "role"]]
        return mine.sort_values(["role", "neighbourhood"], ascending=[False, True]).reset_index(drop=True)

    def result(self, name: str, compute):
        """``compute()`` once for this project's data, code and framework (shared by a batch's kernels)."""
        return self.results.get(f"{self.project.id}-{name}-{self.key}", compute)

    # --- selection ---------------------------------------------------------------------------------

    @property
    def neighbourhoods(self) -> list[str]:
        return self.areas["neighbourhood"].tolist()

    def name_of(self, neighbourhood: str) -> str:
        found = self.all_areas.loc[self.all_areas["neighbourhood"] == neighbourhood, "name"]
        return str(found.iloc[0]) if len(found) else neighbourhood

    def role_of(self, neighbourhood: str) -> str:
        found = self.areas.loc[self.areas["neighbourhood"] == neighbourhood, "role"]
        return str(found.iloc[0]) if len(found) else ""

    @property
    def has_comparison(self) -> bool:
        return bool((self.areas["role"] == "comparison").any())

    @property
    def survey_waves(self) -> list[str]:
        """Waves with survey responses in any of the project's neighbourhoods, in wave order."""
        have = set(self.responses["wave"])
        return [w for w in self.fw.settings.wave_ids if w in have]

    def responses_here(self, neighbourhood: str, wave: str) -> pd.DataFrame:
        r = self.responses
        return r[(r["neighbourhood"] == neighbourhood) & (r["wave"] == wave)]

    def check(self, sel: Selection, *, need_responses: bool = True) -> None:
        """Refuse a neighbourhood or wave the data does not have, listing the valid values."""
        if sel.neighbourhood is not None and sel.neighbourhood not in self.neighbourhoods:
            mapped = self.neighbourhoods
            raise UserError(
                f"neighbourhood '{sel.neighbourhood}' is not mapped to project {self.project.id} in the areas "
                f"table; mapped: {allowed(mapped) if mapped else 'none'}"
            )
        if sel.wave is not None and sel.wave not in self.fw.settings.wave_ids:
            raise UserError(f"unknown wave '{sel.wave}'; known: {allowed(self.fw.settings.wave_ids)}")
        if need_responses and sel.neighbourhood and sel.wave and self.responses_here(sel.neighbourhood, sel.wave).empty:
            raise UserError(f"no survey responses for {sel.neighbourhood} at wave {sel.wave}")

    def statements(self, outcome: str | None = None) -> list[str]:
        """The ripple map's survey statements: all of the project's, or one outcome's."""
        if outcome is None:
            return list(self.project.survey_statements)
        return [s for line in self.project.ripple if line.outcome == outcome for s in line.survey]

    # --- survey results ----------------------------------------------------------------------------

    def _scores_and_problems(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return self.result(
            "scores",
            lambda: estimates.scores_and_weighting_problems(
                self.responses, self.population, self.fw, project=self.project.id
            ),
        )

    @property
    def scores(self) -> pd.DataFrame:
        """Estimates for the project's neighbourhoods, every wave, weighted and unweighted.

        A neighbourhood x wave that cannot be weighted keeps its unweighted rows and the reason is in
        :attr:`weighting_problems`, so one small wave never stops the other neighbourhoods' reports."""
        return self._scores_and_problems()[0]

    @property
    def weighting_problems(self) -> pd.DataFrame:
        """neighbourhood, wave, reason: the neighbourhood x waves that could not be weighted."""
        return self._scores_and_problems()[1]

    def weighted(self, neighbourhood: str, wave: str) -> bool:
        """Whether this neighbourhood x wave has weighted estimates (else sections show unweighted ones)."""
        sc = self.scores
        return bool(((sc["neighbourhood"] == neighbourhood) & (sc["wave"] == wave) & sc["weighted"]).any())

    def problems_of(self, neighbourhood: str, wave: str) -> list[str]:
        p = self.weighting_problems
        return p.loc[(p["neighbourhood"] == neighbourhood) & (p["wave"] == wave), "reason"].tolist()

    @property
    def weighting(self) -> pd.DataFrame:
        """Weighting summary per neighbourhood x wave (weights' range, design effect, effective n)."""

        def compute() -> pd.DataFrame:
            import warnings

            from ..methods import weights

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the same problems are in weighting_problems
                w = weights.rake_weights(
                    self.responses, self.population, self.fw.settings, strict=False, project=self.project.id
                )
            return weights.weighting_summary(w)

        return self.result("weighting", compute)

    @property
    def weighting_diagnostics(self) -> pd.DataFrame:
        """The weights per neighbourhood x wave before trimming and (with a weight cap) after:
        :func:`helpers.methods.weights.weighting_diagnostics` for this project's margins."""

        def compute() -> pd.DataFrame:
            from ..methods import weights

            return weights.weighting_diagnostics(
                self.responses, self.population, self.fw.settings, project=self.project.id
            )

        return self.result("weighting-diagnostics", compute)

    @property
    def weighting_margins(self) -> tuple[str, ...]:
        """The reader's words for the margins this project's answers are weighted to ('age group', 'gender')."""
        return tuple(d.label for d in self.fw.settings.weighting.margins(self.project.id))

    @property
    def change(self) -> pd.DataFrame:
        return self.result("change", lambda: estimates.change(self.scores, self.fw))

    @property
    def did(self) -> pd.DataFrame:
        return self.result(
            "did", lambda: estimates.did(self.scores, self.population, self.all_areas, self.project.id, self.fw)
        )

    def before_and_after(self) -> bool:
        """Whether the project's DiD is only a pilot change (no comparison areas with data)."""
        did = self.did
        return bool((did["design"] == estimates.BEFORE_AND_AFTER).any()) or not self.has_comparison

    # --- other evidence and the ripple -------------------------------------------------------------

    @property
    def evidence(self):
        """The project's indicators, consented stories and sentiment (``helpers.evidence``)."""
        from . import evidence

        return self.result("evidence", lambda: evidence.load_project_evidence(self.db, self.fw, self.project.id))

    def ripple(self, wave: str | None):
        """The ripple at ``wave`` (design mode at the baseline or with no wave)."""
        from . import ripple

        def compute():
            did = self.did if wave is not None and wave != self.fw.settings.baseline else None
            return ripple.ripple_of(self.fw, self.project.id, wave, self.evidence, did, self.has_comparison)

        return self.result(f"ripple-{wave}-{ripple.rule_key(ripple.RULE)}", compute)


def project_ripple(db: Path | str, fw: Framework, project_id: str, wave: str | None = None, rule=None):
    """A project's ripple at ``wave`` (default: the latest wave with survey data) from the database: a
    ``helpers.evidence.ripple.RippleResult`` (the command line's ``ripple`` verb)."""
    from .ripple import ripple_of, wave_problem

    data = ProjectData(db, project_id, fw)
    if data.areas.empty:
        raise UserError(
            f"no neighbourhoods are mapped to project {project_id} in the areas table; "
            "import an areas file with rows for it (role pilot or comparison)"
        )
    problem = wave_problem(data, wave)
    if problem:
        raise UserError(problem)
    wave = wave or (data.survey_waves[-1] if data.survey_waves else None)
    if rule is None:
        return data.ripple(wave)
    did = data.did if wave is not None and wave != fw.settings.baseline else None
    return ripple_of(fw, project_id, wave, data.evidence, did, data.has_comparison, rule)
