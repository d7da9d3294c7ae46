"""The default (incremental) path equals a full rebuild: random and hand-written batch sequences run through the
real `cramp-cohort run` into warehouse A (as a scheduled run does) and warehouse B (`--full` on every run), compared
table by table after every batch (tests/equivalence/batch_sequences.py says what is compared and what is not).

`make test` runs a few hypothesis examples (derandomized: the same ones on every machine); a longer search:
`CRAMP_COHORT_PROPERTY_EXAMPLES=50 pytest tests/equivalence/test_incremental_equivalence.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from tests.equivalence.batch_sequences import (
    ACTIVE_PATIENTS,
    BASE_ID,
    DEFECTS,
    UPDATES,
    Defect,
    Delivery,
    Move,
    Pair,
    Pool,
    Step,
    assert_equivalent,
    cli_supports,
    prepare_base,
)
from tests.run_helpers import CliForker

EXAMPLES = int(os.environ.get("CRAMP_COHORT_PROPERTY_EXAMPLES", "2"))


@pytest.fixture(scope="module")
def forker():
    forker = CliForker()
    yield forker
    forker.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, forker: CliForker) -> tuple[Pool, Path]:
    return prepare_base(tmp_path_factory.mktemp("incremental"), forker)


@pytest.fixture
def pair(base: tuple[Pool, Path], forker: CliForker, tmp_path: Path) -> Pair:
    pool, folder = base
    return Pair.from_base(folder, tmp_path / "pair", pool, forker)


def _check_paths(pair: Pair, expect_incremental: bool = False) -> None:
    """B ran the full path every time; A ran the incremental path where the test says it must (once the run
    summary names the path: before the incremental path every run is full and the summary is silent)."""
    for a, b in pair.history:
        assert a.exit_code == b.exit_code, f"exit codes differ at {a.batch_id}: {pair.describe()}"
        if b.processing_path is not None:
            assert b.processing_path == "full", f"B ran {b.processing_path} at {b.batch_id}: {b.processing_reason}"
    if expect_incremental and cli_supports("run", "--full"):
        a = pair.history[-1][0]
        assert a.processing_path == "incremental", f"A ran {a.processing_path} at {a.batch_id}: {a.processing_reason}"


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


# --- hand-written sequences, one case each --------------------------------------------------------------------------


def test_an_encounter_moved_to_another_patient(pair: Pair) -> None:
    """A cramp patient's encounter, with its events, is re-delivered under another patient: the first patient's
    events there leave them and the other patient gains them, on both paths alike."""
    source = pair.pool.active[0]
    cramp_encounter = _cramp_encounter(pair, source)
    index = [r["Id"] for r in pair.pool.encounters(source)].index(cramp_encounter)
    target_index = _living_patient(pair, cramp_encounter, other_than=source)
    target = pair.pool.active[target_index]
    a, b = pair.run_step(Step(moves=(Move(source=0, encounter=index, target=target_index),)))
    assert_equivalent(pair, "an encounter moved to another patient")
    assert a.exit_code == 0, pair.a.log_tail()
    assert _query(pair.a.db, "select patient_id from staging.encounters where encounter_id = ?", [cramp_encounter]) == [
        (target,)
    ]
    assert _query(
        pair.a.db,
        "select count(*) from cohort.cramp_events where patient_id = ? and encounter_id = ?",
        [target, cramp_encounter],
    ) != [(0,)]
    _check_paths(pair, expect_incremental=True)


def _cramp_encounter(pair: Pair, patient_id: str) -> str:
    rows = _query(
        pair.a.db,
        "select encounter_id from cohort.cramp_events where patient_id = ? order by all limit 1",
        [patient_id],
    )
    assert rows, f"the pool's first active patient {patient_id} has no cramp event in the base warehouse"
    return rows[0][0]


def _living_patient(pair: Pair, encounter_id: str, other_than: str) -> int:
    """The first active patient of the base warehouse (not `other_than`) alive on the encounter's day."""
    started = next(r["START"][:10] for r in pair.pool.rows["encounters"] if r["Id"] == encounter_id)
    for index, pid in enumerate(pair.pool.active):
        row = pair.pool.patient(pid)
        if pid != other_than and pid not in pair.pool.newcomers and row["BIRTHDATE"] < started:
            if not row["DEATHDATE"] or row["DEATHDATE"] > started:
                return index
    raise AssertionError(f"no active patient alive on {started}")


