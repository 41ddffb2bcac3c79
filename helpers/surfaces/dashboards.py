"""Dashboards for stakeholders: one widget per notebook under ``notebooks/dashboards/`` (STYLE.md 6).

Each dashboard notebook is markdown plus one cell that builds one of these widgets, served by Voila
(``python -m helpers dashboard``; docs/dashboards.md)::

    ProjectDashboard(db=None, fw=None)    what changed in a neighbourhood, and how sure we are
    RippleExplorer(db=None, fw=None)      a project's ripple: planned reach per ideal and the evidence so far
    SelfEvaluationForm(db=None, fw=None)  the self-evaluation tool: fill, save, reopen, compare
    FieldworkDashboard(db=None, fw=None)  fieldwork: returns against the targets, who is missing, the weighting now
    NetworkDashboard(db=None, fw=None)    the network: councils side by side, pooled, per statement, self-evaluation

``db`` defaults to the workbook database (``$WORKBOOK_DB`` or ``data/workbook.duckdb``); the network dashboard's
to the network database (``$WORKBOOK_NETWORK_DB`` or ``data/network.duckdb``).

How they work:

- The dashboards have no section logic of their own. A dashboard turns its dropdowns into a
  :class:`~helpers.evidence.context.Selection` and shows the registered sections listed in ``SURVEY_VIEW``,
  ``EVIDENCE_VIEW``, ``RIPPLE_VIEW`` and ``RIPPLE_DESIGN_VIEW`` (``helpers.presentation.sections``: the same
  functions the batch reports show), narrowed to the chosen outcome or ideal. The fieldwork dashboard shows
  :func:`helpers.surfaces.fieldwork.fieldwork`'s table through :mod:`helpers.presentation.fieldwork`.
- Each project's data is read once, the first time it is chosen, through a brief read-only DuckDB connection
  (:class:`ProjectsData`, one :class:`~helpers.evidence.context.ProjectData` per project); no connection stays
  open, so the self-evaluation form can write. Sections are kept once made (the one cache, in memory).
- Each selection change makes one :class:`View` (HTML plus the tables behind it) and replaces the value of one
  ``ipywidgets.HTML`` body in a single update. (STYLE.md 6 suggests an ``Output`` with
  ``clear_output(wait=True)``; an ``Output`` written to while the notebook runs makes nbclient send widget
  updates to the kernel mid-cell, and with ipykernel 7 that intermittently loses the cell's reply, so Voila
  waits for ever (ipykernel issue #1554). The HTML body has no such round trip and is one state update.)
  The views are testable without a browser.
- Privacy: only aggregates, as in the reports: suppressed cells say "fewer than 10 responses", stories only
  with consent, sentiment only as counts and shares. Downloads are CSV in a ``data:`` link, neutralised against
  spreadsheet formula injection (``helpers.presentation.render.download_link``).
"""

from __future__ import annotations

import html
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from datetime import date
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..config import cache, paths
from ..config.errors import UserError
from ..config.framework import Framework
from ..evidence.context import ProjectData, Selection
from ..methods import estimates
from ..presentation import render, sections, self_evaluation
from ..presentation.fieldwork import downloadable, fieldwork_sections
from ..presentation.model import Section
from ..store import selfeval
from . import fieldwork

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
    ".wb-view .note{color:#444;font-size:max(.92em,14px)}"  # never under 14 px (docs/dashboards.md)
    ".wb-view .wb-message{font-weight:600}</style>"
)


def _framework(fw: Framework | None) -> Framework:
    if fw is not None:
        return fw
    from ..config.framework import framework

    return framework()


def _e(text: object) -> str:
    return html.escape(str(text))


@contextmanager
def _quietly(dashboard) -> Iterator[None]:
    """While a dashboard sets its own controls (new options, a kept choice), their changes redraw nothing: it
    redraws once, afterwards. (Its ``redraw`` returns at once while ``_quiet`` is set.)"""
    dashboard._quiet = True
    try:
        yield
    finally:
        dashboard._quiet = False


# --- building blocks: tables, downloads, messages ---------------------------------------------------


@dataclass
class View:
    """What one selection shows: HTML, and the tables behind it (what the download links give)."""

    html: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


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


# --- the project dashboard -------------------------------------------------------------------------

# The sections the project dashboard shows for a selection (project, neighbourhood, wave, outcome), in order:
# the same functions the batch reports show (helpers.presentation.sections), narrowed to the chosen outcome.
# (Declared on each section: ``@section(..., dashboard="survey" | "evidence")``.)
SURVEY_VIEW = sections.on_dashboard("survey")
EVIDENCE_VIEW = sections.on_dashboard("evidence")


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
    return shown + [sections.build(data, name, sel) for name in EVIDENCE_VIEW]


