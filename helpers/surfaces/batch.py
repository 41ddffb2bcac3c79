"""The papermill batch: one HTML report per project x neighbourhood x wave, and an index.

``python -m helpers reports`` plans the reports from the database (every neighbourhood mapped to a
project, every wave with survey data), checks the selection and the notebooks' parameters before any
kernel starts, runs the reports in parallel processes, and writes only what is published into the
output folder, readable by others under the user's umask (a folder to copy to a web server or share)::

    reports/<project>/<neighbourhood>/<wave>.html      the report, no code cells
    reports/<project>/<neighbourhood>/<wave>.pdf       with --pdf: the report printed on A4
    reports/<project>/overview.html (.pdf)             every neighbourhood of the project side by side
    reports/<project>/committee-pack.pdf               with --pdf: each neighbourhood's page one and the
                                                       project's difference-in-differences
    reports/index.html                                  every report with its status and links

and what it needs for itself into the working folder beside it (:func:`helpers.config.paths.work_folder`)::

    reports.work/executed/<project>/<neighbourhood>/<wave>.ipynb   the executed notebook (debugging)
    reports.work/cache/                                 project-level results shared by the kernels
    reports.work/state/<path of a published file>.inputs | .failed   its fingerprint, why it failed
    reports.work/kernels.log                            the kernels' own warnings
    reports.work/batch.lock (.note)                     held while a batch writes to reports/ (:func:`writing_to`)

Each file is written to a temporary file and renamed, so an interrupted batch never leaves a
half-written report or PDF. A report is redone only when its inputs change (notebook, helpers code,
framework, templates, parameters, or the data it reads), a PDF only when its HTML changed; ``--force``
redoes everything.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

import pandas as pd

from ..config import cache as result_cache
from ..config import paths
from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..config.safe_output import atomic_path, write_text_atomic
from ..presentation.formatting import count_or_fewer, fieldwork_month
from ..store import database as store

FOOTER = (
    "Made with the Co-operative Difference Workbook. All figures are aggregates of survey answers "
    "weighted to the neighbourhood's population; figures from fewer than {minimum} responses are "
    "not shown."
)


@dataclass(frozen=True)
class Job:
    """One notebook to run: a neighbourhood x wave report, or a project overview (neighbourhood and wave blank)."""

    project: str
    neighbourhood: str
    wave: str
    role: str
    name: str
    responses: int
    notebook: str
    db: str
    html: str
    executed: str
    fingerprint: str
    timeout_s: float
    cache: str = ""  # folder where this batch's kernels share project-level results (helpers/config/cache.py)
    data_fingerprint: str = ""  # the project's imported data (part of the report's and the shared results' keys)
    work: str = ""  # the batch's working folder (paths.work_folder): the kernels' log
    inputs: str = ""  # where the fingerprint the report was made from is kept (working folder)
    failed_note: str = ""  # where the first line of its last failure is kept (working folder)

    @property
    def pdf(self) -> str:
        """The report printed to PDF, beside its HTML (``reports --pdf``)."""
        return str(Path(self.html).with_suffix(".pdf"))

    @property
    def parameters(self) -> dict[str, str]:
        if not self.wave:
            return {"project": self.project, "db": self.db}
        return {"project": self.project, "neighbourhood": self.neighbourhood, "wave": self.wave, "db": self.db}

    @property
    def label(self) -> str:
        return f"{self.project}/{self.neighbourhood}/{self.wave}" if self.wave else f"{self.project}/overview"


@dataclass
class Outcome:
    job: Job
    status: str  # done | skipped | failed
    seconds: float = 0.0
    error: str = ""
    what: str = "report"  # report | PDF | committee pack
    check: str = ""  # the file to look at when it failed (default: the executed notebook)


# --- planning -----------------------------------------------------------------------------------


def _module_file(module: str) -> Path | None:
    """The source file of helpers module ``module`` (dotted, without ``helpers.``; ``""`` is the package)."""
    base = paths.ROOT.joinpath("helpers", *module.split(".")) if module else paths.ROOT / "helpers"
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def _longest_module(dotted: str) -> str | None:
    """The longest leading part of ``dotted`` (``presentation.report.ProjectReport``) that is a helpers module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if _module_file(".".join(parts[:end])):
            return ".".join(parts[:end])
    return None


def _imports_of(module: str) -> set[str]:
    """The helpers modules that helpers module ``module`` imports (relative or absolute), read from its source.

    A package that imports its own modules by name at run time (``importlib.import_module``: the report sections'
    registry, which ``report.<section>()`` reaches) counts as importing every module in it."""
    import ast

    path = _module_file(module)
    if path is None:
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    source = path.read_text(encoding="utf-8")
    found = _helpers_imported(ast.parse(source), package)
    if module and path.name == "__init__.py" and "import_module(" in source:  # not helpers' own lazy imports
        found |= {f"{module}.{p.stem}" for p in path.parent.glob("*.py") if p.name != "__init__.py"}
    return found


def _helpers_imported(tree, package: str = "") -> set[str]:
    """The helpers modules an AST imports anywhere in it (``from helpers.evidence import ripple``, ``from
    ..store import access``, ``import helpers.evidence.ripple``), ``package`` being where the code lives."""
    import ast

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([name] if name else []))
            elif name == "helpers" or name.startswith("helpers."):
                base = name.removeprefix("helpers").lstrip(".")
            else:
                continue
            for alias in node.names:
                found.add(_longest_module(f"{base}.{alias.name}" if base else alias.name) or base)
        elif isinstance(node, ast.Import):
            found |= {
                _longest_module(a.name.removeprefix("helpers.")) for a in node.names if a.name.startswith("helpers.")
            }
    return {m for m in found if m and _module_file(m)}


def _notebook_modules(notebook: Path) -> set[str]:
    """The helpers modules a notebook's code uses: imported (``from helpers.presentation import sections``) or
    reached through the package (``helpers.presentation.report.ProjectReport``)."""
    import ast
    import re

    if not notebook.exists():
        return set()
    found = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        code = "".join(cell.get("source", ""))
        found |= {_longest_module(m) for m in re.findall(r"\bhelpers\.([\w.]+)", code)}
        python = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        with suppress(SyntaxError):  # a cell that is not plain Python: its helpers.X uses still count
            found |= _helpers_imported(ast.parse(python))
    return {m for m in found if m}


def _module_closure(start: set[str]) -> set[str]:
    """The modules in ``start`` and all they import, with the packages that hold them (their ``__init__``)."""
    seen, todo = set(), set(start) | {""}
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo |= _imports_of(module) | {module.rpartition(".")[0]}
    return seen


