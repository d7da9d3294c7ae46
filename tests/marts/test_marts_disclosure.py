"""The disclosure audit: no hidden count can be worked out, exactly or to within +-2, from the other counts of the
published snapshot.

Hand-built cohorts reproduce the known leaks with the suppression rules alone (`build_marts(audit=False)`), then
show that the audited build closes them and that publishing refuses the rules-only marts naming the cell. The
integer ranges are checked against brute-force enumeration, the relation declarations against the marts, and the
whole thing against the real sample run.
"""

import itertools
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from marts_synthetic import VERSION, build_warehouse, write_cohort

from pipelines.contract.flags import FLAG_COLUMNS, PRIMARY_FLAGS, SECONDARY_FLAGS
from pipelines.marts.build import build_marts
from pipelines.marts.disclosure import MIN_WIDTH, DisclosureError, _record, assert_disclosure_safe, load_model
from pipelines.marts.disclosure_solver import Bound, Linear, Solver
from pipelines.marts.publish import publish_snapshot, read_published_run_id
from pipelines.marts.relations import relation_columns
from pipelines.marts.specs import MARTS


def _patient(i: int, index: date, **flags: bool) -> dict:
    row = {"patient_id": f"p{i:04d}", "index_date": index, "cramp_events": 1}
    row |= {flag: flags.get(flag, False) for flag in FLAG_COLUMNS}
    row |= {
        "age_at_index": 30 + i % 10,
        "sex": "F" if i % 2 else "M",
        "any_primary_risk": any(row[f] for f in PRIMARY_FLAGS),
        "risk_factor_count": sum(row[f] for f in PRIMARY_FLAGS + SECONDARY_FLAGS),
        "phenotype_version": VERSION,
    }
    return row


def _hand_built(tmp_path: Path, rows: list[dict]) -> Path:
    """A warehouse whose cohort is exactly `rows` (staging has 100 more patients without cramps)."""
    db = tmp_path / "warehouse.duckdb"
    build_warehouse(db, patients=len(rows) + 100, seed=1)
    with duckdb.connect(str(db)) as con:
        gaps = con.sql("select * from cohort.care_gaps limit 0").pl()
        write_cohort(con, pl.DataFrame(rows), gaps)
    return db


def _published(con, sql: str):
    return con.execute(sql).fetchone()[0]


def _audited_then_rules_only(con, run_id: str) -> None:
    """Audited build (records the classes of the counts), then the same run's marts by the rules alone."""
    build_marts(con, run_id=run_id, batch_id="b")
    assert_disclosure_safe(con)
    build_marts(con, run_id=run_id, batch_id="b", audit=False)


def _primary_leak_cohort() -> list[dict]:
    start = date(2024, 3, 1)
    return (
        [_patient(i, start) for i in range(60)]
        + [_patient(60 + i, start, hypocalcemia=True) for i in range(3)]
        + [_patient(63 + i, start, neuropathy=True) for i in range(3)]
        + [_patient(66 + i, start, pad=True) for i in range(3)]
    )


def test_any_primary_risk_factor_is_not_cohort_minus_no_primary_risk_factor(tmp_path):
    # 60 patients without a primary risk factor, 3 each with only hypocalcemia, neuropathy or PAD: "any primary"
    # (9) is hidden, and so are those overlap cells (two or more in every margin), but the cohort (69) and the
    # overlap cell "none" (60) were both published (the demo's leak).
    rows = _primary_leak_cohort()
    db = _hand_built(tmp_path, rows)
    any_sql = (
        "select patients_with_flag from marts.flag_prevalence where flag = 'any_primary_risk' and breakdown = 'overall'"
    )
    cohort_sql = "select patients from marts.attrition where step_number = 2"
    none_sql = "select patients from marts.risk_factor_overlap where combination = 'none'"
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="rules", batch_id="b", audit=False)
        assert _published(con, any_sql) is None
        assert _published(con, cohort_sql) - _published(con, none_sql) == 9  # the leak, reproduced

        build_marts(con, run_id="audited", batch_id="b")
        assert _published(con, any_sql) is None
        assert None in (_published(con, cohort_sql), _published(con, none_sql))
        ranges = {r.target: r for r in assert_disclosure_safe(con)}
        any_range = ranges[
            "marts.flag_prevalence.patients_with_flag [flag=any_primary_risk, breakdown=overall, group_value=all]"
        ]
        assert any_range.hi - any_range.lo >= MIN_WIDTH
        publish_snapshot(con, tmp_path / "published")
    assert read_published_run_id(tmp_path / "published") == "audited"


