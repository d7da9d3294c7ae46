"""The bookkeeping tables, declared once: who wrote what, when, and what happened to every input row.

Their rows are written by one room each (docs/ARCHITECTURE.md, "Who owns which table"): the batch registry, landed
files, line shifts, quarantine, superseded rows, reconciliation and rule counts by ingest; the check history by
quality; the ledger of batch runs by operations. Here they are only declared, so that any room (and a reader) can
rely on their columns, whichever room touched the warehouse first.
"""

from __future__ import annotations

from functools import cache

import duckdb

SCHEMAS = ("raw", "raw_batches", "staging", "quarantine", "dq")

TABLES: dict[str, str] = {
    # one row per batch: its folder and state (loading / loaded / accepted / rejected, see ingest/batch_state.py)
    "raw._batches": """
        batch_id varchar primary key,
        source_dir varchar,
        registered_at timestamp,
        notes varchar,
        state varchar default 'accepted',
        state_reason varchar,
        state_run_id varchar,
        state_changed_at timestamp,
        processing_path varchar,
        processing_reason varchar
    """,
    # one row per batch and patient it can change (ingest/affected.py): the scope of an incremental run
    "raw._affected_patients": """
        batch_id varchar,
        patient_id varchar
    """,
    # one row per batch and file: its table in raw_batches and what was read of the delivered file
    "raw._landed_files": """
        batch_id varchar,
        source_file varchar,
        table_name varchar,
        loaded_at timestamp,
        rows_landed bigint,
        rows_rejected bigint,
        delivered_as varchar,
        bytes_read bigint,
        sha256 varchar,
        lines_read bigint,
        lines_blank bigint,
        lines_continued bigint,
        primary key (batch_id, source_file)
    """,
    # tables whose Spark version (engine = "spark") no longer holds what the DuckDB file holds: staging put back by
    # a rollback; the Spark engine writes the DuckDB file's rows there before it reads them again (made by the
    # first staging build on Spark)
    "raw._spark_stale_tables": """
        table_name varchar primary key,
        since timestamp
    """,
    # the k-th landed record of a file follows `shift` lines that hold none once k + 1 >= threshold
    "raw._line_shifts": """
        batch_id varchar,
        source_file varchar,
        threshold bigint,
        shift bigint
    """,
    # one row per rejected input row; stage: parse / staging / validation
    "quarantine.rows": """
        batch_id varchar,
        source_file varchar,
        source_line bigint,
        reason_code varchar,
        reason_detail varchar,
        raw_record varchar,
        stage varchar,
        quarantined_at timestamp
    """,
    # one row per input row that lost its natural key to a newer row
    "dq.superseded_rows": """
        batch_id varchar,
        source_file varchar,
        source_line bigint,
        superseded_by_batch_id varchar,
        superseded_by_line bigint
    """,
    # one row per batch and file: every row read is loaded, quarantined, superseded or held
    "dq.batch_reconciliation": """
        batch_id varchar,
        source_file varchar,
        rows_read bigint,
        rows_loaded bigint,
        rows_quarantined bigint,
        rows_superseded bigint,
        balanced boolean,
        computed_at timestamp,
        rows_held bigint,
        lines_read bigint,
        lines_blank bigint,
        lines_continued bigint,
        batch_state varchar
    """,
    # one row per file and data-quality rule the staging build applied: what the rule judged and removed
    "dq.staging_rule_counts": """
        source_file varchar,
        check_name varchar,
        rows_checked bigint,
        failing_rows bigint,
        rows_quarantined bigint,
        computed_at timestamp
    """,
    # one row per staged row and data-quality rule it failed (a row may fail several; it is quarantined for the
    # first): what dq.staging_rule_counts counts, kept per row so that a build for some patients updates it
    "dq.staging_rule_failures": """
        source_file varchar,
        batch_id varchar,
        source_line bigint,
        check_name varchar
    """,
    # one row per phenotype asset: the accepted batches and the definitions its tables were last built over
    # (cohort/build_state.py; an incremental run needs every asset built over the batches accepted now)
    "dq.cohort_builds": """
        asset varchar primary key,
        signature varchar,
        accepted_batches varchar,
        built_at timestamp
    """,
    # one row per check per run (history: never overwritten)
    "dq.check_results": """
        run_id varchar not null,
        batch_id varchar,
        table_name varchar not null,
        check_name varchar not null,
        kahn_category varchar not null,
        severity varchar not null,
        status varchar not null,
        failing_rows bigint,
        total_rows bigint not null,
        threshold double not null,
        failing_pct double,
        rows_quarantined bigint,
        expectation_type varchar,
        explanation varchar,
        detail varchar,
        checked_at timestamp not null
    """,
    # one row per batch run, by the CLI or by Dagster: what was processed, from which delivery, how it ended
    "dq.batch_runs": """
        batch_id varchar not null,
        fingerprint varchar,
        source_dir varchar,
        run_id varchar,
        success boolean not null,
        reason varchar,
        summary_path varchar,
        origin varchar,
        processed_at timestamp not null
    """,
}

