"""`dq.cohort_builds`: which accepted batches, under which definitions, each phenotype asset last built over.

An incremental run recomputes only the patients its batch can change, which is right only when every cohort
table was built over exactly the batches accepted before it, with the same SQL, value sets and suites. Each
asset records that here once its tables are written; a run that stopped half-way leaves an older record, and the
next batch then takes the full path (orchestration/processing_path.py).
"""

from __future__ import annotations

import duckdb

from pipelines.warehouse import ensure_bookkeeping, table_exists

TABLE = "dq.cohort_builds"


def accepted_batches_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the accepted batches and when each was accepted (a re-delivery changes it)."""
    if not table_exists(con, "raw._batches"):
        return ""
    row = con.execute(
        """
        select coalesce(md5(string_agg(batch_id || '@' || coalesce(state_changed_at::varchar, ''), ','
            order by batch_id)), '')
        from raw._batches
        where state = 'accepted'
        """
    ).fetchone()
    return str(row[0])


def record_build(con: duckdb.DuckDBPyConnection, asset: str, signature: str) -> None:
    """The asset's tables now hold the accepted batches under the definitions `signature` names."""
    ensure_bookkeeping(con, (TABLE,))
    con.execute(
        f"insert or replace into {TABLE} values (?, ?, ?, now()::timestamp)",
        [asset, signature, accepted_batches_fingerprint(con)],
    )


def stale_assets(con: duckdb.DuckDBPyConnection, assets: list[str], signature: str) -> list[str]:
    """The assets whose tables were not built over the batches accepted now under `signature` (all of them when
    nothing was recorded)."""
    if not table_exists(con, TABLE):
        return list(assets)
    current = accepted_batches_fingerprint(con)
    fresh = {
        r[0]
        for r in con.execute(
            f"select asset from {TABLE} where signature = ? and accepted_batches = ?", [signature, current]
        ).fetchall()
    }
    return [asset for asset in assets if asset not in fresh]


def builds_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, TABLE) and bool(con.execute(f"select count(*) from {TABLE}").fetchone()[0])
