"""Dashboards for stakeholders: one widget per notebook under ``notebooks/dashboards/`` (STYLE.md 6).

Each dashboard notebook is markdown plus one cell that builds one of these widgets, served by Voila
(``python -m helpers dashboard``; docs/dashboards.md)::

    ProjectDashboard(db=None, fw=None)    what changed in a neighbourhood, and how sure we are
    RippleExplorer(db=None, fw=None)      a project's ripple: planned reach per ideal and the evidence so far
    SelfEvaluationForm(db=None, fw=None)  the self-evaluation tool: fill, save, reopen, compare

``db`` defaults to the workbook database (``$WORKBOOK_DB`` or ``data/workbook.duckdb``).

How they work:

- Data is read once, when the widget is built, through a brief read-only DuckDB connection that is then
  closed (:class:`DashboardData`); no connection stays open, so the self-evaluation form can write.
- Each selection change recomputes one :class:`View` (HTML plus the tables behind it) with plain functions
  (:func:`project_view`, :func:`ripple_view`), then replaces the value of one ``ipywidgets.HTML`` body in a
  single update. (STYLE.md 6 suggests an ``Output`` with ``clear_output(wait=True)``; an ``Output`` written
  to while the notebook runs makes nbclient send widget updates to the kernel mid-cell, and with ipykernel 7
  that intermittently loses the cell's reply, so Voila waits for ever (ipykernel issue #1554). The HTML body
  has no such round trip and is one state update.) The views are testable without a browser.
- Charts are the batch reports' own (:func:`helpers.presentation.charts.estimate_dots`,
  :func:`helpers.presentation.charts.difference_bars`, shown with :func:`helpers.presentation.charts.figure_html`,
  which closes each figure); every chart has a table beside it.
- Privacy: only aggregates. Survey cells with fewer than ``thresholds.minimum_base`` answers say "fewer than 10
  responses" (their response count is not shown either); stories come only through
  :func:`helpers.store.access.consented_stories`; sentiment only as aggregates (counts, tone shares), never its text.
- Downloads are CSV in a ``data:`` link, neutralised against spreadsheet formula injection
  (:func:`helpers.config.safe_output.neutralise`).

Local indicators and sentiment come from :mod:`helpers.evidence.evidence` (the same functions as the batch reports)::

    helpers.evidence.evidence.load_project_evidence(db, fw, project_id) -> ProjectEvidence   (once per project)
    helpers.evidence.evidence.indicator_changes(ev, wave) -> DataFrame      indicator, neighbourhood, baseline_period,
        baseline_value, period, value, change, better_way
    helpers.evidence.evidence.sentiment_shares(ev) -> DataFrame             role, wave, items, positive, neutral,
        negative, suppressed (aggregates)

The ripple explorer draws :func:`helpers.evidence.ripple.project_ripple` with
:func:`helpers.evidence.ripple.ripple_chart`.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..config import cache, paths
from ..config.errors import UserError
from ..config.framework import Framework
from ..config.safe_output import neutralise
from ..evidence import evidence
from ..evidence.context import ProjectData, Selection
from ..methods import estimates
from ..presentation import render, sections, self_evaluation
from ..presentation.formatting import points
from ..presentation.model import Section
from ..store import access as analysis
from ..store import database as store
from ..store import selfeval

_LOG = logging.getLogger(__name__)
if not _LOG.handlers:  # a kernel's sys.stderr goes to the browser; the real stderr reaches the server's log
    _LOG.addHandler(logging.StreamHandler(sys.__stderr__))
    _LOG.propagate = False

LABEL_STYLE = {"description_width": "initial"}
DESIGN = "design"
NOT_ASSESSED = ""  # the level dropdowns' value for "not assessed" (None would show an empty box)
SECTION_CACHE_SIZE = 256  # drawn sections kept per dashboard (a few MB of PNGs at most)
VIEW_STYLE = (
    "<style>.wb-view table.data{border-collapse:collapse;margin:.4em 0 .8em}"
    ".wb-view table.data th,.wb-view table.data td{border-bottom:1px solid #d0d0d0;padding:3px 10px;text-align:left}"
    ".wb-view table.data caption{text-align:left;font-weight:600;padding:.3em 0}"
    ".wb-view .note{color:#444;font-size:.92em}.wb-view .wb-message{font-weight:600}</style>"
)


def _framework(fw: Framework | None) -> Framework:
    if fw is not None:
        return fw
    from ..config.framework import framework

    return framework()


def _e(text: object) -> str:
    return html.escape(str(text))


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _points(value: float) -> str:
    return f"{points(value)} points"  # the batch reports' wording: signed whole points, never "-0"


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


# --- building blocks: tables, downloads, messages ---------------------------------------------------


@dataclass
class View:
    """What one selection shows: HTML, and the tables behind it (what the download links give)."""

    html: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    # transitional: the ripple explorer's builders, until it shows registered sections too
    def add(self, fragment: str) -> View:
        self.parts.append(fragment)
        return self

    def heading(self, text: str, level: int = 2) -> View:
        return self.add(f"<h{level}>{_e(text)}</h{level}>")

    def text(self, words: str, css: str = "") -> View:
        cls = f' class="{css}"' if css else ""
        return self.add(f"<p{cls}>{_e(words)}</p>")

    def table(
        self, key: str, shown: pd.DataFrame, caption: str, *, csv: pd.DataFrame | None = None, filename=""
    ) -> View:
        self.add(html_table(shown, caption, key))
        if csv is not None:
            self.tables[key] = csv
            self.add(download_link(csv, filename or f"{key}.csv", caption))
        return self

    def extend(self, other: View) -> View:
        self.parts.extend(other.parts)
        self.tables.update(other.tables)
        return self

    def chart(self, fig, alt: str) -> View:
        from ..presentation import charts

        return self.add(charts.figure_html(fig, alt))

    def done(self, *selection: object) -> View:
        key = "|".join(str(s) for s in selection)
        self.html = f'<div class="wb-view" data-selection="{_e(key)}">{VIEW_STYLE}' + "\n".join(self.parts) + "</div>"
        return self


def html_table(frame: pd.DataFrame, caption: str, key: str = "") -> str:
    """An escaped HTML table with a caption (the table view every chart has beside it)."""
    body = frame.to_html(index=False, escape=True, na_rep="", border=0, classes="data")
    attrs = f' data-table="{_e(key)}"' if key else ""
    return body.replace("<table", f"<table{attrs}", 1).replace(">", f"><caption>{_e(caption)}</caption>", 1)


def download_link(frame: pd.DataFrame, filename: str, what: str) -> str:
    """A link that downloads ``frame`` as CSV (UTF-8), with spreadsheet formulas neutralised."""
    text = neutralise(frame).to_csv(index=False, lineterminator="\n")
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (
        f'<p><a class="wb-download" download="{_e(filename)}" href="data:text/csv;charset=utf-8;base64,{data}" '
        'style="display:inline-block;padding:3px 10px;border:1px solid #0b5394;border-radius:3px;'
        f'color:#0b5394;text-decoration:none">Download this table (CSV): {_e(what)}</a></p>'
    )


def _message(text: str, css: str = "wb-message") -> widgets.HTML:
    return widgets.HTML(f'<p class="{css}" role="status">{_e(text)}</p>')


def _dropdown(description: str, options=(), **kwargs) -> widgets.Dropdown:
    return widgets.Dropdown(
        options=list(options), description=description, style=LABEL_STYLE, layout={"width": "auto"}, **kwargs
    )


def _body() -> widgets.HTML:
    """The area a dashboard redraws: an HTML widget whose value is replaced in one update (module docs)."""
    body = widgets.HTML()
    body.add_class("wb-body")
    return body


def _show(body: widgets.HTML, view_html: str) -> None:
    body.value = view_html


def _safely(draw: Callable[[], str]) -> str:
    """The HTML ``draw`` makes; a user's mistake becomes its plain message, a bug a short note (logged)."""
    try:
        return draw()
    except UserError as exc:
        return f'<p class="wb-message" role="status">{_e(exc)}</p>'
    except Exception:  # a dashboard viewer gets a sentence; the traceback goes to the server's log
        _LOG.exception("dashboard: drawing this selection failed")
        return (
            '<p class="wb-message" role="status">Something went wrong drawing this selection; '
            "the details are in the server log.</p>"
        )