@cache
def _code_fingerprint(notebook: str, logo: str = "") -> str:
    """Hash of what a notebook's output depends on besides its parameters and data: the notebook, the
    helpers modules it reaches (followed through their imports), the framework, the report template and the
    council's logo. Editing a module the report never imports (the dashboards, say) does not redo the reports."""
    modules = _module_closure(_notebook_modules(Path(notebook)))
    tracked = sorted(
        [_module_file(m) for m in modules]
        + [*paths.FRAMEWORK.rglob("*.yaml"), *paths.TEMPLATES.joinpath("report").glob("*"), Path(notebook)]
        + [Path(__file__)]  # the HTML export (contents list, footer) shapes every page
        + ([paths.ROOT / logo] if logo else [])  # the council's logo, embedded in every page
    )
    digest = hashlib.sha256()
    for path in tracked:
        if path.exists():
            name = path.relative_to(paths.ROOT) if path.is_relative_to(paths.ROOT) else path
            digest.update(name.as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def check_parameters(notebook: Path, names) -> None:
    """Each parameter the batch passes must be declared in the notebook's parameters cell."""
    import papermill

    try:
        declared = papermill.inspect_notebook(str(notebook))
    except Exception as exc:  # a notebook that cannot be read is a user's problem to fix
        raise UserError(f"{notebook}: cannot read the notebook's parameters ({exc})") from None
    unknown = [p for p in names if p not in declared]
    if unknown:
        raise UserError(
            f"{notebook}: parameter(s) {', '.join(unknown)} are not in the notebook's parameters cell "
            f"(a cell tagged 'parameters'); it declares: {allowed(declared) if declared else 'nothing'}"
        )


def plan(
    fw: Framework, db: Path, out: Path, *, projects=None, neighbourhoods=None, waves=None
) -> tuple[list[Job], list[Job]]:
    """(selected jobs, every job) for the database; refuses unknown selections listing valid values."""
    areas, counts, fingerprints = _plan_inputs(db)
    _check_selection(fw, areas, counts, projects, neighbourhoods, waves)
    n_by = {(r.neighbourhood, r.wave): int(r.n) for r in counts.itertuples()}
    every, selected = [], []
    for spec, chosen in [
        *_report_specs(fw, out, areas, n_by, projects, neighbourhoods, waves),
        *_overview_specs(fw, out, areas, n_by, projects, neighbourhoods, waves),
    ]:
        job = _job(fw, db, out, fingerprints[spec[0]], *spec)
        every.append(job)
        if chosen:
            selected.append(job)
    for notebook in sorted({j.notebook for j in selected}):
        if not Path(notebook).exists():
            raise UserError(f"{notebook}: the project's notebook is missing")
    return selected, every


def _plan_inputs(db: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(the areas, the responses per neighbourhood and wave, each project's data fingerprint) from the database."""
    con = store.connect(db, read_only=True)
    try:
        if not store.has_table(con, "areas") or not store.has_table(con, "survey"):
            raise UserError(f"{db}: no areas or survey data loaded yet; run `make run` or import your files")
        areas = con.execute("SELECT * EXCLUDE (batch_id) FROM areas ORDER BY project, neighbourhood").df()
        counts = con.execute("SELECT neighbourhood, wave, count(*) AS n FROM survey GROUP BY ALL").df()
        fingerprints = {
            p: store.data_fingerprint(con, p, areas.loc[areas["project"] == p, "neighbourhood"].tolist())
            for p in sorted(set(areas["project"]))
        }
    finally:
        con.close()
    return areas, counts, fingerprints


def _report_specs(fw, out, areas, n_by, projects, neighbourhoods, waves) -> list[tuple[tuple, bool]]:
    """(what :func:`_job` needs, whether selected) for each neighbourhood's report at each wave with responses."""
    specs = []
    for row in areas.itertuples():
        if row.project not in fw.project_ids:
            continue
        for wave in fw.settings.wave_ids:
            n = n_by.get((row.neighbourhood, wave), 0)
            if n:
                chosen = (
                    (not projects or row.project in projects)
                    and (not neighbourhoods or row.neighbourhood in neighbourhoods)
                    and (not waves or wave in waves)
                )
                spec = (
                    row.project,
                    row.neighbourhood,
                    wave,
                    row.role,
                    row.name,
                    n,
                    paths.project_notebook(row.project),
                    paths.report_html(out, row.project, row.neighbourhood, wave),
                    paths.executed_notebook(out, row.project, row.neighbourhood, wave),
                )
                specs.append((spec, chosen))
    return specs


def _overview_specs(fw, out, areas, n_by, projects, neighbourhoods, waves) -> list[tuple[tuple, bool]]:
    """(what :func:`_job` needs, whether selected) for each project's overview report."""
    work = paths.work_folder(out)
    specs = []
    for project in sorted(set(areas["project"]) & set(fw.project_ids)):
        # One overview per project, when the whole project is selected (not one neighbourhood or wave).
        chosen = (not projects or project in projects) and not neighbourhoods and not waves
        total = int(
            sum(n for (h, _), n in n_by.items() if h in set(areas.loc[areas["project"] == project, "neighbourhood"]))
        )
        spec = (
            project,
            "",
            "",
            "",
            "Overview",
            total,
            paths.OVERVIEW_NOTEBOOK,
            out / project / "overview.html",
            work / "executed" / project / "overview.ipynb",
        )
        specs.append((spec, chosen))
    return specs


def _job(
    fw, db, out, data_fingerprint, project, neighbourhood, wave, role, name, n, notebook, html_path, executed
) -> Job:
    """One report's job, fingerprinted by its notebook's code, its project's data and its parameters."""
    work = paths.work_folder(out)
    params = {"project": project, "neighbourhood": neighbourhood, "wave": wave, "db": str(db)}
    fingerprint = inputs_fingerprint(notebook, fw.settings.council.logo, data_fingerprint, params)
    return Job(
        project,
        neighbourhood,
        wave,
        role,
        name,
        n,
        str(notebook),
        str(db),
        str(html_path),
        str(executed),
        fingerprint,
        fw.settings.batch.timeout_minutes * 60,
        cache=str(work / "cache"),
        data_fingerprint=data_fingerprint,
        work=str(work),
        inputs=str(paths.state_file(out, html_path, ".inputs")),
        failed_note=str(paths.state_file(out, html_path, ".failed")),
    )


def inputs_fingerprint(notebook: Path | str, logo: str, data_fingerprint: str, params: dict) -> str:
    """What a page is made from, as one hash: its notebook's code (:func:`_code_fingerprint`: the notebook,
    the helpers code it reaches, the framework, the report template, the logo), its data and its parameters.
    A page is remade only when this differs from the one kept when it was last made (:func:`is_current`); the
    council's reports and the network's pages (``helpers.surfaces.network_batch``) both decide so."""
    code = _code_fingerprint(str(notebook), logo)
    return hashlib.sha256(json.dumps([code, data_fingerprint, params]).encode()).hexdigest()


def run_order(todo: list[Job], wave_ids: Sequence[str]) -> list[Job]:
    """The order reports are handed to the workers: wave by wave, taking the projects in turn, overviews last.

    Each project's shared results (helpers/config/cache.py) are computed by the first of its reports to run and
    loaded by the rest; taking the projects in turn means reports running side by side mostly belong to
    different projects, so no worker waits for another's project-level work."""
    counted: Counter[str] = Counter()
    position: dict[tuple[str, str], int] = {}
    for project, neighbourhood in sorted({(j.project, j.neighbourhood) for j in todo}):
        position[project, neighbourhood] = counted[project]
        counted[project] += 1
    waves = {w: i for i, w in enumerate(wave_ids)}
    return sorted(
        todo,
        key=lambda j: (not j.wave, waves.get(j.wave, -1), position[j.project, j.neighbourhood], j.project),
    )


def _check_selection(fw, areas, counts, projects, neighbourhoods, waves) -> None:
    for p in projects or []:
        if p not in fw.project_ids:
            raise UserError(f"unknown project '{p}'; known: {allowed(fw.project_ids)}")
    mapped = areas[areas["project"].isin(projects)] if projects else areas
    for h in neighbourhoods or []:
        if h not in set(mapped["neighbourhood"]):
            scope = f"mapped to {', '.join(projects)}" if projects else "in the areas table"
            raise UserError(
                f"neighbourhood '{h}' is not {scope}; valid: {allowed(sorted(set(mapped['neighbourhood'])))}"
            )
    with_data = sorted(
        set(counts["wave"]), key=lambda w: fw.settings.wave_ids.index(w) if w in fw.settings.wave_ids else 99
    )
    for w in waves or []:
        if w not in fw.settings.wave_ids:
            raise UserError(f"unknown wave '{w}'; known: {allowed(fw.settings.wave_ids)}")
        if w not in with_data:
            raise UserError(f"wave '{w}' has no survey data; waves with data: {allowed(with_data)}")


class Stamped(Protocol):
    """A page the batch makes (a report's :class:`Job`, a network page): where it goes, and where the
    fingerprint it was made from is kept."""

    html: str
    inputs: str
    fingerprint: str


def is_current(job: Stamped) -> bool:
    """The page exists and was made from what it would be made from now (its kept fingerprint is this one)."""
    stamp = Path(job.inputs)
    return Path(job.html).exists() and stamp.exists() and stamp.read_text().strip() == job.fingerprint


# --- running one report (in a worker process) ---------------------------------------------------


def run_one(job: Job) -> Outcome:
    """Execute one report notebook, in a kernel of its own, and export it to HTML; never raises for a
    failing report.

    In the local pool's workers, Ctrl-C (which reaches them too: they share the terminal's process group)
    interrupts the running report, whose temporary file is removed, and the worker starts no further report:
    it answers "interrupted" for any it is still handed, until the pool ends it."""
    global _RUNNING
    if not _LOCAL_WORKER:
        return _run_one(job)
    _RUNNING = True
    try:
        if _STOPPING:  # checked once running, so an interrupt can never slip in between
            return Outcome(job, "failed", error=INTERRUPTED)
        return _run_one(job)
    except KeyboardInterrupt:
        return Outcome(job, "failed", error=INTERRUPTED)
    finally:
        _RUNNING = False


INTERRUPTED = "interrupted (Ctrl-C) before it finished; run the batch again"
# State of a local pool's worker (set up by its initializer): whether it runs a report, whether Ctrl-C came.
_LOCAL_WORKER = _RUNNING = _STOPPING = False


def _on_interrupt(signum, frame) -> None:
    """A local worker's SIGINT: interrupt the report it runs; between reports, only remember to stop (an
    interrupt while waiting for work would end the process and break the pool under the other workers)."""
    global _STOPPING
    first, _STOPPING = not _STOPPING, True
    if _RUNNING and first:  # a second SIGINT (the terminal's and the batch's own) must not cut the clean-up
        raise KeyboardInterrupt


def _run_one(job: Job) -> Outcome:
    """:func:`run_one`'s work.

    papermill starts and owns the kernel. (Handing papermill a kernel started in advance would overlap
    kernel start-up with the previous report, but nbclient then hangs on a cell timeout instead of
    failing: tested with papermill 2.7 / nbclient 0.10.)"""
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    deadline = time.monotonic() + job.timeout_s
    if job.cache:
        os.environ["WORKBOOK_CACHE"] = job.cache  # inherited by the kernels this worker starts
    executed = Path(job.executed)
    executed.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(executed)
    try:
        _execute(job, tmp, deadline)
        html_text = export_html(tmp, page_title(job))
        publish(html_text, Path(job.html))
        os.replace(tmp, executed)
        Path(job.failed_note).unlink(missing_ok=True)
        write_text_atomic(job.fingerprint + "\n", Path(job.inputs))
        return Outcome(job, "done", time.perf_counter() - start)
    except PapermillExecutionError as exc:
        os.replace(tmp, executed)
        return _failed(job, start, f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # a kernel that dies or runs over its time must not stop the other reports
        return _broken(job, start, exc, tmp, executed)
    finally:
        tmp.unlink(missing_ok=True)


def _execute(job: Job, tmp: Path, deadline: float) -> None:
    """Run the report's notebook into ``tmp`` with papermill, trying once more when its kernel does not start."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    for attempt in (1, 2):
        try:
            papermill.execute_notebook(
                job.notebook,
                str(tmp),
                parameters=job.parameters,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(paths.ROOT),
                # The time limit is the whole report's: each cell may use what the cells before it
                # left (nbclient interrupts the kernel and fails the report when a cell runs over).
                timeout_func=lambda cell: max(1.0, deadline - time.monotonic()),
                log_output=False,
                # Save at the end only: saving the growing notebook after every cell costs more CPU
                # than the report's own sections. A failure still writes the notebook (papermill).
                request_save_on_cell_execute=False,
                # The report is complete once its last cell has run and nothing is written at the
                # kernel's exit (shared results are renamed into place inside cells): stop it at once
                # rather than wait half a second for a graceful exit.
                shutdown_kernel="immediate",
                kernel_manager_class=kernel_manager_class(),
                engine_name=_engine(),
                keep_as=str(tmp),
            )
            return
        except PapermillExecutionError:
            raise
        except RuntimeError as exc:  # the kernel did not start ("didn't respond", "died before replying")
            if attempt == 2 or not any(words in str(exc) for words in KERNEL_START_FAILURES):
                raise


def _broken(job: Job, start: float, exc: Exception, tmp: Path, executed: Path) -> Outcome:
    """A report that failed other than by an error in a cell (a dead kernel, its time limit): keeps the
    notebook as far as it ran, and gives the reason."""
    from nbclient.exceptions import CellTimeoutError

    if tmp.exists() and tmp.stat().st_size:
        os.replace(tmp, executed)
    if isinstance(exc, CellTimeoutError):
        limit = f"{job.timeout_s / 60:g} minutes" if job.timeout_s >= 60 else f"{job.timeout_s:g} seconds"
        return _failed(job, start, f"TimeoutError: the report ran longer than its limit of {limit} ({TIME_LIMIT})")
    return _failed(job, start, f"{type(exc).__name__}: {exc}")


TIME_LIMIT = "batch.timeout_minutes in data/framework/settings.yaml"


@cache
def _engine() -> str:
    """papermill's nbclient engine, registered as "workbook", that also writes the notebook as far as it ran
    to ``keep_as`` when a report fails other than by an error in a cell (its time limit, a dead kernel).

    papermill writes the executed notebook for an error in a cell; for other failures it does so only when
    saving after every cell, which the batch does not do (it costs more than a report's sections)."""
    import nbformat
    from papermill.engines import NBClientEngine, papermill_engines

    class KeepOnFailure(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, keep_as: str = "", **kwargs):
            try:
                return super().execute_notebook(nb, kernel_name, **kwargs)
            except Exception:
                if keep_as:  # papermill executes ``nb`` in place: it holds every output up to the failure
                    nbformat.write(nb, keep_as)
                raise

    papermill_engines.register("workbook", KeepOnFailure)
    return "workbook"


# How jupyter_client says a kernel failed to start; the batch then tries once more with a new kernel.
KERNEL_START_FAILURES = ("didn't respond", "died before replying")


@cache
def kernel_manager_class():
    """Report kernels talk to their worker over Unix sockets named after a fresh temporary path (on POSIX).

    jupyter_client's default is five TCP ports it finds free and releases before the kernel binds them;
    two workers starting kernels at once can pick the same port, and a kernel then dies at start-up
    ("Address already in use": papermill issue #511). Socket files named uniquely cannot collide, and
    no port is open to other users of the machine. Windows keeps TCP."""
    import tempfile
    import uuid

    from jupyter_client import AsyncKernelManager
    from traitlets import default

    class ReportKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            # A socket path is limited to about 100 bytes: a long $TMPDIR falls back to TCP.
            return "ipc" if os.name == "posix" and len(tempfile.gettempdir()) < 60 else "tcp"

        @default("ip")
        def _unique_ip(self) -> str:
            if self.transport != "ipc":
                return super()._ip_default()
            return os.path.join(tempfile.gettempdir(), f"workbook-kernel-{uuid.uuid4().hex[:16]}")

    return ReportKernelManager


def _failed(job: Job, start: float, error: str) -> Outcome:
    first = (error.strip().splitlines() or [""])[0]
    Path(job.inputs).unlink(missing_ok=True)  # never "up to date" while failed: the next run retries
    write_text_atomic(first + "\n", Path(job.failed_note))
    return Outcome(job, "failed", time.perf_counter() - start, first)


def page_title(job: Job) -> str:
    """The report's title in the browser's tab and the printed running header: project, place and wave."""
    from ..config.framework import framework

    fw = framework()
    project = fw.project(job.project).name if job.project in fw.project_ids else job.project
    if not job.wave:
        return f"{project}: every neighbourhood side by side"
    labels = {w.id: w.label for w in fw.settings.waves}
    return f"{project}: {job.name}, {labels.get(job.wave, job.wave)}"


def export_html(notebook: Path | str, title: str | None = None) -> str:
    """The executed notebook as the workbook's report page: its Markdown (title, section headings and their
    introductions) and its code cells' outputs, never their code; sections as <section> elements, a contents
    list, and the council's contact and the publication and fieldwork details (also read by the PDF step)."""
    import nbformat

    from ..config.framework import framework

    fw = framework()
    nb = nbformat.read(str(notebook), as_version=4)
    if title:
        nb.metadata["title"] = title
    else:
        first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "Report")
        nb.metadata["title"] = first.splitlines()[0].lstrip("# ").strip()
    for cell in nb.cells:  # the report sections each code cell calls, which the committee pack looks for
        if cell.cell_type == "code":
            cell.metadata["wb_calls"] = sorted(set(re.findall(r"\b[A-Za-z_]\w*\.([A-Za-z_]\w*)\(", cell.source)))
    council = fw.settings.council
    parameters = nb.metadata.get("papermill", {}).get("parameters", {})
    labels = {w.id: w.label for w in fw.settings.waves}
    wave = parameters.get("wave")
    fieldwork = f"Survey wave: {labels.get(wave, wave)}" if wave else "Survey waves: " + ", ".join(labels.values())
    if wave and parameters.get("project") in fw.project_ids and parameters.get("db"):
        from ..evidence.project import calendar_in

        month = fieldwork_month(calendar_in(parameters["db"], fw, parameters["project"]), wave)
        fieldwork += f", fieldwork {month}"
    published = council.published  # from settings, never the clock: the same inputs give the same page
    colophon = [f"Published {_long_date(published)}" if published else "", fieldwork]
    colophon = [c for c in colophon if c]
    if council.contact:
        colophon.append(f"Contact: {council.contact}")
    resources = {
        "council_name": council.name,
        "council_logo": _logo_uri(council.logo),
        "footer_note": FOOTER.format(minimum=fw.settings.thresholds.minimum_base),
        "colophon": " · ".join(colophon),
        "report_meta": {
            "council": council.name,
            "title": nb.metadata["title"],
            "contact": council.contact,
            "published": published,
            "fieldwork": fieldwork,
        },
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return add_contents(mark_long_tables(add_sections(body)))


@cache
def _exporter():
    """One HTML exporter per worker process: loading the template costs more than using it."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(paths.TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def _logo_uri(logo: str) -> str:
    if not logo:
        return ""
    import base64
    import mimetypes

    path = paths.ROOT / logo
    kind = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


SECTION = '<section class="wb-section"'


def add_sections(page: str) -> str:
    """The page's sections as <section> elements: from each ``## `` heading the template marked to the next.
    Each names the report sections its code cells call (``data-sections``); what comes before the first
    heading (the title and the report's header) is the page's lede."""
    if '<main id="main">' not in page:
        return page
    head, rest = page.split('<main id="main">', 1)
    content, tail = rest.rsplit("</main>", 1)
    lede, *sections = content.split("<!--wb:section-->")
    parts = [f'\n<div class="wb-lede">{lede}</div>']
    for chunk in sections:
        calls = " ".join(" ".join(re.findall(r"<!--wb:calls ([^>]*?)-->", chunk)).split())
        heading = re.search(r'<h2 id="([^"]+)"', chunk)
        label = f' aria-labelledby="{heading.group(1)}"' if heading else ""
        parts.append(f'\n{SECTION} data-sections="{html.escape(calls)}"{label}>{chunk}</section>')
    return head + '<main id="main">' + "".join(parts) + "\n</main>" + tail


LONG_TABLE = 30  # rows: a longer table may break across pages in print (a shorter one is kept whole)


def mark_long_tables(page: str) -> str:
    """Class ``long`` on each data table of more than LONG_TABLE rows, which print may break between rows."""

    def mark(match: re.Match) -> str:
        table = match.group(0)
        if table.count("<tr") <= LONG_TABLE:
            return table
        return re.sub(r'class="([^"]*)"', r'class="\1 long"', table, count=1)

    return re.sub(r'<table\b[^>]*\bclass="[^"]*\bdata\b[^"]*"[^>]*>.*?</table>', mark, page, flags=re.DOTALL)


def add_contents(page: str) -> str:
    """Fill the template's contents placeholder with links to the page's level-2 headings."""
    headings = re.findall(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', page)
    items = "".join(f'<li><a href="#{hid}">{text}</a></li>' for hid, text in headings)
    return page.replace("<!--CONTENTS-->", f"<ol>{items}</ol>", 1)


@cache
def file_mode() -> int:
    """The mode a new file gets under the user's umask (0o644 under the usual 022): what every published file
    gets, since a temporary file is made private (0o600) whatever the umask."""
    with suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def publish(data: str | bytes, target: Path) -> Path:
    """Write a published file (a report, a PDF, the index) atomically, readable as the user's umask allows."""
    tmp = atomic_path(target)
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


# --- the batch ----------------------------------------------------------------------------------


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="report", disable=not sys.stderr.isatty(), file=sys.stderr)


def run_batch(fw: Framework, args) -> int:
    # Absolute, so the kernels (which run in the repository root) read and write the same files as this process.
    out = Path(args.out).resolve()
    with writing_to(out, shown=args.out):
        return _run_batch(fw, args, Path(args.db).resolve(), out)


BATCH_LOCK_WAIT = 3.0  # seconds a second batch for the same output folder waits before it stops


@contextmanager
def writing_to(out: Path, *, shown: Path | str | None = None, wait: float = BATCH_LOCK_WAIT):
    """Only one batch at a time writes to an output folder: a second one waits ``wait`` seconds, then stops with
    a plain message, before it has touched anything (it would otherwise clear the first one's temporary files
    and write the same reports at once). The lock is an advisory lock (``filelock``: ``fcntl.flock`` on Linux)
    on ``batch.lock`` in the working folder, released when the batch ends, on Ctrl-C, and by the operating
    system if the process dies; ``batch.lock.note`` beside it says when, and by which process, it was taken."""
    from filelock import FileLock, Timeout

    work = paths.work_folder(out)
    made = not work.exists()  # a batch stopped by a user's mistake leaves no working folder it made
    work.mkdir(parents=True, exist_ok=True)
    lock, note = FileLock(work / "batch.lock"), work / "batch.lock.note"
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        holder = note.read_text().strip() if note.exists() else "just now"
        raise UserError(
            f"another batch is writing to {Path(shown or out).as_posix().rstrip('/')}/ ({holder}); "
            "wait for it to finish, or use --out to write the reports to another folder"
        ) from None
    try:
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
        write_text_atomic(f"started {when}, process {os.getpid()}\n", note)
        yield
    finally:
        note.unlink(missing_ok=True)
        lock.release()
        if made and {p.name for p in work.iterdir()} <= {"batch.lock"}:
            (work / "batch.lock").unlink(missing_ok=True)
            with suppress(OSError):
                work.rmdir()


def _run_batch(fw: Framework, args, db: Path, out: Path) -> int:
    """The batch, once it alone writes to ``out``."""
    work = paths.work_folder(out)
    pdf = getattr(args, "pdf", False)
    if pdf:
        check_printing()  # before any kernel starts
    selected, every = plan(fw, db, out, projects=args.project, neighbourhoods=args.neighbourhood, waves=args.wave)
    _move_out_of_reports(out, work)
    _clean_temporaries(out)
    _clean_temporaries(work)
    # --force recomputes the shared results too; otherwise only those made under an old key go.
    keep = set() if args.force else {result_cache.project_key(db, j.data_fingerprint, fw) for j in every}
    prune_shared_results(work / "cache", keep)
    todo = run_order([j for j in selected if args.force or not is_current(j)], fw.settings.wave_ids)
    jobs = max(1, args.jobs or os.cpu_count() or 1)
    executor = getattr(args, "executor", "local")
    where = f"on Dask ({args.scheduler or 'a local cluster'})" if executor == "dask" else f"{jobs} at a time"
    announce = f"{len(selected)} reports selected; {len(selected) - len(todo)} up to date, running {len(todo)} {where}"
    if executor == "dask":
        check_all_parameters(todo)
        print(announce)
        outcomes = run_jobs_dask(todo, jobs, getattr(args, "scheduler", None))
    else:
        with local_pool(todo, jobs) as pool:
            check_all_parameters(todo, pool)  # before any kernel starts
            print(announce)
            outcomes = run_jobs(todo, pool)
    if pdf:
        outcomes += make_pdfs(fw, out, selected, every, force=args.force)
    write_index(fw, out, every)
    share(out)
    return summarise(outcomes, out)


def summarise(outcomes: list[Outcome], out: Path) -> int:
    """Print what happened; the table of failures (reports and PDFs) goes to stderr. Exit status 1 if any
    report or PDF failed."""
    failed = [o for o in outcomes if o.status == "failed"]
    reports = [o for o in outcomes if o.what == "report"]
    done = sum(o.status == "done" for o in reports)
    print(f"{done} reports written, {sum(o.status == 'failed' for o in reports)} failed; open {out / 'index.html'}")
    printed = [o for o in outcomes if o.what != "report"]
    if printed:
        made = sum(o.status == "done" for o in printed)
        print(f"{made} PDFs written, {sum(o.status == 'failed' for o in printed)} failed")
    if not failed:
        return 0
    print("\nFailed (the executed notebooks and pages are kept for checking):", file=sys.stderr)
    table = pd.DataFrame(
        [(o.job.project, o.job.neighbourhood, o.job.wave, o.what, o.error, o.check or o.job.executed) for o in failed],
        columns=["project", "neighbourhood", "wave", "what", "first line of the error", "to check"],
    )
    print(table.to_string(index=False), file=sys.stderr)
    return 1


def _report_line(outcome: Outcome) -> str:
    error = f" {outcome.error}" if outcome.error else ""
    return f"{outcome.status}: {outcome.job.label} ({outcome.seconds:.1f} s){error}"


def check_all_parameters(todo: list[Job], pool: ProcessPoolExecutor | None = None) -> None:
    """Each notebook of the batch declares the parameters the batch passes; raises UserError if not.

    Run in a worker when there is a pool (papermill is already imported there), else in this process."""
    checks = sorted({(j.notebook, tuple(j.parameters)) for j in todo})
    if pool is None:
        for notebook, names in checks:
            check_parameters(Path(notebook), names)
        return
    for future in [pool.submit(check_parameters, Path(notebook), names) for notebook, names in checks]:
        future.result()


@contextmanager
def local_pool(todo: list[Job], jobs: int):
    """Worker processes for ``todo`` (None when there is nothing to do), at most ``jobs`` of them.

    Separate processes because os.chdir and kernels are per process. Workers are forked from a fork
    server that has already imported papermill and nbconvert (about 1.5 s each worker would otherwise
    spend) on Linux, or spawned elsewhere (macOS, Windows); never a plain fork of this process,
    which holds DuckDB's threads."""
    if not todo:
        yield None
        return
    if sys.platform.startswith("linux"):  # macOS's system libraries are not fork-safe; Windows has no fork
        context = get_context("forkserver")
        context.set_forkserver_preload(WORKER_MODULES)
    else:
        context = get_context("spawn")
    log = Path(todo[0].work or Path(todo[0].executed).parent) / "kernels.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        ProcessPoolExecutor(
            min(jobs, len(todo)), mp_context=context, initializer=_worker_setup, initargs=(str(log),)
        ) as pool,
        _terminate_as_interrupt(),
    ):
        try:
            yield pool
        except BaseException:  # Ctrl-C, `kill` or an error here: start no further report, and do not wait
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            # A terminal's Ctrl-C reaches the workers itself; `kill`, an IDE's stop button or an error here do not:
            # pass it on (a worker ignores a second one), so no queued report runs on.
            for process in workers:
                with suppress(OSError):
                    os.kill(process.pid, signal.SIGINT)
            raise


@contextmanager
def _terminate_as_interrupt():
    """While the pool runs, SIGTERM (a plain `kill`) stops the batch the way Ctrl-C does: no report is left
    half-written and no worker or kernel is left behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# What every worker needs: the fork server imports it once and forks the workers from there.
WORKER_MODULES = ["helpers.surfaces.batch", "papermill", "nbconvert"]


def run_jobs(todo: list[Job], pool: ProcessPoolExecutor | None) -> list[Outcome]:
    """Run the reports on the pool's workers, each report in a kernel of its own."""
    if not todo:
        return []
    return _collect(as_completed([pool.submit(run_one, job) for job in todo]), len(todo))


def _worker_setup(log: str) -> None:
    """A local worker's start-up: Ctrl-C handled by :func:`_on_interrupt`; its stderr, which the kernels it
    starts inherit, goes to reports.work/kernels.log, so kernels' own warnings (e.g. ipykernel's TCP
    notice) stay out of the console."""
    global _LOCAL_WORKER
    _LOCAL_WORKER = True
    signal.signal(signal.SIGINT, _on_interrupt)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def _collect(finished, total: int) -> list[Outcome]:
    """Outcomes as futures finish, with the progress bar (or one plain line each when not on a terminal)."""
    outcomes = []
    tty = sys.stderr.isatty()
    with _progress(total) as bar:
        for future in finished:
            outcome = future.result()
            outcomes.append(outcome)
            bar.update(1)
            if not tty:
                print(_report_line(outcome), flush=True)
    return sorted(outcomes, key=lambda o: (o.job.project, o.job.neighbourhood, o.job.wave))


def run_jobs_dask(todo: list[Job], jobs: int, scheduler: str | None) -> list[Outcome]:
    """The same reports on a Dask distributed cluster: an existing scheduler, or a LocalCluster.

    Workers must have the repository at the same path and its environment installed, and must be able
    to read the database file (a shared filesystem), since each report opens it read-only.
    """
    from dask.distributed import as_completed as dask_completed

    if not todo:
        return []
    with dask_client(scheduler, workers=min(jobs, len(todo))) as client:
        # pure=False: every report runs even if two jobs look alike; one task per report.
        return _collect(dask_completed(client.map(run_one, todo, pure=False)), len(todo))


@contextmanager
def dask_client(scheduler: str | None, *, workers: int):
    """A Dask client: on the scheduler at ``scheduler`` (a plain error when it cannot be reached), else on a local
    cluster of ``workers`` single-threaded processes; closed (and the local cluster stopped) afterwards."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _clean_temporaries(folder: Path) -> None:
    """Remove temporary files left by an interrupted batch (never a finished report)."""
    if folder.exists():
        for tmp in folder.rglob(".*.tmp*"):
            tmp.unlink(missing_ok=True)


def prune_shared_results(folder: Path, current_keys: set[str]) -> int:
    """Remove the kernels' shared results (and their locks) saved under a key not among ``current_keys``
    (``<name>-<key>.pkl``, the key from :func:`helpers.config.cache.project_key`): results for data, code or a
    framework that has since changed, which no kernel would load again. Returns how many files went."""
    removed = 0
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        name = path.name.lstrip(".").removesuffix(".lock")
        if name.endswith(".pkl") and name.removesuffix(".pkl").rsplit("-", 1)[-1] not in current_keys:
            with suppress(OSError):  # held open elsewhere (Windows): left for the next batch
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _move_out_of_reports(out: Path, work: Path) -> None:
    """An output folder made by an earlier version of the batch held its own working files: move them to the
    working folder (the executed notebooks, each report's fingerprint and failure note, so nothing is redone),
    drop the shared-results cache (recomputed when needed), and leave only what is published."""
    import shutil

    if not out.is_dir():
        return
    for old in out.rglob("*.html.inputs"), out.rglob("*.html.failed"):
        for note in list(old):
            report = note.with_name(note.name.rsplit(".", 1)[0])
            target = paths.state_file(out, report, note.suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(note, target)
    executed = out / "_executed"
    if executed.is_dir():
        if (work / "executed").exists():
            shutil.rmtree(executed, ignore_errors=True)
        else:
            work.mkdir(parents=True, exist_ok=True)
            shutil.move(executed, work / "executed")
    shutil.rmtree(out / "_cache", ignore_errors=True)


def share(out: Path) -> None:
    """Published files left private (0o600) by an earlier version of the batch get the mode the user's umask
    gives a new file, so another user or a web server can read them; other modes are left as they are."""
    for path in out.rglob("*"):
        with suppress(OSError):
            if path.suffix in (".html", ".pdf") and path.is_file() and path.stat().st_mode & 0o777 == 0o600:
                path.chmod(file_mode())


def _status(job: Job) -> str:
    failed = Path(job.failed_note)
    if failed.exists():
        return "failed: " + failed.read_text(encoding="utf-8").strip()
    if is_current(job):
        return "up to date"
    return "out of date" if Path(job.html).exists() else "not run"


def write_index(fw: Framework, out: Path, every: list[Job]) -> Path:
    """reports/index.html: every planned report (and each project's overview), its status and a link."""
    minimum = fw.settings.thresholds.minimum_base

    def base(n: int) -> str:  # as the report's own header says it: a small base is never printed
        return html.escape(count_or_fewer(n, minimum))

    order = {w: i for i, w in enumerate(fw.settings.wave_ids)}
    labels = {w.id: w.label for w in fw.settings.waves}
    rows, overviews = [], []
    calendars = _calendars(fw, every)

    def pdf_link(path: Path, name: str = "PDF") -> str:
        return f' (<a href="{html.escape(path.relative_to(out).as_posix())}">{name}</a>)' if path.exists() else ""

    for j in sorted(every, key=lambda j: (j.project, j.role != "pilot", j.neighbourhood, order.get(j.wave, -1))):
        html_path = Path(j.html)
        link = html.escape(html_path.relative_to(out).as_posix())
        project = html.escape(fw.project(j.project).name)
        status = html.escape(_status(j) + _pdf_status(out, Path(j.pdf)))
        if not j.wave:
            target = (
                f'<a href="{link}">{project}: all neighbourhoods side by side</a>{pdf_link(Path(j.pdf))}'
                if html_path.exists()
                else project
            )
            pack = pdf_link(committee_pack_pdf(out, j.project), "committee pack, PDF").removeprefix(" ")
            method = _method_link(fw, out, j, every)
            overviews.append(f"<li>{target} ({status}){' ' + pack if pack else ''}{method}</li>")
            continue
        wave = html.escape(labels[j.wave])
        cell = (
            f'<a href="{link}">{html.escape(j.name)}, {wave}</a>{pdf_link(Path(j.pdf))}'
            if html_path.exists()
            else "no report"
        )
        rows.append(
            f'<tr data-project="{project}" data-role="{html.escape(j.role)}" data-wave="{wave}">'
            f"<td>{project}</td><td>{html.escape(j.name)}</td><td>{html.escape(j.role)}</td>"
            f"<td>{wave}</td><td>{html.escape(fieldwork_month(calendars[j.project], j.wave))}</td>"
            f"<td>{status}</td><td>{base(j.responses)}</td><td>{cell}</td></tr>"
        )
    reports = [j for j in every if j.wave]
    page = f"""{index_start(fw, "Co-operative difference reports")}
<h2>Project overviews</h2>
<ul>{"".join(overviews)}</ul>
<h2>Reports by neighbourhood and wave</h2>
<p>One report per project, neighbourhood and survey wave. Base = questionnaires returned. Fieldwork ended: the
month the wave's questionnaires were collected by. Each report ends with an annex on how its figures were made and
the words it uses.</p>
{_index_filters(fw, reports)}
<table id="reports"><caption>Every report ({len(reports)})</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Neighbourhood</th><th scope="col">Role</th>
<th scope="col">Wave</th><th scope="col">Fieldwork ended</th><th scope="col">Status</th><th scope="col">Base</th>
<th scope="col">Report</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></main>{INDEX_FILTER_SCRIPT}</body></html>
"""
    return publish(page, out / "index.html")


def index_start(fw: Framework, title: str) -> str:
    """An index page's start, up to its heading: the plain style of the published indexes (the reports' and the
    network's) and the council's name."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,Arial,sans-serif;max-width:70rem;margin:0 auto;padding:1rem 1.5rem}}
table{{border-collapse:collapse}}th,td{{border:1px solid #c8c8c8;padding:.3rem .6rem;text-align:left}}
thead th{{background:#eef2f5}}caption{{text-align:left;font-weight:600;padding:.3rem 0}}</style></head>
<body><header><p><strong>{html.escape(fw.settings.council.name)}</strong></p></header>
<main><h1>{html.escape(title)}</h1>"""


def _calendars(fw: Framework, every: list[Job]) -> dict:
    """Each project's calendar (the month each wave's fieldwork ended), as its reports' title blocks give it."""
    from ..evidence.project import calendar_in

    first = {j.project: j.db for j in every}
    return {project: calendar_in(db, fw, project) for project, db in sorted(first.items())}


def _method_link(fw: Framework, out: Path, overview: Job, every: list[Job]) -> str:
    """A link to how the figures are made: the method in the annex of the project's latest report."""
    done = [j for j in every if j.project == overview.project and j.wave and Path(j.html).exists()]
    if not done:
        return ""
    order = {w: i for i, w in enumerate(fw.settings.wave_ids)}
    latest = max(done, key=lambda j: (order.get(j.wave, -1), j.role == "pilot", j.neighbourhood))
    link = html.escape(Path(latest.html).relative_to(out).as_posix())
    return f' (<a href="{link}#How-the-figures-were-made">how the figures are made</a>)'


def _index_filters(fw: Framework, reports: list[Job]) -> str:
    """Dropdowns that show only one project's, role's or wave's reports (the table works without them)."""
    labels = {w.id: w.label for w in fw.settings.waves}
    choices = {
        "project": sorted({fw.project(j.project).name for j in reports}),
        "role": sorted({j.role for j in reports}),
        "wave": [labels[w] for w in fw.settings.wave_ids if any(j.wave == w for j in reports)],
    }
    controls = []
    for key, values in choices.items():
        options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
        controls.append(
            f'<label>{key.capitalize()} <select data-filter="{key}"><option value="">all</option>{options}</select>'
            "</label>"
        )
    return '<p class="filters">Show: ' + " ".join(controls) + "</p>"


# Filters the index's table in the reader's browser; written here, nothing is fetched from elsewhere.
INDEX_FILTER_SCRIPT = """<script>
document.querySelectorAll("select[data-filter]").forEach(function (select) {
  select.addEventListener("change", function () {
    var chosen = {};
    document.querySelectorAll("select[data-filter]").forEach(function (s) { chosen[s.dataset.filter] = s.value; });
    document.querySelectorAll("#reports tbody tr").forEach(function (row) {
      var shown = Object.keys(chosen).every(function (k) { return !chosen[k] || row.dataset[k] === chosen[k]; });
      row.hidden = !shown;
    });
  });
});
</script>"""


# --- printing: PDFs and the committee pack (reports --pdf) -----------------------------------------
#
# Headless Chromium, driven by Playwright, prints each report page as it is published: it applies the page's print
# CSS (report.css: A4, what stays together) and draws the running header and the page numbers from the
# templates below. The committee pack is HTML assembled from the reports' own pages, printed the same way.

PDF_MARGIN = {"top": "20mm", "right": "15mm", "bottom": "18mm", "left": "15mm"}  # as report.css's @page
_BAND = (
    "font-family: Arial, Helvetica, sans-serif; font-size: 9px; color: #333; width: 100%; margin: 0 15mm; "
    "display: flex; justify-content: space-between; align-items: flex-end; gap: 6mm;"
)
# Chromium's header and footer templates: it fills the spans classed pageNumber and totalPages.
PDF_HEADER = (
    '<div style="{band} border-bottom: .5px solid #999; padding-bottom: 1.5mm;">'
    '<span>{council}</span><span style="text-align: right">{title}</span></div>'
)
PDF_FOOTER = (
    '<div style="{band}"><span>{details}</span><span style="white-space: nowrap">'
    'Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
)
# Measured in the page laid out for print at the width of A4 less the margins (180 mm, in CSS pixels): a table
# taller than half the printable height may break between rows (and inside a row taller than a quarter page),
# so it never leaves half a page empty before it; a shorter one is kept whole with its caption. (Printed from
# a browser, a table of more than LONG_TABLE rows may break.)
PRINT_WIDTH_PX = 680
BREAKABLE_TABLE_PX = 490
MARK_TALL_TABLES = """limit => {
  for (const table of document.querySelectorAll('table.data')) {
    if (table.getBoundingClientRect().height > limit) table.classList.add('long');
    for (const row of table.rows) if (row.getBoundingClientRect().height > limit / 2) row.classList.add('tall');
  }
}"""
DID_SECTIONS = ("did_every_wave", "difference_in_differences")  # the overview's difference-in-differences
PACK_NAME = "committee-pack"


@dataclass(frozen=True)
class Printing:
    """One PDF to print: a report page beside which it goes, or a committee pack assembled in the working folder."""

    source: Path  # the HTML page printed
    target: Path  # the PDF
    owner: Job  # the report (or, for a pack, the project's overview) it is listed under
    what: str  # PDF | committee pack
    stamp: Path  # the fingerprint it was made from
    failed: Path  # why the last attempt failed


def check_printing() -> str:
    """The Chromium executable ``--pdf`` prints with; a plain UserError saying how to install what is missing."""
    from .dashboard_server import chromium

    executable = chromium()
    if executable is None:
        raise UserError(
            "--pdf prints the reports with Chromium, which is not installed: install it with "
            "`apt-get install chromium` (Debian, Ubuntu; `brew install --cask chromium` on macOS), then run again"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise UserError(
            "--pdf drives Chromium with Playwright, which is not installed: run `make venv` "
            "(or `pip install -e '.[dev]'`), then run again"
        ) from None
    return executable


def committee_pack_pdf(out: Path, project: str) -> Path:
    return out / project / f"{PACK_NAME}.pdf"


def page_meta(page: str) -> dict[str, str]:
    """The ``workbook:`` details a report page carries in its head (council, title, contact, published,
    fieldwork), whatever the order of the meta element's attributes."""
    found = {}
    for tag in re.findall(r"<meta\b[^>]*>", page.split("</head>", 1)[0]):
        name, content = re.search(r'name="workbook:(\w+)"', tag), re.search(r'content="([^"]*)"', tag)
        if name and content:
            found[name.group(1)] = html.unescape(content.group(1))
    return found


def _long_date(iso: str) -> str:
    with suppress(ValueError):
        day = date.fromisoformat(iso)
        return f"{day.day} {day:%B %Y}"
    return iso


def header_footer(meta: dict[str, str]) -> tuple[str, str]:
    """Chromium's header (the council, the report's title) and footer (the publication and fieldwork details,
    the council's contact, the page number) for a page with these details."""
    e = html.escape
    details = [f"Published {_long_date(meta['published'])}" if meta.get("published") else "", meta.get("fieldwork")]
    details.append(meta.get("contact") and f"Contact: {meta['contact']}")
    header = PDF_HEADER.format(band=_BAND, council=e(meta.get("council", "")), title=e(meta.get("title", "")))
    footer = PDF_FOOTER.format(band=_BAND, details=e(" · ".join(d for d in details if d)))
    return header, footer


def _main_content(page: str) -> str:
    if '<main id="main">' not in page:
        return ""
    return page.split('<main id="main">', 1)[1].rsplit("</main>", 1)[0]


def page_one(page: str) -> str:
    """The part of a report before its second section: the title, the report's header and its first section
    (In brief)."""
    lede, *sections = _main_content(page).split(SECTION)
    return lede + (SECTION + sections[0] if sections else "")


def section_calling(page: str, names) -> str:
    """The section of a page whose code calls one of the report sections ``names`` ("" if none does)."""
    for chunk in _main_content(page).split(SECTION)[1:]:
        calls = re.match(r'\s*data-sections="([^"]*)"', chunk)
        if calls and set(calls.group(1).split()) & set(names):
            return SECTION + chunk
    return ""


def _demote(fragment: str, prefix: str) -> str:
    """A report's fragment inside the pack: headings one level down (the pack has the one h1), ids and
    in-page links prefixed so they stay unique."""
    for level in (5, 4, 3, 2, 1):
        fragment = re.sub(rf"<(/?)h{level}\b", rf"<\g<1>h{level + 1}", fragment)
    fragment = re.sub(r'(?<![\w-])(id|aria-labelledby)="', rf'\1="{prefix}-', fragment)
    return fragment.replace('href="#', f'href="#{prefix}-')


def committee_pack(fw: Framework, out: Path, project: str, every: list[Job]) -> str:
    """The committee pack's page for a project ("" when none of its reports exists yet): each neighbourhood's
    page one at its latest wave with a report, pilots first, then the project's difference-in-differences from
    its overview report. Made from the published pages, so the pack says what they say."""
    latest = _latest_reports(fw, project, every)
    if not latest:
        return ""
    name = fw.project(project).name
    parts, contents, published = _pack_parts(fw, latest)
    did = _pack_did(project, every, published)
    contents.append('<li><a href="#part-did">The difference the project made: pilots against comparison areas</a></li>')
    parts.append(
        f'<div class="pack-part" id="part-did"><p class="pack-label">{html.escape(name)}: every neighbourhood</p>'
        f"{did}</div>"
    )
    return _pack_page(fw, name, latest, published, contents, parts)


def _latest_reports(fw: Framework, project: str, every: list[Job]) -> dict[str, Job]:
    """Each of the project's neighbourhoods' report at its latest wave with a published page."""
    order = {w: i for i, w in enumerate(fw.settings.wave_ids)}
    latest: dict[str, Job] = {}
    for job in (j for j in every if j.project == project and j.wave and Path(j.html).exists()):
        if job.neighbourhood not in latest or order[job.wave] > order[latest[job.neighbourhood].wave]:
            latest[job.neighbourhood] = job
    return latest


def _pack_parts(fw: Framework, latest: dict[str, Job]) -> tuple[list[str], list[str], list[str]]:
    """(the pack's parts, its contents entries, their pages' publication dates): each neighbourhood's page one,
    pilots first."""
    e = html.escape
    labels = {w.id: w.label for w in fw.settings.waves}
    parts, contents, published = [], [], []
    for n, job in enumerate(sorted(latest.values(), key=lambda j: (j.role != "pilot", j.name)), start=1):
        page = Path(job.html).read_text(encoding="utf-8")
        published.append(page_meta(page).get("published", ""))
        what = f"{job.name} ({job.role} area), {labels[job.wave]}" if job.role else f"{job.name}, {labels[job.wave]}"
        contents.append(f'<li><a href="#part-{n}">{e(what)}</a></li>')
        parts.append(
            f'<div class="pack-part" id="part-{n}"><p class="pack-label">{e(what)}</p>'
            f"{_demote(page_one(page), f'p{n}')}</div>"
        )
    return parts, contents, published


def _pack_did(project: str, every: list[Job], published: list[str]) -> str:
    """The difference-in-differences from the project's overview page (adding its publication date to
    ``published``), or a note saying how to make it."""
    overview = next((j for j in every if j.project == project and not j.wave), None)
    did = ""
    if overview and Path(overview.html).exists():
        page = Path(overview.html).read_text(encoding="utf-8")
        published.append(page_meta(page).get("published", ""))
        did = _demote(section_calling(page, DID_SECTIONS), "did")
    if not did:
        did = (
            '<p class="note">The project\'s overview report has not been made yet, so its comparison of pilot and '
            f"comparison areas is missing: run <code>python -m helpers reports --project {html.escape(project)} "
            "--pdf</code>.</p>"
        )
    return did


def _pack_page(
    fw: Framework, name: str, latest: dict[str, Job], published: list[str], contents: list[str], parts: list[str]
) -> str:
    """The committee pack's whole page: its header, contents and parts."""
    e = html.escape
    order = {w: i for i, w in enumerate(fw.settings.wave_ids)}
    labels = {w.id: w.label for w in fw.settings.waves}
    council = fw.settings.council
    waves = sorted({j.wave for j in latest.values()}, key=order.get)
    meta = {
        "council": council.name,
        "title": f"{name}: committee pack",
        "contact": council.contact,
        "published": max(published),
        "fieldwork": ("Survey wave: " if len(waves) == 1 else "Survey waves: ") + ", ".join(labels[w] for w in waves),
    }
    colophon = [f"Published {_long_date(meta['published'])}" if meta["published"] else "", meta["fieldwork"]]
    colophon = [c for c in colophon if c]
    colophon += [f"Contact: {council.contact}"] if council.contact else []
    logo = _logo_uri(council.logo)
    css = (paths.TEMPLATES / "report" / "report.css").read_text(encoding="utf-8")
    metas = "\n".join(f'<meta name="workbook:{k}" content="{e(v)}">' for k, v in meta.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(meta["title"])}</title>
{metas}
<style>
{css}</style></head>
<body>
<header class="report-header">{f'<img class="logo" src="{logo}" alt="{e(council.name)} logo">' if logo else ""}
<div><p class="council">{e(council.name)}</p><p class="colophon">{e(" · ".join(colophon))}</p></div></header>
<main id="main">
<h1>{e(name)}: committee pack</h1>
<p>Page one of each neighbourhood's report at its latest survey wave (the pilot areas first, then the comparison
areas), then the difference the project made: the change in the pilot areas minus the change in the comparison
areas. The full reports, with every section, are published beside this pack.</p>
<ol>{"".join(contents)}</ol>
{"".join(parts)}
</main>
<footer><p>{e(FOOTER.format(minimum=fw.settings.thresholds.minimum_base))}</p></footer>
</body></html>
"""


def _print_fingerprint(page: bytes, header: str, footer: str) -> str:
    """What a PDF is made from: its page, and the header, footer and paper it is printed with."""
    digest = hashlib.sha256(page)
    digest.update(json.dumps([header, footer, PDF_MARGIN, BREAKABLE_TABLE_PX, PRINT_WIDTH_PX]).encode())
    return digest.hexdigest()


def _pdf_status(out: Path, pdf: Path) -> str:
    failed = paths.state_file(out, pdf, ".failed")
    return "; PDF failed: " + failed.read_text(encoding="utf-8").strip() if failed.exists() else ""


def make_pdfs(fw: Framework, out: Path, selected: list[Job], every: list[Job], *, force: bool = False) -> list[Outcome]:
    """``reports --pdf``: a PDF beside each selected report that has a page, and each selected project's committee
    pack. A PDF is printed again only when its page (or how it is printed) changed, written to a temporary file
    and renamed; one that fails is listed like a failed report, and the others go on."""
    work = paths.work_folder(out)
    printings = []
    for job in selected:
        if Path(job.html).exists():
            pdf = Path(job.pdf)
            printings.append(
                Printing(
                    Path(job.html),
                    pdf,
                    job,
                    "PDF",
                    paths.state_file(out, pdf, ".inputs"),
                    paths.state_file(out, pdf, ".failed"),
                )
            )
    for project in sorted({j.project for j in selected}):
        page = committee_pack(fw, out, project, every)
        owner = next(j for j in every if j.project == project and not j.wave)
        if page:
            source = work / "packs" / project / f"{PACK_NAME}.html"
            if not source.exists() or source.read_text(encoding="utf-8") != page:
                write_text_atomic(page, source)
            pdf = committee_pack_pdf(out, project)
            printings.append(
                Printing(
                    source,
                    pdf,
                    owner,
                    "committee pack",
                    paths.state_file(out, pdf, ".inputs"),
                    paths.state_file(out, pdf, ".failed"),
                )
            )
    todo = []
    for printing in printings:
        page = printing.source.read_bytes()
        header, footer = header_footer(page_meta(page.decode("utf-8", "replace")))
        fingerprint = _print_fingerprint(page, header, footer)
        current = (
            printing.target.exists()
            and printing.stamp.exists()
            and printing.stamp.read_text(encoding="utf-8").strip() == fingerprint
        )
        if force or not current:
            todo.append((printing, header, footer, fingerprint))
    print(f"{len(printings)} PDFs selected; {len(printings) - len(todo)} up to date, printing {len(todo)}")
    if not todo:
        return []
    with _terminate_as_interrupt():
        return _print_all(todo)


def _print_all(todo) -> list[Outcome]:
    """Print each PDF with one headless Chromium, in a thread of its own (Playwright's synchronous API refuses to
    run where an event loop already runs: Jupyter, or a browser the caller drives). Ctrl-C stops it between two
    PDFs; each is written whole or not at all."""
    found: dict[str, list[Outcome] | BaseException] = {}
    stop = threading.Event()

    def work() -> None:
        try:
            found["outcomes"] = _print_in_chromium(todo, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            found["error"] = exc

    thread = threading.Thread(target=work, name="workbook-print", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except BaseException:
        stop.set()
        thread.join(30)
        raise
    if "error" in found:
        raise found["error"]
    return found["outcomes"]


def _print_in_chromium(todo, stop: threading.Event) -> list[Outcome]:
    """:func:`_print_all`'s work; a browser that will not start fails every PDF, listed."""
    from playwright.sync_api import sync_playwright

    from .dashboard_server import CHROMIUM_ARGS

    outcomes = []
    with sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(executable_path=check_printing(), args=list(CHROMIUM_ARGS))
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start fails the PDFs, not the batch
            return [_print_failed(printing, 0.0, exc) for printing, *_ in todo]
        try:
            with _progress(len(todo)) as bar:
                for printing, header, footer, fingerprint in todo:
                    if stop.is_set():
                        break
                    outcome = print_pdf(browser, printing, header, footer, fingerprint)
                    outcomes.append(outcome)
                    bar.update(1)
                    if not sys.stderr.isatty():
                        print(_report_line(outcome).replace(outcome.job.label, str(printing.target)), flush=True)
        finally:
            browser.close()
    return outcomes


def print_pdf(browser, printing: Printing, header: str, footer: str, fingerprint: str) -> Outcome:
    """One page printed to A4 with its running header and page numbers; never raises for a failing page."""
    start = time.perf_counter()
    try:
        page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 980})
        try:
            page.goto(printing.source.as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.evaluate(MARK_TALL_TABLES, BREAKABLE_TABLE_PX)
            pdf = page.pdf(
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template=header,
                footer_template=footer,
                margin=PDF_MARGIN,
            )
        finally:
            page.close()
        publish(pdf, printing.target)
        printing.failed.unlink(missing_ok=True)
        write_text_atomic(fingerprint + "\n", printing.stamp)
        return Outcome(printing.owner, "done", time.perf_counter() - start, what=printing.what)
    except Exception as exc:  # noqa: BLE001 - one page that will not print must not stop the others
        return _print_failed(printing, time.perf_counter() - start, exc)


def _print_failed(printing: Printing, seconds: float, exc: Exception) -> Outcome:
    first = f"{type(exc).__name__}: " + ((str(exc).strip().splitlines() or [""])[0])
    printing.stamp.unlink(missing_ok=True)
    write_text_atomic(first + "\n", printing.failed)
    return Outcome(printing.owner, "failed", seconds, first, what=printing.what, check=str(printing.source))
