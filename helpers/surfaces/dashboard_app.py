"""The Voila application behind ``python -m helpers dashboard``: Voila, with a limit on the pages served at once.

:mod:`helpers.surfaces.dashboard_server` runs ``python -m helpers.surfaces.dashboard_app`` with Voila's own
options (``voila_command``). Each open page holds a Python kernel of its own (about 270 MB), so a committee
opening the dashboards together could otherwise start kernels until the machine runs out of memory (Voila has
no such limit of its own: voila-dashboards/voila issue 617). Here:

- At most ``--WorkbookVoila.max_viewers`` pages are served at once (settings.yaml ``dashboards.max_viewers``,
  :class:`ViewerLimit`). One page more gets a plain "busy, please try again in a minute" page (HTTP 503 with
  ``Retry-After``) at once, instead of waiting while the machine thrashes. With the pools the server never
  holds more than ``max_viewers`` + the pools' kernels.
- A page gets a kernel from its dashboard's pool when one is ready (the notebook has already run), and
  otherwise a kernel of its own at once, rather than waiting behind a refill (:class:`AdmittingVoilaHandler`).
  Refills start ``refill_delay`` seconds after a kernel is taken, one at a time (:class:`PageKernelManager`).
- A page's kernel stops soon after its page has gone (closed, reloaded, its connection lost):
  :class:`PageKernelManager` stops it ``closed_page_timeout`` seconds after its last websocket closed, unless the
  page has come back. (Voila 0.5's page never asks the server to stop its kernel, so without this a closed
  page's kernel would hold its place until culled.) A page left open but idle for ``cull_idle_timeout`` is
  culled by the kernel manager (``cull_connected``); Voila never culls pooled kernels.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import tornado.web
from jupyter_core.paths import jupyter_path
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

RETRY_AFTER_SECONDS = 60

# What a viewer beyond the limit sees: plain words, the page's own styles only (nothing fetched), a way back.
BUSY_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The dashboards are busy</title>
<style>
body { font-family: system-ui, Arial, sans-serif; font-size: 18px; line-height: 1.5; color: #1a1a1a;
       background: #ffffff; max-width: 40rem; margin: 4rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; }
a { color: #0b4ea2; }
a:focus-visible { outline: 3px solid #0b4ea2; outline-offset: 2px; }
</style>
</head>
<body>
<main>
<h1>The dashboards are busy</h1>
<p>Everyone the dashboards can serve at once is using them right now. Please try again in a minute.</p>
<p><a href="">Try again</a></p>
</main>
</body>
</html>
"""


def ready_in_pool(kernel_manager, notebook: str) -> bool:
    """Whether the next kernel Voila would take from ``notebook``'s pool has started (so a page gets it at once).

    Voila keeps each dashboard's pool as a list of tasks, each starting a kernel and running the notebook in it
    (``VoilaKernelManager._pools``, voila 0.5), and gives a page the first task, waiting for it if it has not
    finished: a refill still waiting for ``refill_delay`` (or its turn) would keep the page waiting for that too.
    """
    pool = getattr(kernel_manager, "_pools", {}).get(notebook) or []
    return bool(pool) and pool[0].done()


class PageKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager, with two changes for pages and pools.

    - A page's kernel stops once its page has gone for ``closed_page_timeout`` seconds. A page talks to its
      kernel over one websocket; jupyter_server counts them (``notify_connect``, ``notify_disconnect``). When the
      count falls to 0 a timer starts; a new connection (the page reconnecting after a network blip) cancels it.
      Pooled kernels never have a page, so never a timer.
    - Kernels for the pools start one at a time, ``refill_spacing`` seconds apart: each runs its notebook
      (seconds of processor), and six refilling at once would take the machine from the pages being used.
      Voila marks a pool's kernel by ``VOILA_PREHEAT=True`` in its environment.
    """

    closed_page_timeout = Float(
        30, config=True, help="Seconds a page's kernel is kept after its page has gone, in case it comes back."
    )
    refill_spacing = Float(4, config=True, help="Seconds between the starts of two kernels for the pools.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._page_gone: dict[str, asyncio.Task] = {}
        self._pool_turn = asyncio.Lock()  # first come, first served
        self._next_pool_start = 0.0  # the event loop's clock

    async def start_kernel(self, *args, **kwargs):
        if (kwargs.get("env") or {}).get("VOILA_PREHEAT") != "True":
            return await super().start_kernel(*args, **kwargs)
        loop = asyncio.get_running_loop()
        async with self._pool_turn:
            await asyncio.sleep(max(0.0, self._next_pool_start - loop.time()))
            kernel_id = await super().start_kernel(*args, **kwargs)
            self._next_pool_start = loop.time() + self.refill_spacing  # while this one runs its notebook
        return kernel_id

    def notify_connect(self, kernel_id):
        super().notify_connect(kernel_id)
        timer = self._page_gone.pop(kernel_id, None)
        if timer is not None:
            timer.cancel()

    def notify_disconnect(self, kernel_id):
        super().notify_disconnect(kernel_id)
        if self._kernel_connections.get(kernel_id) == 0 and kernel_id not in self._page_gone:
            self._page_gone[kernel_id] = asyncio.ensure_future(self._stop_when_gone(kernel_id))

    async def _stop_when_gone(self, kernel_id: str) -> None:
        try:
            await asyncio.sleep(self.closed_page_timeout)
        except asyncio.CancelledError:
            return
        self._page_gone.pop(kernel_id, None)
        if kernel_id in self and self._kernel_connections.get(kernel_id, 0) == 0:
            self.log.info("Stopping kernel %s: its page has gone", kernel_id)
            await self.shutdown_kernel(kernel_id)


# The page names its kernel in its configuration (<script id="jupyter-config-data">), in its first bytes.
_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


class ViewerLimit:
    """Counts the pages being served and admits a new one only while fewer than ``maximum`` are.

    A page holds a place from the moment it is admitted: first as a page whose kernel is not known yet, then,
    once its first bytes name its kernel, for as long as that kernel runs (until its page has gone, or it is
    culled). Kernels waiting in the pools hold no place.
    """

    def __init__(self, maximum: int):
        self.maximum = maximum
        self.places: list[dict] = []  # one per admitted page: {"kernel": its kernel id, or None until known}

    def viewers(self, kernel_manager) -> int:
        """Places taken: pages still being opened, and pages whose kernel still runs (the others are let go)."""
        running = set(kernel_manager.list_kernel_ids())
        self.places = [p for p in self.places if p["kernel"] is None or p["kernel"] in running]
        return len(self.places)

    def admit(self, kernel_manager) -> dict | None:
        """A place for a new page if there is one (checked and taken without yielding to the event loop)."""
        if self.viewers(kernel_manager) >= self.maximum:
            return None
        place = {"kernel": None}
        self.places.append(place)
        return place

    def release(self, place: dict) -> None:
        """The page ended without a kernel (an error, a redirect): its place is free."""
        if place in self.places:
            self.places.remove(place)


class AdmittingVoilaHandler(TornadoVoilaHandler):
    """Voila's page handler, behind :class:`ViewerLimit`: a page beyond the limit gets :data:`BUSY_PAGE`; a page
    is given a pooled kernel only when one is ready, else a kernel of its own at once (see :func:`ready_in_pool`).
    """

    @tornado.web.authenticated
    async def get(self, path=None):
        limit: ViewerLimit = self.settings["workbook_viewer_limit"]
        place = limit.admit(self.kernel_manager)
        if place is None:
            self.log.warning("dashboard busy: %d pages open, the most allowed; asked to try again", limit.maximum)
            self._busy()
            return
        self._notebook = path
        head = ""
        try:
            async for html in self.get_generator(path=path):
                if place["kernel"] is None:
                    found = _KERNEL_ID.search(head + html)
                    place["kernel"] = found.group(1) if found else None
                    head = (head + html)[-100:]  # the id may straddle two pieces
                self.write(html)
                self.flush()
        finally:
            if place["kernel"] is None:
                limit.release(place)

    def should_use_rendered_notebook(self, notebook_data, pool_size, template_name, theme, request_args):
        if not ready_in_pool(self.kernel_manager, getattr(self, "_notebook", None)):
            return False
        return super().should_use_rendered_notebook(notebook_data, pool_size, template_name, theme, request_args)

    def _busy(self) -> None:
        self.set_status(503)
        self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.finish(BUSY_PAGE)


class WorkbookVoila(Voila):
    """Voila with :class:`AdmittingVoilaHandler` in place of its page handler (all else is Voila's)."""

    max_viewers = Integer(10, config=True, help="Pages served at once; one more is asked to try again in a minute.")

    @property
    def data_dir(self) -> str:
        """Voila's own data folder (its themes and schemas). The server's ``JUPYTER_PATH`` puts the workbook's
        page template (``templates/jupyter``) first, and Voila would otherwise take that for its data folder."""
        for folder in jupyter_path("voila"):
            if (Path(folder) / "themes").is_dir():
                return str(Path(folder).resolve())
        return super().data_dir

    def initialize(self, argv=None):
        super().initialize(argv)
        # Voila builds its kernel manager (with the pools) on this class: closed pages' kernels stop.
        self.voila_configuration.multi_kernel_manager_class = PageKernelManager

    def init_handlers(self) -> list:
        self.app.settings["workbook_viewer_limit"] = ViewerLimit(self.max_viewers)
        return [
            (rule[0], AdmittingVoilaHandler, *rule[2:]) if rule[1] is TornadoVoilaHandler else rule
            for rule in super().init_handlers()
        ]


main = WorkbookVoila.launch_instance

if __name__ == "__main__":
    main()
