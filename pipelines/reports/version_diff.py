"""Reads the latest phenotype version change from `marts.version_diff_counts` for the dashboard and the
definition page (warehouse or published snapshot: both resolve `marts.<table>`)."""

from __future__ import annotations

import duckdb


def mart_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `marts.<table>` resolves: schema `marts` of the warehouse, or the published `marts` catalog."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where table_name = ? "
            "and (schema_name = 'marts' or database_name = 'marts')",
            [table],
        ).fetchone()[0]
    )


def read_version_diff(con: duckdb.DuckDBPyConnection) -> dict:
    """`state`: `unavailable` (marts older than the version diff), `first` (no version change yet) or `changed`;
    for `changed`, both versions, when and by which run the diff was written, and per flag that moved the
    patients who entered and left it (None = suppressed)."""
    if not mart_exists(con, "version_diff_counts"):
        return {"state": "unavailable", "flags": []}
    cursor = con.execute(
        "select flag, flag_label, change, patients, previous_version, current_version, diff_run_id, "
        "strftime(diffed_at, '%Y-%m-%d %H:%M:%S UTC') as diffed_at, input_changed "
        "from marts.version_diff_counts order by flag_order, change"
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    if not rows:
        return {"state": "first", "flags": []}
    flags: dict[str, dict] = {}
    for row in rows:
        flags.setdefault(row["flag"], {"flag": row["flag"], "label": row["flag_label"]})[row["change"]] = row[
            "patients"
        ]
    head = rows[0]
    return {
        "state": "changed",
        "previous_version": head["previous_version"],
        "current_version": head["current_version"],
        "diff_run_id": head["diff_run_id"],
        "diffed_at": head["diffed_at"],
        "input_changed": head["input_changed"],
        # a suppressed count (None) may hide a movement: such flags are listed too
        "flags": [f for f in flags.values() if f.get("entered") != 0 or f.get("left") != 0],
        "flags_compared": len(flags),
    }