def project_view(data: ProjectData, sel: Selection) -> View:
    """The project dashboard's view of one selection: its HTML and the tables its download links give."""
    return _view(project_sections(data, sel), astuple(sel)[:4])


def _view(made: list[Section], selection: tuple, downloads: str = "", heading: int = 2) -> View:
    """Sections as one dashboard view; each table's download is named after the selection."""
    tables = {t.key: t.tidy for s in made for t in s.tables if t.tidy is not None}
    stem = downloads or render.slug(*selection)
    return View(render.view_html(made, selection=selection, style=VIEW_STYLE, downloads=stem, heading=heading), tables)


class _ChoosesAProject:
    """A dashboard whose other choices follow its project dropdown: a new project resets them (quietly: one redraw,
    not one per choice reset), any change redraws. Subclasses have ``project``, ``_project_options`` and
    ``redraw``."""

    _quiet = False

    def _changed(self, change) -> None:
        if self._quiet:
            return
        if change["owner"] is self.project:
            with _quietly(self):
                self._project_options()
        self.redraw()


class ProjectDashboard(_ChoosesAProject, widgets.VBox):
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
        with _quietly(self):
            self._project_options()
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

    def redraw(self) -> None:
        def draw() -> str:
            self.view = project_view(self.projects(self.project.value), self.selection)
            return self.view.html

        _show(self.body, _safely(draw))


# --- the ripple explorer --------------------------------------------------------------------------

# The sections the ripple explorer shows for a project, a wave (or design mode) and an ideal, in order.
RIPPLE_DESIGN_VIEW = ("planned_reach", "expected_ripple", "ideal_outcomes")
RIPPLE_VIEW = ("planned_reach", "expected_ripple", "ripple", "survey_by_ideal", "ideal_outcomes")


def ripple_sections(data: ProjectData, wave: str, ideal: str) -> list[Section]:
    """What the ripple explorer shows: a sentence on what is shown, then registered sections."""
    fw, project = data.fw, data.project
    design = wave == DESIGN or wave == fw.settings.baseline or wave not in data.survey_waves
    if wave == DESIGN:
        lead = f"{project.name}: the planned ripple (design mode), from the project's ripple map."
    elif design:
        why = (
            "the baseline is the starting point, so there is no change to show yet"
            if wave == fw.settings.baseline
            else f"there are no survey responses for {project.name} at {fw.settings.wave_label(wave)} yet"
        )
        lead = f"{project.name} at {fw.settings.wave_label(wave)}: {why}. Showing the planned ripple (design mode)."
    else:
        lead = f"{project.name} at {fw.settings.wave_label(wave)}: the planned ripple and the evidence so far."
    names = [
        n for n in (RIPPLE_DESIGN_VIEW if design else RIPPLE_VIEW) if n != "expected_ripple" or project.ripple_summary
    ]
    sel = Selection(project.id, None, None if design else wave, ideal=ideal)
    return [Section().text(lead, "lead"), *(sections.build(data, name, sel) for name in names)]


