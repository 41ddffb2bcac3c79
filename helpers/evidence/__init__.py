"""Evidence: local indicators, stories, sentiment, financial resilience and the ripple."""

from pathlib import Path

from helpers import lazy_submodules

__all__, __getattr__ = lazy_submodules(__name__, Path(__file__).parent)
