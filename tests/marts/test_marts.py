"""Marts on a synthetic warehouse: the numbers equal figures computed directly from the cohort tables (before
suppression), suppression applies where it must, and no mart holds an identifier or a small count."""

from datetime import date

import duckdb
import polars as pl
import pytest
from marts_synthetic import GAPS, PREVIOUS_VERSION, PRIMARY, VERSION, build_warehouse, write_cohort

from pipelines.cohort.version_diff import DIFF_FLAGS
from pipelines.marts.build import MartInputError, build_marts
from pipelines.marts.deid import (
    DeidentificationError,
    assert_deidentified,
    identifier_leaks,
    load_identifiers,
    small_count_violations,
)
from pipelines.marts.specs import MART_NAMES, MARTS


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    db = tmp_path_factory.mktemp("marts") / "warehouse.duckdb"
    inputs = build_warehouse(db, patients=600, seed=11)
    with duckdb.connect(str(db)) as con:
        counts = build_marts(con, run_id="run-test-1", batch_id="batch-7")
    return db, inputs, counts


def _mart(db, name: str, order: str = "1") -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(f"select * from marts.{name} order by {order}").pl()


def _agrees(published: int | None, exact: int, suppressed: bool) -> None:
    """A published count is either exactly right or NULL with its marker; 1..10 is always hidden."""
    if suppressed:
        assert published is None
    else:
        assert published == exact
    if 1 <= exact <= 10:
        assert suppressed


def test_every_mart_is_built_and_carries_run_batch_and_phenotype_version(warehouse):
    db, inputs, counts = warehouse
    assert set(counts) == set(MART_NAMES)
    version = inputs["flags"]["phenotype_version"][0]
    for name in MART_NAMES:
        frame = _mart(db, name)
        assert frame.height == counts[name] > 0, name
        assert frame.select("run_id", "batch_id", "phenotype_version").unique().rows() == [
            ("run-test-1", "batch-7", version)
        ], name


def test_cohort_monthly_equals_index_dates_per_month(warehouse):
    db, inputs, _ = warehouse
    flags = inputs["flags"]
    exact = flags.with_columns(month=pl.col("index_date").dt.strftime("%Y-%m")).group_by("month").len().sort("month")
    mart = _mart(db, "cohort_monthly", "month")
    first, last = exact["month"][0], exact["month"][-1]
    assert mart["month"][0] == first and mart["month"][-1] == last
    new = dict(exact.iter_rows())
    running = 0
    for row in mart.iter_rows(named=True):
        n = new.get(row["month"], 0)
        running += n
        _agrees(row["new_cramp_patients"], n, row["new_cramp_patients_suppressed"])
        _agrees(row["cohort_size"], running, row["cohort_size_suppressed"])
    assert running == flags.height
    # the last month's cumulative equals the published cohort size unless hiding it protects a cell
    assert mart["cohort_size"][-1] in (flags.height, None)


def test_running_cohort_size_never_isolates_one_hidden_month(warehouse):
    db, _, _ = warehouse
    mart = _mart(db, "cohort_monthly", "month")
    hidden_since_last_published = 0
    for row in mart.iter_rows(named=True):
        hidden_since_last_published += row["new_cramp_patients_suppressed"]
        if row["cohort_size"] is not None:
            assert hidden_since_last_published != 1, row["month"]
            hidden_since_last_published = 0


def _age_band(age: int) -> str:
    return "0-17" if age < 18 else "18-44" if age < 45 else "45-64" if age < 65 else "65+"


def test_flag_prevalence_equals_direct_counts(warehouse):
    db, inputs, _ = warehouse
    flags = inputs["flags"].with_columns(
        age_band=pl.col("age_at_index").map_elements(_age_band, return_dtype=pl.Utf8),
        sex_group=pl.when(pl.col("sex").is_in(["M", "F"])).then(pl.col("sex")).otherwise(pl.lit("other/unknown")),
        all=pl.lit("all"),
    )
    mart = _mart(db, "flag_prevalence")
    assert set(mart["flag"]) >= set(PRIMARY) | {"any_primary_risk", "elderly", "mimic_rls"}
    checked_suppressed = 0
    for row in mart.iter_rows(named=True):
        column = {"overall": "all", "age_band": "age_band", "sex": "sex_group"}[row["breakdown"]]
        group = flags.filter(pl.col(column) == row["group_value"])
        with_flag = int(group[row["flag"]].sum())
        _agrees(row["patients_in_group"], group.height, row["patients_in_group_suppressed"])
        _agrees(row["patients_with_flag"], with_flag, row["patients_with_flag_suppressed"])
        if 1 <= group.height - with_flag <= 10:  # the complement would show a small count
            assert row["patients_with_flag"] is None
        checked_suppressed += row["suppressed"]
    assert checked_suppressed > 0  # the synthetic data has rare flags: the rule was exercised
    # every stratum is present: the groups of a breakdown add up to the cohort
    overall_n = mart.filter(pl.col("breakdown") == "overall")["patients_in_group"].unique().to_list()
    assert overall_n == [inputs["flags"].height]


