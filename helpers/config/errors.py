"""Errors that speak to the person who made the mistake (STYLE.md 11)."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: shown as one plain message, never as a traceback."""


class FrameworkError(UserError, ValueError):
    """A framework definition under data/framework/ is wrong: names the file, key and allowed values."""


def allowed(values) -> str:
    """'a, b, c' for a message listing the allowed values (at most 12 shown)."""
    values = [str(v) for v in values]
    shown = ", ".join(values[:12])
    return shown + (f", ... ({len(values)} in all)" if len(values) > 12 else "")
