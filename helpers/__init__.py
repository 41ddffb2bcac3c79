"""The Co-operative Difference Workbook's helpers: everything the notebooks call.

Submodules load on first use (``helpers.report``, ``helpers.charts``, ...) so a report kernel only
pays for what it imports.
"""

from __future__ import annotations

import importlib

__all__ = ["analysis", "charts", "report", "estimates", "weights", "intake", "store"]


def __getattr__(name: str):
    if name in {
        "analysis",
        "charts",
        "report",
        "estimates",
        "weights",
        "intake",
        "store",
        "sample",
        "paths",
        "batch",
        "dashboards",
        "safe_output",
    }:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
