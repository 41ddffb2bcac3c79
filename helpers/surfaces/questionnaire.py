"""``python -m helpers template questionnaire | xlsform``: the printable questionnaire and the tablet/online form.

- ``questionnaire``: an A4 PDF (and the HTML it is printed from, beside it), from
  :func:`helpers.presentation.questionnaire.questionnaire_html`, printed by headless Chromium through
  Playwright (``page.pdf(format="A4")``); ``--large-print`` for the large-print version. Without Chromium
  the HTML is still written and the message says how to install Chromium.
- ``xlsform``: the instrument as an XLSForm workbook (:mod:`helpers.store.xlsform`) for ODK Collect,
  KoboToolbox and Enketo; their exports import with ``python -m helpers import survey EXPORT``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..config.errors import UserError
from ..config.framework import Framework
from ..config.safe_output import atomic_path, write_text_atomic

NAMES = ("questionnaire", "xlsform")


def default_output(name: str, large_print: bool = False) -> Path:
    if name == "xlsform":
        return Path("your-voice-xlsform.xlsx")
    return Path("your-voice-questionnaire" + ("-large-print" if large_print else "") + ".pdf")


def _target(name: str, out: Path | None, suffix: str, large_print: bool, force: bool) -> Path:
    target = Path(out) if out is not None else default_output(name, large_print)
    if target.suffix.lower() != suffix:
        raise UserError(f"{target}: the {name} is written as a {suffix} file; give a file name ending in {suffix}")
    if target.exists() and not force:
        raise UserError(f"{target}: already exists; choose another --out FILE or add --force to overwrite it")
    if not target.parent.exists():
        raise UserError(f"{target}: the folder {target.parent} does not exist")
    return target


def chromium_for_printing() -> str:
    """Chromium's executable, with Playwright importable; a plain message saying how to install what is missing."""
    from .dashboard_server import chromium

    executable = chromium()
    if executable is None:
        raise UserError(
            "printing the questionnaire to PDF needs Chromium, which is not installed: install it with "
            "`apt-get install chromium` (Debian, Ubuntu; `brew install --cask chromium` on macOS), then run again"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise UserError(
            "printing the questionnaire drives Chromium with Playwright, which is not installed: run `make venv` "
            "(or `pip install -e '.[dev]'`), then run again"
        ) from None
    return executable


def outside_event_loop(work) -> None:
    """Run ``work()`` here, or in a thread of its own when this thread runs an asyncio loop (a notebook, or a
    process already driving a browser): Playwright's synchronous API refuses to run inside one."""
    import asyncio
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return None


def print_pdf(html: str, target: Path, *, footer: str = "") -> Path:
    """Print a self-contained HTML page to an A4 PDF with headless Chromium (written whole or not at all)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from .dashboard_server import CHROMIUM_ARGS

    executable = chromium_for_printing()
    footer_html = (
        '<div style="font-size:8pt;width:100%;text-align:center;font-family:Arial,sans-serif;">'
        f'{footer} - page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
    )
    tmp = atomic_path(target)

    def print_page() -> None:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load")
                page.emulate_media(media="print")
                page.pdf(
                    path=str(tmp),
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=footer_html,
                    margin={"top": "14mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                )
            finally:
                browser.close()

    try:
        outside_event_loop(print_page)
        os.replace(tmp, target)
    except PlaywrightError as exc:
        raise UserError(f"{target}: Chromium could not print the questionnaire ({str(exc).splitlines()[0]})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_questionnaire(
    fw: Framework, out: Path | None = None, *, large_print: bool = False, force: bool = False
) -> tuple[Path, str]:
    """Write the questionnaire's HTML and print it to PDF; returns the PDF's path and a one-line description."""
    from html import escape

    from ..presentation.questionnaire import questionnaire_html
    from ..store.questionnaire_form import questions

    target = _target("questionnaire", out, ".pdf", large_print, force)
    html_path = target.with_suffix(".html")
    if html_path.exists() and not force:
        raise UserError(f"{html_path}: already exists; choose another --out FILE or add --force to overwrite it")
    page = questionnaire_html(fw, large_print=large_print)
    try:
        write_text_atomic(page, html_path)
    except OSError as exc:
        raise UserError(f"{html_path}: cannot write the questionnaire ({exc.strerror or exc})") from None
    try:
        print_pdf(page, target, footer=escape(f"{fw.instrument.title} - {fw.settings.council.name}"))
    except UserError as exc:
        raise UserError(f"wrote {html_path} (open it in a browser and print it), but not the PDF: {exc}") from None
    os.chmod(target, 0o644 & ~_umask())
    n = len(questions(fw))
    kind = "large-print questionnaire" if large_print else "questionnaire"
    return target, (
        f"wrote {target} (A4, {n} questions) and {html_path}: the {kind} from the framework; "
        "key returned ones into `template survey-entry` (same questions, same order, same labels)"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_xlsform(
    fw: Framework,
    out: Path | None = None,
    *,
    force: bool = False,
    db: Path | str | None = None,
    wave: str | None = None,
    mode: str | None = None,
) -> tuple[Path, str]:
    """Write the XLSForm workbook; returns its path and a one-line description."""
    from ..config.safe_output import save_workbook_atomic
    from ..store.entry_template import known_neighbourhoods
    from ..store.xlsform import build_xlsform

    target = _target("xlsform", out, ".xlsx", False, force)
    hoods = _neighbourhood_names(db) if known_neighbourhoods(db) else {}
    book, summary = build_xlsform(fw, hoods, wave=wave, mode=mode)
    try:
        save_workbook_atomic(book, target)
    except OSError as exc:
        raise UserError(f"{target}: cannot write the form ({exc.strerror or exc})") from None
    return target, (
        f"wrote {target}: the {fw.instrument.title} XLSForm ({summary}); upload it to KoboToolbox or ODK Central, "
        f"then import its exports with: python -m helpers import survey EXPORT.csv"
    )


def _neighbourhood_names(db) -> dict[str, str]:
    from ..store import access, database

    con = database.connect(db, read_only=True)
    try:
        areas = access.load_areas(con)
    finally:
        con.close()
    return dict(zip(areas["neighbourhood"], areas["name"], strict=True))


def cli_template(fw: Framework, args: argparse.Namespace) -> str:
    """The ``template`` verb for the questionnaire and the XLSForm; its one-line description."""
    if args.name == "questionnaire":
        if getattr(args, "wave", None) or getattr(args, "mode", None):
            raise UserError("--wave and --mode apply to `template xlsform`, not to the printed questionnaire")
        return write_questionnaire(fw, args.out, large_print=args.large_print, force=args.force)[1]
    if args.large_print:
        raise UserError("--large-print applies to `template questionnaire` only")
    return write_xlsform(fw, args.out, force=args.force, db=args.db, wave=args.wave, mode=args.mode)[1]