def test_publishing_refuses_the_rules_only_marts_naming_the_cell(tmp_path):
    db = _hand_built(tmp_path, _primary_leak_cohort())
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="good", batch_id="b")
        publish_snapshot(con, tmp_path / "published")
        _audited_then_rules_only(con, "leaky")
        with pytest.raises(DisclosureError) as caught:
            publish_snapshot(con, tmp_path / "published")
    message = str(caught.value)
    assert "\n" not in message and "snapshot not published" in message
    assert "marts.attrition.patients [step_number=3]" in message or "flag=any_primary_risk" in message
    assert " 9 " not in message and "[9" not in message  # names the cell, never its value
    assert read_published_run_id(tmp_path / "published") == "good"


def _monthly_cohort(new_per_month: list[int]) -> list[dict]:
    rows, i = [], 0
    for month, n in enumerate(new_per_month):
        for _ in range(n):
            rows.append(_patient(i, date(2023, 1 + month, 15)))
            i += 1
    return rows


def _windows(con) -> list[tuple[list[str], int]]:
    """(hidden months, their sum worked out from published cumulative sizes) between published sizes."""
    out, hidden, known, previous = [], [], 0, 0
    rows = con.execute("select month, new_cramp_patients, cohort_size from marts.cohort_monthly order by month")
    for month, new, size in rows.fetchall():
        if new is None:
            hidden.append(month)
        else:
            known += new
        if size is not None:
            if hidden:
                out.append((hidden, size - previous - known))
            hidden, known, previous = [], 0, size
    return out


def _window_ranges(windows, exact: dict[str, int]) -> list[tuple[str, int, int]]:
    """What the cumulative sizes alone tell of each hidden month of 1..10: (month, lowest, highest), with the
    reader's bounds (0..10 for a hidden count of at most 10, >= 0 for a larger one)."""
    out = []
    for months, total in windows:
        for month in months:
            if not 1 <= exact[month] <= 10:
                continue
            others = [exact[m] for m in months if m != month]
            most_of_others = sum(10 if n <= 10 else 10**9 for n in others)
            out.append((month, max(0, total - most_of_others), min(10, total)))
    return out


def _exact_months(con) -> dict[str, int]:
    return dict(
        con.execute("select strftime(index_date, '%Y-%m'), count(*) from cohort.patient_flags group by 1").fetchall()
    )


def test_cumulative_cohort_size_does_not_pin_hidden_monthly_counts(tmp_path):
    # 20, 1, 30, 1, 25 new patients: the rules hide both 1s and publish the size only where a window holds an even
    # number of hidden months, so the window 20 -> 52 gives 1 + 1 = 2: each hidden month is 0..2.
    db = _hand_built(tmp_path, _monthly_cohort([20, 1, 30, 1, 25]))
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="rules", batch_id="b", audit=False)
        assert (["2023-02", "2023-04"], 2) in _windows(con)  # the leak, reproduced
        build_marts(con, run_id="audited", batch_id="b")
        exact = _exact_months(con)
        for month, lowest, highest in _window_ranges(_windows(con), exact):
            assert highest - lowest >= MIN_WIDTH, month
        assert_disclosure_safe(con)
        _audited_then_rules_only(con, "leaky")
        with pytest.raises(DisclosureError, match=r"marts\.cohort_monthly\.new_cramp_patients \[month=2023-0[24]\]"):
            assert_disclosure_safe(con)


