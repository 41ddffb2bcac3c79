"""The Co-operative Difference Workbook's helpers: everything the notebooks call.

Submodules load on first use (``helpers.report``, ``helpers.charts``, ``helpers.overview``, ...) so a
report kernel only pays for what it uses.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
