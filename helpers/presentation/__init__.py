"""Presentation: formatting, charts, the sections every surface shows, and their renderers."""

from pathlib import Path

from helpers import lazy_submodules

__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