def test_marts_without_a_leak_get_no_extra_suppression(tmp_path):
    # 20, 3, 30, 4, 25: the window over the two hidden months sums to 7, each is anywhere in 0..7
    db = _hand_built(tmp_path, _monthly_cohort([20, 3, 30, 4, 25]))
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b", audit=False)
        rules = {m.name: con.sql(f"select * from marts.{m.name}").pl() for m in MARTS}
        build_marts(con, run_id="r", batch_id="b")
        for name, frame in rules.items():
            assert con.sql(f"select * from marts.{name}").pl().equals(frame), name
        assert con.execute("select count(*) from privacy.protected_counts where hidden_by = 'audit'").fetchone() == (0,)
        assert (["2023-02", "2023-04"], 7) in _windows(con)
        assert_disclosure_safe(con)


def test_marts_that_were_not_audited_are_refused(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=300, seed=21)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b")
        assert_disclosure_safe(con)
        con.execute("delete from privacy.protected_counts")  # e.g. marts written by another tool or release
        with pytest.raises(DisclosureError, match=r"marts\.\w+\.\w+ \[.*\] is hidden but was not audited"):
            publish_snapshot(con, tmp_path / "published")
    assert read_published_run_id(tmp_path / "published") is None


def test_every_mart_count_has_declared_relations():
    names = [relation.name for spec in MARTS for relation in spec.relations]
    assert len(names) == len(set(names)), "relation names identify relations in privacy.protected_counts"
    covered = {pair for spec in MARTS for relation in spec.relations for pair in relation_columns(relation)}
    for spec in MARTS:
        for column in spec.count_columns:
            if column in spec.unrelated_counts:
                assert (spec.name, column) not in covered, f"marts.{spec.name}.{column} is related after all"
                assert len(spec.unrelated_counts[column]) > 40, "an unrelated count says why it is unrelated"
                continue
            assert (spec.name, column) in covered, f"marts.{spec.name}.{column} has no declared relation"
        assert spec.key, f"marts.{spec.name} declares no key"


def test_every_relation_relates_cells_and_holds_on_the_exact_counts(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=600, seed=11)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b")  # checks every relation on the exact counts
        model = load_model(con)
    declared = {r.name for spec in MARTS for r in spec.relations}
    used = {row.relation for row in model.rows}
    assert declared == used  # no declaration selects nothing (a typo in a where clause, a renamed step)


def _brute_force(constraints: list[Linear], n: int, target: dict[int, int]) -> tuple[int, int]:
    grid = np.array(list(itertools.product(range(11), repeat=n)))
    ok = np.ones(len(grid), dtype=bool)
    for con in constraints:
        value = sum(a * grid[:, v] for v, a in con.coefs.items()) + con.constant
        ok &= (value == 0) if con.sense == "=" else (value <= 0)
    values = sum(a * grid[ok][:, v] for v, a in target.items())
    return int(values.min()), int(values.max())


@pytest.mark.parametrize("seed", range(12))
def test_solver_ranges_equal_brute_force_enumeration(seed):
    # Random small systems of +-1 relations over 5 hidden counts in 0..10, consistent with a random true point.
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 11, 5)
    constraints = []
    for _ in range(rng.integers(2, 6)):
        coefs = {int(v): int(rng.choice([-1, 1])) for v in rng.choice(5, rng.integers(1, 4), replace=False)}
        value = sum(a * truth[v] for v, a in coefs.items())
        if rng.random() < 0.6:
            constraints.append(Linear(coefs, -int(value), "="))
        else:
            constraints.append(Linear(coefs, -int(value) - int(rng.integers(0, 3)), "<="))
    solver = Solver(constraints, {v: Bound(0, 10) for v in range(5)})
    for v in range(5):
        outcome = solver.range({v: 1})
        assert (outcome.lo, outcome.hi) == _brute_force(constraints, 5, {v: 1}), v
    pair = {0: 1, 3: -1}
    outcome = solver.range(pair)
    assert (outcome.lo, outcome.hi) == _brute_force(constraints, 5, pair)


