"""Methods: weights, estimates and paired tests. Pure functions of frames: no I/O, no HTML, no plots."""

from pathlib import Path

from helpers import lazy_submodules

__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
