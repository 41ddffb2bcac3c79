"""What reader-facing text must never contain: developer wording, ids instead of names, misleading numbers.

Used by the tests that scan rendered sections, dashboard views and the batch's reports. ``forbidden(text, fw)``
returns each offending fragment with a few characters around it, so a failure shows where it is.
"""

from __future__ import annotations

import html
import re

from helpers.config.framework import Framework

# Other councils' names that the source documents mention (a council's own reports never name another).
OTHER_COUNCILS = ("Oldham", "Lambeth", "Sunderland", "Plymouth", "Kirklees", "Rochdale", "Stevenage", "Cardiff")

FIXED = [
    (r"[\w./-]*\.(?:ya?ml|py|ipynb|csv|duckdb|md)\b", "a file name"),
    (r"\b(?:data|docs|helpers|notebooks|templates|reports)/", "a path"),
    (r"python -m|\bmake (?:run|test|lab|dashboard|bench|lint|clean|sample|venv)\b", "a command"),
    (r"(?<![\w-])--[a-z]", "a command-line option"),
    (r"\bseed 0\d\d\b", "a source-document reference"),
    (r"(?<![\w.])[-\u2212]0(?:\.0+)?(?:%| points?\b| pp\b)", "minus zero"),
    (r"(?<![\w.-])\+?[-\u2212]?1 points\b", "'1 points'"),
    (r"\bs(?:0[1-9]|1[0-7])\b", "a statement code"),
    (r"\b(?:Holm|Kish|VADER|design effect|compound score)\b", "an unexplained statistics term"),
]


def visible_text(markup: str) -> str:
    """The text a reader sees in HTML (tags, styles, scripts and data URIs removed)."""
    markup = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", markup)
    markup = re.sub(r'(?i)(?:src|href)="data:[^"]*"', "", markup)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def forbidden(text: str, fw: Framework) -> list[str]:
    """Each fragment of ``text`` a reader should never see, as 'what: ...context...'."""
    patterns = list(FIXED)
    ids = [w.id for w in fw.settings.waves if w.id != w.label and not w.id.isalpha()]
    ids += [i.id for i in fw.indicators if "-" in i.id or "_" in i.id]
    patterns += [(rf"(?<![\w-]){re.escape(i)}(?![\w-])", "an id") for i in ids]
    patterns += [(rf"\b{name}\b", "another council") for name in OTHER_COUNCILS if name not in fw.settings.council.name]
    found = []
    for pattern, what in patterns:
        for m in re.finditer(pattern, text):
            found.append(f"{what}: ...{text[max(0, m.start() - 40) : m.end() + 40]}...")
    return found
