"""`quarantine.rows`, written here only: every input row that cannot be loaded, with its reason and its record.

Three stages reject rows: `parse` (a line the CSV reader cannot use, while landing raw), `staging` (a row that
cannot be typed or references nothing, `sql/staging/`) and `validation` (a row failing a data-quality rule the
staging build applies, `staging_rules.py`). A staging build replaces the staging and validation rows of its file;
a landing replaces the parse rows of its batch file.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from pipelines.contract.synthea import FileLayout
from pipelines.ingest.file_prep import BadLine


def insert_parse_rejects(
    con: duckdb.DuckDBPyConnection, batch_id: str, file_name: str, bad: Sequence[BadLine]
) -> None:
    """The bad lines of one landed batch file (its earlier ones are gone: `forget_parse_rejects`, or set aside)."""
    if not bad:
        return
    con.execute(
        """
        insert into quarantine.rows
        select ?, ?, unnest(?), unnest(?), unnest(?), unnest(?), 'parse', now()::timestamp
        """,
        [
            batch_id,
            file_name,
            [b.line for b in bad],
            [b.reason for b in bad],
            [b.detail for b in bad],
            [b.text for b in bad],
        ],
    )


def forget_parse_rejects(con: duckdb.DuckDBPyConnection, batch_id: str, file_name: str) -> None:
    con.execute(
        "delete from quarantine.rows where batch_id = ? and source_file = ? and stage = 'parse'", [batch_id, file_name]
    )


def replace_staging_rejects(
    con: duckdb.DuckDBPyConnection,
    layout: FileLayout,
    rejected: str,
    rule_failures: str | None = None,
    replaced: str | None = None,
    landed: str | None = None,
) -> None:
    """The staging and validation rows of one file, from the staging build's temp tables: `rejected` (lineage,
    `_reject_reason`, `_reject_detail`) and `rule_failures` (lineage, `reason_code`, `reason_detail`,
    `staged_record`). The raw record is the landed row, looked up in `landed` (default `raw.<file>`; a build of
    some patients passes the rows it read), or the staged one when raw no longer has it. They replace every such
    row of the file, or, for a build of some patients, the rows matching `replaced`."""
    landed = landed or f"raw.{layout.name}"
    where = f" and {replaced}" if replaced else ""
    con.execute(
        f"delete from quarantine.rows where source_file = ? and stage in ('staging', 'validation'){where}",
        [layout.file_name],
    )
    con.execute(
        f"""
        insert into quarantine.rows
        select
            r._batch_id,
            $file as source_file,
            r._source_line,
            r._reject_reason,
            r._reject_detail,
            to_json(landed)::varchar as raw_record,
            'staging' as stage,
            now()::timestamp as quarantined_at
        from {rejected} as r
        join {landed} as landed
            on landed._batch_id = r._batch_id
            and landed._source_line = r._source_line
        """,
        {"file": layout.file_name},
    )
    if rule_failures is None:
        return
    con.execute(
        f"""
        insert into quarantine.rows
        select
            f._batch_id,
            $file as source_file,
            f._source_line,
            f.reason_code,
            f.reason_detail,
            coalesce(
                (
                    select to_json(landed)::varchar
                    from {landed} as landed
                    where landed._batch_id = f._batch_id
                        and landed._source_line = f._source_line
                    limit 1
                ),
                f.staged_record
            ) as raw_record,
            'validation' as stage,
            now()::timestamp as quarantined_at
        from {rule_failures} as f
        """,
        {"file": layout.file_name},
    )