# Made only when asked for: the Spark engine's (a DuckDB-only warehouse never has them).
ON_REQUEST = frozenset({"raw._spark_stale_tables"})

# Columns added after a table first shipped: a warehouse made before gets them (NULL, or the default, for its rows).
ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "raw._batches": (
        ("state", "varchar default 'accepted'"),  # batches loaded before batch states were accepted ones
        ("state_reason", "varchar"),
        ("state_run_id", "varchar"),
        ("state_changed_at", "timestamp"),
        ("processing_path", "varchar"),  # incremental / full (ingest/processing_path.py)
        ("processing_reason", "varchar"),
    ),
    "raw._landed_files": tuple(
        (column, kind)
        for column, kind in (
            ("delivered_as", "varchar"),
            ("bytes_read", "bigint"),
            ("sha256", "varchar"),
            ("lines_read", "bigint"),
            ("lines_blank", "bigint"),
            ("lines_continued", "bigint"),
        )
    ),
    "dq.batch_reconciliation": (
        ("rows_held", "bigint"),
        ("lines_read", "bigint"),
        ("lines_blank", "bigint"),
        ("lines_continued", "bigint"),
        ("batch_state", "varchar"),
    ),
}


def ensure_bookkeeping(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] | None = None) -> None:
    """Creates the schemas and the bookkeeping tables (all but those made on request, or `tables`) that do not
    exist yet."""
    wanted = tables or tuple(t for t in TABLES if t not in ON_REQUEST)
    if _all_present(con, wanted):
        return  # one catalog query instead of ~10 DDL statements: a run calls this some 100 times
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for table in wanted:
        con.execute(f"create table if not exists {table} ({TABLES[table]})")
        for column, kind in ADDED_COLUMNS.get(table, ()):
            con.execute(f"alter table {table} add column if not exists {column} {kind}")


def _all_present(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> bool:
    """Whether every schema and every one of `tables`, with all its columns, exists already (two catalog queries;
    a table's columns are counted, its declared and added columns being all it may have)."""
    schemas = {
        r[0]
        for r in con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database()"
        ).fetchall()
    }
    if not set(SCHEMAS) <= schemas:
        return False
    names = sorted(set(tables))
    held = dict(
        con.execute(
            "select schema_name || '.' || table_name, column_count from duckdb_tables() "
            "where database_name = current_database() and list_contains(?, schema_name || '.' || table_name)",
            [names],
        ).fetchall()
    )
    expected = _column_counts()
    return all(held.get(table) == expected[table] for table in names)


@cache
def _column_counts() -> dict[str, int]:
    """The number of columns of each bookkeeping table as `ensure_bookkeeping` leaves it (built once, in memory)."""
    with duckdb.connect() as con:
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for table in TABLES:
            con.execute(f"create table {table} ({TABLES[table]})")
            for column, kind in ADDED_COLUMNS.get(table, ()):
                con.execute(f"alter table {table} add column if not exists {column} {kind}")
        rows = con.execute("select schema_name || '.' || table_name, column_count from duckdb_tables()").fetchall()
    return dict(rows)