# --- data ----------------------------------------------------------------------------------------


class DashboardData:
    """Everything the project dashboard and the ripple explorer read, loaded once, connection closed."""

    def __init__(self, db: Path | str, fw: Framework):
        self.db = Path(db)
        self.fw = fw
        con = store.connect(self.db, read_only=True)
        try:
            self.areas = analysis.load_areas(con)
            self.population = analysis.load_population(con)
            self.responses = analysis.load_responses(con, fw)
            self.sentiment = sentiment_counts(con)
            self.stories = {p: analysis.consented_stories(con, p) for p in fw.project_ids}
        finally:
            con.close()
        self.weighting_problems: list[str] = []
        self._did: dict[str, pd.DataFrame | str] = {}
        self._sections: dict[tuple, View] = {}
        self._evidence = {p: evidence.load_project_evidence(self.db, fw, p) for p in fw.project_ids}

    def evidence(self, project_id: str) -> evidence.ProjectEvidence:
        return self._evidence[project_id]

    def section(self, key: tuple, make: Callable[[], View]) -> View:
        """A section's view, made once per key (the data never changes after loading)."""
        if key not in self._sections:
            if len(self._sections) >= SECTION_CACHE_SIZE:
                self._sections.pop(next(iter(self._sections)))
            self._sections[key] = make()
        return self._sections[key]

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Every neighbourhood x wave; a neighbourhood x wave that cannot be weighted keeps its unweighted rows."""
        from ..methods import estimates

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = estimates.scores(self.responses, self.population, self.fw, require_weights=False)
        self.weighting_problems = [str(w.message) for w in caught]
        return scores

    def did(self, project_id: str) -> pd.DataFrame | str:
        """The project's difference-in-differences, or the plain reason it cannot be worked out."""
        if project_id not in self._did:
            from ..methods import estimates

            try:
                self._did[project_id] = estimates.did(self.scores, self.population, self.areas, project_id, self.fw)
            except UserError as exc:
                self._did[project_id] = str(exc)
        return self._did[project_id]

    def neighbourhoods(self, project_id: str) -> pd.DataFrame:
        """The project's neighbourhoods, pilots first: ``neighbourhood, name, role``."""
        if self.areas.empty:
            return pd.DataFrame(columns=["neighbourhood", "name", "role"])
        rows = self.areas.loc[self.areas["project"] == project_id, ["neighbourhood", "name", "role"]]
        rank = rows["role"].map({"pilot": 0, "comparison": 1}).fillna(2)
        return rows.assign(_r=rank).sort_values(["_r", "name"]).drop(columns="_r").reset_index(drop=True)

    def responses_count(self, neighbourhood: str, wave: str) -> int:
        r = self.responses
        if r.empty:
            return 0
        return int(((r["neighbourhood"] == neighbourhood) & (r["wave"] == wave)).sum())

    def has_wave(self, neighbourhoods: list[str], wave: str) -> bool:
        r = self.responses
        return bool(not r.empty and (r["neighbourhood"].isin(neighbourhoods) & (r["wave"] == wave)).any())


