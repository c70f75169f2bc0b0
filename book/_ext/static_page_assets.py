"""A Sphinx extension for this site: each page loads each script once, and no Thebe.

Jupyter Book 1.0 with sphinx-book-theme 1.x registers sphinx-thebe's and sphinx-togglebutton's
inline scripts twice, and Sphinx adds MathJax twice on some pages: the second
``const THEBE_JS_URL`` stops the page with "Identifier 'THEBE_JS_URL' has already been declared",
and a second MathJax fails with "Cannot set property Package". The pages are static (no kernel,
no launch buttons), so Thebe's scripts are dropped, and every other script is kept once, first
occurrence first.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

THEBE_MARKERS = ("THEBE_JS_URL", "sphinx-thebe.js", "thebe@")


def _key(script: Any) -> str:
    """The file a script loads, or the code of an inline one."""
    filename = getattr(script, "filename", script)  # Sphinx 7.4's _JavaScript, or a plain str in older Sphinx
    return str(filename or getattr(script, "attributes", {}).get("body", ""))


def drop_thebe_and_duplicates(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    seen: set[str] = set()
    kept = []
    for script in context.get("script_files", []):
        key = _key(script)
        if any(marker in key for marker in THEBE_MARKERS) or key in seen:
            continue
        seen.add(key)
        kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict[str, Any]:
    # Late (priority 900 > the default 500): after Sphinx's MathJax and the extensions have added theirs.
    app.connect("html-page-context", drop_thebe_and_duplicates, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