def ripple_view(data: ProjectData, wave: str, ideal: str) -> View:
    """The ripple explorer's view of one project, wave (or ``design``) and ideal."""
    return _view(ripple_sections(data, wave, ideal), (data.project.id, wave, ideal))


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
            self.projects = ProjectsData(self.db, fw)
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
            self.view = ripple_view(self.projects(self.project.value), self.wave.value, self.ideal.value)
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
        self.revision: int | None = None  # the revision of the assessment being edited, as it was opened
        se = fw.self_evaluation
        try:
            saved = selfeval.list_assessments(self.db)
        except UserError as exc:
            self.children = [_message(str(exc))]
            return
        intro = self._levels_intro()
        self.banner = self._banner()

        self.saved = _dropdown("Open a saved assessment")
        self.open_button = widgets.Button(description="Open", tooltip="Open the chosen assessment to read or edit it")
        self.new_button = widgets.Button(description="Start a new assessment", layout={"width": "auto"})
        self.name = widgets.Text(
            description="Assessment name", placeholder="for example Cabinet review 2025", style=LABEL_STYLE
        )
        self.assessed_on = widgets.DatePicker(description="Assessed on", style=LABEL_STYLE)
        self.levels: dict[str, widgets.Dropdown] = {}
        self.evidence: dict[str, widgets.Textarea] = {}
        level_options = [("not assessed", NOT_ASSESSED)] + [(lvl.name, lvl.id) for lvl in se.levels]
        area_boxes = [self._area_box(n, area, level_options) for n, area in enumerate(se.areas, start=1)]
        self.save_button = widgets.Button(
            description="Save assessment", button_style="primary", disabled=not self.writable
        )
        self.status = _message("" if self.writable else "Read-only: saving is switched off.")
        self.first = _dropdown("First assessment")
        self.second = _dropdown("Second assessment")
        self.comparison = _body()
        self.comparison_view = View()

        self._connect()
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

    # --- building the form ---

    def _levels_intro(self) -> widgets.HTML:
        """The self-evaluation's note and what each of the four levels means."""
        se = self.fw.self_evaluation
        levels = "".join(f"<dt>{_e(lvl.name)}</dt><dd>{_e(lvl.description)}</dd>" for lvl in se.levels)
        return widgets.HTML(f"<p>{_e(se.note)}</p><dl>{levels}</dl>")

    def _banner(self) -> widgets.HTML:
        """Whether this server saves assessments (started with ``--allow-write``) or is read-only."""
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
        return widgets.HTML(f'<p class="{css}" role="status"><strong>{head}</strong> {_e(banner)}</p>')

    def _area_box(self, n: int, area, level_options: list[tuple[str, str]]) -> widgets.VBox:
        """Performance area ``n``: its statement, the ideals it serves, its level criteria, and its level and
        evidence controls (kept in ``self.levels`` and ``self.evidence``)."""
        se = self.fw.self_evaluation
        criteria = "".join(f"<dt>{_e(lvl.name)}</dt><dd>{_e(getattr(area.criteria, lvl.id))}</dd>" for lvl in se.levels)
        ideals = ", ".join(i.name for i in self.fw.ideals if i.id in area.ideals)
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
        return widgets.VBox([head, self.levels[area.id], self.evidence[area.id]])

    def _connect(self) -> None:
        """Lock the inputs when read-only; buttons and the comparison's choices call their handlers."""
        for w in (self.name, self.assessed_on, *self.levels.values(), *self.evidence.values()):
            w.disabled = not self.writable
        self.open_button.on_click(self._open)
        self.new_button.on_click(self._new)
        self.save_button.on_click(self._save)
        self.first.observe(lambda _c: self.compare(), names="value")
        self.second.observe(lambda _c: self.compare(), names="value")

    # --- lists of saved assessments ---

    def _set_lists(self, saved: pd.DataFrame, select: tuple[str, date] | None = None) -> None:
        keys = [(n, d) for n, d in zip(saved["name"], saved["assessed_on"], strict=True)]
        options = [(f"{n} ({d.isoformat()})", (n, d)) for n, d in keys]
        self.saved.options = [("(choose one)", "")] + options
        self.saved.value = select if select in keys else ""
        first, second = self.first.value, self.second.value
        with _quietly(self):
            self.first.options = options
            self.second.options = options
            if len(keys) >= 2:  # by default the newest against the one before it
                self.first.value = first if first in keys else keys[1]
                self.second.value = second if second in keys else keys[0]
            else:
                self.first.options = self.second.options = []
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
        self.editing, self.revision = assessment.key, assessment.revision
        hint = (
            " Saving keeps your changes in this assessment; change the name or date to save a new one."
            if self.writable
            else ""
        )
        self._say(f"Opened '{assessment.name}' dated {assessment.assessed_on.isoformat()}.{hint}")

    def _new(self, _button=None) -> None:
        self.fill(None)
        self.editing, self.revision = None, None
        self.saved.value = ""
        self._say("A new, empty assessment.")

    def _save(self, _button=None) -> None:
        try:
            saved = selfeval.save_assessment(
                self.db, self.fw, self.assessment(), editing=self.editing, revision=self.revision
            )
        except UserError as exc:
            self._say(f"Not saved: {exc}", "wb-error")
            return
        self.editing, self.revision = saved.key, saved.revision
        self.refresh(select=saved.key)
        self._say(saved.message, "wb-saved")

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
    if first_key is None or second_key is None:
        return _view([Section().note("Save at least two assessments to compare them.")], ("none",))
    first = selfeval.load_assessment(db, fw, *first_key)
    second = selfeval.load_assessment(db, fw, *second_key)
    labels = (first.label, second.label if second.label != first.label else f"{second.label}, again")
    return _view(self_evaluation.comparison_sections(fw, first, second), labels, "self-evaluation", heading=3)


# --- the fieldwork tracker -------------------------------------------------------------------------

