"""Serve the dashboards with Voila on 127.0.0.1: sources stripped, tracebacks hidden from viewers."""

from __future__ import annotations

import os
import subprocess
import sys

from . import paths


def voila_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voila",
        str(paths.DASHBOARDS),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--Voila.root_dir={paths.DASHBOARDS}",
    ]


def serve(args) -> int:
    """Run Voila in the foreground until Ctrl-C. --allow-write lets the self-evaluation form save."""
    env = dict(os.environ, WORKBOOK_DB=str(args.db))
    if args.allow_write:
        env["WORKBOOK_ALLOW_WRITE"] = "1"
    print(f"serving the dashboards on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)")
    try:
        return subprocess.call(voila_command(args.port), env=env, cwd=paths.ROOT)
    except KeyboardInterrupt:
        return 0
