"""The Co-operative Difference Workbook's helpers: everything the notebooks call.

Its layers are subpackages (``helpers.config``, ``helpers.store``, ``helpers.methods``, ``helpers.evidence``,
``helpers.presentation``, ``helpers.surfaces``: docs/architecture.md). Modules load on first use
(``helpers.presentation.sections``), so a report kernel only pays for what it uses.
"""

from __future__ import annotations

import importlib
from pathlib import Path


def lazy_submodules(package: str, folder: Path):
    """A module ``__getattr__`` that imports ``package``'s submodules and subpackages on first use."""
    names = sorted(
        p.stem if p.suffix == ".py" else p.name
        for p in folder.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())
    )

    def __getattr__(name: str):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return names, __getattr__


__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
