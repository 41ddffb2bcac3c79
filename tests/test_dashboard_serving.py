"""Serving the dashboards to a committee: the viewer limit and its busy page, kernels freed when pages go, nothing
fetched from another server, no code run from a browser, no file read outside the dashboards folder, imported
text shown as text, visible keyboard focus and text of at least 14 px.

Servers are the real thing (``python -m helpers dashboard``, through
:func:`helpers.surfaces.dashboard_server.background`) with small pools and short timeouts given as the verb's
options; browsers are Debian's Chromium through Playwright.
The database is the committed sample with HTML and script planted in an area's name, a consented story and a
sentiment channel (:data:`PLANTED`).
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from dashboard_page import choose
from wording import forbidden, visible_text

from helpers.config import paths
from helpers.config.errors import FrameworkError, UserError
from helpers.config.framework import Dashboards, load_framework
from helpers.presentation.sections import Report, applies, load_all
from helpers.store.intake import build_database
from helpers.surfaces import dashboard_server
from helpers.surfaces.cli import main

# What an importer could type into a free-text column; each would run script if written into a page as HTML.
PLANTED = SimpleNamespace(
    area='Oakfield <img src="x" onerror="window.pwned=\'area\'">',
    story_title="Story <script>window.pwned='story title'</script>",
    story_text="Help came early <img src=x onerror=\"window.pwned='story'\"> and it mattered.",
    channel="<img src=x onerror=window.pwned=1>",
    council="Ashby <img src=x onerror=\"window.pwned='council'\">",  # a council's name in the network
)
STORY = "wor-oakfield-6m-1"  # consented; Oakfield, 6 months, people-involvement
READY = """() => {
  const loading = document.getElementById('loading');
  const shown = loading && loading.offsetParent !== null && getComputedStyle(loading).display !== 'none';
  return !shown && document.querySelector('.wb-dashboard .widget-dropdown select') !== null;
}"""
SMALL = ("--pool-size", "1")  # one kernel kept ready per dashboard: light on a shared 2-core machine


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory, fw) -> Path:
    """The sample with :data:`PLANTED` in Oakfield's name, one consented story and Oakfield's Twitter channel."""
    source = tmp_path_factory.mktemp("planted-sample")
    for f in paths.SAMPLE.glob("*.csv"):
        shutil.copy(f, source / f.name)

    def edit(name, change):
        frame = pd.read_csv(source / name, dtype=str, keep_default_na=False)
        change(frame)
        frame.to_csv(source / name, index=False)

    edit("areas.csv", lambda a: a.__setitem__("name", a["name"].where(a["neighbourhood"] != "oakfield", PLANTED.area)))

    def story(s):
        s.loc[s["story_id"] == STORY, ["title", "text"]] = [PLANTED.story_title, PLANTED.story_text]

    def channel(s):
        s.loc[(s["neighbourhood"] == "oakfield") & (s["channel"] == "twitter"), "channel"] = PLANTED.channel

    edit("stories.csv", story)
    edit("sentiment.csv", channel)
    db = tmp_path_factory.mktemp("planted-db") / "workbook.duckdb"
    build_database(source, fw, db)
    return db


# --- settings and the command line, without a server ---------------------------------------------------------


def test_serving_settings_come_from_settings_yaml(fw):
    serving = fw.settings.dashboards
    assert serving.pool("project") == serving.pool_sizes["project"] and serving.pool("ripple") == serving.pool_size
    dashboards = dashboard_server.preheated_dashboards()
    assert "project" in dashboards and "self_evaluation" not in dashboards  # the form always starts afresh
    # the most kernels: one per viewer, and every pool full. With 3 viewers, project 4 and the others 1 each:
    small = Dashboards(pool_size=1, pool_sizes={"project": 4}, max_viewers=3)
    assert dashboard_server.most_kernels(small) == 3 + 4 + (len(dashboards) - 1)
    command = dashboard_server.voila_command(8866, serving=small)
    pools = json.loads(next(c.split("=", 1)[1] for c in command if c.startswith("--VoilaKernelManager.kernel_pools")))
    assert pools["project.ipynb"] == {"pool_size": 4} and pools["default"] == {"pool_size": 0}
    assert "--WorkbookVoila.max_viewers=3" in command and "--Voila.ip=127.0.0.1" in command
    assert "--MappingKernelManager.cull_connected=True" in command and "--template=workbook" in command
    assert not any("preheat" in c for c in dashboard_server.voila_command(8866, serving=Dashboards(pool_size=0)))


def test_a_bad_serving_setting_names_the_file_and_key(framework_copy):
    settings = framework_copy / "settings.yaml"
    settings.write_text(settings.read_text().replace("max_viewers: 10", "max_viewers: 0"))
    with pytest.raises(FrameworkError, match=r"settings.yaml.*dashboards.*max_viewers"):
        load_framework(framework_copy)
    with pytest.raises(UserError, match="dashboards.pool_sizes names nowhere, not a pre-heated dashboard"):
        dashboard_server.voila_command(8866, serving=Dashboards(pool_sizes={"nowhere": 2}))


def test_a_bad_override_on_the_command_line_is_one_plain_line(sample_db, capsys):
    assert main(["dashboard", "--db", str(sample_db), "--max-viewers", "0"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: --max-viewers 0: input should be greater than or equal to 1") and "Traceback" not in err
    )


def test_host_warning_only_beyond_this_machine():
    assert dashboard_server.host_warning("127.0.0.1") is None
    warning = dashboard_server.host_warning("0.0.0.0")
    assert "0.0.0.0" in warning and "reverse proxy with authentication" in warning and "docs/dashboards.md" in warning


# --- a real server -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def network_db(planted_db, tmp_path_factory, fw) -> Path:
    """A network of two synthetic councils and the planted database's own return, sent as :data:`PLANTED`'s
    council (a name with markup in it)."""
    from helpers.surfaces.network_sample import write_network_sample

    folder = tmp_path_factory.mktemp("serving-network")
    made = write_network_sample(fw, folder / "returns", 2)
    ours = folder / "ours.zip"
    assert main(["return", "--out", str(ours), "--db", str(planted_db), "--council", PLANTED.council]) == 0
    db = folder / "network.duckdb"
    assert main(["network", "import", *map(str, made), str(ours), "--db", str(db)]) == 0
    return db


@pytest.fixture(scope="module")
def server(planted_db, network_db, tmp_path_factory):
    """The dashboards of the planted database and its network, one kernel kept ready per dashboard, pools warm."""
    log = tmp_path_factory.mktemp("serving") / "voila.log"
    options = SMALL + ("--max-viewers", "20", "--closed-page-timeout", "2")  # the tests' pages never queue
    options += ("--network-db", str(network_db))
    with dashboard_server.background(planted_db, log=log, options=options) as running:
        running.settle(kernels=len(dashboard_server.preheated_dashboards()))
        yield SimpleNamespace(url=running.url, log=log, process=running)


def _context(browser, url: str):
    """A browser context of its own (a viewer of their own) that records every request to another host."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.elsewhere = []
    ours = urllib.parse.urlsplit(url).netloc
    context.on(
        "request",
        lambda r: (
            context.elsewhere.append(r.url)
            if urllib.parse.urlsplit(r.url).netloc not in (ours, "") and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    return context


def _open(context, url: str, notebook: str):
    page = context.new_page()
    page.set_default_timeout(90_000)
    response = page.goto(f"{url}/voila/render/{notebook}", wait_until="commit")
    if response.status == 200:
        page.wait_for_function(READY, polling=50)
    return page, response


def _kernel_id(page) -> str:
    return json.loads(page.inner_text("#jupyter-config-data"))["kernelId"]


def _kernel_alive(url: str, kernel_id: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/api/kernels/{kernel_id}", timeout=10).read()
        return True
    except urllib.error.HTTPError as e:
        assert e.code == 404, e.code
        return False


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.5)


@pytest.mark.browser
def test_no_request_leaves_the_machine(server, playwright_browser):
    context = _context(playwright_browser, server.url)
    try:
        page = context.new_page()
        page.goto(server.url + "/", wait_until="load")
        notebooks = sorted(p.name for p in paths.DASHBOARDS.glob("*.ipynb"))
        for notebook in notebooks:
            page, _ = _open(context, server.url, notebook)
            assert "cdn.jsdelivr.net" not in page.content()
            page.wait_for_load_state("load")
            page.close()
        assert context.elsewhere == []
    finally:
        context.close()


@pytest.mark.browser
def test_a_browser_cannot_run_code_in_a_dashboards_kernel(server, playwright_browser, tmp_path):
    """Voila passes only widget and kernel-information messages to a kernel: an execute_request is dropped."""
    marker = tmp_path / "ran"
    context = _context(playwright_browser, server.url)
    try:
        page, _ = _open(context, server.url, "project.ipynb")
        replies = page.evaluate(
            """async ([kernelId, marker]) => {
              const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels`);
              await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
              const seen = [];
              ws.onmessage = e => { if (typeof e.data === 'string') seen.push(JSON.parse(e.data)); };
              const send = (type, content) => ws.send(JSON.stringify({
                header: {msg_id: `${type}-probe`, username: 'probe', session: 'probe', msg_type: type,
                         version: '5.3', date: new Date().toISOString()},
                parent_header: {}, metadata: {}, content, channel: 'shell', buffers: []}));
              send('execute_request', {code: `open(${JSON.stringify(marker)}, 'w').write('ran')`, silent: false,
                                       store_history: false, user_expressions: {}, allow_stdin: false,
                                       stop_on_error: true});
              send('kernel_info_request', {});
              await new Promise(done => setTimeout(done, 4000));
              ws.close();
              return seen.map(m => [m.msg_type, (m.parent_header || {}).msg_id]);
            }""",
            [_kernel_id(page), str(marker)],
        )
        assert ["kernel_info_reply", "kernel_info_request-probe"] in replies  # the kernel answers what it may
        assert not [r for r in replies if r[1] == "execute_request-probe"]  # and never saw the code
        assert not marker.exists()
        assert 'Received message of type "execute_request", which is not allowed' in server.log.read_text()
    finally:
        context.close()


def _get(url: str, path: str) -> tuple[int, str]:
    """GET ``path`` exactly as written (no normalising of ``..`` or percent-escapes), following redirects."""
    parts = urllib.parse.urlsplit(url)
    for _ in range(5):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        connection.close()
        if response.status in (301, 302, 303, 307, 308):
            path = urllib.parse.urljoin(path, response.getheader("Location"))
            continue
        return response.status, body
    raise AssertionError(f"{path}: too many redirects")


@pytest.mark.slow
def test_no_file_outside_the_dashboards_folder_through_the_servers_urls(server):
    secrets = {
        "the repository's README": (paths.ROOT / "README.md").read_text().splitlines()[0],
        "the settings": "minimum_base:",
        "a project notebook": json.loads((paths.project_notebook("working-xtra")).read_text())["cells"][0]["source"][0],
        "the system's accounts": "root:x:0:",
        "a dashboard's code": "helpers.surfaces.dashboards.ProjectDashboard()",
    }
    up = ["../../README.md", "..%2f..%2fREADME.md", "%2e%2e/%2e%2e/README.md", "%2e%2e%2f%2e%2e%2fREADME.md",
          "..%252f..%252fREADME.md", "../working_xtra.ipynb", "%2e%2e%2fworking_xtra.ipynb",
          "../../data/framework/settings.yaml", "%2e%2e%2f%2e%2e%2fdata%2fframework%2fsettings.yaml",
          "/etc/passwd", "%2fetc%2fpasswd", "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "project.ipynb"]  # fmt: skip
    probes = [f"/voila/{route}/{target}" for route in ("render", "files", "tree", "api/contents") for target in up]
    probes += [
        f"/{route}/{target}" for route in ("files", "tree", "api/contents", "notebooks", "edit") for target in up
    ]
    probes += ["/tree", "/lab", "/api/contents", "/api/sessions", "/api/kernels", "/api/contents/?content=1",
               "/voila/api/contents/?content=1", "/voila/api/contents/..?content=1", "/voila/tree/..",
               "/voila/static/..%2f..%2f..%2f..%2fREADME.md", "/voila/templates/lab/static/..%2f..%2f..%2fREADME.md",
               "/voila/templates/..%2f..%2f..%2f..%2fetc/passwd", "/voila/labextensions/..%2f..%2f..%2fREADME.md",
               "//etc/passwd", "/voila/render//etc/passwd", "/voila/files//etc/passwd"]  # fmt: skip
    leaks = []
    for probe in probes:
        status, body = _get(server.url, probe)
        found = [what for what, text in secrets.items() if text in body]
        if found or (status == 200 and "api/contents" in probe and '"content": null' not in body):
            leaks.append(f"{probe} -> {status}: {', '.join(found) or body[:80]}")
    assert leaks == []
    # the listing of the dashboards folder itself is fine, and lists only notebooks
    status, body = _get(server.url, "/voila/api/contents/")
    names = {item["name"] for item in json.loads(body)["content"]}
    assert status == 200 and names == {p.name for p in paths.DASHBOARDS.glob("*.ipynb")}


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of every script element."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self.text, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)

    def handle_endtag(self, tag):
        self._in_script = False


def _planted_markup(page_html: str) -> list[str]:
    """Elements or attributes the planted text would have made had it been written as HTML."""
    parser = _Elements()
    parser.feed(page_html)
    made = [f"<{tag} src=x>" for tag, attrs in parser.tags if attrs.get("src") == "x"]
    made += [f"<{tag} on...>" for tag, attrs in parser.tags if any(a.startswith("on") for a in attrs)]
    return made + [s[:60] for s in parser.scripts if "pwned" in s]


def test_imported_text_is_text_in_every_report_section(planted_db, fw):
    report = Report(planted_db, "working-xtra", "oakfield", "6m", fw, outcome="people-involvement")
    shown = ""
    for name in load_all():
        if applies(fw, "working-xtra", name):
            shown += getattr(report, name)()._repr_html_()
    assert _planted_markup(shown) == []
    parser = _Elements()
    parser.feed(shown)
    text = "\n".join(parser.text)  # what a reader reads: the planted words, as words
    assert PLANTED.area in text and PLANTED.story_title in text and PLANTED.story_text in text
    assert PLANTED.channel in text


@pytest.mark.browser
def test_imported_text_is_text_on_the_dashboard(server, playwright_browser):
    context = _context(playwright_browser, server.url)
    try:
        page, _ = _open(context, server.url, "project.ipynb")
        for label, option in (
            ("Project", "Working Xtra"),
            ("Neighbourhood", f"{PLANTED.area} (pilot)"),
            ("Survey wave", "6 months"),
            ("Outcome", "Co-operative people: Involvement and helping others"),
        ):
            before = page.evaluate("() => document.querySelector('.wb-body .wb-view')?.dataset.selection ?? null")
            page.get_by_label(label, exact=True).select_option(label=option)
            page.wait_for_function(
                "b => document.querySelector('.wb-body .wb-view')?.dataset.selection !== b", arg=before
            )
        page.wait_for_timeout(500)  # an onerror handler would have run by now
        shown = page.inner_text(".wb-body")
        assert PLANTED.area in shown and PLANTED.story_title in shown and PLANTED.story_text in shown
        assert PLANTED.channel in shown  # the sentiment section's channel table
        assert page.evaluate("() => window.pwned") is None
        assert _planted_markup(page.content()) == []
        page, _ = _open(context, server.url, "network.ipynb")
        choose(page, "This council", PLANTED.council)
        page.wait_for_timeout(500)  # an onerror handler would have run by now
        shown = page.inner_text(".wb-body")
        assert PLANTED.council in shown  # the councils' table and this council's self-evaluation column
        assert page.evaluate("() => window.pwned") is None
        assert _planted_markup(page.content()) == []
    finally:
        context.close()


# --- keyboard and reading ------------------------------------------------------------------------------------------

_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  let bg = 'rgba(0, 0, 0, 0)', node = el.parentElement;
  while (node && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) {
    bg = getComputedStyle(node).backgroundColor;
    node = node.parentElement;
  }
  if (/rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) bg = 'rgb(255, 255, 255)';
  return {what: `${el.tagName.toLowerCase()} ${el.getAttribute('aria-label') || el.textContent.trim().slice(0, 30)}`,
          style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, behind: bg};
}"""


def _luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_against_known_pairs():
    assert _contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert _contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)") == pytest.approx(4.48, abs=0.01)  # WCAG's example


@pytest.mark.browser
@pytest.mark.parametrize("notebook", ["project.ipynb", "ripple.ipynb", "self_evaluation.ipynb"])
def test_every_control_shows_where_the_keyboard_is(server, playwright_browser, notebook):
    """Tab through the whole page: every control that takes focus draws a solid outline at least 2 px wide with
    at least 3:1 contrast against what is behind it (WCAG 2.2 AA focus appearance)."""
    context = _context(playwright_browser, server.url)
    try:
        page, _ = _open(context, server.url, notebook)
        page.locator("body").focus()
        seen, weak = [], []
        for _ in range(150):
            page.keyboard.press("Tab")
            focus = page.evaluate(_FOCUS)
            if focus is None or (seen and focus["what"] == seen[0]):
                break
            seen.append(focus["what"])
            contrast = _contrast(focus["color"], focus["behind"])
            if focus["style"] != "solid" or focus["width"] < 2 or contrast < 3:
                weak.append(f"{focus['what']}: {focus['style']} {focus['width']} px, {contrast:.1f}:1")
        assert len(seen) >= 3 and any(w.startswith("select") for w in seen)
        assert weak == []
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("notebook", ["project.ipynb", "ripple.ipynb", "self_evaluation.ipynb"])
def test_text_is_at_least_14_px(server, playwright_browser, notebook):
    context = _context(playwright_browser, server.url)
    try:
        page, _ = _open(context, server.url, notebook)
        small = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
              .filter(e => e.offsetParent !== null
                           && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
              .map(e => [parseFloat(getComputedStyle(e).fontSize), e.textContent.trim().slice(0, 40)])
              .filter(([size]) => size < 14)"""
        )
        assert small == []
    finally:
        context.close()


# --- a committee: the limit, the busy page, kernels freed ---------------------------------------------------------


def running_log(folder: Path) -> str:
    return (folder / "voila.log").read_text()


@pytest.mark.browser
def test_busy_beyond_the_limit_and_kernels_freed_when_pages_go(planted_db, playwright_browser, tmp_path, fw):
    """Two viewers at most; a third is asked to try again; a closed page frees its kernel within seconds, an open
    page left idle is culled, and the pools' kernels are never culled. Of two viewers opening a dashboard whose
    pool has one kernel ready, the second does not wait for the pool's refill."""
    options = SMALL + ("--max-viewers", "2", "--closed-page-timeout", "1")
    options += ("--cull-idle-timeout", "30", "--cull-interval", "1")
    with dashboard_server.background(planted_db, log=tmp_path / "voila.log", options=options) as running:
        pooled = len(dashboard_server.preheated_dashboards())  # one kernel kept ready per dashboard
        running.settle(kernels=pooled)
        url = running.url
        first, second, third = (_context(playwright_browser, url) for _ in range(3))
        a, b = first.new_page(), second.new_page()
        for page in (a, b):  # two people open the project dashboard at the same moment
            page.evaluate("url => setTimeout(() => { location.href = url; }, 0)", f"{url}/voila/render/project.ipynb")
        for page in (a, b):
            page.wait_for_function(READY, polling=50, timeout=120_000)
        # one got the kernel kept ready; the other a kernel of its own at once, not the refill (10 s away)
        assert running_log(tmp_path).count("Using pre-heated kernel") == 1
        c, busy = _open(third, url, "project.ipynb")
        assert busy.status == 503 and busy.headers["retry-after"] == "60"
        assert "busy" in c.title() and "Please try again in a minute." in c.inner_text("body")
        assert forbidden(visible_text(c.content()), fw) == []  # plain words: no command, path or option
        kernel_a, kernel_b = _kernel_id(a), _kernel_id(b)

        first.close()  # a viewer closes the page: its kernel stops about a second later
        _wait(lambda: not _kernel_alive(url, kernel_a), 15, "the closed page's kernel stopped")
        assert _kernel_alive(url, kernel_b)
        c.get_by_role("link", name="Try again").click()  # the place is free again
        c.wait_for_function(READY, polling=50)
        kernel_c = _kernel_id(c)

        # b and c stay open but idle: culled after 30 s without activity (cull_connected)
        _wait(lambda: not _kernel_alive(url, kernel_b) and not _kernel_alive(url, kernel_c), 90, "idle pages culled")
        b.wait_for_selector(".wb-stopped[role=alert]", timeout=40_000)  # the page says so, and offers a reload
        assert "This page has stopped" in b.inner_text(".wb-stopped")
        assert b.get_by_role("button", name="Reload the page").is_visible()
        running.settle(kernels=pooled)  # the pools are full again and none of their kernels was culled
        assert third.elsewhere == [] and second.elsewhere == []
        second.close()
        third.close()


@pytest.mark.slow
def test_binds_this_machine_only_unless_told(planted_db, tmp_path):
    """127.0.0.1 by default (not even another loopback address reaches it); --host binds elsewhere, with a warning."""
    with dashboard_server.background(planted_db, log=tmp_path / "a.log", options=("--pool-size", "0")) as running:
        port = urllib.parse.urlsplit(running.url).port
        with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=5):
            pass
    log = tmp_path / "b.log"
    with dashboard_server.background(planted_db, log=log, options=("--pool-size", "0"), host="127.0.0.2") as running:
        assert running.url.startswith("http://127.0.0.2:")
        assert urllib.request.urlopen(running.url + "/", timeout=10).status == 200
    said = log.read_text()
    assert "warning: listening on 127.0.0.2, not only on 127.0.0.1" in said and "reverse proxy" in said


@pytest.mark.browser
def test_the_busy_page_is_plain_and_accessible(playwright_browser, serious_violations, fw):
    from helpers.surfaces.dashboard_app import BUSY_PAGE

    page = playwright_browser.new_page()
    try:
        page.set_content(BUSY_PAGE)
        assert serious_violations(page) == []
        assert forbidden(visible_text(BUSY_PAGE), fw) == []
        page.keyboard.press("Tab")
        focus = page.evaluate(_FOCUS)
        assert focus["what"].startswith("a Try again") and focus["style"] == "solid" and focus["width"] >= 2
        assert _contrast(focus["color"], focus["behind"]) >= 3
        assert page.evaluate("() => getComputedStyle(document.body).fontSize") == "18px"
    finally:
        page.close()