def test_integer_ranges_are_narrower_than_the_linear_relaxation():
    # 2z = x + y with x + y >= 3: the linear relaxation lets z be 1.5; whole numbers make it at least 2.
    constraints = [Linear({2: 2, 0: -1, 1: -1}, 0, "="), Linear({0: -1, 1: -1}, 3, "<=")]
    solver = Solver(constraints, {v: Bound(0, 10) for v in range(3)})
    outcome = solver.range({2: 1})
    assert (outcome.lo, outcome.hi) == _brute_force(constraints, 3, {2: 1}) == (2, 10)


@pytest.fixture(scope="module")
def sample_run(sample_warehouse: Path) -> Path:
    """The folder of the session's sample run (both batches through the real CLI): its published snapshot."""
    return sample_warehouse.parent


def test_sample_run_publishes_a_snapshot_without_the_known_leaks(sample_run, tmp_path):
    snapshot = sample_run / "published" / "marts.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as con:
        cohort = _published(con, "select patients from marts.attrition where step_number = 2")
        none = _published(con, "select patients from marts.risk_factor_overlap where combination = 'none'")
        any_primary = _published(
            con,
            "select patients_with_flag from marts.flag_prevalence "
            "where flag = 'any_primary_risk' and breakdown = 'overall'",
        )
        assert any_primary is None and None in (cohort, none)
        windows = _windows(con)
    # the same warehouse, marts by the rules alone: the leaks are there and publishing refuses them
    db = tmp_path / "copy.duckdb"
    db.write_bytes((sample_run / "warehouse.duckdb").read_bytes())
    with duckdb.connect(str(db)) as con:
        exact = _exact_months(con)
        for month, lowest, highest in _window_ranges(windows, exact):
            assert highest - lowest >= MIN_WIDTH, month
        _audited_then_rules_only(con, "leaky")
        exact_any = _published(con, "select count_if(any_primary_risk) from cohort.patient_flags")
        cohort = _published(con, "select patients from marts.attrition where step_number = 2")
        none = _published(con, "select patients from marts.risk_factor_overlap where combination = 'none'")
        # which of the two known leaks the rules leave depends on the sample's counts: at least one is there
        subtraction_leak = None not in (cohort, none) and cohort - none == exact_any <= 10
        pinned_months = any(highest - lowest < MIN_WIDTH for _, lowest, highest in _window_ranges(_windows(con), exact))
        assert subtraction_leak or pinned_months
        with pytest.raises(DisclosureError, match="can be worked out to within"):
            assert_disclosure_safe(con)


def test_the_audit_is_repeatable(tmp_path):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=400, seed=5)
    snapshots = []
    with duckdb.connect(str(db)) as con:
        for _ in range(2):
            build_marts(con, run_id="r", batch_id="b", built_at=date(2026, 1, 1))
            snapshots.append(
                {
                    name: con.sql(f"select * from {name} order by all").pl()
                    for name in [f"marts.{m.name}" for m in MARTS] + ["privacy.protected_counts"]
                }
            )
    assert snapshots[0].keys() == snapshots[1].keys()
    for name, frame in snapshots[0].items():
        assert frame.equals(snapshots[1][name]), name
    assert snapshots[0]["privacy.protected_counts"].filter(pl.col("hidden_by") == "audit").height > 0


def test_a_snapshot_that_hides_nothing_records_an_empty_table(tmp_path):
    # A large cohort (1M patients in the bench) has no count of 1-10: the record is empty, the build goes on.
    db = tmp_path / "w.duckdb"
    build_warehouse(db, patients=300, seed=21)
    with duckdb.connect(str(db)) as con:
        build_marts(con, run_id="r", batch_id="b")
        model = load_model(con)
        for cell in model.cells:
            cell.published = 0 if cell.published is None else cell.published
        assert not model.hidden
        _record(con, model, [], "r2", [])
        assert con.execute("select count(*) from privacy.protected_counts").fetchone() == (0,)
