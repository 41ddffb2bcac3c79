"""The two renderers of a section (:class:`helpers.presentation.model.Section`): static HTML for the batch reports and
JupyterLab, and a widget for the Voila dashboards. Both write the same blocks in the same order with the same
words; the dashboard adds the section's heading (a report's notebook has it as Markdown) and a download link
for each table that has a tidy frame. Every piece of text is escaped here, once.
"""

from __future__ import annotations

import base64
import html
import re

import pandas as pd

from ..config.safe_output import neutralise

CLASSES = {"": "", "lead": "lead", "note": "note", "method": "note method", "message": "wb-message"}


def _e(text: object) -> str:
    return html.escape(str(text))


def table_html(table) -> str:
    """An escaped HTML table with its caption."""
    body = table.display.to_html(index=False, escape=True, na_rep="", border=0, classes="data")
    body = body.replace("<table", f'<table data-table="{_e(table.key)}"', 1)
    return body.replace(">", f"><caption>{_e(table.caption)}</caption>", 1)


def chart_html(chart) -> str:
    """The chart with its whole text alternative (every figure it shows, for screen readers) and, as its visible
    caption, the alternative's first sentence: the table beside each chart gives the figures to the eye."""
    caption = chart.alt.split(". ", 1)[0].rstrip(".") + "."
    return (
        f'<figure class="chart"><img src="data:{chart.mime};base64,{chart.png}" alt="{_e(chart.alt)}" '
        f'style="max-width:100%"><figcaption>{_e(caption)}</figcaption></figure>'
    )


def download_link(frame: pd.DataFrame, filename: str, what: str) -> str:
    """A link that downloads ``frame`` as CSV (UTF-8), with spreadsheet formulas neutralised."""
    text = neutralise(frame).to_csv(index=False, lineterminator="\n")
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (
        f'<p><a class="wb-download" download="{_e(filename)}" href="data:text/csv;charset=utf-8;base64,{data}" '
        'style="display:inline-block;padding:3px 10px;border:1px solid #0b5394;border-radius:3px;'
        f'color:#0b5394;text-decoration:none">Download this table (CSV): {_e(what)}</a></p>'
    )


def slug(*parts: object) -> str:
    """A file-name-safe name from parts: ('working-xtra', '12m', 'did') -> 'working-xtra-12m-did'."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(str(p) for p in parts if p).lower()).strip("-")


def _paragraph_html(block, downloads: str | None) -> str:
    css = CLASSES.get(block.kind, block.kind)
    role = ' role="status"' if block.kind == "message" else ""
    return f'<p class="{css}"{role}>{_e(block.text)}</p>' if css else f"<p>{_e(block.text)}</p>"


def _bullets_html(block, downloads: str | None) -> str:
    css = f' class="{_e(block.kind)}"' if block.kind else ""
    return f"<ul{css}>" + "".join(f"<li>{_e(item)}</li>" for item in block.items) + "</ul>"


def _table_html(block, downloads: str | None) -> str:
    out = table_html(block)
    if downloads is not None and block.tidy is not None:
        out += download_link(block.tidy, slug(downloads, block.key) + ".csv", block.caption)
    return out


def _story_html(block, downloads: str | None) -> str:
    return f'<article class="wb-story"><h3>{_e(block.title)}</h3><p>{_e(block.text)}</p></article>'


# How each kind of block (helpers.presentation.model) is written; by class name, so that the model can show
# itself in a notebook through this module without the two importing each other.
BLOCKS = {
    "Paragraph": _paragraph_html,
    "Bullets": _bullets_html,
    "Table": _table_html,
    "Chart": lambda block, downloads: chart_html(block),
    "Story": _story_html,
}


def _in_annex(block) -> bool:
    """What a printed report shows in its annex rather than in place: tables and method notes."""
    return type(block).__name__ == "Table" or getattr(block, "kind", "") == "method"


def to_html(section, *, heading: int | None = None, downloads: str | None = None, tables_elsewhere: str = "") -> str:
    """The section as HTML. ``heading``: the level of its title's heading (none in a report, whose notebook
    gives it); ``downloads``: a file-name stem, to add a CSV download link under each table with a tidy frame;
    ``tables_elsewhere``: a note shown in place of the section's tables and method notes (a report shows them
    in its annex)."""
    parts = [f"<h{heading}>{_e(section.title)}</h{heading}>"] if heading and section.title else []
    blocks = [b for b in section.blocks if not (tables_elsewhere and _in_annex(b))]
    parts += [BLOCKS[type(b).__name__](b, downloads) for b in blocks]
    if len(blocks) != len(section.blocks):
        parts.append(f'<p class="note">{_e(tables_elsewhere)}</p>')
    return "\n".join(parts)


def to_widget(sections: list, *, selection: tuple = (), style: str = "", downloads: str = "", heading: int = 2):
    """The sections as one dashboard view: an ``ipywidgets.HTML`` whose value is replaced in one update.

    ``selection`` is written to ``data-selection`` (the browser tests and the benchmark wait on it)."""
    import ipywidgets as widgets

    return widgets.HTML(view_html(sections, selection=selection, style=style, downloads=downloads, heading=heading))


def view_html(sections: list, *, selection: tuple = (), style: str = "", downloads: str = "", heading: int = 2) -> str:
    """The HTML of :func:`to_widget` (a dashboard replaces its body's value with this)."""
    key = "|".join(str(s) for s in selection)
    body = "\n".join(to_html(s, heading=heading, downloads=downloads) for s in sections)
    return f'<div class="wb-view" data-selection="{_e(key)}">{style}{body}</div>'
