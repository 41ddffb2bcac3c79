"""Serve the dashboards with Voila on 127.0.0.1: sources stripped, tracebacks hidden from viewers.

``python -m helpers dashboard [--port P] [--allow-write] [--db PATH]`` (and ``make dashboard``) run
:func:`serve`. docs/dashboards.md says how to share the dashboards safely beyond one's own machine.

- Only 127.0.0.1 is bound: nobody else on the network can reach the server directly.
- ``--strip_sources=True --show_tracebacks=False``: viewers see neither code nor error tracebacks.
- Kernels are pre-heated (one waiting per dashboard, ``--preheat_kernel``): the notebook has already run
  when someone opens it, so the page is interactive in a second or two. The self-evaluation form is not
  pre-heated, so it always lists the assessments saved up to the moment it is opened.
- The kernels inherit ``WORKBOOK_DB`` (the database to show, an absolute path) and, with
  ``--allow-write``, ``WORKBOOK_ALLOW_WRITE=1`` (the self-evaluation form may save).
- ``WORKBOOK_DASHBOARD_TOKEN`` (environment, optional): a secret every browser must present
  (``?token=...`` once, then a cookie); without it Voila asks for no token, which is only safe on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ..config import paths
from ..config.errors import UserError

TOKEN_ENV = "WORKBOOK_DASHBOARD_TOKEN"
NOT_PREHEATED = ("self_evaluation",)  # always a fresh kernel: it lists what was saved up to now


# How the browser tests and benchmarks start Debian's Chromium headless (as root in CI: no sandbox).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium() -> str | None:
    """The Chromium executable on PATH (Debian's ``chromium``), or None."""
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def voila_command(port: int, *, token: str = "") -> list[str]:
    """The Voila command line the dashboard server runs (also used by the tests and the benchmark)."""
    denylist = "[" + ", ".join(f"'{name}'" for name in NOT_PREHEATED) + "]"
    command = [
        sys.executable,
        "-m",
        "voila",
        str(paths.DASHBOARDS),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--preheat_kernel=True",
        "--pool_size=1",
        f"--VoilaKernelManager.preheat_denylist={denylist}",
        "--theme=light",
        f"--Voila.root_dir={paths.DASHBOARDS}",
    ]
    if token:
        command.append(f"--Voila.token={token}")
    return command


def server_environment(db: Path | str, allow_write: bool) -> dict[str, str]:
    """The server's (and so its kernels') environment: the database, and writing only when asked."""
    env = dict(os.environ, WORKBOOK_DB=str(Path(db).resolve()))
    env.pop("WORKBOOK_ALLOW_WRITE", None)
    env.pop(TOKEN_ENV, None)  # the kernels need not see the token
    if allow_write:
        env["WORKBOOK_ALLOW_WRITE"] = "1"
    return env


def serve(args) -> int:
    """Run Voila in the foreground until Ctrl-C. --allow-write lets the self-evaluation form save."""
    db = Path(args.db).resolve()
    if not db.exists():
        raise UserError(f"{db}: no workbook database here; build it with `make run` or `python -m helpers build-db`")
    token = os.environ.get(TOKEN_ENV, "")
    env = server_environment(db, args.allow_write)
    mode = "saving allowed" if args.allow_write else "read-only"
    needs = ", token required" if token else ""
    print(f"serving the dashboards of {db} ({mode}{needs}) on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)")
    server = subprocess.Popen(voila_command(args.port, token=token), env=env, cwd=paths.ROOT)
    # A service manager stops us with SIGTERM: pass it on so Voila shuts its kernels down, then exit with it.
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: server.send_signal(signum))
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Voila too (same process group); let it finish shutting down
        server.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- a server in the background, for the browser tests and the benchmark ---------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time), from /proc (empty where there is no /proc)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            out[int(stat.parent.name)] = (int(fields[1]), fields[19])
    return out


def _family(root: int) -> set[tuple[int, str]]:
    """Every descendant of ``root`` (Voila and its kernels) as (pid, start time)."""
    procs, family, todo = _processes(), set(), [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, started) in procs.items():
            if ppid == parent:
                family.add((pid, started))
                todo.append(pid)
    return family


@contextlib.contextmanager
def running(
    db: Path | str, *, allow_write: bool = False, log: Path | None = None, timeout: float = 90
) -> Iterator[str]:
    """``python -m helpers dashboard`` on a free port in the background; yields its URL, then stops it.

    Stopping sends SIGTERM (passed on to Voila, which shuts its kernels down); anything this server started
    that is still alive 30 s later is killed, checked by process id and start time.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBOOK_ALLOW_WRITE", TOKEN_ENV)}
    command = [sys.executable, "-m", "helpers", "dashboard", "--port", str(port), "--db", str(db)]
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        command + (["--allow-write"] if allow_write else []),
        env=env,
        cwd=paths.ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    where = f"; see {log}" if log else ""
                    raise RuntimeError(f"the dashboard server did not start{where}") from None
                time.sleep(0.3)
        yield url
    finally:
        family = _family(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        alive = _processes()
        for pid, started in family:
            if pid in alive and alive[pid][1] == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if log:
            output.close()
