"""Configuration: paths, errors, the framework definitions, safe file writing and the one cache."""

from pathlib import Path

from helpers import lazy_submodules

__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
