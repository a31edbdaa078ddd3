"""The built site in a real browser: Debian's headless Chromium, driven by Playwright.

Run after the book is built (``make build``); the site is served from ``_build/html`` (or
``$SITE_DIR``) on 127.0.0.1. Every page is opened and checked for console errors, rendered math,
loaded images with alt text and internal links that resolve; the search page must find a chapter.
Every page is also read as a reader sees it: on a 1400 x 900 window no code cell, output or
display equation is wider than its box (nothing hidden off the right edge), no figure is shrunk
below half its natural width (figures are drawn at 2x), and on a 390 x 844 phone window the page
itself never scrolls sideways.
"""

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
SLACK_PX = 2
PAGES = (
    sorted(
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if not SKIP_DIRS & set(p.relative_to(SITE).parts)
    )
    if SITE.exists()
    else []
)

# Boxes that must show all of their content on a desktop window: code, outputs, display math.
WIDE_BOXES_JS = """(slack) => {
  const root = document.querySelector('main') || document.body;
  const selector = 'div.cell_input pre, div.cell_output pre, div.cell_output table, '
    + 'div.highlight pre, div.math, mjx-container[display="true"]';
  return Array.from(root.querySelectorAll(selector))
    .filter(el => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + slack)
    .map(el => `${el.tagName.toLowerCase()} ${el.scrollWidth}px in ${el.clientWidth}px: `
      + (el.textContent || '').trim().slice(0, 60).replace(/\\s+/g, ' '));
}"""

# A 2x figure may be halved by the column, not shrunk further (its labels would fall below 9 pt).
SHRUNK_FIGURES_JS = """() => Array.from(document.querySelectorAll('main img'))
  .filter(i => i.src.includes('/_images/') && i.getBoundingClientRect().width > 0)
  .filter(i => i.getBoundingClientRect().width < i.naturalWidth / 2 - 1)
  .map(i => `${i.src.split('/').pop()}: ${Math.round(i.getBoundingClientRect().width)}px of ${i.naturalWidth}px`)
"""

# Visible text must not contain TeX delimiters: MathJax replaces them when it typesets.
RAW_MATH_JS = """() => {
  const root = document.querySelector('main') || document.body;
  const skip = 'pre, code, .highlight, script, style, mjx-container, .cell_output';
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const bad = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const t = n.textContent;
    if (t.includes('$$') || t.includes('\\\\(') || t.includes('\\\\[')) bad.push(t.slice(0, 80));
  }
  return bad;
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `make build` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url):
    page = browser.new_page(viewport=DESKTOP)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed request {r.url}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, errors


def test_site_has_the_expected_pages():
    for page in (
        "index.html",
        "book/intro.html",
        "book/01_monte_carlo.html",
        "book/references.html",
        "book/api.html",
        "search.html",
    ):
        assert page in PAGES, f"{page} missing from the built site"


@pytest.mark.parametrize("path", PAGES)
def test_page(browser, server, path):
    page, errors = open_page(browser, urljoin(server, path))
    try:
        if page.evaluate("() => document.querySelector('.math') !== null"):
            page.wait_for_function(
                "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.document",
                timeout=15_000,
            )
            page.evaluate("() => MathJax.startup.promise")
            assert page.locator("mjx-container").count() > 0, "math on the page but MathJax rendered none"
            assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
        assert page.evaluate(RAW_MATH_JS) == [], "raw TeX delimiters visible"

        images = page.evaluate("""() => Array.from(document.images).map(
            i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, alt: i.alt}))""")
        for image in images:
            assert image["ok"], f"image did not load: {image['src']}"
            if "/_images/" in image["src"]:
                assert image["alt"].strip(), f"figure without alt text: {image['src']}"

        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        for href in hrefs:
            target = urlparse(href)
            if target.scheme in ("http", "https") and target.netloc == urlparse(server).netloc:
                file = SITE / unquote(target.path).lstrip("/")
                if file.is_dir():
                    file = file / "index.html"
                assert file.exists(), f"broken internal link {href}"

        assert page.evaluate(WIDE_BOXES_JS, SLACK_PX) == [], "content hidden off the right edge"
        assert page.evaluate(SHRUNK_FIGURES_JS) == [], "figures shrunk below half their width"
        page.set_viewport_size(PHONE)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + SLACK_PX, f"the page scrolls sideways on a phone ({width}px)"
        assert errors == [], f"console errors: {errors}"
    finally:
        page.close()


def test_search_finds_a_chapter(browser, server):
    page, errors = open_page(browser, urljoin(server, "search.html?q=Bernoulli"))
    try:
        page.wait_for_selector("#search-results ul.search li", timeout=15_000)
        links = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
        assert any("01_monte_carlo" in link for link in links), links
        assert errors == [], f"console errors: {errors}"
    finally:
        page.close()
