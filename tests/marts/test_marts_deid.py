"""The de-identification scan before publishing: no false alarm on structural values (a date-named batch equal to
a birth date, numeric patient ids equal to counts), and still a real scan: every kind of direct identifier or an
unsuppressed small count placed in a mart fails it, naming the mart and column but never the value."""

import duckdb
import pytest
from marts_synthetic import build_warehouse

from pipelines.marts.build import build_marts
from pipelines.marts.deid import DeidentificationError, assert_deidentified
from pipelines.marts.publish import publish_snapshot, read_published_run_id


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    db = tmp_path_factory.mktemp("deid") / "warehouse.duckdb"
    inputs = build_warehouse(db, patients=300, seed=17)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="run-1", batch_id="2026-02-01")
    return db, inputs


@pytest.fixture
def warehouse(template, tmp_path):
    """A copy of the template warehouse (cohort, dq and marts of run-1), for one test to change."""
    db, inputs = template
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(db.read_bytes())
    return copy, inputs


def test_a_date_named_batch_equal_to_a_birth_date_does_not_block_publishing(warehouse, tmp_path):
    # Batches are named by delivery date; with enough patients one of them was born on that date. Every later run
    # keeps that batch id in dq_batch_summary, so a false alarm would block publishing for good.
    db, inputs = warehouse
    birth_date = inputs["raw"]["BIRTHDATE"][0]
    with duckdb.connect(str(db)) as con:
        con.execute("update dq.batch_reconciliation set batch_id = ? where batch_id = '2026-01-01'", [birth_date])
        con.execute("update dq.check_results set batch_id = ? where batch_id = '2026-01-01'", [birth_date])
        build_marts(con, run_id="run-1", batch_id=birth_date)
        assert (
            con.execute(
                "select count(*) from marts.dq_batch_summary where source_batch_id = ?", [birth_date]
            ).fetchone()[0]
            == 1
        )
        assert_deidentified(con)
        publish_snapshot(con, tmp_path / "published")
    assert read_published_run_id(tmp_path / "published") == "run-1"


def test_numeric_patient_ids_equal_to_counts_do_not_block_publishing(warehouse, tmp_path):
    # MRNs 1..N: every published count up to N is some patient's id.
    db, _ = warehouse
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create temp table mrn as select Id as old, cast(row_number() over (order by Id) as varchar) as new "
            "from raw.patients"
        )
        con.execute("update raw.patients set Id = mrn.new from mrn where raw.patients.Id = mrn.old")
        for table in ("staging.patients", "cohort.patient_flags", "cohort.care_gaps"):
            con.execute(f"update {table} set patient_id = mrn.new from mrn where {table}.patient_id = mrn.old")
        build_marts(con, run_id="run-mrn", batch_id="2026-02-01")
        published = {
            str(n)
            for (n,) in con.execute(
                "select patients from marts.attrition where patients is not null union "
                "select patients_in_group from marts.flag_prevalence where patients_in_group is not null"
            ).fetchall()
        }
        ids = {r[0] for r in con.execute("select Id from raw.patients").fetchall()}
        assert published & ids  # the situation the old scan refused
        assert_deidentified(con)
        publish_snapshot(con, tmp_path / "published")
    assert read_published_run_id(tmp_path / "published") == "run-mrn"


IDENTIFIERS = {
    "patient id": lambda raw: raw["Id"][3],
    "first name": lambda raw: raw["FIRST"][3],
    "last name": lambda raw: raw["LAST"][3],
    "SSN": lambda raw: raw["SSN"][3],
    "address": lambda raw: raw["ADDRESS"][3],
    "exact birth date": lambda raw: raw["BIRTHDATE"][3],
}


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
@pytest.mark.parametrize("placement", ["new text column", "structural label column", "structural batch column"])
def test_every_kind_of_identifier_placed_in_a_mart_fails_the_scan(warehouse, kind, placement):
    db, inputs = warehouse
    value = IDENTIFIERS[kind](inputs["raw"])
    with duckdb.connect(str(db)) as con:
        assert_deidentified(con)  # clean before
        if placement == "new text column":
            con.execute("alter table marts.care_gap_totals add column note varchar")
            con.execute("update marts.care_gap_totals set note = ? where rowid = 0", [value])
            where = "marts.care_gap_totals.note"
        elif placement == "structural label column":
            con.execute("update marts.attrition set step = ? where step_number = 1", [value])
            where = "marts.attrition.step"
        else:
            con.execute("update marts.dq_batch_summary set source_batch_id = ? where rowid = 0", [value])
            where = "marts.dq_batch_summary.source_batch_id"
        with pytest.raises(DeidentificationError) as caught:
            assert_deidentified(con)
    message = str(caught.value)
    assert where in message
    assert value not in message  # the error names the place, never the identifier
    assert "\n" not in message


def test_an_identifier_inside_free_text_and_a_birth_date_column_fail_the_scan(warehouse):
    db, inputs = warehouse
    raw = inputs["raw"]
    with duckdb.connect(str(db)) as con:
        con.execute("alter table marts.attrition add column remark varchar")
        con.execute("update marts.attrition set remark = ? where step_number = 2", [f"see {raw['SSN'][5]} (chart)"])
        con.execute("alter table marts.run_info add column first_seen date")
        con.execute("update marts.run_info set first_seen = ?", [raw["BIRTHDATE"][6]])
        with pytest.raises(DeidentificationError) as caught:
            assert_deidentified(con)
    message = str(caught.value)
    assert "marts.attrition.remark (raw.patients.SSN)" in message
    assert "marts.run_info.first_seen (raw.patients.BIRTHDATE" in message


def test_small_counts_and_undeclared_numbers_still_fail_the_scan(warehouse):
    db, _ = warehouse
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.care_gap_totals set patients = 4, patients_suppressed = false where rowid = 0")
        con.execute("alter table marts.flag_prevalence add column patient_mrn bigint")
        with pytest.raises(DeidentificationError) as caught:
            assert_deidentified(con)
    message = str(caught.value)
    assert "marts.care_gap_totals.patients: 1 unsuppressed count(s) between 1 and 10" in message
    assert "marts.flag_prevalence.patient_mrn: numeric column not declared" in message


def test_a_month_label_must_look_like_a_month(warehouse):
    db, _ = warehouse
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.cohort_monthly set month = 'March of 1957' where rowid = 0")
        with pytest.raises(
            DeidentificationError, match=r"marts\.cohort_monthly\.month: 1 value\(s\) that are not a month"
        ):
            assert_deidentified(con)
