"""Serve the dashboards with Voila: on 127.0.0.1, sources stripped, tracebacks hidden, a bounded number of kernels.

``python -m helpers dashboard [--port P] [--host H] [--allow-write] [--db PATH] [--network-db PATH] ...`` (and
``make dashboard``) run :func:`serve`. docs/dashboards.md says how to share the dashboards safely beyond one's own
machine, and how many viewers the server takes at once.

- Only 127.0.0.1 is bound unless ``--host`` names another address; then a warning says to put a reverse proxy
  with a login in front (docs/dashboards.md).
- ``--strip_sources=True --show_tracebacks=False``: viewers see neither code nor error tracebacks. Voila's kernel
  websocket passes only widget and kernel-information messages to a kernel: a browser cannot run code in it.
- Kernels are pre-heated (``dashboards.pool_size`` waiting per dashboard, ``--preheat_kernel``): the notebook has
  already run when someone opens it, so the page is interactive in a second or two. The self-evaluation form is
  not pre-heated, so it always lists the assessments saved up to the moment it is opened.
- At most ``dashboards.max_viewers`` pages are served at once; one more gets a "busy, please try again in a
  minute" page (:mod:`helpers.surfaces.dashboard_app`). Idle kernels are culled (``dashboards.cull_*``).
- The page is Voila's, from the workbook's template (``templates/jupyter/voila/templates/workbook``): nothing is
  fetched from another server, keyboard focus is visible and text is at least 14 px.
- The kernels inherit ``WORKBOOK_DB`` (the database to show, an absolute path), ``WORKBOOK_NETWORK_DB`` (the
  network dashboard's database, ``--network-db``, default ``data/network.duckdb``) and, with
  ``--allow-write``, ``WORKBOOK_ALLOW_WRITE=1`` (the self-evaluation form may save).
- ``WORKBOOK_DASHBOARD_TOKEN`` (environment, optional): a secret every browser must present
  (``?token=...`` once, then a cookie); without it Voila asks for no token, which is only safe on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..config import paths
from ..config.errors import UserError
from ..config.framework import Dashboards

TOKEN_ENV = "WORKBOOK_DASHBOARD_TOKEN"
NOT_PREHEATED = ("self_evaluation",)  # always a fresh kernel: it lists what was saved up to now
LOCAL_HOST = "127.0.0.1"
TEMPLATE = "workbook"  # templates/jupyter/voila/templates/workbook


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


def preheated_dashboards() -> list[str]:
    """The dashboards given a pool of kernels (notebook names without .ipynb): all but :data:`NOT_PREHEATED`."""
    return sorted(p.stem for p in paths.DASHBOARDS.glob("*.ipynb") if p.stem not in NOT_PREHEATED)


def kernel_pools(serving: Dashboards) -> dict[str, int]:
    """Kernels kept ready per pre-heated dashboard; a ``pool_sizes`` entry naming no dashboard is a user error."""
    dashboards = preheated_dashboards()
    unknown = sorted(set(serving.pool_sizes) - set(dashboards))
    if unknown:
        raise UserError(
            f"settings.yaml: dashboards.pool_sizes names {', '.join(unknown)}, not a pre-heated dashboard; "
            f"known: {', '.join(dashboards)}"
        )
    return {name: serving.pool(name) for name in dashboards}


def voila_command(
    port: int, *, token: str = "", host: str = LOCAL_HOST, serving: Dashboards | None = None
) -> list[str]:
    """The Voila command line the dashboard server runs (also used by the tests and the benchmark).

    ``serving`` is settings.yaml's ``dashboards`` block (pools, viewer limit, culling; its defaults when None).
    """
    serving = serving or Dashboards()
    pools = kernel_pools(serving)
    command = [
        sys.executable,
        "-m",
        "helpers.surfaces.dashboard_app",
        str(paths.DASHBOARDS),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--template={TEMPLATE}",
        "--theme=light",
        f"--Voila.root_dir={paths.DASHBOARDS}",
        f"--WorkbookVoila.max_viewers={serving.max_viewers}",
        f"--PageKernelManager.closed_page_timeout={serving.closed_page_timeout}",
        f"--MappingKernelManager.cull_idle_timeout={serving.cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={serving.cull_interval}",
        f"--MappingKernelManager.cull_connected={serving.cull_connected}",
    ]
    if any(pools.values()):
        config = {"default": {"pool_size": 0}} | {f"{name}.ipynb": {"pool_size": n} for name, n in pools.items()}
        denylist = [f"{name}.ipynb" for name in NOT_PREHEATED]
        command += [
            "--preheat_kernel=True",
            f"--VoilaKernelManager.kernel_pools_config={json.dumps(config)}",
            f"--VoilaKernelManager.preheat_denylist={json.dumps(denylist)}",
            f"--VoilaKernelManager.fill_delay={serving.refill_delay}",
            f"--PageKernelManager.refill_spacing={serving.refill_spacing}",
        ]
    if token:
        command.append(f"--Voila.token={token}")
    return command


def pooled_kernels(serving: Dashboards) -> int:
    """Kernels waiting in the pools when no page is open."""
    return sum(kernel_pools(serving).values())


def most_kernels(serving: Dashboards) -> int:
    """The most kernels the server ever holds: a kernel per viewer, and the pools' kernels waiting."""
    return serving.max_viewers + pooled_kernels(serving)