def sentiment_counts(con) -> pd.DataFrame:
    """Sentiment items counted by project, neighbourhood and channel (the text is never read)."""
    if not store.has_table(con, "sentiment"):
        return pd.DataFrame(columns=["project", "neighbourhood", "channel", "items", "first_date", "last_date"])
    return con.execute(
        "SELECT project, neighbourhood, coalesce(channel, 'not given') AS channel, count(*) AS items, "
        "min(date) AS first_date, max(date) AS last_date FROM sentiment GROUP BY ALL ORDER BY ALL"
    ).df()


# --- the project dashboard -------------------------------------------------------------------------

# The sections the project dashboard shows for a selection (project, neighbourhood, wave, outcome), in order:
# the same functions the batch reports show (helpers.presentation.sections), narrowed to the chosen outcome.
SURVEY_VIEW = ("statements_by_wave", "areas_side_by_side", "difference_in_differences")
EVIDENCE_VIEW = ("local_indicators", "stories", "sentiment")


class ProjectsData:
    """Each project's :class:`ProjectData`, loaded on first use and kept (the data never changes while served)."""

    def __init__(self, db: Path | str, fw: Framework):
        self.db, self.fw = Path(db), fw
        if not self.db.exists():
            raise UserError(
                f"no workbook database at {self.db}: build it first (make run, or python -m helpers build-db)"
            )
        self._projects: dict[str, ProjectData] = {}

    def __call__(self, project_id: str) -> ProjectData:
        if project_id not in self._projects:
            self._projects[project_id] = ProjectData(self.db, project_id, self.fw, cache.ResultCache())
        return self._projects[project_id]


def project_sections(data: ProjectData, sel: Selection) -> list[Section]:
    """What the project dashboard shows for one selection: registered sections, nothing of its own."""
    if sel.neighbourhood is None:
        return [
            Section(title=data.project.name).message(
                f"No neighbourhoods are mapped to {data.project.name} in the areas table yet. Import an areas file "
                "to see survey results; the ripple explorer shows the project's planned ripple meanwhile."
            )
        ]
    shown = [sections.build(data, "header", sel)]
    if data.statements(sel.outcome):
        shown += [sections.build(data, name, sel) for name in SURVEY_VIEW]
        shown.append(Section().note(estimates.interval_note(data.fw)))
    else:
        shown.append(
            Section(title="How residents answered").note(
                "No Your Voice statements measure this outcome in the project's ripple map; see the other evidence "
                "below."
            )
        )
    registered = sections.load_all()
    return shown + [sections.build(data, name, sel) for name in EVIDENCE_VIEW if name in registered]


def project_view(data: ProjectData, sel: Selection) -> View:
    """The project dashboard's view of one selection: its HTML and the tables its download links give."""
    made = project_sections(data, sel)
    stem = render.slug(sel.project, sel.neighbourhood, sel.wave, sel.outcome)
    tables = {t.key: t.tidy for s in made for t in s.tables if t.tidy is not None}
    return View(render.view_html(made, selection=astuple(sel)[:4], style=VIEW_STYLE, downloads=stem), tables)


