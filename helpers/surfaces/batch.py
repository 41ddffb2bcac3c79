"""The papermill batch: one HTML report per project x neighbourhood x wave, and an index.

``python -m helpers reports`` plans the reports from the database (every neighbourhood mapped to a
project, every wave with survey data), checks the selection and the notebooks' parameters before any
kernel starts, runs the reports in parallel processes, and writes::

    reports/<project>/<neighbourhood>/<wave>.html      the report, no code cells
    reports/_executed/<project>/<neighbourhood>/<wave>.ipynb   the executed notebook (debugging)
    reports/index.html                                  every report with its status and a link

Each report is written to a temporary file and renamed, so an interrupted batch never leaves a
half-written report. A report is redone only when its inputs change (notebook, helpers code,
framework, templates, parameters, or the data it reads); ``--force`` redoes everything.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from ..config import cache as result_cache
from ..config import paths
from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..config.safe_output import atomic_path, write_text_atomic
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
    cache: str = ""  # folder where this batch's kernels share project-level results (helpers/cache.py)
    data_fingerprint: str = ""  # the project's imported data (part of the report's and the shared results' keys)

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
    """The helpers modules that helpers module ``module`` imports (relative or absolute), read from its source."""
    import ast

    path = _module_file(module)
    if path is None:
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _helpers_imported(ast.parse(path.read_text(encoding="utf-8")), package)


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
    _check_selection(fw, areas, counts, projects, neighbourhoods, waves)
    n_by = {(r.neighbourhood, r.wave): int(r.n) for r in counts.itertuples()}
    timeout = fw.settings.batch.timeout_minutes * 60
    logo = fw.settings.council.logo
    every, selected = [], []

    def add(project, neighbourhood, wave, role, name, n, notebook, html_path, executed, chosen):
        params = {"project": project, "neighbourhood": neighbourhood, "wave": wave, "db": str(db)}
        fingerprint = hashlib.sha256(
            json.dumps([_code_fingerprint(str(notebook), logo), fingerprints[project], params]).encode()
        ).hexdigest()
        job = Job(
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
            timeout,
            cache=str(out / "_cache"),
            data_fingerprint=fingerprints[project],
        )
        every.append(job)
        if chosen:
            selected.append(job)

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
                add(
                    row.project,
                    row.neighbourhood,
                    wave,
                    row.role,
                    row.name,
                    n,
                    paths.project_notebook(row.project),
                    paths.report_html(out, row.project, row.neighbourhood, wave),
                    paths.executed_notebook(out, row.project, row.neighbourhood, wave),
                    chosen,
                )
    for project in sorted(set(areas["project"]) & set(fw.project_ids)):
        # One overview per project, when the whole project is selected (not one neighbourhood or wave).
        chosen = (not projects or project in projects) and not neighbourhoods and not waves
        total = int(
            sum(n for (h, _), n in n_by.items() if h in set(areas.loc[areas["project"] == project, "neighbourhood"]))
        )
        add(
            project,
            "",
            "",
            "",
            "Overview",
            total,
            paths.OVERVIEW_NOTEBOOK,
            out / project / "overview.html",
            out / "_executed" / project / "overview.ipynb",
            chosen,
        )
    for notebook in sorted({j.notebook for j in selected}):
        if not Path(notebook).exists():
            raise UserError(f"{notebook}: the project's notebook is missing")
    return selected, every


def run_order(todo: list[Job], wave_ids: Sequence[str]) -> list[Job]:
    """The order reports are handed to the workers: wave by wave, taking the projects in turn, overviews last.

    Each project's shared results (helpers/cache.py) are computed by the first of its reports to run and
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


