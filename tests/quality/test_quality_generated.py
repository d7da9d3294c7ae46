"""The generator's `--defects` extract through the real ingest and the checks: counts match its ground truth."""

from pathlib import Path

import duckdb

from pipelines import EXPECTATIONS_DIR
from pipelines.generate import generate_extract
from tests.harness import materialize_batch
from tests.ingest_helpers import INGEST_ASSETS, quality_defs


def test_generated_defects_are_counted_by_the_checks(tmp_path: Path) -> None:
    batch = "2026-03-01"
    generate_extract(tmp_path / "landing" / batch, 300, seed=7, batches=1, defects=0.05)
    quality = quality_defs(EXPECTATIONS_DIR)
    db = tmp_path / "warehouse.duckdb"
    result = materialize_batch(
        [*INGEST_ASSETS, *quality.assets, *quality.asset_checks], db, tmp_path / "landing" / batch, batch
    )
    con = duckdb.connect(str(db), read_only=True)
    truth = dict(
        con.execute(
            "select defect, count(*) from read_csv(?, header = true, all_varchar = true) group by 1",
            [str(tmp_path / "landing" / batch / "_truth" / "defects.csv")],
        ).fetchall()
    )
    failing = dict(
        con.execute("select check_name, failing_rows from dq.check_results where failing_rows > 0").fetchall()
    )
    statuses = dict(con.execute("select check_name, status from dq.check_results").fetchall())
    con.close()
    assert result.success, [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failing["observations_lab_unit_known"] == truth["unknown_unit"]
    assert failing["observations_lab_value_plausible"] == truth["implausible_value"]
    # what the ingest quarantined never reaches the error-level checks
    assert all(statuses[n] == "pass" for n in statuses if n.endswith(("_resolves", "_not_in_future", "_unique")))