class ProjectDashboard(widgets.VBox):
    """Choose project, neighbourhood, wave and outcome; see what changed and how sure we are."""

    def __init__(self, db: Path | str | None = None, fw: Framework | None = None):
        super().__init__()
        self.add_class("wb-dashboard")
        self.add_class("wb-project")
        self.fw = _framework(fw)
        self.db = paths.resolve(db or "")
        self.view = View()
        try:
            self.projects = ProjectsData(self.db, self.fw)
        except UserError as exc:
            self.children = [_message(str(exc))]
            return
        fw = self.fw
        self.project = _dropdown("Project", [(p.name, p.id) for p in fw.projects])
        self.neighbourhood = _dropdown("Neighbourhood")
        self.wave = _dropdown(
            "Survey wave", [(w.label, w.id) for w in fw.settings.waves], value=fw.settings.wave_ids[-1]
        )
        self.outcome = _dropdown("Outcome")
        self.body = _body()
        self._quiet = True
        self._project_options()
        self._quiet = False
        for control in (self.project, self.neighbourhood, self.wave, self.outcome):
            control.observe(self._changed, names="value")
        controls = widgets.HBox(
            [self.project, self.neighbourhood, self.wave, self.outcome], layout={"flex_flow": "row wrap"}
        )
        self.children = [controls, self.body]
        self.redraw()

    @property
    def selection(self) -> Selection:
        return Selection(self.project.value, self.neighbourhood.value, self.wave.value, self.outcome.value)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables of the current selection, as the download links give them."""
        return self.view.tables

    def _project_options(self) -> None:
        fw, project = self.fw, self.fw.project(self.project.value)
        hoods = self.projects(project.id).areas
        kept = self.neighbourhood.value
        self.neighbourhood.options = [(f"{r.name} ({r.role})", r.neighbourhood) for r in hoods.itertuples()]
        ids = list(hoods["neighbourhood"])
        self.neighbourhood.value = kept if kept in ids else (ids[0] if ids else None)
        self.outcome.options = [
            (f"{fw.ideal_of(line.outcome).name}: {fw.outcomes[line.outcome].label}", line.outcome)
            for line in project.ripple
        ]
        first = next((line.outcome for line in project.ripple if line.survey), project.ripple[0].outcome)
        self.outcome.value = first

    def _changed(self, change) -> None:
        if self._quiet:
            return
        if change["owner"] is self.project:
            self._quiet = True
            try:
                self._project_options()
            finally:
                self._quiet = False
        self.redraw()

    def redraw(self) -> None:
        def draw() -> str:
            self.view = project_view(self.projects(self.project.value), self.selection)
            return self.view.html

        _show(self.body, _safely(draw))


# --- the ripple explorer --------------------------------------------------------------------------


def planned_reach(fw: Framework, project_id: str) -> pd.DataFrame:
    """Design mode: per ideal, how many of its outcomes the project's ripple map touches, and how measured.

    Columns: ideal, ideal_name, outcomes, in_map, survey_statements, indicators, stories, sentiment, other
    (counts: statements and indicators distinct within the ideal; stories, sentiment and other count the
    outcomes whose map line names them).
    """
    project = fw.project(project_id)
    rows = []
    for ideal in fw.ideals:
        ids = {o.id for o in ideal.outcomes}
        lines = [ln for ln in project.ripple if ln.outcome in ids]
        rows.append(
            (
                ideal.id,
                ideal.name,
                len(ideal.outcomes),
                len(lines),
                len({s for ln in lines for s in ln.survey}),
                len({i for ln in lines for i in ln.indicators}),
                sum(bool(ln.stories) for ln in lines),
                sum(bool(ln.sentiment) for ln in lines),
                sum(bool(ln.other) for ln in lines),
            )
        )
    columns = [
        "ideal",
        "ideal_name",
        "outcomes",
        "in_map",
        "survey_statements",
        "indicators",
        "stories",
        "sentiment",
        "other",
    ]
    return pd.DataFrame(rows, columns=columns)


def planned_reach_chart(reach: pd.DataFrame, *, title: str):
    """Bars: outcomes of each ideal in the project's map, against all the ideal's outcomes (design mode)."""
    import matplotlib.pyplot as plt

    from ..presentation.charts import PALETTE

    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(reach) + 1.7))
    y = range(len(reach))
    ax.barh(y, reach["outcomes"], color="#e6e6e6", edgecolor="#8c8c8c", label="outcomes of the ideal")
    ax.barh(y, reach["in_map"], color=PALETTE[0], height=0.5, label="in this project's ripple map")
    for i, r in enumerate(reach.itertuples()):
        ax.text(r.outcomes + 0.1, i, f"{r.in_map} of {r.outcomes}", va="center", fontsize=9)
    ax.set_yticks(list(y), list(reach["ideal_name"]))
    ax.invert_yaxis()
    ax.set_xlim(0, reach["outcomes"].max() + 1.5)
    ax.set_xlabel("outcomes")
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def outcome_evidence(data: DashboardData, project_id: str, wave: str) -> pd.DataFrame | str:
    """Survey evidence per outcome of the project's map at a wave: the pooled difference-in-differences.

    One row per outcome x statement: ideal, outcome, outcome_label, measure, label, did, ci_low, ci_high,
    p_value, significant, verdict (``clear improvement``, ``clear decline``, ``no clear change`` or ``not
    available``). Every Your Voice statement is worded so that agreeing is better. A string is the reason
    there is no evidence (for example no comparison or no data).
    """
    fw = data.fw
    did = data.did(project_id)
    if isinstance(did, str):
        return did
    rows = []
    for line in fw.project(project_id).ripple:
        for s in line.survey:
            match = did[(did["measure"] == s) & (did["statistic"] == "agree") & (did["wave"] == wave)]
            r = match.iloc[0] if not match.empty else None
            value = float("nan") if r is None else r["did"]
            if r is None or pd.isna(value):
                verdict = "not available"
            elif r["significant"]:
                verdict = "clear improvement" if value > 0 else "clear decline"
            else:
                verdict = "no clear change"
            rows.append(
                (
                    fw.ideal_of(line.outcome).id,
                    line.outcome,
                    fw.outcomes[line.outcome].label,
                    s,
                    f"{fw.outcomes[line.outcome].label}: {s} {fw.instrument.statement(s).short}",
                    value,
                    float("nan") if r is None else r["ci_low"],
                    float("nan") if r is None else r["ci_high"],
                    float("nan") if r is None else r["p_value"],
                    pd.NA if r is None else r["significant"],
                    verdict,
                )
            )
    columns = [
        "ideal",
        "outcome",
        "outcome_label",
        "measure",
        "label",
        "did",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "verdict",
    ]
    return pd.DataFrame(rows, columns=columns)


def ripple_view(data: DashboardData, project_id: str, wave: str, ideal_id: str) -> View:
    """The ripple explorer for one project, wave (or ``design``) and chosen ideal."""
    fw = data.fw
    project = fw.project(project_id)
    waves = {w.id: w.label for w in fw.settings.waves}
    hoods = list(data.neighbourhoods(project_id)["neighbourhood"])
    view = View()
    stem = _slug(project_id, wave, ideal_id)
    design = wave == DESIGN or wave == fw.settings.baseline or not data.has_wave(hoods, wave)
    if wave == DESIGN:
        view.text(f"{project.name}: the planned ripple (design mode), from the project's ripple map.", "lead")
    elif design:
        why = (
            "the baseline is the starting point, so there is no change to show yet"
            if wave == fw.settings.baseline
            else f"there are no survey responses for {project.name} at {waves[wave]} yet"
        )
        view.text(f"{project.name} at {waves[wave]}: {why}. Showing the planned ripple (design mode).", "lead")
    else:
        view.text(f"{project.name} at {waves[wave]}: the planned ripple and the evidence so far.", "lead")
    if project.ripple_summary:
        items = "".join(
            f"<li><strong>{_e(next(i.name for i in fw.ideals if i.id == k))}</strong>: {_e('; '.join(v))}</li>"
            for k, v in project.ripple_summary.items()
        )
        view.add(f"<p>The ripple the project expects:</p><ul>{items}</ul>")

    view.extend(data.section(("reach", project_id), lambda: _reach_section(fw, project_id)))

    evidence = None
    if not design:
        _strength_section(view, data, project_id, wave, stem)
        evidence = outcome_evidence(data, project_id, wave)
        if isinstance(evidence, str):
            view.text(f"Survey evidence cannot be worked out: {evidence}", "wb-message")
            evidence = None
        else:
            _evidence_summary(view, fw, evidence, waves[wave], stem)
    _ideal_section(view, data, project_id, wave, ideal_id, evidence, stem)
    return view.done(project_id, wave, ideal_id)


def _reach_section(fw: Framework, project_id: str) -> View:
    """Design mode: the planned reach per ideal, as a chart and a table (depends on the framework only)."""
    project = fw.project(project_id)
    view = View().heading("Planned reach: which outcomes of each ideal the project aims to move")
    reach = planned_reach(fw, project_id)
    alt = "; ".join(f"{r.ideal_name}: {r.in_map} of {r.outcomes} outcomes" for r in reach.itertuples())
    view.chart(planned_reach_chart(reach, title=f"{project.name}: planned reach per ideal"), "Planned reach. " + alt)
    shown = pd.DataFrame(
        {
            "Ideal": reach["ideal_name"],
            "Outcomes in the ripple map": [f"{r.in_map} of {r.outcomes}" for r in reach.itertuples()],
            "Your Voice statements": reach["survey_statements"],
            "Local indicators": reach["indicators"],
            "Outcomes with stories": reach["stories"],
            "Outcomes with sentiment": reach["sentiment"],
            "Other evidence": reach["other"],
        }
    )
    return view.table(
        "reach",
        shown,
        f"{project.name}: planned reach per ideal",
        csv=reach,
        filename=f"{project_id}-planned-reach.csv",
    )


def _strength_section(view: View, data: DashboardData, project_id: str, wave: str, stem: str) -> None:
    """The ripple chart and the strength and certainty per ideal (design mode at the baseline)."""
    from ..config.errors import UserError
    from ..evidence import ripple

    try:
        result = ripple.project_ripple(data.db, data.fw, project_id, wave)
    except UserError as exc:  # e.g. no survey data for this wave yet: the planned reach above still stands
        view.text(str(exc), "note")
        return
    ideals = result.ideals
    view.heading("Strength of the ripple per ideal" + (" (design mode: planned reach)" if result.design_mode else ""))
    alt = "; ".join(
        f"{r.label}: strength {r.strength:+.2f} ({r.strength_words}), certainty {r.certainty:.2f} ({r.certainty_words})"
        if pd.notna(r.strength)
        else f"{r.label}: no evidence yet"
        for r in ideals.itertuples()
    )
    title = f"{data.fw.project(project_id).name}: the ripple" + (" as planned" if result.design_mode else f" at {wave}")
    view.chart(ripple.ripple_chart(ideals, title=title, design=result.design_mode), "Ripple chart. " + alt)
    shown = (
        ideals[
            [
                "label",
                "outcomes_in_map",
                "outcomes_with_evidence",
                "strength",
                "strength_words",
                "certainty",
                "certainty_words",
            ]
        ]
        .rename(
            columns={
                "label": "Ideal",
                "outcomes_in_map": "Outcomes in the map",
                "outcomes_with_evidence": "With evidence",
                "strength": "Strength (-1 to +1)",
                "strength_words": "Strength in words",
                "certainty": "Certainty (0 to 1)",
                "certainty_words": "Certainty in words",
            }
        )
        .round(2)
    )
    view.table("strength", shown, "Strength and certainty per ideal", csv=ideals, filename=f"{stem}-strength.csv")


def _evidence_summary(view: View, fw: Framework, evidence: pd.DataFrame, wave_label: str, stem: str) -> None:
    view.heading(f"Survey evidence per ideal at {wave_label}")
    counts = []
    for ideal in fw.ideals:
        rows = evidence[evidence["ideal"] == ideal.id].drop_duplicates("measure")
        verdicts = rows["verdict"].value_counts()
        counts.append(
            (
                ideal.name,
                len(rows),
                int(verdicts.get("clear improvement", 0)),
                int(verdicts.get("no clear change", 0)),
                int(verdicts.get("clear decline", 0)),
                int(verdicts.get("not available", 0)),
            )
        )
    columns = ["Ideal", "Statements", "Clear improvement", "No clear change", "Clear decline", "Not available"]
    table = pd.DataFrame(counts, columns=columns)
    view.table(
        "evidence",
        table,
        f"Your Voice statements per ideal by what the difference-in-differences shows at {wave_label}",
    )
    view.text(
        "A statement counts once per ideal. 'Clear' means the interval of the difference-in-differences (pilot "
        "change minus comparison change) excludes zero.",
        "note",
    )


def _ideal_section(view, data, project_id, wave, ideal_id, evidence, stem) -> None:
    from ..methods import estimates
    from ..presentation import charts

    fw = data.fw
    project = fw.project(project_id)
    ideal = next(i for i in fw.ideals if i.id == ideal_id)
    lines = {ln.outcome: ln for ln in project.ripple}
    view.heading(f"{ideal.name}: outcomes and their evidence")
    view.text(ideal.lead)
    if evidence is not None:
        rows = evidence[evidence["ideal"] == ideal.id].rename(columns={"did": "difference"})
        if rows["difference"].notna().any():
            fig = charts.difference_bars(
                rows, title=ideal.name, xlabel="difference-in-differences in % agree (percentage points)"
            )
            alt = "; ".join(
                f"{r.label}: " + (_points(r.difference) if pd.notna(r.difference) else "not available")
                for r in rows.itertuples()
            )
            view.chart(fig, f"{ideal.name}, difference-in-differences by outcome and statement. " + alt)
        if not rows.empty:
            blank = rows["difference"].isna()
            shown = pd.DataFrame(
                {
                    "Outcome": rows["outcome_label"],
                    "Statement": [f"{m}: {fw.instrument.statement(m).short}" for m in rows["measure"]],
                    "Difference-in-differences": [
                        "" if b else _points(d) for b, d in zip(blank, rows["difference"], strict=True)
                    ],
                    "Interval": [
                        "" if b else f"{points(lo)} to {points(hi)}"
                        for b, lo, hi in zip(blank, rows["ci_low"], rows["ci_high"], strict=True)
                    ],
                    "What it shows": rows["verdict"],
                }
            )
            csv = rows.rename(columns={"difference": "did"})[
                ["outcome", "outcome_label", "measure", "did", "ci_low", "ci_high", "p_value", "significant", "verdict"]
            ]
            view.table(
                "ideal", shown, f"{ideal.name}: survey evidence per outcome", csv=csv, filename=f"{stem}-survey.csv"
            )
            view.text(estimates.PARALLEL_TRENDS_NOTE, "note")
    for outcome in ideal.outcomes:
        line = lines.get(outcome.id)
        view.add(f'<section class="wb-outcome"><h3>{_e(outcome.label)}</h3><p>{_e(outcome.wording)}</p>')
        if line is None:
            view.text("Not in this project's ripple map.", "note")
        else:
            items = []
            if line.survey:
                items.append("Your Voice: " + "; ".join(f"{s} {fw.instrument.statement(s).short}" for s in line.survey))
            if line.indicators:
                items.append("Local indicators: " + "; ".join(fw.indicator_map[i].label for i in line.indicators))
            elif line.indicators_text:
                items.append(line.indicators_text)
            items += [t for t in (line.stories, line.sentiment, line.other) if t]
            view.add("<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>")
        view.add("</section>")


class RippleExplorer(widgets.VBox):
    """A project's ripple for a chosen wave (design mode before data exists); choose an ideal to list its outcomes."""

    def __init__(self, db: Path | str | None = None, fw: Framework | None = None):
        super().__init__()
        self.add_class("wb-dashboard")
        self.add_class("wb-ripple")
        self.fw = fw = _framework(fw)
        self.db = paths.resolve(db or "")
        self.view = View()
        try:
            self.data = DashboardData(self.db, fw)
        except UserError as exc:
            self.children = [_message(str(exc))]
            return
        first = fw.projects[0]
        self.project = _dropdown("Project", [(p.name, p.id) for p in fw.projects], value=first.id)
        self.wave = _dropdown(
            "Survey wave",
            [("Design: before any data", DESIGN)] + [(w.label, w.id) for w in fw.settings.waves],
            value=fw.settings.wave_ids[-1],
        )
        self.ideal = _dropdown(
            "Ideal", [(i.name, i.id) for i in fw.ideals], value=first.expected_strongest or fw.ideals[0].id
        )
        self.body = _body()
        for control in (self.project, self.wave, self.ideal):
            control.observe(lambda _change: self.redraw(), names="value")
        self.children = [
            widgets.HBox([self.project, self.wave, self.ideal], layout={"flex_flow": "row wrap"}),
            self.body,
        ]
        self.redraw()

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return self.view.tables

    def redraw(self) -> None:
        def draw() -> str:
            key = ("ripple", self.project.value, self.wave.value, self.ideal.value)
            self.view = self.data.section(key, lambda: ripple_view(self.data, *key[1:]))
            return self.view.html

        _show(self.body, _safely(draw))


