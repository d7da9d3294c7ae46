"""The whole code location (ingest, checks, phenotype, marts) on the defect-laden extract: a failed error check
stops the phenotype and marts of its batch, and the outputs of the previous batch stay as they were."""

from pathlib import Path

import dagster as dg
import duckdb

from pipelines.orchestration.definitions import build_definitions
from pipelines.orchestration.partitions import SOURCE_DIR_TAG, batch_partitions
from pipelines.settings import Settings

EXTRACT = Path(__file__).parents[1] / "quality_fixtures" / "extract"


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            table: con.execute(f"select * from cohort.{table} order by all").fetchall()
            for table in ("patient_flags", "attrition")
        }
    finally:
        con.close()


def test_blocked_batch_leaves_the_phenotype_of_the_previous_batch(tmp_path: Path) -> None:
    settings = Settings.load(
        db_path=tmp_path / "warehouse.duckdb",
        reports_dir=tmp_path / "reports",
        published_dir=tmp_path / "published",
        runs_dir=tmp_path / "runs",
        landing_dir=EXTRACT,
        key_file=tmp_path / "hmac.key",
        max_quarantine_share=1.0,  # tiny files, a quarter of them defects on purpose
    )
    job = build_definitions(settings).resolve_job_def("process_batch")
    instance = dg.DagsterInstance.ephemeral()

    def run(batch_id: str) -> dg.ExecuteInProcessResult:
        instance.add_dynamic_partitions(batch_partitions.name, [batch_id])
        return job.execute_in_process(
            partition_key=batch_id,
            instance=instance,
            tags={SOURCE_DIR_TAG: str(EXTRACT / batch_id)},
            raise_on_error=False,
        )

    first = run("2026-01-01")
    failures = [e.event_specific_data.error.message for e in first.all_events if e.is_step_failure]
    assert first.success, failures  # warn checks failed, nothing blocked
    first_keys = {e.asset_key.to_user_string() for e in first.get_asset_materialization_events()}
    assert {"patient_flags", "data_quality_report"} <= first_keys
    before = _snapshot(settings.db_path)
    assert before["attrition"], "the phenotype ran on the clean rows"

    second = run("2026-02-01")
    assert not second.success  # the CLI turns this into a non-zero exit
    failed = {(e.check_name, e.severity.value) for e in second.get_asset_check_evaluations() if not e.passed}
    assert ("encounters_stop_not_before_start", "ERROR") in failed
    second_keys = {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert "staging_encounters" in second_keys
    assert not {"patient_flags", "cramp_events", "data_quality_report"} & second_keys
    assert _snapshot(settings.db_path) == before
    report = (tmp_path / "reports" / "data_quality.html").read_text()
    assert 'data-check="encounters_stop_not_before_start" data-status="fail"' in report
