"""Export a notebook's written answers to a PDF with otter's exporter, for questions graded by hand.

Otter's PDF-via-HTML exporter (nbconvert's WebPDF) prints the notebook with a headless Chromium
through Playwright. Playwright would look for a browser build of its own; this script points it at
the system's Chromium instead (Debian's ``chromium``, or the ``CHROMIUM`` environment variable), so
nothing is downloaded. Without a system Chromium it falls back to Playwright's own browser, as on a
laptop after ``playwright install chromium``.

By default the PDF is filtered, as otter's ``grader.export()`` filters it: only the questions graded
by hand (the cells between otter's ``<!-- BEGIN QUESTION -->`` and ``<!-- END QUESTION -->``
markers), each on a page of its own, which is what a Gradescope PDF assignment expects.

Usage: python assignments/export_pdf.py NOTEBOOK.ipynb [--out NOTEBOOK.pdf] [--all]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def system_chromium() -> str | None:
    """The system's Chromium: ``$CHROMIUM``, or the first of ``BROWSERS`` on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next(filter(None, map(shutil.which, BROWSERS)), None)


_PATCH_LOCK = threading.Lock()


def default_playwright_browser(executable: str) -> None:
    """Make every Playwright Chromium launch in this process use ``executable`` unless told otherwise.

    nbconvert launches the browser itself and has no option for its path, so the default of
    Playwright's public ``executable_path`` argument is set, once per process (threads included).
    """
    from playwright.async_api import BrowserType

    with _PATCH_LOCK:
        if getattr(BrowserType.launch, "default_executable", None) == executable:
            return
        launch = BrowserType.launch

        async def launch_system_browser(self, **kwargs):
            kwargs.setdefault("executable_path", executable)
            return await launch(self, **kwargs)

        launch_system_browser.default_executable = executable
        BrowserType.launch = launch_system_browser


def export_pdf(notebook: Path, pdf: Path, *, filtering: bool = True) -> Path:
    """Write ``pdf`` from ``notebook`` with otter's HTML exporter; return its path."""
    from otter.export import export_notebook

    pdf.parent.mkdir(parents=True, exist_ok=True)
    browser = system_chromium()
    if browser is not None:
        default_playwright_browser(browser)
    export_notebook(
        str(notebook), dest=str(pdf), exporter_type="html", filtering=filtering, pagebreaks=filtering
    )
    return pdf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, help="the PDF to write (default: next to the notebook)")
    parser.add_argument("--all", action="store_true", help="the whole notebook, not only the written answers")
    args = parser.parse_args()
    pdf = export_pdf(args.notebook, args.out or args.notebook.with_suffix(".pdf"), filtering=not args.all)
    print(f"wrote {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
