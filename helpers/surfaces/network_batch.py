"""``python -m helpers network reports``: the network's pages, one per family and wave, on one machine or a cluster.

The network's data is written first as Parquet files into the output folder (``<out>/network-data``,
:func:`helpers.store.network.export_parquet`); every page is ``notebooks/network.ipynb`` run by papermill with
``network_db`` pointing at that folder, so the workers only read files (no DuckDB file is held open by another
process) and a cluster's workers need nothing but the folder, shared at the same path. ``--executor local``
runs the pages one after another in this process; ``--executor dask`` sends one task per page to a Dask
distributed cluster: ``--scheduler tcp://host:8786`` (an existing one), or a local cluster of two workers.

Each worker needs this repository at the same path with its environment installed (``pip install -e .``:
papermill, nbconvert, a ``python3`` kernel), and the output folder on a filesystem it shares with the machine
that runs the command. Pages are written atomically; a page that fails is reported, never half-written.

A page is remade only when what it is made from changed, decided as the council's report batch decides
(:func:`helpers.surfaces.batch.inputs_fingerprint`, :func:`~helpers.surfaces.batch.is_current`): the network's
rows it reads (:func:`helpers.store.network.page_fingerprint`: the family's rows, and what every page shows of
every council), the network notebook and the helpers code it reaches, the framework and the report template.
The fingerprint each page was made from is kept in the working folder beside the output folder
(``<out>.work/state/<family>/<wave>.html.inputs``), written by this process once the page is back, and removed
when it fails, so a failed page is made again next time. ``--force`` remakes every page. The decision is taken
here before any page is sent, so a cluster gets only the pages to make.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import paths
from ..config.errors import UserError
from ..config.framework import Framework

NOTEBOOK = paths.NOTEBOOKS / "network.ipynb"


@dataclass(frozen=True)
class NetworkPage:
    """One page to make: a family at a wave, from the Parquet folder ``data``, to ``html``."""

    family: str
    wave: str
    data: str
    html: str
    timeout_s: float = 600
    fingerprint: str = ""  # what the page is made from (batch.inputs_fingerprint)
    inputs: str = ""  # where the fingerprint it was last made from is kept (the working folder)
    title: str = ""  # the page's title, as a reader names it ("Working Xtra schemes across councils, 12 months")
    council: str = ""  # the council shown beside the network (this workbook's, when it has sent a return)


@dataclass(frozen=True)
class PageOutcome:
    page: NetworkPage
    status: str  # done | failed
    seconds: float
    worker: str  # host and process that ran it
    error: str = ""


def run_page(page: NetworkPage) -> PageOutcome:
    """Run the network notebook for one page and write its HTML; never raises for a failing page."""
    import papermill

    from ..config.safe_output import atomic_path, write_text_atomic
    from .batch import export_html, kernel_manager_class

    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    target = Path(page.html)
    executed = atomic_path(target.with_suffix(".ipynb"))
    try:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(executed),
            parameters={"family": page.family, "wave": page.wave, "network_db": page.data, "council": page.council},
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=page.timeout_s,
            cwd=str(paths.ROOT),
            log_output=False,
            # as the report batch's kernels: Unix sockets with unique names, so two workers on one machine
            # starting kernels at once cannot pick the same TCP port (papermill issue #511)
            kernel_manager_class=kernel_manager_class(),
        )
        write_text_atomic(export_html(executed, title=page.title or None), target)
        return PageOutcome(page, "done", time.perf_counter() - start, worker)
    except Exception as exc:  # a failing page is reported with the others, not raised
        return PageOutcome(page, "failed", time.perf_counter() - start, worker, f"{type(exc).__name__}: {exc}")
    finally:
        executed.unlink(missing_ok=True)


def plan_pages(fw: Framework, data: Path, out: Path, families: list[str]) -> list[NetworkPage]:
    """A page per family and later wave, in order, each with the fingerprint of what it is made from (the
    family's rows in the Parquet folder ``data``, the notebook's code and the framework, its parameters)."""
    from ..presentation import formatting as fmt
    from ..presentation.network import family_name
    from ..store import network
    from .batch import inputs_fingerprint

    timeout = fw.settings.batch.timeout_minutes * 60
    # this workbook's council beside the network on every page, when it has sent a return
    mine = fw.settings.council.name if fw.settings.council.name in set(network.councils(data)["council"]) else ""
    pages = []
    for family in families:
        rows = network.page_fingerprint(data, family)
        for wave in fw.settings.wave_ids[1:]:
            html = out / _slug(family) / f"{wave}.html"
            params = {"family": family, "wave": wave, "network_db": str(data)} | ({"council": mine} if mine else {})
            made_from = inputs_fingerprint(NOTEBOOK, fw.settings.council.logo, rows, params)
            inputs = paths.state_file(out, html, ".inputs")
            title = f"{family_name(fw, family)} schemes across councils, {fmt.wave_label(fw, wave)}"
            pages.append(NetworkPage(family, wave, str(data), str(html), timeout, made_from, str(inputs), title, mine))
    return pages


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "family"


def run_pages(pages: list[NetworkPage], executor: str, scheduler: str | None, workers: int = 2) -> list[PageOutcome]:
    """Every page, here one after another (``local``) or as one Dask task each (``dask``), in the pages' order;
    each page's outcome is remembered as it comes back (:func:`remember`), so pages finished before an
    interruption are not made again. No cluster is started or reached when there is no page to make."""
    if executor == "local" or not pages:
        outcomes = []
        for page in pages:
            outcomes.append(run_page(page))
            remember(outcomes[-1])
        return outcomes
    from dask.distributed import as_completed

    from .batch import dask_client

    with dask_client(scheduler, workers=workers) as client:
        futures = client.map(run_page, pages, pure=False)
        for future in as_completed(futures):
            remember(future.result())
        return client.gather(futures)


def remember(outcome: PageOutcome) -> None:
    """Keep the fingerprint a page was made from; forget it when the page failed (never up to date while
    failed: the next run makes it again)."""
    from ..config.safe_output import write_text_atomic

    inputs = outcome.page.inputs
    if not inputs:  # a page made up by hand, with nowhere to keep it
        return
    if outcome.status == "done":
        write_text_atomic(outcome.page.fingerprint + "\n", Path(inputs))
    else:
        Path(inputs).unlink(missing_ok=True)


def cli_network_reports(fw: Framework, args: argparse.Namespace) -> int:
    """``python -m helpers network reports [--out DIR] [--family F] [--executor local|dask] [--scheduler A]
    [--force]``; one batch at a time writes to an output folder (:func:`helpers.surfaces.batch.writing_to`)."""
    from .batch import writing_to

    out = Path(args.out).resolve()
    with writing_to(out, shown=args.out):
        return _network_reports(fw, args, out)


def _network_reports(fw: Framework, args: argparse.Namespace, out: Path) -> int:
    """The network batch, once it alone writes to ``out``: export, decide, make, say what happened."""
    from ..store import network
    from .batch import is_current

    data = out / "network-data"
    network.export_parquet(args.db, data)
    families = [args.family] if args.family else network.families(data)
    if args.family and args.family not in network.families(data):
        raise UserError(f"no council's return has the family '{args.family}'")
    pages = plan_pages(fw, data, out, families)
    todo = [p for p in pages if args.force or not is_current(p)]
    outcomes = run_pages(todo, args.executor, args.scheduler)
    failed = [o for o in outcomes if o.status != "done"]
    for o in failed:
        print(f"failed: {o.page.family}, {o.page.wave}: {o.error}")
    made, unchanged = len(outcomes) - len(failed), len(pages) - len(todo)
    write_network_index(fw, out, network.families(data))
    said = f"made {made} network pages, {unchanged} unchanged, {len(failed)} failed, in {args.out}"
    if outcomes:
        where = f"on Dask ({args.scheduler or 'a local cluster'})" if args.executor == "dask" else "in this process"
        said += f" {where}, by {len({o.worker for o in outcomes})} worker(s)"
    print(said)
    return 1 if failed else 0


def write_network_index(fw: Framework, out: Path, families: list[str]) -> Path:
    """``out/index.html``: every kind of scheme the network holds, a link per later wave to its page (or "not
    made yet": a page that failed, or a family left out by ``--family``), so that a reader starts from one page."""
    import html

    from ..presentation import formatting as fmt
    from ..presentation.network import family_name
    from .batch import index_start, publish

    def cell(family: str, wave: str) -> str:
        page = out / _slug(family) / f"{wave}.html"
        if not page.exists():
            return "not made yet"
        return f'<a href="{html.escape(page.relative_to(out).as_posix())}">{html.escape(fmt.wave_label(fw, wave))}</a>'

    waves = fw.settings.wave_ids[1:]
    named = sorted(families, key=lambda f: family_name(fw, f).lower())
    rows = "\n".join(
        f'<tr><th scope="row">{html.escape(family_name(fw, f))}</th>'
        + "".join(f"<td>{cell(f, w)}</td>" for w in waves)
        + "</tr>"
        for f in named
    )
    heads = "".join(f'<th scope="col">{html.escape(fmt.wave_label(fw, w))}</th>' for w in waves)
    page = f"""{index_start(fw, "The network: schemes across councils")}
<p>One page per kind of scheme and survey wave: each council's results side by side, what the councils found
together, how far each council's scheme reached the co-operative ideals, and how councils rate themselves.</p>
<table><caption>Every page ({len(named)} kinds of scheme)</caption>
<thead><tr><th scope="col">Kind of scheme</th>{heads}</tr></thead>
<tbody>
{rows}
</tbody></table></main></body></html>
"""
    return publish(page, out / "index.html")