def test_a_redelivery_that_drops_a_patient(pair: Pair) -> None:
    """A batch brings a new cramp patient and updates another; its re-delivery (same id) leaves the new patient
    out: their rows leave staging and the cohort, the other patient's update stays."""
    newcomer = pair.pool.newcomers[0]
    newcomer_index = pair.pool.active.index(newcomer)
    every_encounter = tuple(range(len(pair.pool.encounters(newcomer))))
    updated = Delivery(patient=1, encounters=(0, 1, 2), update="value")
    a, _ = pair.run_step(Step(deliveries=(Delivery(newcomer_index, encounters=every_encounter), updated)))
    assert a.exit_code == 0, pair.a.log_tail()
    assert _query(pair.a.db, "select count(*) from cohort.patient_flags where patient_id = ?", [newcomer]) == [(1,)]
    assert_equivalent(pair, "the batch bringing the new patient")

    a, _ = pair.run_step(Step(kind="redeliver", target=1, deliveries=(updated,)))
    assert a.exit_code == 0, pair.a.log_tail()
    for table in ("staging.patients", "staging.observations", "cohort.patient_flags"):
        assert _query(pair.a.db, f"select count(*) from {table} where patient_id = ?", [newcomer]) == [(0,)], table
    assert_equivalent(pair, "its re-delivery without the new patient")
    _check_paths(pair, expect_incremental=True)


def test_an_out_of_order_batch_then_a_rerun_of_an_old_one(pair: Pair) -> None:
    """A new batch whose id sorts before the base (--allow-out-of-order) updates a patient's rows (they lose to the
    base's copies of the same keys) and moves an encounter; then the base batch is re-run with other contents: two
    patients only, so the out-of-order batch's rows now win every key the base no longer holds."""
    steps = (
        Step(
            kind="out_of_order",
            target=0,
            deliveries=(Delivery(patient=0, encounters=(0, 1, 2, 3, 4), update="value"),),
            moves=(Move(source=1, encounter=0, target=3),),
        ),
        Step(
            kind="redeliver",
            target=0,
            deliveries=(
                Delivery(patient=2, encounters=(0, 1), update="description"),
                Delivery(patient=3, encounters=(1,), update="death"),
            ),
            defects=(Defect("orphan_encounter", 2),),
        ),
    )
    for step in steps:
        a, _ = pair.run_step(step)
        assert_equivalent(pair, f"batch {a.batch_id}")
        assert a.exit_code == 0, pair.a.log_tail()
    assert [a.batch_id for a, _ in pair.history] == ["2026-01-14", BASE_ID]
    # the re-run base delivery holds two patient rows, the out-of-order batch one more: nobody else is left
    expected = sorted((pair.pool.active[i],) for i in (0, 2, 3))
    assert _query(pair.a.db, "select patient_id from staging.patients order by all") == expected
    # patient 0's updated values are current now: the base no longer holds those observations
    assert _query(
        pair.a.db,
        "select count(*) from staging.observations where patient_id = ? and _batch_id = '2026-01-14'",
        [pair.pool.active[0]],
    ) != [(0,)]
    _check_paths(pair, expect_incremental=True)