ALL_HOODS = fieldwork.ALL  # the neighbourhood dropdown's value for every neighbourhood together


def fieldwork_view(fw: Framework, result: fieldwork.Fieldwork, project: str, neighbourhood: str) -> View:
    """The fieldwork dashboard's view of one project, wave and neighbourhood (``"all"``: every one), and a link
    to download its whole table (the table ``python -m helpers fieldwork --csv`` writes, narrowed likewise)."""
    name = fw.project(project).name
    table = result.narrowed(neighbourhood)
    margins = tuple(d.label for d in fw.settings.weighting.margins(project))
    made = fieldwork_sections(
        fw,
        table,
        project_name=name,
        wave=result.wave,
        assumed=result.assumed,
        neighbourhood=neighbourhood,
        margins=margins,
    )
    selection = (project, result.wave, neighbourhood)
    view = _view(made, selection)
    whole = downloadable(table, fw.settings.thresholds.minimum_base)
    link = render.download_link(
        whole, render.slug(*selection, "fieldwork") + ".csv", "every figure on this page in one table"
    )
    return View(view.html + link, view.tables | {"fieldwork": whole})


class FieldworkDashboard(_ChoosesAProject, widgets.VBox):
    """Choose project, neighbourhood (or all) and wave; see the questionnaires back against the targets, who is
    missing and what the weighting leaves (the smallest change the survey could show, now and at the targets)."""

    def __init__(self, db: Path | str | None = None, fw: Framework | None = None):
        super().__init__()
        self.add_class("wb-dashboard")
        self.add_class("wb-fieldwork")
        self.fw = fw = _framework(fw)
        self.db = paths.resolve(db or "")
        self.view = View()
        self._results: dict[tuple[str, str], fieldwork.Fieldwork] = {}
        try:
            self.projects = ProjectsData(self.db, fw)
        except UserError as exc:
            self.children = [_message(str(exc))]
            return
        self.project = _dropdown("Project", [(p.name, p.id) for p in fw.projects])
        self.neighbourhood = _dropdown("Neighbourhood")
        self.wave = _dropdown("Survey wave", [(w.label, w.id) for w in fw.settings.waves])
        self.latest = widgets.Button(
            description="Read the latest returns",
            tooltip="Read the questionnaires imported since this page was opened",
            layout={"width": "auto"},
        )
        self.body = _body()
        with _quietly(self):
            self._project_options()
        for control in (self.project, self.neighbourhood, self.wave):
            control.observe(self._changed, names="value")
        self.latest.on_click(self.reread)
        controls = [self.project, self.neighbourhood, self.wave, self.latest]
        self.children = [widgets.HBox(controls, layout={"flex_flow": "row wrap"}), self.body]
        self.redraw()

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables of the current selection, as the download links give them."""
        return self.view.tables

    def _project_options(self) -> None:
        """The project's neighbourhoods (all of them first) and, as the wave, the latest with questionnaires."""
        data = self.projects(self.project.value)
        kept = self.neighbourhood.value
        self.neighbourhood.options = [("All neighbourhoods", ALL_HOODS)] + [
            (f"{r.name} ({r.role})", r.neighbourhood) for r in data.areas.itertuples()
        ]
        self.neighbourhood.value = kept if kept in data.neighbourhoods else ALL_HOODS
        self.wave.value = data.survey_waves[-1] if data.survey_waves else self.fw.settings.baseline

    def reread(self, _button=None) -> None:
        """Forget what was read and read the database again (the page may have been prepared before an import)."""
        self._results.clear()
        self.projects = ProjectsData(self.db, self.fw)
        self.redraw()

    def result(self, project: str, wave: str) -> fieldwork.Fieldwork:
        """The fieldwork figures of a project and wave, computed once while the page is open."""
        if (project, wave) not in self._results:
            self._results[project, wave] = fieldwork.fieldwork(self.fw, self.db, project=project, wave=wave)
        return self._results[project, wave]

    def redraw(self) -> None:
        def draw() -> str:
            project = self.project.value
            if self.projects(project).areas.empty:
                name = self.fw.project(project).name
                self.view = _view(
                    [Section(title=name).message(f"No neighbourhoods are mapped to {name} in the areas table yet.")],
                    (project, self.wave.value, ALL_HOODS),
                )
            else:
                result = self.result(project, self.wave.value)
                self.view = fieldwork_view(self.fw, result, project, self.neighbourhood.value)
            return self.view.html

        _show(self.body, _safely(draw))


# --- the network dashboard -------------------------------------------------------------------------

