"""Which patients moved when the phenotype version changed: `cohort.version_diff`, with its baseline and run log.

`cohort.patient_flags` is rebuilt by every run, so the previous run's flags are kept in a table of their own:

- `cohort.patient_flags_baseline`: the flags of the last run that reached this step (a copy of
  `cohort.patient_flags` taken after the diff). A run that fails before this step leaves it untouched, so the
  next run still compares with the last good one.
- `cohort.version_runs`: one row per run that reached this step (its version, the version before it, whether it
  wrote a diff, a signature of its input). The latest row with `version_changed` names the current diff.
- `cohort.version_diff`: the diff of the latest version change, one row per patient and flag whose value
  changed. Written only when the version differs from the previous run's; a run with the same version leaves
  it as it is. The first run of a warehouse has nothing to compare with and writes no diff.

A patient outside the cohort has every flag false (absent): entering the cohort with a flag true is that flag
moving from false to true, leaving it with a flag true is true to false. The pseudo-flag `in_cohort` records the
cohort membership itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from pipelines.contract.flags import FLAG_COLUMNS
from pipelines.contract.tables import column_ddl
from pipelines.warehouse import read_sql, row_count, table_exists, transaction

BASELINE = "cohort.patient_flags_baseline"
RUNS = "cohort.version_runs"
DIFF = "cohort.version_diff"
IN_COHORT = "in_cohort"
# Every boolean of cohort.patient_flags that a reader follows, plus the cohort membership.
DIFF_FLAGS: tuple[str, ...] = (IN_COHORT, *FLAG_COLUMNS, "any_primary_risk")

DIFF_COLUMNS = column_ddl(DIFF)  # sql/cohort/schema.yml
RUNS_COLUMNS = column_ddl(RUNS)


@dataclass(frozen=True)
class VersionDiffOutcome:
    current_version: str
    previous_version: str | None  # None on the first run of a warehouse
    version_changed: bool  # this run wrote a new cohort.version_diff
    diff_rows: int  # rows of cohort.version_diff now (the current diff, whichever run wrote it)
    patients_moved: int  # distinct patients in cohort.version_diff now
    input_changed: bool | None  # the input differs from the previous run's (None on the first run)


def record_version_diff(
    con: duckdb.DuckDBPyConnection, run_id: str, batch_id: str, recorded_at: datetime | None = None
) -> VersionDiffOutcome:
    """Compares this run's flags with the previous run's, writes the diff when the version changed, and makes
    this run's flags the next baseline; all in one transaction."""
    recorded_at = recorded_at or datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    current_version = flags_version(con)
    signature = input_signature(con)
    with transaction(con):
        con.execute("create schema if not exists cohort")
        con.execute(f"create table if not exists {RUNS} ({RUNS_COLUMNS})")
        con.execute(f"create table if not exists {DIFF} ({DIFF_COLUMNS})")
        previous = _previous_run(con)
        previous_version = previous[0] if previous else None
        changed = previous is not None and previous_version != current_version
        if changed:
            _write_diff(con, previous_version, current_version, run_id, recorded_at)
        written = row_count(con, DIFF) if changed else 0
        con.execute(f"create or replace table {BASELINE} as select * from cohort.patient_flags")
        input_changed = None if previous is None else previous[1] != signature
        con.execute(
            f"insert into {RUNS} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                batch_id,
                recorded_at,
                current_version,
                previous_version,
                changed,
                row_count(con, "cohort.patient_flags"),
                written,
                signature,
                input_changed,
            ],
        )
        rows, patients = con.execute(f"select count(*), count(distinct patient_id) from {DIFF}").fetchone()
    return VersionDiffOutcome(current_version, previous_version, changed, rows, patients, input_changed)


def flags_version(con: duckdb.DuckDBPyConnection) -> str:
    """The version that produced cohort.patient_flags (its rows), else the loaded reference version."""
    row = con.execute("select max(phenotype_version) from cohort.patient_flags").fetchone()
    if row and row[0]:
        return str(row[0])
    return str(con.execute("select phenotype_version from ref.phenotype_version").fetchone()[0])


def input_signature(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the input as reconciled (batches, files and their row fates): equal signatures mean the two
    runs read the same batches with the same row counts, so a diff between them comes from the definition."""
    if not table_exists(con, "dq.batch_reconciliation"):
        return ""
    row = con.execute(
        """
        select md5(coalesce(string_agg(
            concat_ws('|', batch_id, source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded),
            ';' order by batch_id, source_file
        ), ''))
        from dq.batch_reconciliation
        """
    ).fetchone()
    return str(row[0])


def _previous_run(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(version, input signature) of the last run that reached this step, if its baseline is still there."""
    if not table_exists(con, BASELINE):
        return None
    row = con.execute(
        f"select phenotype_version, input_signature from {RUNS} order by recorded_at desc, rowid desc limit 1"
    ).fetchone()
    return (str(row[0]), str(row[1] or "")) if row else None


def _write_diff(
    con: duckdb.DuckDBPyConnection, previous_version: str, current_version: str, run_id: str, diffed_at: datetime
) -> None:
    con.execute(
        "create or replace temp table version_diff_context as select ?::varchar as previous_version, "
        "?::varchar as current_version, ?::varchar as run_id, ?::timestamp as diffed_at",
        [previous_version, current_version, run_id, diffed_at],
    )
    flags = DIFF_FLAGS[1:]
    sql = read_sql(
        "cohort/version_diff.sql",
        previous_columns=_flag_columns(con, BASELINE, flags),
        current_columns=_flag_columns(con, "cohort.patient_flags", flags),
        flag_list=", ".join(DIFF_FLAGS),
    )
    con.execute(f"create or replace table {DIFF} as\n{sql.strip().rstrip(';')}")
    con.execute("drop table version_diff_context")


def _flag_columns(con: duckdb.DuckDBPyConnection, table: str, flags: tuple[str, ...]) -> str:
    # A flag the table lacks (a baseline written before the flag existed) is false: nobody had it.
    schema, name = table.split(".")
    present = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "and table_catalog = current_database()",
            [schema, name],
        ).fetchall()
    }
    return ",\n            ".join(
        f"coalesce({flag}, false) as {flag}" if flag in present else f"false as {flag}" for flag in flags
    )
