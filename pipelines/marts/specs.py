"""The mart catalogue: which SQL file builds which `marts.*` table, how its counts are suppressed, which text
columns are structural and how its counts relate to the other published counts.

Every integer column of a mart is either a count of patients or input rows (suppressed, docs/marts.md) or a
declared structural number (a number of checks, an ordinal): the de-identification scan rejects anything else.
Every text column is either structural (declared with the values it may hold, checked instead of being scanned for
identifiers) or scanned for input identifiers. Every count takes part in at least one declared relation (or says
why it has none): the disclosure audit solves for what a reader can work out from them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from pipelines import SQL_DIR
from pipelines.contract.flags import CATALOG, PRIMARY_FLAGS
from pipelines.contract.sql_refs import referenced_tables
from pipelines.contract.tables import column_ddl, table_contract
from pipelines.marts.relations import AtMost, Cells, Relation, RunningTotal, Same, Total
from pipelines.marts.suppression import CountRule, CumulativeRule, RowSumRule, SuppressionSpec


@dataclass(frozen=True)
class TextDomain:
    """The values a structural text column may hold (NULL always may). A value is allowed when it matches
    `pattern` (a full-match regular expression), is one of `values`, or occurs in one of the `values_from`
    columns (`schema.table.column` of the warehouse; a missing table adds nothing)."""

    description: str
    pattern: str | None = None
    values: tuple[str, ...] = ()
    values_from: tuple[str, ...] = ()


MONTH = TextDomain("a month label YYYY-MM", pattern="[0-9]{4}-(0[1-9]|1[0-2])")
_PERIOD_LABEL = "[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?"
GRAIN = TextDomain("a period grain", values=("month", "quarter", "year"))
PERIOD = TextDomain(
    "a period label YYYY-MM, YYYY-Qn or YYYY, or two of them joined by an en dash (merged edge periods)",
    pattern=f"{_PERIOD_LABEL}(–{_PERIOD_LABEL})?",
)
FLAG = TextDomain("a flag of the flag catalogue", values=tuple(flag.name for flag in CATALOG))
FLAG_LABEL = TextDomain("a label of the flag catalogue", values=tuple(flag.label for flag in CATALOG))
FLAG_GROUP = TextDomain("a flag group of the flag catalogue", values=tuple({flag.group: 0 for flag in CATALOG}))
BREAKDOWN = TextDomain("a breakdown name", values=("overall", "age_band", "sex"))
GROUP_VALUE = TextDomain(
    "a breakdown group", values=("all", "0-17", "18-44", "45-64", "65+", "unknown", "F", "M", "other/unknown")
)
COMBINATION = TextDomain(
    "a combination of the primary flags",
    values=("none",)
    + tuple(
        " + ".join(combo)
        for size in range(1, len(PRIMARY_FLAGS) + 1)
        for combo in itertools.combinations(PRIMARY_FLAGS, size)
    ),
)
GAP = TextDomain("a care gap type of cohort.care_gaps", values_from=("cohort.care_gaps.gap",))
STEP = TextDomain("a step of cohort.attrition", values_from=("cohort.attrition.step",))
VERSION_OF_A_RUN = TextDomain(
    "a phenotype version a run recorded",
    values_from=("cohort.version_runs.phenotype_version", "cohort.version_runs.previous_version"),
)
BATCH = TextDomain(
    "a batch id of the data-quality tables",
    values_from=("dq.batch_reconciliation.batch_id", "dq.check_results.batch_id", "raw._batches.batch_id"),
)
# The run context every mart row carries: the single row of marts.run_info.
RUN_CONTEXT = {
    column: TextDomain(f"the {column} of marts.run_info", values_from=(f"marts.run_info.{column}",))
    for column in ("run_id", "batch_id", "phenotype_version")
}


@dataclass(frozen=True)
class MartSpec:
    """How one mart is built and protected; its grain, columns and key are its contract (sql/marts/schema.yml)."""

    name: str
    suppression: SuppressionSpec
    # Integer columns that count neither patients nor input rows (never suppressed).
    structural: tuple[str, ...] = ()
    # Helper columns used for ordering or suppression, dropped from the published mart.
    drop_columns: tuple[str, ...] = ()
    # Tables the SQL reads through a `{{ placeholder }}` that may not exist yet: (placeholder, schema.table,
    # column DDL of the empty stand-in used instead).
    optional_reads: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)
    # Structural text columns and the values they may hold (besides the run context of every mart).
    text_domains: dict[str, TextDomain] = field(default_factory=dict)
    # How this mart's counts relate to each other and to other marts' (see relations.py).
    relations: tuple[Relation, ...] = ()
    # Count columns that no published count of the same snapshot is related to, each with the reason (they are
    # protected by their own suppression alone).
    unrelated_counts: dict[str, str] = field(default_factory=dict)

    @property
    def grain(self) -> str:
        return table_contract(f"marts.{self.name}").grain

    @property
    def key(self) -> tuple[str, ...]:
        """Columns that identify a row (structural): the audit names a cell by them."""
        return table_contract(f"marts.{self.name}").key

    @property
    def reads(self) -> tuple[str, ...]:
        """Tables the SQL reads besides the run context (optional reads excluded: they may be missing)."""
        return tuple(sorted(referenced_tables((SQL_DIR / "marts" / f"{self.name}.sql").read_text())))

    @property
    def count_columns(self) -> tuple[str, ...]:
        return tuple(r.column for r in self.suppression.counts) + tuple(r.column for r in self.suppression.cumulative)

    @property
    def all_text_domains(self) -> dict[str, TextDomain]:
        return RUN_CONTEXT | self.text_domains


# Care gap types and the flags that indicate them (a gap is only open for an indicated patient).
GAP_INDICATIONS = {
    "calcium_not_checked": (("frequent_cramps", "pediatric_22q11"),),
    "vascular_assessment_missing": (("pad", "mimic_claudication"),),
    "magnesium_not_checked": (("frequent_cramps",), ("hypocalcemia",)),
}
ATTRITION_COHORT = "step_number = 2"
ATTRITION_ANY_PRIMARY = "step_number = 3"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _flag_total(flags: str | tuple[str, ...], column: str = "patients_with_flag") -> Cells:
    """The overall count(s) of flag(s) in flag_prevalence."""
    names = (flags,) if isinstance(flags, str) else flags
    return Cells("flag_prevalence", (column,), f"breakdown = 'overall' and flag in {_in(names)}")


COHORT = Cells("attrition", ("patients",), ATTRITION_COHORT)
# The rolled-up series is suppressed like the monthly one, and a period holding exactly one hidden month is hidden
# too; its grain is chosen by rollup.choose_grain. It reads marts.cohort_monthly of the same build, so it comes
# after it in MARTS.
PERIOD_SUPPRESSION = SuppressionSpec(
    counts=(CountRule("new_cramp_patients", totals=((),), also_hide_when="hidden_months = 1"),),
    cumulative=(CumulativeRule("cohort_size", increments="new_cramp_patients", order_by="period_start"),),
    order_by="period_start",
)
GROUPS = ("breakdown", "group_value")

MARTS: tuple[MartSpec, ...] = (
    MartSpec(
        name="cohort_monthly",
        suppression=SuppressionSpec(
            counts=(CountRule("new_cramp_patients", totals=((),)),),
            cumulative=(CumulativeRule("cohort_size", increments="new_cramp_patients", order_by="month_start"),),
            order_by="month_start",
        ),
        drop_columns=("month_start",),
        text_domains={"month": MONTH},
        relations=(
            RunningTotal(
                "cohort size is the running total of new patients",
                "cohort_monthly",
                "cohort_size",
                increments="new_cramp_patients",
                order_by="month",
            ),
            Total(
                "new patients of all months add up to the cohort",
                total=COHORT,
                parts=Cells("cohort_monthly", ("new_cramp_patients",)),
            ),
        ),
    ),
    MartSpec(
        name="cohort_periods",
        suppression=PERIOD_SUPPRESSION,
        drop_columns=("period_start", "hidden_months"),
        text_domains={"grain": GRAIN, "period": PERIOD, "first_month": MONTH, "last_month": MONTH},
        relations=(
            RunningTotal(
                "cohort size is the running total of new patients per period",
                "cohort_periods",
                "cohort_size",
                increments="new_cramp_patients",
                order_by="first_month",
            ),
            Total(
                "new patients of all periods add up to the cohort",
                total=COHORT,
                parts=Cells("cohort_periods", ("new_cramp_patients",)),
            ),
            Total(
                "a period's new patients are the sum of its months",
                total=Cells("cohort_periods", ("new_cramp_patients",)),
                parts=Cells(
                    "cohort_monthly",
                    ("new_cramp_patients",),
                    match_as=(
                        "(select p.period from marts.cohort_periods as p "
                        "where cohort_monthly.month between p.first_month and p.last_month)",
                    ),
                ),
                match=("period",),
            ),
        ),
    ),
    MartSpec(
        name="flag_prevalence",
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
        text_domains={
            "flag": FLAG,
            "flag_label": FLAG_LABEL,
            "flag_group": FLAG_GROUP,
            "breakdown": BREAKDOWN,
            "group_value": GROUP_VALUE,
        },
        relations=(
            Same(
                "a group has the same size on every flag's row",
                Cells("flag_prevalence", ("patients_in_group",)),
                match=GROUPS,
            ),
            Total(
                "the overall group is the cohort",
                total=COHORT,
                parts=_flag_total("any_primary_risk", "patients_in_group"),
            ),
            *(
                Total(
                    f"{breakdown} groups add up to each flag's overall {column}",
                    total=Cells("flag_prevalence", (column,), "breakdown = 'overall'"),
                    parts=Cells("flag_prevalence", (column,), f"breakdown = '{breakdown}'"),
                    match=("flag",),
                )
                for breakdown in ("age_band", "sex")
                for column in ("patients_with_flag", "patients_in_group")
            ),
            AtMost(
                "patients with a flag are part of their group (the rest: patients without it)",
                smaller=Cells("flag_prevalence", ("patients_with_flag",)),
                larger=Cells("flag_prevalence", ("patients_in_group",)),
                match=("flag", *GROUPS),
                difference_is_a_count=True,
            ),
            *(
                AtMost(
                    f"{flag} patients have a primary risk factor",
                    smaller=Cells("flag_prevalence", ("patients_with_flag",), f"flag = '{flag}'"),
                    larger=Cells("flag_prevalence", ("patients_with_flag",), "flag = 'any_primary_risk'"),
                    match=GROUPS,
                )
                for flag in PRIMARY_FLAGS
            ),
            AtMost(
                "any primary risk factor is at most the sum of the four",
                smaller=Cells("flag_prevalence", ("patients_with_flag",), "flag = 'any_primary_risk'"),
                larger=Cells("flag_prevalence", ("patients_with_flag",), f"flag in {_in(PRIMARY_FLAGS)}"),
                match=GROUPS,
            ),
            *(
                AtMost(
                    f"{detail} is a neuropathy",
                    smaller=Cells("flag_prevalence", ("patients_with_flag",), f"flag = '{detail}'"),
                    larger=Cells("flag_prevalence", ("patients_with_flag",), "flag = 'neuropathy'"),
                    match=GROUPS,
                )
                for detail in ("diabetic_neuropathy", "hcv_neuropathy")
            ),
        ),
    ),
    MartSpec(
        name="risk_factor_overlap",
        suppression=SuppressionSpec(
            counts=(CountRule("patients", totals=((),) + tuple((f,) for f in PRIMARY_FLAGS)),),
            order_by="combination",
        ),
        structural=("primary_flags_set",),
        text_domains={"combination": COMBINATION},
        relations=(
            Total(
                "the combinations partition the cohort", total=COHORT, parts=Cells("risk_factor_overlap", ("patients",))
            ),
            Total(
                "combinations with any primary flag add up to any primary risk factor",
                total=_flag_total("any_primary_risk"),
                parts=Cells("risk_factor_overlap", ("patients",), "primary_flags_set > 0"),
            ),
            *(
                Total(
                    f"combinations with {flag} add up to its patients",
                    total=_flag_total(flag),
                    parts=Cells("risk_factor_overlap", ("patients",), flag),
                )
                for flag in PRIMARY_FLAGS
            ),
        ),
    ),
    MartSpec(
        name="care_gaps_monthly",
        suppression=SuppressionSpec(counts=(CountRule("patients", totals=(("gap",),)),), order_by="gap, month"),
        drop_columns=("month_start",),
        text_domains={"gap": GAP, "month": MONTH},
        relations=tuple(
            AtMost(
                f"{gap} patients of a month entered the cohort that month",
                smaller=Cells("care_gaps_monthly", ("patients",), f"gap = '{gap}'"),
                larger=Cells("cohort_monthly", ("new_cramp_patients",)),
                match=("month",),
            )
            for gap in GAP_INDICATIONS
        ),
    ),
    MartSpec(
        name="care_gap_totals",
        suppression=SuppressionSpec(counts=(CountRule("patients"),), order_by="gap"),
        text_domains={"gap": GAP},
        relations=(
            Total(
                "the months of a gap add up to its total",
                total=Cells("care_gap_totals", ("patients",)),
                parts=Cells("care_gaps_monthly", ("patients",)),
                match=("gap",),
            ),
            *(
                AtMost(
                    f"{gap} is open only for patients with {' or '.join(flags)}",
                    smaller=Cells("care_gap_totals", ("patients",), f"gap = '{gap}'"),
                    larger=_flag_total(flags),
                )
                for gap, indications in GAP_INDICATIONS.items()
                for flags in indications
            ),
        ),
    ),
    MartSpec(
        name="attrition",
        suppression=SuppressionSpec(
            counts=(CountRule("patients", complement_of="parent_patients", complement_when="step_number > 2"),),
            order_by="step_number",
        ),
        structural=("step_number",),
        drop_columns=("parent_patients",),
        text_domains={"step": STEP},
        relations=(
            AtMost(
                "the cohort is part of the patients in staging",
                smaller=COHORT,
                larger=Cells("attrition", ("patients",), "step_number = 1"),
                difference_is_a_count=True,
            ),
            Total(
                "step 3 is the patients with any primary risk factor",
                total=_flag_total("any_primary_risk"),
                parts=Cells("attrition", ("patients",), ATTRITION_ANY_PRIMARY),
            ),
            *(
                Total(
                    f"step {4 + i} is the patients with {flag}",
                    total=_flag_total(flag),
                    parts=Cells("attrition", ("patients",), f"step_number = {4 + i}"),
                )
                for i, flag in enumerate(PRIMARY_FLAGS)
            ),
        ),
    ),
    MartSpec(
        name="dq_batch_summary",
        suppression=SuppressionSpec(
            counts=(
                CountRule("rows_read"),
                CountRule("rows_loaded"),
                CountRule("rows_quarantined"),
                CountRule("rows_superseded"),
                CountRule("rows_held"),
            ),
            row_sums=(RowSumRule("rows_read", ("rows_loaded", "rows_quarantined", "rows_superseded", "rows_held")),),
            order_by="source_batch_id",
        ),
        structural=("files", "checks_run", "checks_failed", "error_checks_failed", "warn_checks_failed"),
        # dq.* are optional: a warehouse without them (no batch ingested yet) gets an empty summary.
        text_domains={"source_batch_id": BATCH},
        relations=(
            Total(
                "rows read = loaded + quarantined + superseded",
                total=Cells("dq_batch_summary", ("rows_read",)),
                parts=Cells("dq_batch_summary", ("rows_loaded", "rows_quarantined", "rows_superseded", "rows_held")),
                match=("source_batch_id",),
            ),
        ),
    ),
    MartSpec(
        name="version_diff_counts",
        suppression=SuppressionSpec(
            # entered - left of a flag = its prevalence now - its prevalence under the previous version (published
            # by the previous snapshot): a lone hidden direction could be worked out, so the pair hides together.
            counts=(CountRule("patients", totals=(("flag",),)),),
            order_by="flag_order, change",
        ),
        structural=("flag_order",),
        optional_reads=(
            ("version_diff", "cohort.version_diff", column_ddl("cohort.version_diff")),
            ("version_runs", "cohort.version_runs", column_ddl("cohort.version_runs")),
        ),
        text_domains={
            "flag": TextDomain("a flag of the flag catalogue, or in_cohort", values=(*FLAG.values, "in_cohort")),
            "flag_label": TextDomain(
                "a label of the flag catalogue, or the cohort's", values=(*FLAG_LABEL.values, "In the cramp cohort")
            ),
            "flag_group": TextDomain("a flag group, or cohort", values=(*FLAG_GROUP.values, "cohort")),
            "change": TextDomain("a direction of change", values=("entered", "left")),
            "previous_version": VERSION_OF_A_RUN,
            "current_version": VERSION_OF_A_RUN,
            "diff_run_id": TextDomain("a run that wrote a version diff", values_from=("cohort.version_runs.run_id",)),
        },
        unrelated_counts={
            "patients": "the diff stays until the next version change while the flags move with new batches, so "
            "entered/left bound no current count (not even entered <= patients with the flag now), and the "
            "previous prevalence they differ from belongs to an earlier snapshot",
        },
    ),
    MartSpec(
        name="value_set_matches",
        suppression=SuppressionSpec(
            counts=(CountRule("matched_patients"), CountRule("matched_rows")),
            order_by="entry_order",
        ),
        structural=("entry_order",),
        text_domains={
            "value_set": TextDomain("a value set of the seed", values_from=("ref.value_sets.value_set",)),
            "code_system": TextDomain("a code system of the seed", values_from=("ref.value_sets.code_system",)),
            "code": TextDomain("a code of the seed", values_from=("ref.value_sets.code",)),
            "match": TextDomain("a match kind", values=("exact", "prefix")),
        },
        relations=(
            # Per-code patients overlap (a patient matches many codes), so they sum to no other published count.
            AtMost(
                "a code's patients are at most its rows",
                smaller=Cells("value_set_matches", ("matched_patients",)),
                larger=Cells("value_set_matches", ("matched_rows",)),
                match=("value_set", "code_system", "code", "match"),
            ),
        ),
        optional_reads=(
            ("value_sets", "ref.value_sets", "value_set varchar, code_system varchar, code varchar, match varchar"),
            (
                "condition_matches",
                "intermediate.condition_matches",
                "patient_id varchar, value_set varchar, code_system varchar, code varchar",
            ),
            (
                "lab_results",
                "intermediate.lab_results",
                "patient_id varchar, measure varchar, code_system varchar, code varchar",
            ),
        ),
    ),
)

MART_NAMES: tuple[str, ...] = tuple(m.name for m in MARTS) + ("run_info",)