def test_found_an_out_of_order_batch_after_a_move_to_a_patient_who_died(pair: Pair) -> None:
    """The sequence hypothesis found (not shrunk further; it failed until the encounters' scoped build stopped
    widening its scope before the swap, which deleted every staged encounter of patient 1 while reading only the
    copies of the encounters it named): a batch moves an encounter of patient 0 to patient 1,
    whose death it delivers, and carries an orphan encounter; then a new batch sorting before the base delivers
    patient 0 again and moves an encounter of patient 3 to patient 0."""
    steps = (
        Step(
            deliveries=(
                Delivery(patient=2, patient_row=False, encounters=(3,), update="description"),
                Delivery(patient=1, encounters=(1, 0, 6), update="death"),
            ),
            moves=(Move(source=0, encounter=2, target=1),),
            defects=(Defect("orphan_patient", 4),),
        ),
        Step(
            kind="out_of_order",
            deliveries=(Delivery(patient=0, encounters=(6, 5, 3, 1)),),
            moves=(Move(source=3, encounter=3, target=0),),
        ),
    )
    for step in steps:
        a, _ = pair.run_step(step)
        assert_equivalent(pair, f"batch {a.batch_id}")
    _check_paths(pair, expect_incremental=True)


# --- random sequences -----------------------------------------------------------------------------------------------

patients = st.integers(0, ACTIVE_PATIENTS - 1)
deliveries = st.builds(
    Delivery,
    patient=patients,
    # At least one encounter, and shrinking towards a delivery with its patient row: a batch without rows, or with
    # the events of a patient never delivered (all quarantined: the batch fails), told little.
    patient_row=st.sampled_from((True, False)),
    encounters=st.lists(st.integers(0, 11), min_size=1, max_size=4).map(tuple),
    update=st.sampled_from(UPDATES),
)
steps = st.builds(
    Step,
    kind=st.sampled_from(("next", "redeliver", "out_of_order")),
    target=st.integers(0, 3),
    deliveries=st.lists(deliveries, min_size=1, max_size=3).map(tuple),
    moves=st.lists(st.builds(Move, source=patients, encounter=st.integers(0, 11), target=patients), max_size=1).map(
        tuple
    ),
    defects=st.lists(st.builds(Defect, kind=st.sampled_from(DEFECTS), patient=patients), max_size=2).map(tuple),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sequence=st.lists(steps, min_size=1, max_size=3))
def test_random_batch_sequences_equal_a_full_rebuild(
    sequence: list[Step], base: tuple[Pool, Path], forker: CliForker, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """After the base batch, 1-3 drawn batches (2-4 in all); A and B equal after every one."""
    pool, folder = base
    pair = Pair.from_base(folder, tmp_path_factory.mktemp("sequence") / "pair", pool, forker)
    for number, step in enumerate(sequence, start=1):
        a, b = pair.run_step(step)
        note(f"batch {number}: {a.batch_id} A exit {a.exit_code} ({a.processing_path}), B exit {b.exit_code}")
        event(f"{step.kind} batch: exit {a.exit_code}, A path {a.processing_path}")
        assert_equivalent(pair, f"drawn batch {number} of {len(sequence)}")
    _check_paths(pair)


def test_the_comparison_sees_a_changed_row_and_an_unbalanced_reconciliation(pair: Pair) -> None:
    """The comparison can fail: two copies of one warehouse are equal until a row of A's cohort changes, and an
    unbalanced reconciliation row is named."""
    assert_equivalent(pair, "nothing")
    with duckdb.connect(str(pair.a.db)) as con:
        con.execute(
            "update cohort.patient_flags set neuropathy = not neuropathy where patient_id = ?", [pair.pool.active[0]]
        )
    with pytest.raises(AssertionError, match=r"cohort\.patient_flags: same \d+ rows count, different contents"):
        assert_equivalent(pair, "a flag flipped in A")
    with duckdb.connect(str(pair.b.db)) as con:
        con.execute(
            "update dq.batch_reconciliation set rows_loaded = rows_loaded + 1 where source_file = 'patients.csv'"
        )
    with pytest.raises(AssertionError, match="b: dq.batch_reconciliation does not balance"):
        assert_equivalent(pair, "a reconciliation row off by one in B")
