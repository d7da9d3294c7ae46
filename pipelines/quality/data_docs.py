"""GX Data Docs pages: the latest validation of each table rendered by GX's own renderers.

A full Data Docs site needs a file-mode GX project and stores; the pages are the part a steward reads, so we
render them directly (one `<table>.html` per table, overwritten by each run) plus a small index.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def write_validation_page(gx_result: Any, out_dir: Path, table: str) -> Path:
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    out_dir.mkdir(parents=True, exist_ok=True)
    page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(gx_result))
    path = out_dir / f"{table}.html"
    path.write_text(page)
    _write_index(out_dir)
    return path


def _write_index(out_dir: Path) -> None:
    links = "\n".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>'
        for p in sorted(out_dir.glob("*.html"))
        if p.name != "index.html"
    )
    (out_dir / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Great Expectations Data Docs</title></head>"
        "<body><h1>Great Expectations validation results (latest run per table)</h1>"
        f"<ul>{links}</ul></body></html>\n"
    )
