"""`data_quality.html`: one self-contained page for the data steward (inline CSS and one small filter script, both
allowed by hash; charts as static SVG; no network)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2

from pipelines.reports.charts import content_security_policy, figure_html
from pipelines.reports.data_quality_data import SEVERITY_ORDER, STATUS_ORDER, collect
from pipelines.reports.dq_charts import check_trend
from pipelines.warehouse import atomic_write_text

REPORT_NAME = "data_quality.html"
TEMPLATES = Path(__file__).with_name("templates")


def write_data_quality_report(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Writes `<out_dir>/data_quality.html` from the warehouse and returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = collect(con)
    data["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    data["gx_link"] = "gx/index.html" if (out_dir / "gx" / "index.html").exists() else None
    data["collapse_passes"] = any(c["status"] != "pass" for c in data["checks"])
    data["filters"] = check_filters(data["checks"], data["collapse_passes"])
    data["trend_figure"] = figure_html(check_trend(data["check_trend"]))
    styles, script = (TEMPLATES / "data_quality.css").read_text(), (TEMPLATES / "dq_filter.js").read_text()
    data.update(styles=styles, script=script, csp=content_security_policy(styles, (script,)))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.from_string((TEMPLATES / "data_quality.html.j2").read_text()).render(**data)
    return atomic_write_text(out_dir / REPORT_NAME, page)


def check_filters(checks: list[dict], collapse_passes: bool) -> list[tuple[str, list[tuple[str, int, bool]]]]:
    """Per filter (status, severity, category, table): each value, how many checks have it, whether it is shown."""
    orders = {"status": STATUS_ORDER, "severity": SEVERITY_ORDER}
    keys = {"status": "status", "severity": "severity", "category": "category", "table": "table_name"}
    out = []
    for dim, key in keys.items():
        counts = Counter(c[key] for c in checks)
        order = orders.get(dim, {})
        values = sorted(counts, key=lambda v: (order.get(v, 9), v))
        out.append((dim, [(v, counts[v], not (collapse_passes and dim == "status" and v == "pass")) for v in values]))
    return out
