"""Sphinx fixes for the book's build, loaded through ``sphinx.local_extensions`` in _config.yml.

Under Jupyter Book 1.0.4, the inline scripts of sphinx-thebe and sphinx-togglebutton reach each
page twice (once registered with filename ``None``, once with ``""``), so every page declared
``const THEBE_JS_URL`` twice and the browser logged a SyntaxError. Dropping repeated scripts from
each page's context removes it.
"""

from typing import Any


def _drop_repeated_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    seen = set()
    unique = []
    for script in context.get("script_files", []):
        # The same inline script arrives once with filename None and once with "".
        identity = (
            getattr(script, "filename", str(script)) or "",
            tuple(sorted(getattr(script, "attributes", {}).items())),
        )
        if identity not in seen:
            seen.add(identity)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Any) -> dict:
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
