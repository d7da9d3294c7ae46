"""The Spark engine judges rows by the suites' rules as DuckDB does, and a batch those rules block is undone alike.

The data-quality fixture (two small batches, a quarter of the rows defects) run by `cramp-cohort run` on each
engine: the first batch has an encounter that stops before it starts (quarantined at staging by the rule
`encounters_stop_not_before_start`, its staged record written to the quarantine); the second re-delivers ten
encounters that way, so the rule's check blocks it and the batch is rejected. Every output table of the two
DuckDB files must be equal, row for row (tests/equivalence/outputs.py); neither the sample, the vignettes nor the
generated extract has a row failing a rule.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.equivalence.outputs import build, differences, fingerprint, missing_spark_tables


def test_rule_failures_and_a_blocked_batch_are_the_same_on_spark(tmp_path: Path) -> None:
    on_duckdb = build("quality", tmp_path / "duckdb")
    on_spark = build("quality", tmp_path / "spark", engine="spark")
    assert missing_spark_tables(tmp_path / "spark" / "spark") == []
    with duckdb.connect(str(on_spark), read_only=True) as con:
        judged = con.execute(
            "select source_line from quarantine.rows where stage = 'validation' and reason_code = ?",
            ["encounters_stop_not_before_start"],
        ).fetchall()
        states = con.execute("select batch_id, state from raw._batches order by batch_id").fetchall()
        # the rollback put staging back after Spark had built it with the blocked batch: the next Spark read
        # replaces Spark's copy first (tests/warehouse/test_stale_spark_tables.py)
        stale = con.execute("select table_name from raw._spark_stale_tables order by 1").fetchall()
    assert judged == [(21,)]
    assert states == [("2026-01-01", "accepted"), ("2026-02-01", "rejected")]
    assert ("staging.encounters",) in stale
    assert differences(fingerprint(on_duckdb), fingerprint(on_spark)) == []
