"""The built-in dashboard: one self-contained HTML file (charts as inline SVG, styles inlined; no script, no network).

It reads the marts only (already de-identified and suppressed), from the warehouse (`marts.*`) or from a
published snapshot (the catalog of `marts.duckdb` is also called `marts`, so the same queries work).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2

from pipelines.contract.flags import PRIMARY_FLAGS
from pipelines.marts.build import MartInputError
from pipelines.marts.suppression import SMALL_MAX, SUPPRESSED_LABEL
from pipelines.reports.charts import content_security_policy, count_text, figure_html
from pipelines.reports.dashboard_charts import dashboard_charts
from pipelines.reports.version_diff import read_version_diff
from pipelines.warehouse import atomic_write_text, connect

TEMPLATES = Path(__file__).parent / "templates"
DASHBOARD_FILE = "dashboard.html"


def dashboard_data(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything the page shows, as plain values read from the marts (suppressed counts are None)."""
    found = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'run_info' and (schema_name = 'marts' "
        "or database_name = 'marts')"
    ).fetchone()[0]
    if not found:
        raise MartInputError("no marts in this DuckDB file: run the pipeline (cramp-cohort run) first")
    meta = _rows(
        con,
        "select run_id, batch_id, phenotype_version, strftime(built_at, '%Y-%m-%d %H:%M:%S UTC') "
        "as built_at from marts.run_info",
    )
    attrition = _rows(
        con, "select step_number, step, patients, patients_suppressed from marts.attrition order by step_number"
    )
    prevalence = _rows(
        con,
        "select flag, flag_label, flag_group, breakdown, group_value, patients_with_flag, patients_in_group, "
        "patients_with_flag_suppressed, patients_in_group_suppressed "
        "from marts.flag_prevalence order by flag_order, breakdown, group_value",
    )
    overall = [r for r in prevalence if r["breakdown"] == "overall"]
    any_primary = next((r for r in overall if r["flag"] == "any_primary_risk"), {})
    periods = _rows(
        con,
        "select grain, period, first_month, last_month, new_cramp_patients, cohort_size, "
        "new_cramp_patients_suppressed, cohort_size_suppressed from marts.cohort_periods order by first_month",
    )
    months = con.execute(
        "select count_if(new_cramp_patients_suppressed), count(*) from marts.cohort_monthly"
    ).fetchone()
    return {
        "meta": meta[0] if meta else {},
        "headline": {
            "patients_in_staging": attrition[0]["patients"] if attrition else None,
            "cohort_patients": any_primary.get("patients_in_group"),
            "any_primary_risk": any_primary.get("patients_with_flag"),
        },
        "periods": periods,
        "grain": periods[0]["grain"] if periods else "month",
        "months": months if months and months[1] else None,
        "overall": overall,
        "breakdowns": [r for r in prevalence if r["flag"] == "any_primary_risk" and r["breakdown"] != "overall"],
        "overlap": _rows(
            con,
            "select combination, " + ", ".join(PRIMARY_FLAGS) + ", primary_flags_set, patients, patients_suppressed "
            "from marts.risk_factor_overlap order by primary_flags_set, combination",
        ),
        "care_gaps": _rows(con, "select gap, patients, patients_suppressed from marts.care_gap_totals order by gap"),
        "attrition": attrition,
        "dq": _rows(
            con,
            "select source_batch_id, rows_read, rows_loaded, rows_quarantined, rows_superseded, rows_held, "
            "checks_run, error_checks_failed, warn_checks_failed from marts.dq_batch_summary "
            "order by source_batch_id",
        ),
        "version_diff": read_version_diff(con),
        "suppressed_label": SUPPRESSED_LABEL,
        "small_max": SMALL_MAX,
    }


def render_dashboard(data: dict, generated_at: datetime | None = None) -> str:
    """The HTML text of the dashboard for `data` (see `dashboard_data`): no script, styles allowed by hash."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["count"] = count_text
    styles = (TEMPLATES / "dashboard.css").read_text()
    return env.get_template("dashboard.html.j2").render(
        data=data,
        figures=[figure_html(chart) for chart in dashboard_charts(data)],
        styles=styles,
        csp=content_security_policy(styles),
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def write_dashboard(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Writes `<out_dir>/dashboard.html` from the marts (atomically: an open browser never sees half a file)."""
    return atomic_write_text(Path(out_dir) / DASHBOARD_FILE, render_dashboard(dashboard_data(con)))


def rebuild_dashboard(db_path: Path, out_dir: Path) -> Path:
    """For `cramp-cohort report`: redraws the dashboard from the marts of a DuckDB file, opened read-only.

    `db_path` may be the warehouse or the published `marts.duckdb`; both hold the same `marts.*` tables.
    """
    with connect(db_path, read_only=True) as con:
        return write_dashboard(con, out_dir)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    return con.sql(sql).pl().to_dicts()
