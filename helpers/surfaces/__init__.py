"""Surfaces: the batch, the dashboards, the command line, the dashboard server and new projects."""

from pathlib import Path

from helpers import lazy_submodules

__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
