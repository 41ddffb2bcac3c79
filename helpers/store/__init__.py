"""The store: the DuckDB database, the intake of users' files, data access and the synthetic sample."""

from pathlib import Path

from helpers import lazy_submodules

__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