def test_groups_with_a_published_total_never_hide_a_single_cell(warehouse):
    db, _, _ = warehouse
    mart = _mart(db, "flag_prevalence")
    for column in ("patients_with_flag", "patients_in_group"):
        per_group = mart.group_by("flag", "breakdown").agg(pl.col(f"{column}_suppressed").sum().alias("hidden"))
        assert 1 not in per_group.filter(pl.col("breakdown") != "overall")["hidden"].to_list()
    overlap = _mart(db, "risk_factor_overlap")
    for margin in (None, *PRIMARY):
        groups = [overlap] if margin is None else [overlap.filter(pl.col(margin)), overlap.filter(~pl.col(margin))]
        for g in groups:
            assert g["patients_suppressed"].sum() != 1, margin
    gaps = _mart(db, "care_gaps_monthly")
    assert 1 not in gaps.group_by("gap").agg(pl.col("patients_suppressed").sum())["patients_suppressed"].to_list()


def test_risk_factor_overlap_equals_direct_counts(warehouse):
    db, inputs, _ = warehouse
    exact = inputs["flags"].group_by(*PRIMARY).len()
    mart = _mart(db, "risk_factor_overlap")
    assert mart.height == 16
    lookup = {tuple(r[:4]): r[4] for r in exact.iter_rows()}
    for row in mart.iter_rows(named=True):
        n = lookup.get(tuple(row[f] for f in PRIMARY), 0)
        _agrees(row["patients"], n, row["patients_suppressed"])
        assert row["primary_flags_set"] == sum(row[f] for f in PRIMARY)
    assert mart.filter(pl.col("primary_flags_set") == 0)["combination"].to_list() == ["none"]


def test_care_gaps_equal_direct_counts(warehouse):
    db, inputs, _ = warehouse
    gaps = inputs["gaps"].join(inputs["flags"].select("patient_id", "index_date"), on="patient_id")
    totals = _mart(db, "care_gap_totals")
    assert set(totals["gap"]) <= set(GAPS)
    for row in totals.iter_rows(named=True):
        _agrees(row["patients"], gaps.filter(pl.col("gap") == row["gap"]).height, row["patients_suppressed"])
    monthly = _mart(db, "care_gaps_monthly")
    exact = gaps.with_columns(month=pl.col("index_date").dt.strftime("%Y-%m")).group_by("gap", "month").len()
    assert monthly.height == exact.height
    lookup = {(g, m): n for g, m, n in exact.iter_rows()}
    for row in monthly.iter_rows(named=True):
        _agrees(row["patients"], lookup[(row["gap"], row["month"])], row["patients_suppressed"])


def test_attrition_keeps_the_order_and_counts_of_the_cohort(warehouse):
    db, inputs, _ = warehouse
    with duckdb.connect(str(db), read_only=True) as con:
        exact = con.execute("select step, patients from cohort.attrition order by rowid").fetchall()
    mart = _mart(db, "attrition", "step_number")
    assert mart["step"].to_list() == [s for s, _ in exact]
    assert mart["step_number"].to_list() == list(range(1, len(exact) + 1))
    cohort = inputs["flags"].height
    for row, (_, n) in zip(mart.iter_rows(named=True), exact, strict=True):
        _agrees(row["patients"], n, row["patients_suppressed"])
        if row["step_number"] > 2 and 1 <= cohort - n <= 10:
            assert row["patients"] is None
    assert "parent_patients" not in mart.columns


def test_attrition_uses_the_step_number_of_the_cohort_table_when_present(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=200, seed=8)
    with duckdb.connect(str(db)) as con:
        staged, cohort, any_primary = con.execute(
            "select (select count(*) from staging.patients), count(*), count_if(any_primary_risk) "
            "from cohort.patient_flags"
        ).fetchone()
        # stored out of order; the counts are the real ones (the disclosure audit checks them against the flags)
        con.execute(
            "create or replace table cohort.attrition as select * from (values "
            "(3, 'third', ?), (1, 'first', ?), (2, 'second', ?)) t(step_number, step, patients)",
            [any_primary, staged, cohort],
        )
        build_marts(con, run_id="r", batch_id="b")
        rows = con.execute("select step_number, step, patients from marts.attrition order by step_number").fetchall()
    assert rows == [(1, "first", staged), (2, "second", cohort), (3, "third", any_primary)]


