"""The network's pages on a real Dask cluster (issue 17, part 3): a ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, started and stopped by a fixture; the workers read the network's Parquet files, not the
DuckDB file the test process imported into.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.config import paths
from helpers.surfaces.cli import main
from helpers.surfaces.network_sample import write_network_sample

pytestmark = pytest.mark.slow

DASK = str(Path(sys.executable).parent / "dask")
STARTED: list[subprocess.Popen] = []  # the processes the fixture started, for the check that it stopped them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two single-threaded workers; all three stopped after."""
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    common = {"cwd": paths.ROOT, "stdout": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stderr=(logs / "scheduler.log").open("w"),
            **common,
        )
    ]
    for i in (1, 2):
        procs.append(
            subprocess.Popen(
                [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1"]
                + ["--no-dashboard", "--name", f"worker-{i}", "--local-directory", str(tmp_path / f"w{i}")],
                stderr=(logs / f"worker-{i}.log").open("w"),
                **common,
            )
        )
    STARTED[:] = procs
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address, procs
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def test_network_pages_on_a_two_worker_cluster(fw, tmp_path, dask_cluster, capsys):
    address, procs = dask_cluster
    made = write_network_sample(fw, tmp_path / "returns", 3)
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    out = tmp_path / "pages"
    capsys.readouterr()
    command = ["network", "reports", "--db", str(db), "--out", str(out), "--executor", "dask", "--scheduler", address]
    code = main(command)
    said = capsys.readouterr().out
    assert code == 0, said
    assert f"made 4 network pages, 0 unchanged, 0 failed, in {out} on Dask ({address})" in said
    pages = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.html"))
    assert pages == ["council-tax-reduction/12m.html", "council-tax-reduction/6m.html"] + [
        "working-xtra/12m.html",
        "working-xtra/6m.html",
    ]
    page = (out / "working-xtra" / "12m.html").read_text()
    assert "Across 3 councils, Working Xtra schemes" in page and "data:image/svg+xml" in page  # the forest plots
    # the workers read Parquet files: the DuckDB file was never theirs to open
    assert sorted(p.name for p in (out / "network-data").glob("*.parquet"))[:2] == [
        "network_did.parquet",
        "network_indicators.parquet",
    ]
    # Again with nothing changed: decided here, before any task is sent; no page is touched.
    made = {p: p.stat().st_mtime_ns for p in out.glob("*/*.html")}
    assert main(command) == 0
    assert capsys.readouterr().out.strip() == f"made 0 network pages, 4 unchanged, 0 failed, in {out}"
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*.html")} == made
    assert all(p.poll() is None for p in procs)  # the cluster is still up; the fixture stops it


def test_the_fixture_stopped_the_cluster():
    """Runs after the test above (same module, in order): the scheduler and both workers it started are gone."""
    assert len(STARTED) == 3
    assert all(p.poll() is not None for p in STARTED)


def test_network_pages_in_one_process(fw, tmp_path, capsys):
    made = write_network_sample(fw, tmp_path / "returns", 3)
    db = tmp_path / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    out = tmp_path / "pages"
    capsys.readouterr()
    assert main(["network", "reports", "--db", str(db), "--out", str(out), "--family", "working-xtra"]) == 0
    said = capsys.readouterr().out
    assert f"made 2 network pages, 0 unchanged, 0 failed, in {out} in this process, by 1 worker(s)" in said
    assert sorted(p.name for p in (out / "working-xtra").glob("*.html")) == ["12m.html", "6m.html"]
    assert main(["network", "reports", "--db", str(db), "--out", str(out), "--family", "housing"]) == 2
    assert "no council's return has the family 'housing'" in capsys.readouterr().err