NO_NETWORK = (
    "No council's return has been brought into the network yet, so there is nothing to compare. Once councils' "
    "returns are brought in, this page shows them side by side and pooled."
)
NO_COUNCIL = ""  # the council dropdown's value for "no council chosen"


def network_sections(
    db: Path, fw: Framework, family: str, wave: str, measure: str, council: str, made: dict | None = None
) -> list[Section]:
    """What the network dashboard shows for one selection: the network report's sections
    (helpers.presentation.network) in the report's order, in brief first; the pooled evidence and the per-statement
    figures narrowed to the chosen statement. ``made`` keeps sections by what they depend on, so a change of council
    redraws only the self-evaluation."""
    from ..presentation import network as net

    made = {} if made is None else made
    wanted = (
        (net.in_brief_section, (family, wave)),
        (net.councils_section, (family,)),
        (net.pooled_section, (family, wave, measure)),
        (net.statements_section, (family, wave, measure)),
        (net.ripple_section, (family,)),
        (net.self_evaluation_section, (council,)),
    )
    out = []
    for make, args in wanted:
        key = (make.__name__, *args)
        if key not in made:
            if len(made) >= SECTION_CACHE_SIZE:
                made.clear()
            made[key] = make(db, fw, *args)
        out.append(made[key])
    return out


def network_view(
    db: Path, fw: Framework, family: str, wave: str, measure: str, council: str = "", made: dict | None = None
) -> View:
    """The network dashboard's view of one family, wave, statement and (optionally) council."""
    sections_shown = network_sections(db, fw, family, wave, measure, council, made)
    return _view(sections_shown, (family, wave, measure, council), downloads=render.slug("network", family, wave))


class NetworkDashboard(widgets.VBox):
    """Choose a kind of scheme (family), a wave, a statement and optionally "this council"; see the councils side
    by side, their results pooled with a forest plot and a plain sentence, each council's figures for the
    statement, and the self-evaluation levels across councils."""

    def __init__(self, db: Path | str | None = None, fw: Framework | None = None):
        super().__init__()
        self.add_class("wb-dashboard")
        self.add_class("wb-network")
        self.fw = fw = _framework(fw)
        self.db = Path(db) if db else paths.NETWORK_DB
        self.view = View()
        self._made: dict[tuple, Section] = {}  # sections kept by what they depend on (network_sections)
        if not self.db.exists():
            self.children = [_message(NO_NETWORK)]
            return
        from ..presentation.network import family_name
        from ..store import network

        families = network.families(self.db)
        with_results = sorted(set(network.pooling_rows(self.db)["family"]))  # first shown: one with results
        self.family = _dropdown(
            "Kind of scheme",
            [(family_name(fw, f), f) for f in families],
            value=with_results[0] if with_results else (families[0] if families else None),
        )
        later = [w for w in fw.settings.waves if w.id != fw.settings.baseline]
        self.wave = _dropdown("Survey wave", [(w.label, w.id) for w in later], value=later[-1].id)
        self.measure = _dropdown("Statement")
        councils = list(network.councils(self.db)["council"])
        self.council = _dropdown("This council", [("(none)", NO_COUNCIL)] + [(c, c) for c in councils])
        self.body = _body()
        with _quietly(self):
            self._family_options()
        self.family.observe(self._family_changed, names="value")
        for control in (self.wave, self.measure, self.council):
            control.observe(lambda _c: self.redraw(), names="value")
        controls = widgets.HBox([self.family, self.wave, self.measure, self.council], layout={"flex_flow": "row wrap"})
        self.children = [controls, self.body]
        self.redraw()

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables of the current selection, as the download links give them."""
        return self.view.tables

    def _family_options(self) -> None:
        """The statements the family's councils report, in the framework's order (the one chosen kept if there)."""
        from ..store import network

        measures = set(network.pooling_rows(self.db, self.family.value)["measure"])
        ids = [s for s in self.fw.instrument.statement_ids if s in measures]
        kept = self.measure.value
        self.measure.options = [(self.fw.instrument.statement(s).short, s) for s in ids]
        self.measure.value = kept if kept in ids else (ids[0] if ids else None)

    def _family_changed(self, _change) -> None:
        with _quietly(self):
            self._family_options()
        self.redraw()

    def redraw(self) -> None:
        if getattr(self, "_quiet", False):
            return

        def draw() -> str:
            key = (self.family.value, self.wave.value, self.measure.value or "", self.council.value)
            self.view = network_view(self.db, self.fw, *key, made=self._made)
            return self.view.html

        _show(self.body, _safely(draw))
