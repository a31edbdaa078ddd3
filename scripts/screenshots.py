"""Full-page screenshots of built pages in headless Chromium, to read the site as a reader does.

    python scripts/screenshots.py _build/html _build/screenshots book/03_control_variates.html ...

Each page is shot at a 1400 x 900 desktop window and a 390 x 844 phone window; the PNGs are named
after the page and the window (``03_control_variates-desktop.png``).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

WINDOWS = {"desktop": (1400, 900), "phone": (390, 844)}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("pages", nargs="+")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(args.site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        for page_path in args.pages:
            for window, (width, height) in WINDOWS.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(base + page_path, wait_until="networkidle")
                name = Path(page_path).stem
                page.screenshot(path=str(args.out / f"{name}-{window}.png"), full_page=True)
                page.close()
        browser.close()
    httpd.shutdown()


if __name__ == "__main__":
    main()
