"""The mart catalogue: which SQL file builds which `marts.*` table and how its counts are suppressed.

Every integer column of a mart is either a count of patients or input rows (suppressed per outputs.md) or a
declared structural number (a number of checks, an ordinal): the de-identification scan rejects anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.cohort.version_diff import DIFF_COLUMNS, RUNS_COLUMNS
from pipelines.marts.suppression import CountRule, CumulativeRule, RowSumRule, SuppressionSpec


@dataclass(frozen=True)
class MartSpec:
    name: str
    grain: str
    suppression: SuppressionSpec
    # Integer columns that count neither patients nor input rows (never suppressed).
    structural: tuple[str, ...] = ()
    # Helper columns used for ordering or suppression, dropped from the published mart.
    drop_columns: tuple[str, ...] = ()
    # Tables (schema.table) the SQL reads besides the run context.
    reads: tuple[str, ...] = field(default_factory=tuple)
    # Tables the SQL reads through a `{{ placeholder }}` that may not exist yet: (placeholder, schema.table,
    # column DDL of the empty stand-in used instead).
    optional_reads: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def count_columns(self) -> tuple[str, ...]:
        return tuple(r.column for r in self.suppression.counts) + tuple(r.column for r in self.suppression.cumulative)


PRIMARY_FLAGS = ("hypocalcemia", "neuropathy", "pad", "pregnancy")

MARTS: tuple[MartSpec, ...] = (
    MartSpec(
        name="cohort_monthly",
        grain="one row per calendar month: new cramp patients (by index month) and cumulative cohort size",
        suppression=SuppressionSpec(
            counts=(CountRule("new_cramp_patients", totals=((),)),),
            cumulative=(CumulativeRule("cohort_size", increments="new_cramp_patients", order_by="month_start"),),
            order_by="month_start",
        ),
        drop_columns=("month_start",),
        reads=("cohort.patient_flags",),
    ),
    MartSpec(
        name="flag_prevalence",
        grain="one row per flag, breakdown (overall / age_band / sex) and group",
        suppression=SuppressionSpec(
            counts=(
                CountRule(
                    "patients_with_flag",
                    totals=(("flag", "breakdown"),),
                    complement_of="patients_in_group",
                ),
                CountRule("patients_in_group", totals=(("flag", "breakdown"),)),
            ),
            order_by="flag, breakdown, group_value",
        ),
        structural=("flag_order",),
        reads=("cohort.patient_flags",),
    ),
    MartSpec(
        name="risk_factor_overlap",
        grain="one row per combination of the four primary flags (16 rows)",
        suppression=SuppressionSpec(
            counts=(CountRule("patients", totals=((),) + tuple((f,) for f in PRIMARY_FLAGS)),),
            order_by="combination",
        ),
        structural=("primary_flags_set",),
        reads=("cohort.patient_flags",),
    ),
    MartSpec(
        name="care_gaps_monthly",
        grain="one row per care gap type and index month of the patient",
        suppression=SuppressionSpec(counts=(CountRule("patients", totals=(("gap",),)),), order_by="gap, month"),
        drop_columns=("month_start",),
        reads=("cohort.care_gaps", "cohort.patient_flags"),
    ),
    MartSpec(
        name="care_gap_totals",
        grain="one row per care gap type",
        suppression=SuppressionSpec(counts=(CountRule("patients"),), order_by="gap"),
        reads=("cohort.care_gaps", "cohort.patient_flags"),
    ),
    MartSpec(
        name="attrition",
        grain="one row per step of the cohort definition, in order",
        suppression=SuppressionSpec(
            counts=(CountRule("patients", complement_of="parent_patients", complement_when="step_number > 2"),),
            order_by="step_number",
        ),
        structural=("step_number",),
        drop_columns=("parent_patients",),
        reads=("cohort.attrition",),
    ),
    MartSpec(
        name="dq_batch_summary",
        grain="one row per batch: input row fates and data-quality checks",
        suppression=SuppressionSpec(
            counts=(
                CountRule("rows_read"),
                CountRule("rows_loaded"),
                CountRule("rows_quarantined"),
                CountRule("rows_superseded"),
            ),
            row_sums=(RowSumRule("rows_read", ("rows_loaded", "rows_quarantined", "rows_superseded")),),
            order_by="source_batch_id",
        ),
        structural=("files", "checks_run", "checks_failed", "error_checks_failed", "warn_checks_failed"),
        # dq.* are optional: a warehouse without them (no batch ingested yet) gets an empty summary.
    ),
    MartSpec(
        name="version_diff_counts",
        grain="one row per flag (and the cohort itself) and direction (entered / left) of the latest phenotype "
        "version change; no rows before the first change",
        suppression=SuppressionSpec(
            # entered - left of a flag = its prevalence now - its prevalence under the previous version (published
            # by the previous snapshot): a lone hidden direction could be worked out, so the pair hides together.
            counts=(CountRule("patients", totals=(("flag",),)),),
            order_by="flag_order, change",
        ),
        structural=("flag_order",),
        optional_reads=(
            ("version_diff", "cohort.version_diff", DIFF_COLUMNS),
            ("version_runs", "cohort.version_runs", RUNS_COLUMNS),
        ),
    ),
    MartSpec(
        name="value_set_matches",
        grain="one row per value-set entry (value set, code system, code, match): staged rows and patients "
        "the phenotype matched with it",
        suppression=SuppressionSpec(
            counts=(CountRule("matched_patients"), CountRule("matched_rows")),
            order_by="entry_order",
        ),
        structural=("entry_order",),
        optional_reads=(
            ("value_sets", "ref.value_sets", "value_set varchar, code_system varchar, code varchar, match varchar"),
            (
                "condition_matches",
                "cohort.condition_matches",
                "patient_id varchar, value_set varchar, code_system varchar, code varchar",
            ),
            (
                "lab_results",
                "cohort.lab_results",
                "patient_id varchar, measure varchar, code_system varchar, code varchar",
            ),
        ),
    ),
)

MART_NAMES: tuple[str, ...] = tuple(m.name for m in MARTS) + ("run_info",)