# --- the self-evaluation form ---------------------------------------------------------------------


class SelfEvaluationForm(widgets.VBox):
    """The 10 performance areas x 4 levels: fill, save (with ``--allow-write``), reopen, edit, compare."""

    def __init__(self, db: Path | str | None = None, fw: Framework | None = None):
        super().__init__()
        self.add_class("wb-dashboard")
        self.add_class("wb-selfeval")
        self.fw = fw = _framework(fw)
        self.db = paths.resolve(db or "")
        self.writable = selfeval.writing_allowed()
        self.editing: tuple[str, date] | None = None
        se = fw.self_evaluation
        try:
            saved = selfeval.list_assessments(self.db)
        except UserError as exc:
            self.children = [_message(str(exc))]
            return
        levels = "".join(f"<dt>{_e(lvl.name)}</dt><dd>{_e(lvl.description)}</dd>" for lvl in se.levels)
        intro = widgets.HTML(f"<p>{_e(se.note)}</p><dl>{levels}</dl>")
        if self.writable:
            head, banner = "Saving is on:", "assessments you save are written to the workbook database."
        else:
            head, banner = (
                "Read-only:",
                (
                    "this dashboard server was started without --allow-write, so assessments can be opened and "
                    "compared but not saved. To save, start it with: python -m helpers dashboard --allow-write"
                ),
            )
        css = "wb-writable" if self.writable else "wb-readonly"
        self.banner = widgets.HTML(f'<p class="{css}" role="status"><strong>{head}</strong> {_e(banner)}</p>')

        self.saved = _dropdown("Open a saved assessment")
        self.open_button = widgets.Button(description="Open", tooltip="Open the chosen assessment to read or edit it")
        self.new_button = widgets.Button(description="Start a new assessment", layout={"width": "auto"})
        self.name = widgets.Text(
            description="Assessment name", placeholder="for example Cabinet review 2025", style=LABEL_STYLE
        )
        self.assessed_on = widgets.DatePicker(description="Assessed on", style=LABEL_STYLE)
        self.levels: dict[str, widgets.Dropdown] = {}
        self.evidence: dict[str, widgets.Textarea] = {}
        area_boxes = []
        level_options = [("not assessed", NOT_ASSESSED)] + [(lvl.name, lvl.id) for lvl in se.levels]
        for n, area in enumerate(se.areas, start=1):
            criteria = "".join(
                f"<dt>{_e(lvl.name)}</dt><dd>{_e(getattr(area.criteria, lvl.id))}</dd>" for lvl in se.levels
            )
            ideals = ", ".join(i.name for i in fw.ideals if i.id in area.ideals)
            head = widgets.HTML(
                f"<h3>{n}. {_e(area.name)}</h3><p>{_e(area.statement)}</p><p class='note'>Serves: {_e(ideals)}</p>"
                f"<details><summary>What each level looks like</summary><dl>{criteria}</dl></details>"
            )
            self.levels[area.id] = _dropdown(f"{area.name}: level", level_options)
            self.levels[area.id].layout.width = "36em"
            self.evidence[area.id] = widgets.Textarea(
                description=f"{area.name}: evidence",
                placeholder="What shows this level: documents, decisions, examples",
                style=LABEL_STYLE,
                layout={"width": "95%"},
                rows=3,
            )
            area_boxes.append(widgets.VBox([head, self.levels[area.id], self.evidence[area.id]]))
        self.save_button = widgets.Button(
            description="Save assessment", button_style="primary", disabled=not self.writable
        )
        self.status = _message("" if self.writable else "Read-only: saving is switched off.")
        self.first = _dropdown("First assessment")
        self.second = _dropdown("Second assessment")
        self.comparison = _body()
        self.comparison_view = View()

        for w in (self.name, self.assessed_on, *self.levels.values(), *self.evidence.values()):
            w.disabled = not self.writable
        self.open_button.on_click(self._open)
        self.new_button.on_click(self._new)
        self.save_button.on_click(self._save)
        self.first.observe(lambda _c: self.compare(), names="value")
        self.second.observe(lambda _c: self.compare(), names="value")
        self.children = [
            widgets.HTML("<h2>The four levels</h2>"),
            intro,
            widgets.HTML("<h2>The assessment</h2>"),
            self.banner,
            widgets.HBox([self.saved, self.open_button, self.new_button], layout={"flex_flow": "row wrap"}),
            self.name,
            self.assessed_on,
            *area_boxes,
            self.save_button,
            self.status,
            widgets.HTML("<h2>Compare two assessments</h2>"),
            widgets.HBox([self.first, self.second], layout={"flex_flow": "row wrap"}),
            self.comparison,
        ]
        self._set_lists(saved)

    # --- lists of saved assessments ---

    def _set_lists(self, saved: pd.DataFrame, select: tuple[str, date] | None = None) -> None:
        keys = [(n, d) for n, d in zip(saved["name"], saved["assessed_on"], strict=True)]
        options = [(f"{n} ({d.isoformat()})", (n, d)) for n, d in keys]
        self.saved.options = [("(choose one)", "")] + options
        self.saved.value = select if select in keys else ""
        first, second = self.first.value, self.second.value
        self._quiet = True
        try:
            self.first.options = options
            self.second.options = options
            if len(keys) >= 2:  # by default the newest against the one before it
                self.first.value = first if first in keys else keys[1]
                self.second.value = second if second in keys else keys[0]
            else:
                self.first.options = self.second.options = []
        finally:
            self._quiet = False
        self.compare()

    def refresh(self, select: tuple[str, date] | None = None) -> None:
        """Re-read the saved assessments (after a save, or another person's)."""
        self._set_lists(selfeval.list_assessments(self.db), select)

    # --- form ---

    def _say(self, text: str, css: str = "wb-message") -> None:
        self.status.value = f'<p class="{css}" role="status">{_e(text)}</p>'

    def assessment(self) -> selfeval.Assessment:
        """What the form holds now."""
        return selfeval.Assessment(
            self.name.value,
            self.assessed_on.value,
            {a: w.value or None for a, w in self.levels.items()},
            {a: w.value for a, w in self.evidence.items()},
        )

    def fill(self, assessment: selfeval.Assessment | None) -> None:
        self.name.value = assessment.name if assessment else ""
        self.assessed_on.value = assessment.assessed_on if assessment else None
        for a, w in self.levels.items():
            w.value = (assessment.levels.get(a) if assessment else None) or NOT_ASSESSED
        for a, w in self.evidence.items():
            w.value = assessment.evidence.get(a, "") if assessment else ""

    def _open(self, _button=None) -> None:
        key = self.saved.value
        if not key:
            self._say("Choose a saved assessment to open.")
            return
        try:
            assessment = selfeval.load_assessment(self.db, self.fw, *key)
        except UserError as exc:
            self._say(f"Not opened: {exc}", "wb-error")
            return
        self.fill(assessment)
        self.editing = assessment.key
        hint = (
            " Saving keeps your changes in this assessment; change the name or date to save a new one."
            if self.writable
            else ""
        )
        self._say(f"Opened '{assessment.name}' dated {assessment.assessed_on.isoformat()}.{hint}")

    def _new(self, _button=None) -> None:
        self.fill(None)
        self.editing = None
        self.saved.value = ""
        self._say("A new, empty assessment.")

    def _save(self, _button=None) -> None:
        try:
            message = selfeval.save_assessment(self.db, self.fw, self.assessment(), editing=self.editing)
            key = (selfeval.check_name(self.name.value), selfeval.check_date(self.assessed_on.value))
        except UserError as exc:
            self._say(f"Not saved: {exc}", "wb-error")
            return
        self.editing = key
        self.refresh(select=key)
        self._say(message, "wb-saved")

    # --- comparison ---

    def compare(self) -> None:
        if getattr(self, "_quiet", False):
            return

        def draw() -> str:
            self.comparison_view = comparison_view(self.db, self.fw, self.first.value, self.second.value)
            return self.comparison_view.html

        _show(self.comparison, _safely(draw))


