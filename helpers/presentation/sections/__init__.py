"""Every reader-facing section, defined once, and the :class:`Report` a project notebook shows them through.

A section is a function ``(data: ProjectData, sel: Selection) -> Section`` registered with :func:`section`
under its name and title. The batch reports (through a project notebook), the overview and the dashboards
all call the same functions; the dashboards only choose the selection. To add a section: write the function
in the module of its kind (``survey``, ``evidence``, ``ripple``, ``trends``, ``annex``), decorate it with
``@section(title)``, add a cell ``report.<name>()`` under a Markdown heading to ``templates/project.ipynb`` and
to the project notebooks (a test checks they are in step), and list it in a dashboard view if stakeholders
should see it there (``helpers.surfaces.dashboards``).

``same_for``: a section that shows the project as a whole is the same for every neighbourhood (``"wave"``:
the same at one wave; ``"project"``: the same at every wave); the batch draws it once and shares it between
its kernels through the one cache.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...config.errors import UserError
from ...evidence.context import ProjectData, Selection
from .. import render
from ..model import Section


@dataclass(frozen=True)
class SectionSpec:
    name: str
    title: str
    function: Callable[[ProjectData, Selection], Section]
    same_for: str | None = None  # None (depends on the neighbourhood), "wave" or "project"
    applies: Callable | None = None  # (framework, project id) -> whether the section applies (None: always)
    annex_tables: bool = False  # a printed report shows this section's tables in its annex, not beside its chart
    dashboard: str = ""  # the project dashboard's part it shows in ("survey" or "evidence"), in registration order

    def key(self, sel: Selection) -> str:
        """What the section's content depends on, as a cache key."""
        if self.same_for == "project":
            parts = (self.name, sel.outcome, sel.ideal)
        elif self.same_for == "wave":
            parts = (self.name, sel.wave, sel.outcome, sel.ideal)
        else:
            parts = (self.name, sel.neighbourhood, sel.wave, sel.outcome, sel.ideal)
        return "section-" + "-".join(str(p) for p in parts if p is not None)


SECTIONS: dict[str, SectionSpec] = {}
# the modules that register sections, in the order they load
MODULES = ("survey", "evidence", "ripple", "trends", "annex")


def section(
    title: str,
    *,
    same_for: str | None = None,
    applies: Callable | None = None,
    annex_tables: bool = False,
    dashboard: str = "",
):
    """Register a section function under its name, with the title the dashboards show as its heading.

    ``applies(framework, project_id)``: whether a project has this section at all (a project notebook leaves
    out a section that does not apply; see ``helpers.surfaces.notebooks``). ``annex_tables``: a report shows
    the section's chart and words where it stands and its tables in the annex
    (``annex.tables_behind_the_charts``), so the main report stays short; the dashboards show them together.
    ``dashboard``: the part of the project dashboard that shows the section (``"survey"`` or ``"evidence"``),
    narrowed to the chosen outcome; sections show there in the order they are registered."""

    def register(function):
        spec = SectionSpec(function.__name__, title, function, same_for, applies, annex_tables, dashboard)
        SECTIONS[function.__name__] = spec
        return function

    return register


def load_all() -> dict[str, SectionSpec]:
    """Every registered section (importing the modules that define them)."""
    for module in MODULES:
        if (Path(__file__).parent / f"{module}.py").exists():
            importlib.import_module(f"{__name__}.{module}")
    return SECTIONS


def on_dashboard(part: str) -> tuple[str, ...]:
    """The sections the project dashboard shows in ``part`` ("survey" or "evidence"), in registration order."""
    return tuple(name for name, spec in load_all().items() if spec.dashboard == part)


def applies(fw, project_id: str, name: str) -> bool:
    """Whether the section ``name`` applies to the project (a notebook leaves out one that does not)."""
    spec = load_all()[name]
    return spec.applies is None or spec.applies(fw, project_id)


def build(data: ProjectData, name: str, sel: Selection) -> Section:
    """The section ``name`` for ``sel``, computed once per data, code and selection (shared in a batch when
    the section is the same for every neighbourhood)."""
    spec = load_all()[name]

    def compute() -> Section:
        made = spec.function(data, sel)
        made.title = made.title or spec.title
        return made

    return data.result(spec.key(sel), compute) if spec.same_for else data.results.local(spec.key(sel), compute)


ANNEX_NOTE = "How these figures were made, and the figures behind the chart, are in the annex."


class Report:
    """One project x neighbourhood x wave, as a project notebook shows it: ``report.<section>()`` per cell.

    ``Report(db, project, neighbourhood, wave)`` loads the project's data once (read-only) and refuses a
    neighbourhood or wave the data does not have, naming the valid values."""

    def __init__(self, db, project: str, neighbourhood: str | None, wave: str | None, fw=None, outcome=None):
        self.data = ProjectData(db, project, fw)
        self.selection = Selection(project, neighbourhood, wave, outcome)
        self.data.check(self.selection)

    @classmethod
    def overview(cls, db, project: str, fw=None) -> Report:
        """The project as a whole (every neighbourhood) at its latest wave with survey data."""
        report = cls(db, project, None, None, fw)
        if not report.data.neighbourhoods:
            raise UserError(f"no neighbourhoods are mapped to project {project} in the areas table")
        waves = report.data.survey_waves
        report.selection = report.selection.but(wave=waves[-1] if waves else report.fw.settings.baseline)
        return report

    @property
    def fw(self):
        return self.data.fw

    def show(self, name: str) -> Section:
        """The section ``name`` for this report, its tables with CSV download links named after the report."""
        sel, data = self.selection, self.data
        place = data.name_of(sel.neighbourhood) if sel.neighbourhood else "all areas"
        stem = render.slug(data.project.name, place, data.fw.settings.wave_label(sel.wave) if sel.wave else "")
        elsewhere = ANNEX_NOTE if load_all()[name].annex_tables else ""
        return dataclasses.replace(build(data, name, sel), downloads=stem, tables_elsewhere=elsewhere)

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in load_all():
            raise AttributeError(f"no section {name!r}; sections: {', '.join(sorted(load_all()))}")
        return lambda: self.show(name)

    def __dir__(self):
        return sorted({*super().__dir__(), *load_all()})
