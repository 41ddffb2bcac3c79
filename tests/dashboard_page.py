"""Driving a dashboard in Chromium (Playwright): open it, choose in a dropdown, read a table, as a viewer would.

Shared by the browser tests of every dashboard; ``wording.py`` beside it checks the words they show.
"""

from __future__ import annotations

import pandas as pd


def open_dashboard(browser, url: str, notebook: str, ready: str = ".wb-dashboard", timeout_ms: int = 90_000):
    """A new page on ``notebook`` (``project.ipynb``), once its controls (inside ``ready``) are drawn and Voila's
    loading message has gone."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(timeout_ms)
    page.goto(f"{url}/voila/render/{notebook}", wait_until="commit")
    page.wait_for_selector(f"{ready} .widget-dropdown select")
    page.wait_for_selector("#loading", state="hidden")
    return page


def selection(page) -> str | None:
    """What the view on screen was drawn for (its ``data-selection``), or None before the first drawing."""
    return page.evaluate("() => document.querySelector('.wb-body .wb-view')?.dataset.selection ?? null")


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` (its label) in the dropdown labelled ``label`` and wait for the redraw."""
    before = selection(page)
    page.get_by_label(label, exact=True).select_option(label=option)
    page.wait_for_function(
        "before => document.querySelector('.wb-body .wb-view')?.dataset.selection !== before", arg=before
    )


def table(page, key: str, index: bool = False) -> pd.DataFrame:
    """The table ``data-table=key`` as the viewer reads it: a row per table row, its header as the columns (and
    with ``index``, its first column as the index)."""
    rows = page.eval_on_selector(
        f".wb-body table[data-table='{key}']",
        "t => [...t.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th,td')].map(c => c.textContent.trim()))",
    )
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    return frame.set_index(rows[0][0]) if index else frame