def test_dq_summary_sums_row_fates_and_checks_per_batch(warehouse):
    db, _, _ = warehouse
    with duckdb.connect(str(db), read_only=True) as con:
        rec = con.sql("select * from dq.batch_reconciliation").pl()
        checks = con.sql("select * from dq.check_results").pl()
    mart = _mart(db, "dq_batch_summary", "source_batch_id")
    assert mart["source_batch_id"].to_list() == sorted(rec["batch_id"].unique())
    for row in mart.iter_rows(named=True):
        batch = rec.filter(pl.col("batch_id") == row["source_batch_id"])
        for fate in ("read", "loaded", "quarantined", "superseded", "held"):
            _agrees(row[f"rows_{fate}"], int(batch[f"rows_{fate}"].sum()), row[f"rows_{fate}_suppressed"])
        hidden_parts = sum(row[f"rows_{f}_suppressed"] for f in ("loaded", "quarantined", "superseded", "held"))
        assert hidden_parts != 1  # rows_read = loaded + quarantined + superseded + held would reveal it
        failed = checks.filter((pl.col("batch_id") == row["source_batch_id"]) & (pl.col("status") == "fail"))
        assert row["checks_failed"] == failed.select("table_name", "check_name").unique().height
    held = mart.filter(pl.col("source_batch_id") == "2026-01-15")
    assert held["rows_held"].to_list() == [int(rec.filter(pl.col("batch_id") == "2026-01-15")["rows_read"].sum())]


def test_version_diff_counts_equal_direct_counts(warehouse):
    db, inputs, _ = warehouse
    diff = inputs["version_diff"]
    exact = {
        (flag, "entered" if now else "left"): n
        for flag, now, n in diff.group_by("flag", "current_value").agg(pl.col("patient_id").n_unique()).iter_rows()
    }
    mart = _mart(db, "version_diff_counts", "flag_order, change")
    assert mart.height == 2 * len(DIFF_FLAGS) and mart["flag"][0] == "in_cohort"
    assert set(mart["flag"]) == set(DIFF_FLAGS)
    assert set(mart.select("previous_version", "current_version", "diff_run_id").rows()) == {
        (PREVIOUS_VERSION, VERSION, "run-diff")
    }
    for row in mart.iter_rows(named=True):
        _agrees(row["patients"], exact.get((row["flag"], row["change"]), 0), row["patients_suppressed"])
    # entered - left of a flag is published elsewhere (prevalence now and in the previous snapshot): a flag never
    # shows one direction beside a hidden other
    pairs = mart.group_by("flag").agg(pl.col("patients_suppressed").sum().alias("hidden"))
    assert set(pairs["hidden"]) <= {0, 2}
    assert mart["patients_suppressed"].any() and mart.filter(pl.col("patients") > 10).height > 0


def test_version_diff_counts_keep_the_last_change_after_runs_of_the_same_version(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=80, seed=6)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into cohort.version_runs values ('run-later', 'b2', timestamp '2026-05-03 03:00:00', ?, ?, "
            "false, 100, 0, 'sig2', true)",
            [VERSION, VERSION],
        )
        build_marts(con, run_id="r", batch_id="b2")
        rows = con.execute(
            "select distinct previous_version, current_version, diff_run_id, input_changed "
            "from marts.version_diff_counts"
        ).fetchall()
    assert rows == [(PREVIOUS_VERSION, VERSION, "run-diff", False)]


def test_version_diff_counts_are_empty_before_the_first_version_change(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=50, seed=4)
    with duckdb.connect(str(db)) as con:
        con.execute("delete from cohort.version_runs where version_changed")
        assert build_marts(con, run_id="r", batch_id="b")["version_diff_counts"] == 0
        con.execute("drop table cohort.version_runs")
        con.execute("drop table cohort.version_diff")  # a warehouse from before the version diff
        assert build_marts(con, run_id="r2", batch_id="b")["version_diff_counts"] == 0


def test_value_set_matches_equal_direct_counts(warehouse):
    db, inputs, _ = warehouse
    matches = inputs["value_set_matches"]
    mart = _mart(db, "value_set_matches", "entry_order")
    with duckdb.connect(str(db), read_only=True) as con:
        entries = con.execute(
            "select value_set, code_system, code, match from ref.value_sets order by rowid"
        ).fetchall()
    assert mart.select("value_set", "code_system", "code", "match").rows() == entries  # every entry, seed order
    for row in mart.iter_rows(named=True):
        key = row["code"].replace(".", "").upper() if row["code_system"] == "ICD10CM" else row["code"]
        hits = matches.filter(
            (pl.col("value_set") == row["value_set"])
            & (pl.col("code_system") == row["code_system"])
            & (pl.col("code").str.starts_with(key) if row["match"] == "prefix" else pl.col("code") == key)
        )
        _agrees(row["matched_rows"], hits.height, row["matched_rows_suppressed"])
        _agrees(row["matched_patients"], hits["patient_id"].n_unique(), row["matched_patients_suppressed"])
    assert mart["suppressed"].any() and mart.filter(pl.col("matched_rows") > 10).height > 0