def comparison_view(db: Path, fw: Framework, first_key, second_key) -> View:
    """Two saved assessments side by side: per area, and rolled up to the ideals (selfeval's rule)."""
    view = View()
    if first_key is None or second_key is None:
        view.text("Save at least two assessments to compare them.", "note")
        return view.done("none")
    first = selfeval.load_assessment(db, fw, *first_key)
    second = selfeval.load_assessment(db, fw, *second_key)
    a, b = first.label, second.label
    if a == b:
        b = f"{b}, again"
    view.heading("By performance area", 3)
    areas = selfeval.compare_areas(fw, first, second)
    fig = self_evaluation.comparison_chart(
        areas, label="area_name", fw=fw, first=a, second=b, title="Level per performance area"
    )
    alt = "; ".join(f"{r.area_name}: {r.first_level} then {r.second_level}" for r in areas.itertuples())
    view.chart(fig, f"Levels per performance area, {a} and {b}. " + alt)
    shown = pd.DataFrame(
        {
            "Performance area": areas["area_name"],
            a: areas["first_level"],
            b: areas["second_level"],
            "Change (levels)": ["" if pd.isna(c) else f"{c:+.0f}" for c in areas["change"]],
        }
    )
    view.table(
        "areas", shown, f"Levels per performance area: {a} and {b}", csv=areas, filename="self-evaluation-areas.csv"
    )

    view.heading("Rolled up to the ideals", 3)
    ideals = selfeval.compare_ideals(fw, first, second)
    fig = self_evaluation.comparison_chart(
        ideals, label="ideal_name", fw=fw, first=a, second=b, title="Average level per ideal"
    )

    def score(s, n, of):
        return "not assessed" if pd.isna(s) else f"{s:.2f} ({n} of {of} areas)"

    alt = "; ".join(
        f"{r.ideal_name}: {score(r.first_score, r.first_assessed, r.areas)} then "
        f"{score(r.second_score, r.second_assessed, r.areas)}"
        for r in ideals.itertuples()
    )
    view.chart(fig, f"Average level per ideal, {a} and {b}. " + alt)
    shown = pd.DataFrame(
        {
            "Ideal": ideals["ideal_name"],
            a: [
                score(s, n, of)
                for s, n, of in zip(ideals["first_score"], ideals["first_assessed"], ideals["areas"], strict=True)
            ],
            b: [
                score(s, n, of)
                for s, n, of in zip(ideals["second_score"], ideals["second_assessed"], ideals["areas"], strict=True)
            ],
            "Change": ["" if pd.isna(c) else f"{c:+.2f}" for c in ideals["change"]],
        }
    )
    view.table(
        "ideals", shown, f"Average level per ideal: {a} and {b}", csv=ideals, filename="self-evaluation-ideals.csv"
    )
    levels = ", ".join(f"{lvl.name} {n}" for n, lvl in enumerate(fw.self_evaluation.levels, start=1))
    view.text(
        f"How the ideals are scored: each level counts as a number ({levels}); an ideal's score is the average over "
        "the performance areas that serve it and were assessed (areas not assessed are left out and counted).",
        "note",
    )
    return view.done(a, b)