def server_environment(db: Path | str, allow_write: bool, network_db: Path | str | None = None) -> dict[str, str]:
    """The server's (and so its kernels') environment: the database, the network's database (the network
    dashboard's; it need not exist yet: the dashboard then says so), and writing only when asked."""
    env = dict(os.environ, WORKBOOK_DB=str(Path(db).resolve()))
    if network_db is not None:
        env["WORKBOOK_NETWORK_DB"] = str(Path(network_db).resolve())
    # The dashboards' page template; Voila finds templates in the Jupyter data folders on JUPYTER_PATH.
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(paths.DASHBOARD_TEMPLATES), env.get("JUPYTER_PATH")) if p)
    env.pop("WORKBOOK_ALLOW_WRITE", None)
    env.pop(TOKEN_ENV, None)  # the kernels need not see the token
    if allow_write:
        env["WORKBOOK_ALLOW_WRITE"] = "1"
    return env


def serving_settings(fw_serving: Dashboards, args) -> Dashboards:
    """settings.yaml's ``dashboards`` block with the command line's overrides (``--max-viewers`` and the like)."""
    given = {
        name: getattr(args, name)
        for name in ("pool_size", "max_viewers", "closed_page_timeout", "cull_idle_timeout", "cull_interval")
        if getattr(args, name, None) is not None
    }
    if "pool_size" in given:  # --pool-size: the same pool for every dashboard
        given["pool_sizes"] = {}
    try:
        return Dashboards.model_validate({**fw_serving.model_dump(), **given})
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-")
        raise UserError(f"{option} {given.get(first['loc'][0])}: {first['msg'].lower()}") from None


def host_warning(host: str) -> str | None:
    """What the server says when it listens beyond this machine (None on 127.0.0.1)."""
    if host == LOCAL_HOST:
        return None
    return (
        f"warning: listening on {host}, not only on 127.0.0.1: anyone who can reach this address can open the "
        "dashboards, and Voila has no login and no HTTPS of its own. Serve them behind a reverse proxy with "
        "authentication (docs/dashboards.md, 'Sharing the dashboards beyond your own machine')."
    )


