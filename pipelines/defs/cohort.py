"""Cohort assets: seeds in `ref`, then the cramp phenotype in `cohort` (events, labs, evidence, flags)."""

from __future__ import annotations

import dagster as dg

from pipelines.cohort.checks import (
    evidence_matches_flags,
    excluded_lab_counts,
    male_pregnancy_codes,
    unmatched_code_system_labels,
)
from pipelines.cohort.models import ASSET_MODELS, build_reference_data, build_tables
from pipelines.cohort.seeds import phenotype_version
from pipelines.faults import fault_point
from pipelines.resources import DuckDBWarehouse, PipelinePaths
from pipelines.sql_runner import row_count

GROUP = "cohort"
STAGING = {name: dg.AssetKey(f"staging_{name}") for name in ("patients", "conditions", "observations")}
# The cohort reads staging only once the run's batch is accepted (all its files loaded, its blocking checks passed).
ACCEPTED_BATCH = dg.AssetKey("accepted_batch")


def _build(warehouse: DuckDBWarehouse, asset: str) -> dg.MaterializeResult:
    """Builds the asset's tables; the last one is the asset's own table."""
    extra: dict[str, object] = {}
    with warehouse.connect() as con:
        counts = build_tables(con, ASSET_MODELS[asset])
        version = con.execute("select phenotype_version from ref.phenotype_version").fetchone()[0]
        if asset == "lab_results":
            # excluded labs stay in staging; their counts travel with the asset for the data-quality report
            extra.update({f"excluded_{reason}": rows for reason, rows in excluded_lab_counts(con).items()})
    fault_point("cohort")
    table = ASSET_MODELS[asset][-1]
    metadata: dict[str, object] = {"rows": counts[table], "phenotype_version": version, "table": table}
    metadata.update({f"rows {name}": rows for name, rows in counts.items() if name != table})
    metadata.update(extra)
    return dg.MaterializeResult(metadata=metadata)


# The phenotype version as code version: Dagster marks everything downstream stale when a seed changes. (A site's
# code-system map enters the version written on the rows, not this marker: it is read when the asset runs.)
@dg.asset(group_name=GROUP, kinds={"duckdb"}, code_version=phenotype_version())
def reference_data(warehouse: DuckDBWarehouse, paths: PipelinePaths) -> dg.MaterializeResult:
    """One table per seed CSV in `ref` (value sets, units, parameters, rules) + the phenotype version."""
    with warehouse.connect() as con:
        version, counts = build_reference_data(con, code_system_map_file=paths.code_system_map)
    return dg.MaterializeResult(metadata={"rows": sum(counts.values()), "phenotype_version": version, **counts})


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[reference_data, STAGING["conditions"], ACCEPTED_BATCH])
def condition_matches(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per staged condition per value set its code falls in."""
    return _build(warehouse, "condition_matches")


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[reference_data, STAGING["observations"], ACCEPTED_BATCH])
def lab_results(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per staged observation with a lab value-set code, normalized, with its exclusion reason."""
    return _build(warehouse, "lab_results")


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[condition_matches, STAGING["patients"]])
def cramp_events(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per cramp diagnosis event."""
    return _build(warehouse, "cramp_events")


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[condition_matches, lab_results, STAGING["patients"]])
def pregnancy_episodes(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per merged pregnancy episode per patient (start evidence: cohort.pregnancy_intervals)."""
    return _build(warehouse, "pregnancy_episodes")


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[condition_matches, lab_results, cramp_events, pregnancy_episodes],
)
def flag_evidence(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per piece of evidence behind a flag, against its closest qualifying cramp event."""
    return _build(warehouse, "flag_evidence")


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[cramp_events, flag_evidence, STAGING["patients"]])
def patient_flags(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per patient with at least one cramp event, with every flag."""
    return _build(warehouse, "patient_flags")


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[patient_flags, lab_results])
def care_gaps(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per open care gap per cohort patient."""
    return _build(warehouse, "care_gaps")


@dg.asset(group_name=GROUP, kinds={"duckdb"}, deps=[patient_flags, STAGING["patients"]])
def cohort_attrition(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One row per step of the cohort definition (table cohort.attrition)."""
    return _build(warehouse, "cohort_attrition")


@dg.asset_check(asset=patient_flags, blocking=True)
def flags_match_evidence(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Every true flag has evidence in cohort.flag_evidence, and no evidence exists without its flag."""
    with warehouse.connect(read_only=True) as con:
        mismatches = evidence_matches_flags(con)
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={"mismatches": len(mismatches), "threshold": 0, "examples": str(mismatches[:10])},
    )


@dg.asset_check(asset=patient_flags, blocking=True)
def one_row_per_patient(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """cohort.patient_flags has exactly one row per patient with a cramp event."""
    with warehouse.connect(read_only=True) as con:
        rows = row_count(con, "cohort.patient_flags")
        patients = con.execute("select count(distinct patient_id) from cohort.cramp_events").fetchone()[0]
        keyed = con.execute("select count(distinct patient_id) from cohort.patient_flags").fetchone()[0]
    return dg.AssetCheckResult(
        passed=rows == keyed == patients,
        metadata={"rows": rows, "distinct_patients": keyed, "cramp_patients": patients},
    )


@dg.asset_check(asset=lab_results)
def excluded_labs(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Lab rows excluded from flagging (unknown unit, implausible, not numeric, censored without a verdict):
    reported, not fatal."""
    with warehouse.connect(read_only=True) as con:
        counts = excluded_lab_counts(con)
    return dg.AssetCheckResult(
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={reason: rows for reason, rows in counts.items()},
    )


@dg.asset_check(asset=condition_matches)
def condition_code_systems_matched(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Condition rows whose SYSTEM label matched no accepted code system (they match no value set), per label:
    reported, not fatal. A site maps its own spellings with the code_system_map_file setting."""
    with warehouse.connect(read_only=True) as con:
        labels = unmatched_code_system_labels(con)
    return dg.AssetCheckResult(
        passed=not labels,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failing_rows": sum(labels.values()),
            "labels": len(labels),
            "threshold": 0,
            "kahn_category": "conformance",
            # the 20 labels with most rows, each cut to 80 characters (a label is delivered text)
            **{f"label {label[:80]}": rows for label, rows in list(labels.items())[:20]},
        },
    )


@dg.asset_check(asset=pregnancy_episodes)
def pregnancy_codes_on_male_patients(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    """Pregnancy evidence on a patient with sex M: a plausibility failure (never sets the flag)."""
    with warehouse.connect(read_only=True) as con:
        rows, patients = male_pregnancy_codes(con)
    return dg.AssetCheckResult(
        passed=rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failing_rows": rows,
            "patients": patients,
            "threshold": 0,
            "kahn_category": "plausibility",
        },
    )


defs = dg.Definitions(
    assets=[
        reference_data,
        condition_matches,
        lab_results,
        cramp_events,
        pregnancy_episodes,
        flag_evidence,
        patient_flags,
        care_gaps,
        cohort_attrition,
    ],
    asset_checks=[
        flags_match_evidence,
        one_row_per_patient,
        excluded_labs,
        condition_code_systems_matched,
        pregnancy_codes_on_male_patients,
    ],
)
