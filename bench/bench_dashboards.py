"""Benchmark: the dashboards in Chromium (targets: interactive under 5 s after navigation on a warm server;
a selection change redrawn under 1 s), measured in the browser.

A benchmark, not a test: run it by hand or from ``make bench``::

    python bench/bench_dashboards.py              # figures printed and written to bench/results/dashboards.json
    python bench/bench_dashboards.py --visits 5   # more visits per dashboard

``run(results_dir)`` builds a database from the sample in a temporary folder, starts
``python -m helpers dashboard`` on a free port (:func:`helpers.surfaces.dashboard_server.running`), opens each dashboard
once to warm the server (static files, the kernel pool) and then measures:

- **first interactive**: for each dashboard, ``visits`` fresh page loads, each after the kernel pool has had
  time to refill; the time from navigation start (``performance.now()`` in the page) until the controls and
  the first drawing are on screen and Voila's loading message has gone.
- **redraw**: on the project dashboard and the ripple explorer, a series of selection changes never seen
  before by that page (so nothing is cached); each measured in the page from the ``change`` event until the
  new drawing is in the DOM and its images are decoded.

Needs Debian's Chromium (``apt-get install -y chromium``) and Playwright for Python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.config import paths  # noqa: E402
from helpers.config.framework import framework  # noqa: E402
from helpers.surfaces import dashboard_server  # noqa: E402

TARGET_INTERACTIVE_SECONDS = 5.0
TARGET_REDRAW_SECONDS = 1.0
VISITS = 3
POOL_REFILL_SECONDS = 8.0  # a visit uses the pre-heated kernel; the next one is ready after this
NOTEBOOKS = ("project.ipynb", "ripple.ipynb", "self_evaluation.ipynb", "fieldwork.ipynb")
# Selection changes (control label, option label), each new to the page: nothing comes from a cache.
PROJECT_CHANGES = (
    ("Neighbourhood", "Westwood (pilot)"),
    ("Survey wave", "6 months"),
    ("Outcome", "Co-operative people: Health and wellbeing"),
    ("Neighbourhood", "Kingsmoor (comparison)"),
    ("Survey wave", "Baseline"),
    ("Project", "Working Xtra"),
    ("Neighbourhood", "Oakfield (pilot)"),
    ("Outcome", "Co-operative people: Involvement and helping others"),
)
RIPPLE_CHANGES = (
    ("Ideal", "Co-operative place"),
    ("Survey wave", "6 months"),
    ("Project", "Working Xtra"),
    ("Ideal", "Co-operative people"),
    ("Survey wave", "Design: before any data"),
)

_READY = """() => {
  const loading = document.getElementById('loading');
  const shown = loading && loading.offsetParent !== null && getComputedStyle(loading).display !== 'none';
  return !shown && document.querySelector('.wb-dashboard .widget-dropdown select') !== null
    && document.querySelector('.wb-body .wb-view') !== null;
}"""

_CHANGE = """async ([label, option]) => {
  const control = [...document.querySelectorAll('label')].find(l => l.textContent === label);
  const select = document.getElementById(control.htmlFor);
  const view = () => document.querySelector('.wb-body .wb-view');
  const before = view().dataset.selection;
  // ipywidgets writes option labels with non-breaking spaces
  const choice = [...select.options].find(o => o.textContent.replace(/\u00a0/g, ' ') === option);
  if (!choice) throw new Error(`no option ${option} in ${label}: ${[...select.options].map(o => o.textContent)}`);
  const start = performance.now();
  select.value = choice.value;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  await new Promise(resolve => {
    const check = () => (view() && view().dataset.selection !== before) ? resolve() : setTimeout(check, 5);
    check();
  });
  await Promise.all([...view().querySelectorAll('img')].map(img => img.decode().catch(() => null)));
  return (performance.now() - start) / 1000;
}"""


def _open(browser, url: str, notebook: str) -> tuple[object, float]:
    """A fresh page on ``notebook``; seconds from navigation start until it is interactive (in the page)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)
    page.goto(f"{url}/voila/render/{notebook}", wait_until="commit")
    page.wait_for_function(_READY, polling=10)
    return page, page.evaluate("() => performance.now()") / 1000


def _summary(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "all": [round(v, 3) for v in values],
    }


def run(results_dir: Path, visits: int = VISITS) -> dict:
    """Measure the dashboards in Chromium against a warm server; write ``results_dir/dashboards.json``."""
    from playwright.sync_api import sync_playwright

    from helpers.store.intake import build_database

    chromium = dashboard_server.chromium()
    if chromium is None:
        raise RuntimeError("Chromium is not installed: apt-get install -y chromium")
    results_dir = Path(results_dir)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as tmp:
        db = Path(tmp) / "workbook.duckdb"
        build_database(paths.SAMPLE, framework(), db)
        with (
            dashboard_server.running(db, log=Path(tmp) / "voila.log") as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=chromium, args=list(dashboard_server.CHROMIUM_ARGS))
            for notebook in NOTEBOOKS:  # warm up: static files cached, kernels pre-heated
                page, _ = _open(browser, url, notebook)
                page.close()
            time.sleep(POOL_REFILL_SECONDS)
            interactive: dict[str, list[float]] = {n: [] for n in NOTEBOOKS}
            for _ in range(visits):
                for notebook in NOTEBOOKS:
                    page, seconds = _open(browser, url, notebook)
                    interactive[notebook].append(seconds)
                    page.close()
                time.sleep(POOL_REFILL_SECONDS)
            redraw: dict[str, list[float]] = {}
            for notebook, changes in (("project.ipynb", PROJECT_CHANGES), ("ripple.ipynb", RIPPLE_CHANGES)):
                page, _ = _open(browser, url, notebook)
                redraw[notebook] = [page.evaluate(_CHANGE, list(change)) for change in changes]
                page.close()
            browser.close()
    worst_interactive = max(max(v) for v in interactive.values())
    worst_redraw = max(max(v) for v in redraw.values())
    figures = {
        "first_interactive_median_s": round(statistics.median([v for vs in interactive.values() for v in vs]), 3),
        "first_interactive_max_s": round(worst_interactive, 3),
        "redraw_median_s": round(statistics.median([v for vs in redraw.values() for v in vs]), 3),
        "redraw_max_s": round(worst_redraw, 3),
        "interactive_meets_target": worst_interactive < TARGET_INTERACTIVE_SECONDS,
        "redraw_meets_target": worst_redraw < TARGET_REDRAW_SECONDS,
        "first_interactive": {Path(n).stem: _summary(v) for n, v in interactive.items()},
        "redraw": {Path(n).stem: _summary(v) for n, v in redraw.items()},
        "targets": {"first_interactive_s": TARGET_INTERACTIVE_SECONDS, "redraw_s": TARGET_REDRAW_SECONDS},
        "visits_per_dashboard": visits,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        },
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "dashboards.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=VISITS, help=f"page loads per dashboard (default {VISITS})")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for dashboards.json")
    args = parser.parse_args(argv)
    figures = run(args.out, visits=args.visits)
    print(json.dumps(figures, indent=2))
    return 0 if figures["interactive_meets_target"] and figures["redraw_meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