def is_current(job: Job) -> bool:
    stamp = Path(job.html + ".inputs")
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
    import papermill
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    deadline = time.monotonic() + job.timeout_s
    if job.cache:
        os.environ["WORKBOOK_CACHE"] = job.cache  # inherited by the kernels this worker starts
    executed = Path(job.executed)
    executed.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(executed)
    try:
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
                    kernel_manager_class=_kernel_manager_class(),
                    engine_name=_engine(),
                    keep_as=str(tmp),
                )
                break
            except PapermillExecutionError:
                raise
            except RuntimeError as exc:  # the kernel did not start ("didn't respond", "died before replying")
                if attempt == 2 or not any(words in str(exc) for words in KERNEL_START_FAILURES):
                    raise
        html_text = export_html(tmp)
        write_text_atomic(html_text, Path(job.html))
        os.replace(tmp, executed)
        Path(job.html + ".failed").unlink(missing_ok=True)
        write_text_atomic(job.fingerprint + "\n", Path(job.html + ".inputs"))
        return Outcome(job, "done", time.perf_counter() - start)
    except PapermillExecutionError as exc:
        os.replace(tmp, executed)
        return _failed(job, start, f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # a kernel that dies or runs over its time must not stop the other reports
        if tmp.exists() and tmp.stat().st_size:
            os.replace(tmp, executed)
        if isinstance(exc, CellTimeoutError):
            limit = f"{job.timeout_s / 60:g} minutes" if job.timeout_s >= 60 else f"{job.timeout_s:g} seconds"
            return _failed(job, start, f"TimeoutError: the report ran longer than its limit of {limit} ({TIME_LIMIT})")
        return _failed(job, start, f"{type(exc).__name__}: {exc}")
    finally:
        tmp.unlink(missing_ok=True)


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
def _kernel_manager_class():
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
    Path(job.html + ".inputs").unlink(missing_ok=True)  # never "up to date" while failed: the next run retries
    write_text_atomic(first + "\n", Path(job.html + ".failed"))
    return Outcome(job, "failed", time.perf_counter() - start, first)


def export_html(notebook: Path | str, title: str | None = None) -> str:
    """The executed notebook as the workbook's report page: no code cells, a contents list."""
    import nbformat

    from ..config.framework import framework

    fw = framework()
    nb = nbformat.read(str(notebook), as_version=4)
    if title:
        nb.metadata["title"] = title
    else:
        first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "Report")
        nb.metadata["title"] = first.splitlines()[0].lstrip("# ").strip()
    exporter = _exporter()
    resources = {
        "council_name": fw.settings.council.name,
        "council_logo": _logo_uri(fw.settings.council.logo),
        "footer_note": FOOTER.format(minimum=fw.settings.thresholds.minimum_base),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return add_contents(body)


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


def add_contents(page: str) -> str:
    """Fill the template's contents placeholder with links to the page's level-2 headings."""
    import re

    headings = re.findall(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', page)
    items = "".join(f'<li><a href="#{hid}">{text}</a></li>' for hid, text in headings)
    return page.replace("<!--CONTENTS-->", f"<ol>{items}</ol>", 1)


# --- the batch ----------------------------------------------------------------------------------


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="report", disable=not sys.stderr.isatty(), file=sys.stderr)


def run_batch(fw: Framework, args) -> int:
    # Absolute, so the kernels (which run in the repository root) read and write the same files as this process.
    db = Path(args.db).resolve()
    out = Path(args.out).resolve()
    selected, every = plan(fw, db, out, projects=args.project, neighbourhoods=args.neighbourhood, waves=args.wave)
    _clean_temporaries(out)
    # --force recomputes the shared results too; otherwise only those made under an old key go.
    keep = set() if args.force else {result_cache.project_key(db, j.data_fingerprint) for j in every}
    result_cache.prune(out / "_cache", keep)
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
    write_index(fw, out, every)
    return summarise(outcomes, out)


def summarise(outcomes: list[Outcome], out: Path) -> int:
    """Print what happened; the table of failures goes to stderr. Exit status 1 if any report failed."""
    failed = [o for o in outcomes if o.status == "failed"]
    done = [o for o in outcomes if o.status == "done"]
    print(f"{len(done)} reports written, {len(failed)} failed; open {out / 'index.html'}")
    if not failed:
        return 0
    print("\nFailed reports (the executed notebooks are kept for debugging):", file=sys.stderr)
    table = pd.DataFrame(
        [(o.job.project, o.job.neighbourhood, o.job.wave, o.error, o.job.executed) for o in failed],
        columns=["project", "neighbourhood", "wave", "first line of the error", "executed notebook"],
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
    log = Path(todo[0].executed)
    log = next(p for p in log.parents if p.name == "_executed") / "kernels.log"
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
    starts inherit, goes to reports/_executed/kernels.log, so kernels' own warnings (e.g. ipykernel's TCP
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
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    if not todo:
        return []
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    else:
        cluster = LocalCluster(
            n_workers=min(jobs, len(todo)), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        # pure=False: every report runs even if two jobs look alike; one task per report.
        return _collect(dask_completed(client.map(run_one, todo, pure=False)), len(todo))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _clean_temporaries(out: Path) -> None:
    """Remove temporary files left by an interrupted batch (never a finished report)."""
    if out.exists():
        for tmp in out.rglob(".*.tmp*"):
            tmp.unlink(missing_ok=True)


def _status(job: Job) -> str:
    failed = Path(job.html + ".failed")
    if failed.exists():
        return "failed: " + failed.read_text(encoding="utf-8").strip()
    if is_current(job):
        return "up to date"
    return "out of date" if Path(job.html).exists() else "not run"


def write_index(fw: Framework, out: Path, every: list[Job]) -> Path:
    """reports/index.html: every planned report (and each project's overview), its status and a link."""
    order = {w: i for i, w in enumerate(fw.settings.wave_ids)}
    labels = {w.id: w.label for w in fw.settings.waves}
    rows, overviews = [], []
    for j in sorted(every, key=lambda j: (j.project, j.role != "pilot", j.neighbourhood, order.get(j.wave, -1))):
        html_path = Path(j.html)
        link = html.escape(html_path.relative_to(out).as_posix())
        project = html.escape(fw.project(j.project).name)
        status = html.escape(_status(j))
        if not j.wave:
            target = (
                f'<a href="{link}">{project}: all neighbourhoods side by side</a>' if html_path.exists() else project
            )
            overviews.append(f"<li>{target} ({status})</li>")
            continue
        wave = html.escape(labels[j.wave])
        cell = f'<a href="{link}">{html.escape(j.name)}, {wave}</a>' if html_path.exists() else "no report"
        rows.append(
            f"<tr><td>{project}</td><td>{html.escape(j.name)}</td><td>{html.escape(j.role)}</td>"
            f"<td>{wave}</td><td>{status}</td><td>{j.responses}</td><td>{cell}</td></tr>"
        )
    reports = [j for j in every if j.wave]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Co-operative difference reports</title>
<style>body{{font-family:system-ui,Arial,sans-serif;max-width:70rem;margin:0 auto;padding:1rem 1.5rem}}
table{{border-collapse:collapse}}th,td{{border:1px solid #c8c8c8;padding:.3rem .6rem;text-align:left}}
th{{background:#eef2f5}}caption{{text-align:left;font-weight:600;padding:.3rem 0}}</style></head>
<body><header><p><strong>{html.escape(fw.settings.council.name)}</strong></p></header>
<main><h1>Co-operative difference reports</h1>
<h2>Project overviews</h2>
<ul>{"".join(overviews)}</ul>
<h2>Reports by neighbourhood and wave</h2>
<p>One report per project, neighbourhood and survey wave. Base = questionnaires returned.</p>
<table><caption>Every report ({len(reports)})</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Neighbourhood</th><th scope="col">Role</th>
<th scope="col">Wave</th><th scope="col">Status</th><th scope="col">Base</th><th scope="col">Report</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></main></body></html>
"""
    return write_text_atomic(page, out / "index.html")
