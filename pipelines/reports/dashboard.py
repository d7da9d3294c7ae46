"""The built-in dashboard: one self-contained HTML file (data, script and styles inlined; no network).

It reads the marts only (already de-identified and suppressed), from the warehouse (`marts.*`) or from a
published snapshot (the catalog of `marts.duckdb` is also called `marts`, so the same queries work).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2

from pipelines.marts.build import MartInputError
from pipelines.marts.suppression import SMALL_MAX, SUPPRESSED_LABEL
from pipelines.reports.version_diff import read_version_diff
from pipelines.warehouse import atomic_write_text, connect

TEMPLATES = Path(__file__).parent / "templates"
DASHBOARD_FILE = "dashboard.html"


def dashboard_data(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything the page shows, as plain JSON-able values (suppressed counts are None)."""
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
    attrition = _rows(con, "select step_number, step, patients from marts.attrition order by step_number")
    prevalence = _rows(
        con,
        "select flag, flag_label, flag_group, breakdown, group_value, patients_with_flag, patients_in_group "
        "from marts.flag_prevalence order by flag_order, breakdown, group_value",
    )
    overall = {r["flag"]: r for r in prevalence if r["breakdown"] == "overall"}
    any_primary = overall.get("any_primary_risk", {})
    return {
        "meta": meta[0] if meta else {},
        "headline": {
            "patients_in_staging": attrition[0]["patients"] if attrition else None,
            "cohort_patients": any_primary.get("patients_in_group"),
            "any_primary_risk": any_primary.get("patients_with_flag"),
        },
        "cohort_monthly": _rows(
            con, "select month, new_cramp_patients, cohort_size from marts.cohort_monthly order by month"
        ),
        "prevalence": prevalence,
        "overlap": _rows(
            con,
            "select combination, primary_flags_set, patients from marts.risk_factor_overlap "
            "order by primary_flags_set, combination",
        ),
        "care_gaps": _rows(con, "select gap, patients from marts.care_gap_totals order by gap"),
        "care_gaps_monthly": _rows(con, "select gap, month, patients from marts.care_gaps_monthly order by gap, month"),
        "attrition": attrition,
        "dq": _rows(
            con,
            "select source_batch_id, rows_read, rows_loaded, rows_quarantined, rows_superseded, rows_held, "
            "checks_run, checks_failed from marts.dq_batch_summary order by source_batch_id",
        ),
        "version_diff": read_version_diff(con),
        "suppressed_label": SUPPRESSED_LABEL,
        "small_max": SMALL_MAX,
    }


def render_dashboard(data: dict, generated_at: datetime | None = None) -> str:
    """The HTML text of the dashboard for `data` (see `dashboard_data`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["count"] = _display_count
    # `</` inside inlined JSON would end the <script> element early.
    payload = json.dumps(data, default=str, sort_keys=True).replace("</", "<\\/")
    return env.get_template("dashboard.html.j2").render(
        data=data,
        payload=payload,
        script=(TEMPLATES / "dashboard.js").read_text(),
        styles=(TEMPLATES / "dashboard.css").read_text(),
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


def _display_count(value: int | None) -> str:
    return SUPPRESSED_LABEL if value is None else f"{value:,}"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    return con.sql(sql).pl().to_dicts()
