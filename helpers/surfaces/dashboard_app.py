"""The Voila application behind ``python -m helpers dashboard``: Voila, with a limit on the pages served at once.

:mod:`helpers.surfaces.dashboard_server` runs ``python -m helpers.surfaces.dashboard_app`` with Voila's own
options (``voila_command``). Each open page holds a Python kernel of its own (about 250 MB), so a committee
opening the dashboards together could otherwise start kernels until the machine runs out of memory (Voila has
no such limit of its own: voila-dashboards/voila issue 617). Here:

- At most ``--WorkbookVoila.max_viewers`` pages are served at once (settings.yaml ``dashboards.max_viewers``).
  A viewer is a kernel given to a page: one taken from Voila's pool of pre-heated kernels or started for the
  page; the kernels waiting in the pools are not viewers. One page more gets a plain "busy, please try again
  in a minute" page (HTTP 503 with ``Retry-After``) at once, instead of waiting while the machine thrashes.
  With the pools (``pool_size`` per pre-heated dashboard) the server never holds more than
  ``max_viewers + pool_size x pre-heated dashboards`` kernels.
- A page's kernel stops soon after its page has gone (closed, reloaded, its connection lost):
  :class:`PageKernelManager` stops it ``closed_page_timeout`` seconds after its last websocket closed, unless the
  page has come back. (Voila 0.5's page never asks the server to stop its kernel, so without this a closed
  page's kernel would hold its place until culled.) A page left open but idle for ``cull_idle_timeout`` is
  culled by the kernel manager (``cull_connected``); Voila never culls pooled kernels.
"""

from __future__ import annotations

import asyncio
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


def pooled_kernels(kernel_manager) -> set[str]:
    """The kernels waiting in Voila's pools, ready for the next page (not viewers).

    Voila keeps each dashboard's pool as a list of tasks that start a kernel and run the notebook in it
    (``VoilaKernelManager._pools``, voila 0.5); a finished task's result names its kernel. A task still
    starting has no kernel id yet: its kernel, for the moment it is registered before the task finishes, is
    counted as a viewer (a page more is refused rather than a kernel too many started).
    """
    ids: set[str] = set()
    for pool in getattr(kernel_manager, "_pools", {}).values():
        for task in pool:
            if task.done() and not task.cancelled() and task.exception() is None:
                ids.add(task.result()["kernel_id"])
    return ids


class PageKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager, stopping a page's kernel once its page has gone for ``closed_page_timeout`` s.

    A page talks to its kernel over one websocket; jupyter_server counts them (``notify_connect`` and
    ``notify_disconnect``). When the count falls to 0 a timer starts; a new connection (the page reconnecting
    after a network blip) cancels it. Pooled kernels never have a page, so never a timer.
    """

    closed_page_timeout = Float(
        30, config=True, help="Seconds a page's kernel is kept after its page has gone, in case it comes back."
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._page_gone: dict[str, asyncio.Task] = {}

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


class ViewerLimit:
    """Counts the pages being served and admits a new one only while fewer than ``maximum`` are.

    Viewers are the kernels the kernel manager holds, less those waiting in the pools, plus the pages admitted
    whose kernel is not registered yet (``admitting``: a page holds its place from the moment it is admitted
    until its first bytes are sent, by when its kernel is one of the kernel manager's).
    """

    def __init__(self, maximum: int):
        self.maximum = maximum
        self.admitting = 0

    def viewers(self, kernel_manager) -> int:
        running = set(kernel_manager.list_kernel_ids())
        return len(running - pooled_kernels(kernel_manager)) + self.admitting

    def admit(self, kernel_manager) -> bool:
        """Take a place for a new page if there is one (checked and taken without yielding to the event loop)."""
        if self.viewers(kernel_manager) >= self.maximum:
            return False
        self.admitting += 1
        return True

    def settled(self) -> None:
        """The admitted page's kernel is now counted by the kernel manager (or the page needed none)."""
        self.admitting -= 1


class AdmittingVoilaHandler(TornadoVoilaHandler):
    """Voila's page handler, behind :class:`ViewerLimit`: a page beyond the limit gets :data:`BUSY_PAGE`."""

    @tornado.web.authenticated
    async def get(self, path=None):
        limit: ViewerLimit = self.settings["workbook_viewer_limit"]
        if not limit.admit(self.kernel_manager):
            self.log.warning("dashboard busy: %d pages open, the most allowed; asked to try again", limit.maximum)
            self._busy()
            return
        pending = True
        try:
            async for html in self.get_generator(path=path):
                if pending:
                    limit.settled()
                    pending = False
                self.write(html)
                self.flush()
        finally:
            if pending:
                limit.settled()

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