def test_no_mart_holds_an_identifier_or_an_unsuppressed_small_count(warehouse):
    db, inputs, _ = warehouse
    raw = inputs["raw"]
    identifiers = set(raw["Id"]) | set(raw["SSN"]) | set(raw["FIRST"]) | set(raw["LAST"]) | set(raw["BIRTHDATE"])
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        assert sorted(tables) == sorted(MART_NAMES)
        for table in tables:
            frame = con.sql(f"select * from marts.{table}").pl()
            for column in frame.columns:
                values = {str(v) for v in frame[column].to_list() if v is not None}
                assert not values & identifiers, f"{table}.{column} holds an input identifier"
                if frame[column].dtype.is_numeric():
                    spec = next((m for m in MARTS if m.name == table), None)
                    assert spec is not None and column in spec.count_columns + spec.structural, (table, column)
                    if column in spec.count_columns:
                        assert not any(1 <= v <= 10 for v in frame[column].drop_nulls()), (table, column)
        # the library scanner used before publishing agrees
        assert load_identifiers(con) >= len(identifiers) - 1
        assert identifier_leaks(con) == []
        assert small_count_violations(con) == []


def test_the_scanner_catches_a_leak_and_a_small_count(tmp_path):
    db = tmp_path / "w.duckdb"
    inputs = build_warehouse(db, patients=120, seed=3)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b")
        assert_deidentified(con)
        leaked = inputs["raw"]["SSN"][0]
        con.execute("update marts.attrition set step = ? where step_number = 1", [leaked])
        con.execute("update marts.care_gap_totals set patients = 4 where rowid = 0")
        with pytest.raises(DeidentificationError) as caught:
            assert_deidentified(con)
    assert "attrition.step" in str(caught.value) and "care_gap_totals.patients" in str(caught.value)
    assert leaked not in str(caught.value)  # the error names the column, never the value


def test_empty_cohort_builds_empty_marts_without_errors(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=40, seed=5)
    with duckdb.connect(str(db)) as con:
        empty = con.sql("select * from cohort.patient_flags limit 0").pl()
        write_cohort(con, empty, con.sql("select * from cohort.care_gaps limit 0").pl())
        counts = build_marts(con, run_id="r0", batch_id="b0")
        assert counts["cohort_monthly"] == 0 and counts["flag_prevalence"] == 0
        assert counts["risk_factor_overlap"] == 16
        assert con.execute("select sum(patients) from marts.risk_factor_overlap").fetchone()[0] == 0
        assert con.execute("select patients from marts.attrition where step_number = 2").fetchone()[0] == 0
        assert_deidentified(con)


def test_missing_cohort_table_fails_before_touching_existing_marts(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=100, seed=9)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="first", batch_id="b")
        con.execute("drop table cohort.care_gaps")
        with pytest.raises(MartInputError, match="cohort.care_gaps"):
            build_marts(con, run_id="second", batch_id="b")
        assert con.execute("select distinct run_id from marts.attrition").fetchall() == [("first",)]


def test_marts_hold_no_dates_at_all(warehouse):
    # exact dates (birth, index) are identifying; months are text and no DATE/TIMESTAMP column except run_info
    db, _, _ = warehouse
    with duckdb.connect(str(db), read_only=True) as con:
        dated = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'marts' "
            "and (data_type like 'DATE%' or data_type like 'TIMESTAMP%')"
        ).fetchall()
    # the only timestamps are of runs: when the marts were built and when the version diff was taken
    assert sorted(dated) == [("run_info", "built_at"), ("version_diff_counts", "diffed_at")]
    assert date.today().year >= 2026


def test_docs_describe_every_mart_column(warehouse):
    # docs/marts.md is the mart dictionary: every table and column must be in it, and nothing else
    from pipelines import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "marts.md").read_text()
    common = {"run_id", "batch_id", "phenotype_version", "suppressed"}
    documented: dict[str, set[str]] = {}
    for section in text.split("### `marts.")[1:]:
        name = section.split("`", 1)[0]
        documented[name] = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    db, _, _ = warehouse
    with duckdb.connect(str(db), read_only=True) as con:
        actual: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
        ).fetchall():
            actual.setdefault(table, set()).add(column)
    assert set(documented) == set(actual)
    for table, columns in actual.items():
        expected = columns if table == "run_info" else columns - common
        assert documented[table] == expected, table
