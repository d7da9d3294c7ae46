"""GX Data Docs pages: the latest validation of each table rendered by GX's own renderers, made safe to open.

A full Data Docs site needs a file-mode GX project and stores; the pages are the part a steward reads, so we
render them directly (one `<table>.html` per table, overwritten by each run) plus a small index.

GX's pages are not published as GX writes them: they put input values into the HTML unescaped (a `<script>` or
`onerror=` in a delivered code or unit would run in the steward's browser) and load Bootstrap, jQuery and Vega from
CDNs. So before rendering, the sampled unexpected values are taken out of the results (they are raw input values,
patient ids among them: reports carry counts only), and the rendered page is rebuilt from an allow-list of plain
tags (`safe_html.py`) under a Content-Security-Policy that forbids scripts and every fetch.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import Any

from pipelines.reports.safe_html import safe_page, sanitize_body

INDEX = "index.html"
# Result keys of GX that hold values (or row ids) of the input rather than counts.
INPUT_VALUE_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_index_list",
    "partial_unexpected_counts",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_rows",
)
NOTE = (
    "<p class='note'>Rendered by Great Expectations and rebuilt by cramp-cohort for safe offline reading: no "
    "scripts, no styles or fonts from the web, and no sampled unexpected values (they are raw input values, "
    "identifiers among them). Counts and percentages are complete; rows that failed a blocking check are in "
    "<code>quarantine.rows</code> of the warehouse.</p>"
)
STYLES = (
    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}"
    ".note{background:#f4f4f4;padding:.6em;border-left:4px solid #888}.badge{background:#eee;padding:0 4px;"
    "border-radius:3px}.text-danger{color:#b00020}.text-success{color:#1b5e20}.fa-check-circle:before{content:'\u2713'}"
    ".fa-times:before{content:'\u2717'}"
)


def write_validation_page(gx_result: Any, out_dir: Path, table: str) -> Path:
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(without_input_values(gx_result)))
    title = f"Great Expectations validation: {table}"
    path = out_dir / f"{table}.html"
    path.write_text(safe_page(title, NOTE + sanitize_body(rendered), STYLES), encoding="utf-8")
    _write_index(out_dir)
    return path


def without_input_values(gx_result: Any) -> Any:
    """A copy of the suite result without the values of the input GX samples (the counts stay)."""
    redacted = copy.deepcopy(gx_result)
    for result in redacted.results:
        for key in INPUT_VALUE_KEYS:
            result.result.pop(key, None)
    return redacted


def _write_index(out_dir: Path) -> None:
    links = "\n".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>'
        for p in sorted(out_dir.glob("*.html"))
        if p.name != INDEX
    )
    body = "<h1>Great Expectations validation results (latest run per table)</h1>" + NOTE + f"<ul>{links}</ul>"
    (out_dir / INDEX).write_text(safe_page("Great Expectations Data Docs", body, STYLES), encoding="utf-8")
