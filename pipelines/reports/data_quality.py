"""`data_quality.html`: one self-contained page (inline CSS, no scripts, no network) for the data steward."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2

from pipelines.reports.data_quality_data import collect
from pipelines.warehouse import atomic_write_text

REPORT_NAME = "data_quality.html"
TEMPLATE = Path(__file__).with_name("templates") / "data_quality.html.j2"


def write_data_quality_report(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Writes `<out_dir>/data_quality.html` from the warehouse and returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = collect(con)
    data["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["gx_link"] = "gx/index.html" if (out_dir / "gx" / "index.html").exists() else None
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return atomic_write_text(out_dir / REPORT_NAME, env.from_string(TEMPLATE.read_text()).render(**data))