def serve(args, serving: Dashboards | None = None) -> int:
    """Run Voila in the foreground until Ctrl-C. --allow-write lets the self-evaluation form save."""
    db = Path(args.db).resolve()
    if not db.exists():
        raise UserError(f"{db}: no workbook database here; build it with `make run` or `python -m helpers build-db`")
    serving = serving_settings(serving or Dashboards(), args)
    host = getattr(args, "host", None) or LOCAL_HOST
    token = os.environ.get(TOKEN_ENV, "")
    env = server_environment(db, args.allow_write, getattr(args, "network_db", None))
    mode = "saving allowed" if args.allow_write else "read-only"
    needs = ", token required" if token else ""
    warning = host_warning(host)
    if warning:
        print(warning, file=sys.stderr)
    pools = ", ".join(f"{name} {n}" for name, n in kernel_pools(serving).items())
    print(
        f"serving the dashboards of {db} ({mode}{needs}) on http://{host}:{args.port}/ (Ctrl-C to stop)\n"
        f"at most {serving.max_viewers} viewers at once; kernels kept ready: {pools}; "
        f"never more than {most_kernels(serving)} kernels",
        flush=True,
    )
    command = voila_command(args.port, token=token, host=host, serving=serving)
    server = subprocess.Popen(command, env=env, cwd=paths.ROOT)
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


def _proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name ([0] is the state); empty if it has gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _rss_kb(pid: int) -> int:
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def _is_kernel(pid: int) -> bool:
    try:
        return b"ipykernel_launcher" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class BackgroundServer:
    """A dashboard server started by :func:`background`: its URL and what its processes use (from /proc)."""

    url: str
    process: subprocess.Popen

    def pids(self) -> set[int]:
        """The server's process family: ``python -m helpers dashboard``, Voila and the kernels."""
        return {self.process.pid} | {pid for pid, _ in _family(self.process.pid)}

    def kernels(self) -> int:
        """Kernels running now: the pools' and the viewers'."""
        return sum(_is_kernel(pid) for pid in self.pids())

    def memory_mb(self) -> float:
        """Resident memory of the whole process family, in MB."""
        return sum(_rss_kb(pid) for pid in self.pids()) / 1024

    def cpu_seconds(self) -> float:
        """CPU time the process family has used so far (user and system, the processes alive now)."""
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(int(f[11]) + int(f[12]) for f in map(_proc_stat, self.pids()) if len(f) > 12) / ticks

    def settle(self, *, kernels: int | None = None, quiet: float = 2.0, timeout: float = 240) -> float:
        """Wait until the server is at rest: exactly ``kernels`` kernels running (when given: the pools' size once
        viewers have gone and the pools have refilled) and the family using under a tenth of a core for
        ``quiet`` seconds (every pooled kernel has run its notebook). Returns the seconds waited; raises
        RuntimeError after ``timeout``."""
        start = time.monotonic()
        before = self.cpu_seconds()
        while True:
            time.sleep(quiet)
            now = self.cpu_seconds()
            if (kernels is None or self.kernels() == kernels) and now - before < 0.1 * quiet:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"the dashboard server was still busy after {timeout:.0f} s")
            before = now


@contextlib.contextmanager
def running(db: Path | str, **kwargs) -> Iterator[str]:
    """:func:`background`, yielding only the server's URL."""
    with background(db, **kwargs) as server:
        yield server.url


@contextlib.contextmanager
def background(
    db: Path | str,
    *,
    allow_write: bool = False,
    log: Path | None = None,
    timeout: float = 90,
    options: tuple[str, ...] = (),
    host: str = LOCAL_HOST,
) -> Iterator[BackgroundServer]:
    """``python -m helpers dashboard`` on a free port in the background; yields it once it answers, then stops it.

    ``options`` are more of the verb's options (``("--max-viewers", "2")``); ``host`` is passed as ``--host``
    when it is not 127.0.0.1. Stopping sends SIGTERM (passed on to Voila, which shuts its kernels down);
    anything this server started that is still alive 30 s later is killed, checked by process id and start time.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBOOK_ALLOW_WRITE", TOKEN_ENV)}
    command = [sys.executable, "-m", "helpers", "dashboard", "--port", str(port), "--db", str(db), *options]
    if host != LOCAL_HOST:
        command += ["--host", host]
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        command + (["--allow-write"] if allow_write else []),
        env=env,
        cwd=paths.ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{host}:{port}"
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
        yield BackgroundServer(url, process)
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
