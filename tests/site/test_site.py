"""The built website, as a reader's browser meets it (``make test-site``).

``make test-site`` builds the book in the smoke profile into ``_build/site-smoke``, then runs
these tests with ``NNLAB_SITE_DIR`` pointing at its HTML. Without that variable (``make
test``, a bare ``pytest``) the module is skipped. Every page is served on 127.0.0.1 by
Python's ``http.server`` and loaded once in headless Chromium (Debian's ``/usr/bin/chromium``,
driven by Playwright; no browser is ever downloaded). Requests to any other host are
recorded and aborted, so a page that needs a CDN to draw shows up here, offline or not.

A page fails when it logs a console error or throws, when a request for a local file fails
or answers >= 400, when an image does not load, when a link to a local page or file (or an
anchor in it) leads nowhere, when it asks an external host for anything, when its math is
left untypeset, or when it shows a widget the static site cannot draw ("Loading widget…").
A lab page also fails without the figures its executed notebook holds (at least one), or
without its download links (.ipynb and .py). In a desktop and a phone-sized window, the first lab
must show one search field, which opens the search, and a menu button that shows and hides the
list of pages. Screenshots of the landing page and the first lab go to ``NNLAB_SCREENSHOT_DIR``
(default: beside the HTML folder).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

if not os.environ.get("NNLAB_SITE_DIR"):
    pytest.skip("browser tests of the built site: run `make test-site` (it sets NNLAB_SITE_DIR)",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (only needed when the site is tested)

SITE = Path(os.environ["NNLAB_SITE_DIR"]).resolve()
if not (SITE / "index.html").is_file():
    pytest.fail(f"NNLAB_SITE_DIR={SITE} holds no index.html: build the site first", pytrace=False)
SCREENSHOTS = Path(os.environ.get("NNLAB_SCREENSHOT_DIR") or SITE.parent / "screenshots")
EXECUTED = SITE.parent / "jupyter_execute"  # the executed notebooks, beside the HTML
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

NOT_PAGES = {"_static", "_sources", "_images", "_notebooks", "_downloads"}
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
               if p.relative_to(SITE).parts[0] not in NOT_PAGES)
LAB_PAGES = [p for p in PAGES if p.startswith("labs/")]
REFRESH = re.compile(r'<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', re.IGNORECASE)

COLLECT = """() => {
  const imgs = Array.from(document.images).map(i => ({
      src: i.getAttribute('src'), url: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => ({
      raw: a.getAttribute('href'), url: a.href}));
  return {
    imgs, links,
    outputImages: document.querySelectorAll('.cell_output img').length,
    downloads: Array.from(document.querySelectorAll('.nnlab-downloads a[href]')).map(a => a.getAttribute('href')),
    loadingWidget: /Loading widget/i.test(document.body.textContent),
    widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
    math: document.querySelectorAll('.math').length,
    untypeset: Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container'))
                    .map(e => e.textContent.slice(0, 60)),
    title: document.title,
  };
}"""


@dataclass
class PageReport:
    """What one page did while it loaded in Chromium."""

    name: str
    console_errors: list[str] = field(default_factory=list)
    failed_local: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    dom: dict = field(default_factory=dict)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no access log in the test output
        pass


@pytest.fixture(scope="session")
def server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: a free port
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's chromium package", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base + "/") or url == base


@pytest.fixture(scope="session")
def visit(context, server):
    """``visit(name) -> PageReport``: load a page once, wait for its math, record everything."""
    reports: dict[str, PageReport] = {}

    def load(name: str) -> PageReport:
        if name in reports:
            return reports[name]
        report = PageReport(name)
        page = context.new_page()

        def route(r):
            url = r.request.url
            if _is_local(url, server) or url.startswith(("data:", "blob:")):
                r.continue_()
            else:  # another host: record it, and let the page do without (as offline)
                report.external.append(f"{r.request.resource_type}: {url}")
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and report.console_errors.append(
            f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))
        page.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: _is_local(r.url, server) and report.failed_local.append(
            f"{r.url}: {r.failure}"))
        page.on("response", lambda r: _is_local(r.url, server) and r.status >= 400 and report.failed_local.append(
            f"{r.url}: HTTP {r.status}"))
        url = f"{server}/{name}"
        redirect = REFRESH.search((SITE / name).read_text(encoding="utf-8", errors="replace"))
        page.goto(url, wait_until="load")
        if redirect:  # index.html sends the reader on to the first page: follow it, check both
            page.wait_for_url(urljoin(url, redirect.group(1)))
        page.evaluate("""async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
        }""")
        page.wait_for_load_state("networkidle")
        report.dom = page.evaluate(COLLECT)
        if redirect:
            report.dom["links"].append({"raw": redirect.group(1), "url": urljoin(url, redirect.group(1))})
        page.close()
        reports[name] = report
        return report

    yield load
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    summary = {name: {"console_errors": r.console_errors, "failed_local": r.failed_local, "external": r.external,
                      "images": len(r.dom.get("imgs", [])), "output_images": r.dom.get("outputImages"),
                      "links": len(r.dom.get("links", [])), "math": r.dom.get("math")}
               for name, r in sorted(reports.items())}
    (SCREENSHOTS / "site-report.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


def _fmt(problems: list[str], limit: int = 15) -> str:
    more = f"\n  … and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n  " + "\n  ".join(problems[:limit]) + more


# --- every page ----------------------------------------------------------------------------


def test_site_has_a_landing_page_and_labs():
    assert "index.html" in PAGES
    assert LAB_PAGES, f"no lab page under {SITE / 'labs'}"


@pytest.mark.parametrize("name", PAGES)
def test_no_console_errors(visit, name):
    errors = visit(name).console_errors
    assert not errors, f"{name} logged console errors:{_fmt(errors)}"


@pytest.mark.parametrize("name", PAGES)
def test_local_requests_succeed(visit, name):
    failed = visit(name).failed_local
    assert not failed, f"{name}: local requests failed:{_fmt(failed)}"


@pytest.mark.parametrize("name", PAGES)
def test_needs_no_external_host(visit, name):
    external = visit(name).external
    assert not external, (f"{name} asked other hosts for these (aborted here, as offline; ship them in "
                          f"_static instead):{_fmt(external)}")


@pytest.mark.parametrize("name", PAGES)
def test_images_load(visit, name):
    broken = [f"{i['src']} ({i['url']})" for i in visit(name).dom["imgs"] if not i["ok"]]
    assert not broken, f"{name}: images that did not load (naturalWidth 0):{_fmt(broken)}"


_IDS: dict[Path, set[str]] = {}


def _ids(path: Path) -> set[str]:
    if path not in _IDS:
        _IDS[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))
    return _IDS[path]


@pytest.mark.parametrize("name", PAGES)
def test_internal_links_resolve(visit, server, name):
    broken = []
    for link in visit(name).dom["links"]:
        url = link["url"]
        if not _is_local(url, server):
            continue  # external sites, mailto: … are not ours to check offline
        parts = urlsplit(url)
        path = unquote(parts.path)
        target = SITE / path.lstrip("/")
        if path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link['raw']} -> {target.relative_to(SITE) if SITE in target.parents else target} missing")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target):
            broken.append(f"{link['raw']} -> no id #{parts.fragment} in {target.relative_to(SITE)}")
    assert not broken, f"{name}: broken internal links:{_fmt(broken)}"


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset(visit, name):
    dom = visit(name).dom
    assert not dom["untypeset"], f"{name}: math left as raw TeX (MathJax did not run):{_fmt(dom['untypeset'])}"


@pytest.mark.parametrize("name", PAGES)
def test_no_widget_placeholder(visit, name):
    dom = visit(name).dom
    assert not dom["loadingWidget"], f"{name} shows 'Loading widget…': a live widget reached the static site"
    assert not dom["widgetViews"], (f"{name} holds {dom['widgetViews']} widget view(s) that a static page cannot "
                                    "draw: build with NNLAB_STATIC=1 so explorers show a figure instead")


# --- lab pages -----------------------------------------------------------------------------


def _notebook_images(name: str) -> int | None:
    """Image outputs of the executed notebook behind a lab page (None if it is not there)."""
    path = EXECUTED / Path(name).with_suffix(".ipynb")
    if not path.is_file():
        return None
    count = 0
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"remove-output", "remove-cell"}:
            continue
        count += sum(any(k.startswith("image/") for k in out.get("data", {})) for out in cell.get("outputs", []))
    return count


@pytest.mark.parametrize("name", LAB_PAGES)
def test_lab_shows_its_figures(visit, name):
    shown = visit(name).dom["outputImages"]
    expected = _notebook_images(name)
    assert shown >= 1, f"{name} shows no figure from its executed cells"
    if expected is not None:
        assert shown >= expected, f"{name} shows {shown} output images, but its executed notebook made {expected}"


@pytest.mark.parametrize("name", LAB_PAGES)
def test_lab_offers_downloads(visit, name):
    downloads = visit(name).dom["downloads"]
    stem = Path(name).stem
    for suffix in (".ipynb", ".py"):
        hrefs = [h for h in downloads if h.endswith(f"{stem}{suffix}")]
        assert hrefs, f"{name} has no download link for {stem}{suffix} (got {downloads})"
        target = (SITE / name).parent / hrefs[0]
        assert target.resolve().is_file() and target.stat().st_size > 0, f"{name}: {hrefs[0]} is missing or empty"
    notebook = json.loads(((SITE / name).parent / f"../_notebooks/{stem}.ipynb").read_text(encoding="utf-8"))
    assert notebook["cells"], f"{stem}.ipynb has no cells"


def test_results_page_lists_results(visit):
    """The results page shows the headline numbers the labs recorded while the site was built."""
    # book/results is listed in _toc.yml: a site without its page is broken, not a reason to skip
    assert "book/results.html" in PAGES, "the site has no book/results.html, though _toc.yml lists book/results"
    visit("book/results.html")
    html = (SITE / "book/results.html").read_text(encoding="utf-8")
    assert "nnlab-results" in html and "No lab has recorded a result yet" not in html, (
        "the results page is empty: did the labs write their results where the build reads them "
        "(NNLAB_RESULTS, an absolute path)?")
    # the CPU probes of the full profile's recipes come from benchmarks/README.md by an include
    heading = re.search(r"<h2[^>]*>[^<]*tried on a CPU", html)
    probes = html[heading.end():] if heading else ""
    assert "<table" in probes and "clock reader" in probes, (
        "the results page lacks the table of CPU probes included from benchmarks/README.md "
        "(are its probes:start/probes:end markers still there?)")


# --- navigation ------------------------------------------------------------------------------

VISIBLE_SEARCH_FIELDS = """() => Array.from(document.querySelectorAll('.search-button__button'))
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; }).length"""


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 400, "height": 800}],
                         ids=["desktop", "phone"])
def test_navigation_controls_work(browser, server, viewport):
    """The lab page shows one search field, and its menu button hides and shows the list of pages on a
    desktop and opens it on a phone, where that list is the only way to reach the other labs. (With
    pydata-sphinx-theme 0.17 the button did nothing until ``navbar_persistent`` was set in _config.yml.)"""
    ctx = browser.new_context(viewport=viewport)
    try:
        page = ctx.new_page()
        page.route("**/*", lambda r: r.continue_() if _is_local(r.request.url, server) else r.abort())
        page.goto(f"{server}/{LAB_PAGES[0]}", wait_until="networkidle")
        assert page.evaluate(VISIBLE_SEARCH_FIELDS) == 1, "the page should show exactly one search field"
        page.locator(".search-button__button:visible").first.click()
        assert page.evaluate("() => document.querySelector('#pst-search-dialog').open"), "search did not open"
        page.keyboard.press("Escape")
        menu = page.locator("button.primary-toggle:visible")
        assert menu.count() == 1, f"expected one visible menu button, found {menu.count()}"
        # the link to the last lab, in the sidebar or (on a phone) in the dialog the menu opens
        link = f'a[href$="{Path(LAB_PAGES[-1]).name}"]'
        other_lab = page.locator(f"#pst-primary-sidebar {link}, #pst-primary-sidebar-modal {link}")
        shown = other_lab.locator("visible=true")
        phone = viewport["width"] < 960
        assert (shown.count() == 0) == phone, "the list of pages should start open on a desktop, closed on a phone"
        menu.click()
        if phone:
            shown.first.wait_for(state="visible", timeout=3_000)
        else:
            other_lab.first.wait_for(state="hidden", timeout=3_000)
            menu.click()   # and back
            shown.first.wait_for(state="visible", timeout=3_000)
    finally:
        ctx.close()


# --- screenshots ---------------------------------------------------------------------------


def _not_blank(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        low, high = image.convert("L").getextrema()
    return high - low > 50


def test_screenshots(context, server, visit):
    """The landing page, the first lab's top, and the first figure of that lab, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lab = LAB_PAGES[0]
    visit(lab)  # its load is checked above; here only the pictures
    page = context.new_page()
    shots = []
    for name, file in (("index.html", "landing.png"), (lab, "lab.png")):
        page.goto(f"{server}/{name}", wait_until="networkidle")
        page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        page.screenshot(path=SCREENSHOTS / file)
        shots.append(SCREENSHOTS / file)
    figure = page.locator(".cell_output img").first
    figure.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -120)")
    page.screenshot(path=SCREENSHOTS / "lab-figure.png")
    shots.append(SCREENSHOTS / "lab-figure.png")
    for name in LAB_PAGES:  # the first explorer's static figure, as the website shows it
        page.goto(f"{server}/{name}", wait_until="networkidle")
        note = page.locator(".nnlab-static-note").first
        if note.count():
            note.evaluate("e => e.scrollIntoView({block: 'end'})")  # the note sits under its figure
            page.evaluate("window.scrollBy(0, 60)")
            page.screenshot(path=SCREENSHOTS / "explorer.png")
            shots.append(SCREENSHOTS / "explorer.png")
            break
    page.close()
    for shot in shots:
        assert shot.stat().st_size > 5_000 and _not_blank(shot), f"{shot} looks blank"
