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


@dataclass(frozen=True)
class NetworkPage:
    """One page to make: a family at a wave, from the Parquet folder ``data``, to ``html``."""

    family: str
    wave: str
    data: str
    html: str
    timeout_s: float = 600


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
    from .batch import export_html

    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    target = Path(page.html)
    executed = atomic_path(target.with_suffix(".ipynb"))
    try:
        papermill.execute_notebook(
            str(paths.NOTEBOOKS / "network.ipynb"),
            str(executed),
            parameters={"family": page.family, "wave": page.wave, "network_db": page.data},
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=page.timeout_s,
            cwd=str(paths.ROOT),
        )
        write_text_atomic(export_html(executed), target)
        return PageOutcome(page, "done", time.perf_counter() - start, worker)
    except Exception as exc:  # a failing page is reported with the others, not raised
        return PageOutcome(page, "failed", time.perf_counter() - start, worker, f"{type(exc).__name__}: {exc}")
    finally:
        executed.unlink(missing_ok=True)


def plan_pages(fw: Framework, data: Path, out: Path, families: list[str]) -> list[NetworkPage]:
    """A page per family and later wave, in order."""
    timeout = fw.settings.batch.timeout_minutes * 60
    return [
        NetworkPage(family, wave, str(data), str(out / _slug(family) / f"{wave}.html"), timeout)
        for family in families
        for wave in fw.settings.wave_ids[1:]
    ]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "family"


def run_pages(pages: list[NetworkPage], executor: str, scheduler: str | None, workers: int = 2) -> list[PageOutcome]:
    """Every page, here one after another (``local``) or as one Dask task each (``dask``)."""
    if executor == "local":
        return [run_page(p) for p in pages]
    from .batch import dask_client

    with dask_client(scheduler, workers=workers) as client:
        return client.gather(client.map(run_page, pages, pure=False))


def cli_network_reports(fw: Framework, args: argparse.Namespace) -> int:
    """``python -m helpers network reports [--out DIR] [--family F] [--executor local|dask] [--scheduler A]``."""
    from ..store import network

    out = Path(args.out)
    data = out / "network-data"
    network.export_parquet(args.db, data)
    families = [args.family] if args.family else network.families(data)
    if args.family and args.family not in network.families(data):
        raise UserError(f"no council's return has the family '{args.family}'")
    pages = plan_pages(fw, data.resolve(), out.resolve(), families)
    outcomes = run_pages(pages, args.executor, args.scheduler)
    failed = [o for o in outcomes if o.status != "done"]
    for o in failed:
        print(f"failed: {o.page.family}, {o.page.wave}: {o.error}")
    where = f"on Dask ({args.scheduler or 'a local cluster'})" if args.executor == "dask" else "in this process"
    workers = len({o.worker for o in outcomes})
    print(f"wrote {len(outcomes) - len(failed)} of {len(pages)} network pages to {out} {where}, by {workers} worker(s)")
    return 1 if failed else 0
