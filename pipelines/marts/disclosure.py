"""Disclosure audit: no hidden count may be worked out from the rest of the published snapshot.

Small-cell suppression hides counts 1..10 mart by mart, but a reader adds and subtracts across marts too (the
cohort minus "no primary risk factor" is "any primary risk factor"; two cumulative sizes give a month's new
patients). The audit takes every count of every mart and the relations declared with the marts (`specs.py`,
`relations.py`; read into linear rows by `disclosure_model.py`) and, for each hidden count, works out the smallest
and the largest value it can take given everything published (`disclosure_solver.py`: propagation, then integer
programs with HiGHS). The reader modelled:

- knows every published count, every declared relation, and that counts are whole numbers >= 0;
- knows that a hidden count that really is 0..10 lies in 0..10 (the "<11" label says so; the marts hide zeros
  too, as complements, so a hidden count may be 0); a hidden count above 10 (a complement, a running total) is
  only known to be >= 0. The reader is assumed to know which hidden counts are the ones of at most 10 (the
  worst case: the label is true for them, and a reader may guess which hide large complements);
- the same holds for declared derived counts (patients without a flag = group - with the flag), published or not.

The criterion: every hidden count that is 1..10, and every derived count that is 1..10, must keep a range
[lo, hi] with hi - lo >= 5 (`MIN_WIDTH`), so that no value pins it to within +-2. A hidden 0 or a hidden count
above 10 discloses no small group, however narrow its range; when the snapshot determines one exactly anyway it is
shown again (hiding it protects nothing).

`protect_marts` (run inside the marts build, where the exact counts are at hand) hides more cells until every
small count is safe and records the value class of every hidden and derived count in `privacy.protected_counts`
(the warehouse only, never published), so that `assert_disclosure_safe` (run by publishing) audits the marts
again, without exact counts, and refuses a snapshot that fails.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import duckdb

from pipelines.marts.disclosure_model import (
    LARGE,
    SMALL,
    ZERO,
    Classes,
    DisclosureError,
    Form,
    Row,
    SnapshotModel,
    check_relations_hold,
    load_model,
    value_class,
)
from pipelines.marts.disclosure_solver import Bound, InconsistentError, Linear, Solver
from pipelines.marts.specs import MARTS
from pipelines.marts.suppression import SMALL_MAX
from pipelines.warehouse import table_exists

MIN_WIDTH = 5
RECORD_TABLE = "privacy.protected_counts"
# The reader's prior range of a hidden count, by its value class. The marts hide zeros too (as complements), so a
# reader cannot tell a hidden 0 from a hidden 1..10.
PRIOR = {SMALL: (0, SMALL_MAX), ZERO: (0, SMALL_MAX), LARGE: (0, math.inf)}


@dataclass
class Range:
    target: str
    lo: float
    hi: float
    sensitive: bool  # a count 1..10: must keep hi - lo >= MIN_WIDTH
    cell: int | None = None
    form: Form | None = None
    origin: frozenset[int] = frozenset()  # model rows the bounds came from

    @property
    def width(self) -> float:
        return self.hi - self.lo

    @property
    def safe(self) -> bool:
        return not self.sensitive or self.width >= MIN_WIDTH


# --------------------------------------------------------------------------------------------------------------
# Auditing


def audit(model: SnapshotModel, classes: Classes | None = None, cache: dict | None = None) -> list[Range]:
    """The reader's range of every small hidden count and small derived count, and of the other hidden counts
    that the snapshot pins exactly (see the module docstring)."""
    classes = classes or {}
    cache = {} if cache is None else cache
    hidden = set(model.hidden)
    ranges: list[Range] = []
    for row in model.rows:
        if not (row.coefs.keys() & hidden):
            _check_published(model, row)
    for form in model.forms:
        if not (form.coefs.keys() & hidden):
            value = model.constant(form.coefs)
            if value_class(value) == SMALL:
                ranges.append(Range(form.label, value, value, True, form=form, origin=frozenset({form.row})))
    for component in _components(model, hidden, classes):
        key = tuple(component)
        if key not in cache:
            cache[key] = _solve_component(model, component, classes)
        ranges += cache[key]
    return ranges


def _check_published(model: SnapshotModel, row: Row) -> None:
    total = model.constant(row.coefs)
    if (row.sense == "=" and total != 0) or (row.sense == "<=" and total > 0):
        cells = ", ".join(sorted({model.cells[c].label for c in row.coefs}))[:300]
        raise DisclosureError(f"published counts contradict relation '{row.relation}' ({cells})")


def _small_forms(model: SnapshotModel, members: set[int], classes: Classes) -> list[Form]:
    forms = {id(f): f for c in members for f in model.forms_of[c]}
    return [f for f in forms.values() if model.form_class(f, classes) == SMALL]


def _components(model: SnapshotModel, hidden: set[int], classes: Classes) -> list[list[int]]:
    """Hidden cells linked by a relation (or by a small derived count) are solved together."""
    parent = {c: c for c in hidden}

    def find(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    links = [row.coefs for row in model.rows] + [f.coefs for f in _small_forms(model, hidden, classes)]
    for coefs in links:
        members = [c for c in coefs if c in hidden]
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for c in sorted(hidden):
        groups[find(c)].append(c)
    return list(groups.values())


def _solver(model: SnapshotModel, component: list[int], classes: Classes) -> tuple[Solver, list[Form]]:
    members = set(component)
    constraints = []
    for r in sorted({r for c in component for r in model.rows_of[c]}):
        row = model.rows[r]
        coefs = {c: a for c, a in row.coefs.items() if c in members}
        constraints.append(Linear(coefs, model.constant(row.coefs), row.sense, frozenset({r})))
    forms = _small_forms(model, members, classes)
    for form in forms:  # the reader knows this derived count is 1..10
        coefs = {c: a for c, a in form.coefs.items() if c in members}
        constant = model.constant(form.coefs)
        origin = frozenset({form.row})
        constraints.append(Linear(coefs, constant - SMALL_MAX, "<=", origin))
        constraints.append(Linear({c: -a for c, a in coefs.items()}, -constant, "<=", origin))
    bounds = {c: Bound(*PRIOR[model.cell_class(c, classes)]) for c in component}
    exact = {c: model.cells[c].exact for c in component}
    try:
        return Solver(constraints, bounds, None if None in exact.values() else exact), forms
    except InconsistentError as exc:
        raise DisclosureError(f"the published counts contradict the declared relations: {exc}") from exc


def _solve_component(
    model: SnapshotModel, component: list[int], classes: Classes, only: Range | None = None
) -> list[Range]:
    """Ranges of the component's small counts (exact when unsafe; at least `MIN_WIDTH` wide when safe)."""
    solver, forms = _solver(model, component, classes)
    enough = MIN_WIDTH  # an unsafe range is always worked out exactly (the programs run until it is)
    ranges: list[Range] = []
    for c in component:
        if only is not None and only.cell != c:
            continue
        label = model.cells[c].label
        if model.cell_class(c, classes) == SMALL:
            ranges.append(_range(label, solver.range({c: 1}, enough=enough), True, cell=c))
        elif (pinned := solver.fixed(c)) is not None:
            ranges.append(_range(label, pinned, False, cell=c))
    for form in forms:
        if only is not None and (only.form is None or only.form.row != form.row):
            continue
        members = {c: a for c, a in form.coefs.items() if c in set(component)}
        outcome = solver.range(members, model.constant(form.coefs), enough=enough)
        ranges.append(_range(form.label, outcome, True, form=form))
    return ranges


def _range(label: str, outcome, sensitive: bool, cell: int | None = None, form: Form | None = None) -> Range:
    return Range(label, outcome.lo, outcome.hi, sensitive, cell=cell, form=form, origin=outcome.origin)


# --------------------------------------------------------------------------------------------------------------
# Protecting (while building, with the exact counts) and checking (while publishing, without them)


@dataclass(frozen=True)
class Protection:
    hidden_by_audit: tuple[str, ...]  # labels of cells the audit hid on top of the suppression rules
    shown_again: tuple[str, ...]  # hidden counts (0 or above 10) the snapshot determines exactly anyway
    protected_counts: int  # small hidden and derived counts audited


def protect_marts(con: duckdb.DuckDBPyConnection, run_id: str) -> Protection:
    """Hides more mart cells until no small count can be narrowed to within +-2, and records the classes.

    Needs the exact counts in the temp tables `_exact_<mart>` (the marts build keeps them until this runs).
    Raises `DisclosureError` when no further cell can make a count safe: nothing is then published.
    """
    model = load_model(con, exact=True)
    check_relations_hold(model)
    added: list[int] = []
    # Hiding a cell only ever widens ranges, so only the counts found unsafe need looking at again.
    cache: dict = {}  # a component with the same hidden cells is the same problem: solved once
    unsafe = _unsafe(audit(model, cache=cache))
    while unsafe:
        target = _target_range(model, unsafe[0])
        if target.safe:
            unsafe.pop(0)
            continue
        choice = _choose(model, target)
        if choice is None:
            raise DisclosureError(
                f"disclosure audit: {target.target} can be worked out to within +-2 from the other published "
                "counts and no further suppression protects it; snapshot not published"
            )
        model.cells[choice].published = None
        model.cells[choice].hidden_by = "audit"
        added.append(choice)
    ranges = audit(model, cache=cache)
    shown = sorted({r.cell for r in ranges if r.cell is not None and not r.sensitive and r.width == 0})
    for c in shown:
        model.cells[c].published = model.cells[c].exact
        model.cells[c].hidden_by = "shown again"
    _apply(con, model, added, shown)
    final = [r for r in ranges if r.cell not in shown]
    _record(con, model, final, run_id, shown)
    return Protection(
        tuple(model.cells[c].label for c in added),
        tuple(model.cells[c].label for c in shown),
        sum(r.sensitive for r in final),
    )


def _unsafe(ranges: list[Range]) -> list[Range]:
    return sorted((r for r in ranges if not r.safe), key=lambda r: (r.width, r.target))


def _choose(model: SnapshotModel, target: Range) -> int | None:
    """The published cell whose suppression protects `target` best, losing the least (None: nothing helps).

    Candidates are the published cells of the relations the target's range came from. Each is tried: the
    cheapest that makes the target safe wins, else the one that widens it most, else the cheapest (a running
    total may need several steps before the window between two published values takes in another hidden month).
    Cheapest: running totals first (the monthly counts stay), then the smallest count.
    """
    candidates = {c for r in target.origin for c in model.rows[r].coefs if model.cells[c].published is not None}
    if not candidates:
        return None

    def cost(c: int) -> tuple:
        cell = model.cells[c]
        return ((cell.mart, cell.column) not in model.running_total_columns, cell.published, cell.label)

    best: tuple | None = None
    for c in sorted(candidates, key=cost):
        saved = model.cells[c].published
        model.cells[c].published = None
        try:
            width = _target_range(model, target).width
        finally:
            model.cells[c].published = saved
        if width >= MIN_WIDTH:
            return c
        if width > target.width and (best is None or (-width, cost(c)) < best[0]):
            best = ((-width, cost(c)), c)
    return best[1] if best is not None else min(candidates, key=cost)


def _target_range(model: SnapshotModel, target: Range) -> Range:
    hidden = set(model.hidden)
    cells = {target.cell} if target.cell is not None else set(target.form.coefs)
    if not cells & hidden:  # a derived count of published cells only
        value = model.constant(target.form.coefs)
        return Range(target.target, value, value, True, form=target.form)
    return _solve_component(model, _component_around(model, cells & hidden, hidden), {}, only=target)[0]


def _component_around(model: SnapshotModel, start: set[int], hidden: set[int]) -> list[int]:
    """The hidden cells linked to `start` (what `_components` would group with it, without the others)."""
    seen, todo = set(start), list(start)
    while todo:
        c = todo.pop()
        linked = [model.rows[r].coefs for r in model.rows_of[c]]
        linked += [f.coefs for f in model.forms_of[c] if model.form_class(f, {}) == SMALL]
        for coefs in linked:
            for other in coefs:
                if other in hidden and other not in seen:
                    seen.add(other)
                    todo.append(other)
    return sorted(seen)


def _apply(con: duckdb.DuckDBPyConnection, model: SnapshotModel, hidden: list[int], shown: list[int]) -> None:
    specs = {m.name: m for m in MARTS}
    for c in [*hidden, *shown]:
        cell = model.cells[c]
        spec = specs[cell.mart]
        where = " and ".join(f"{k} = ?" for k in spec.key)
        markers = " or ".join(f"{m}_suppressed" for m in spec.count_columns)
        con.execute(
            f"update marts.{cell.mart} set {cell.column} = ?, {cell.column}_suppressed = ? where {where}",
            [cell.published, cell.published is None, *cell.key_values],
        )
        con.execute(f"update marts.{cell.mart} set suppressed = ({markers}) where {where}", list(cell.key_values))


def _record(
    con: duckdb.DuckDBPyConnection, model: SnapshotModel, ranges: list[Range], run_id: str, shown: list[int]
) -> None:
    """One row per hidden count (and per count shown again) and per derived count over hidden counts: its value
    class, who hid it ("rule", "audit", "shown again", "derived") and the reader's range where it was worked out."""
    computed = {(r.cell, r.form.row if r.form else None): r for r in ranges}
    hidden = set(model.hidden)
    rows = []
    for c in sorted(hidden | set(shown)):
        cell, r = model.cells[c], computed.get((c, None))
        rows.append((cell.mart, cell.key, cell.column, model.cell_class(c, {}), cell.hidden_by, r))
    for form in model.forms:
        if form.coefs.keys() & hidden:
            r = computed.get((None, form.row))
            rows.append((form.mart, form.key, form.relation, model.form_class(form, {}), "derived", r))
    con.execute("create schema if not exists privacy")
    con.execute(
        f"create or replace table {RECORD_TABLE} (run_id varchar, mart varchar, cell varchar, count_name varchar, "
        "value_class varchar, hidden_by varchar, lower_bound double, upper_bound double)"
    )
    if not rows:  # a large cohort may hide nothing; the record is then an empty table
        return
    con.executemany(
        f"insert into {RECORD_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, *row[:5], None if r is None else _finite(r.lo), None if r is None else _finite(r.hi))
            for *row, r in rows
        ],
    )


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def assert_disclosure_safe(con: duckdb.DuckDBPyConnection) -> list[Range]:
    """Audits the marts as they would be published; raises `DisclosureError` naming the first unsafe count."""
    run_id = con.execute("select run_id from marts.run_info").fetchone()[0]
    classes: Classes = {}
    if table_exists(con, RECORD_TABLE):
        classes = {
            (mart, cell, name): value_class
            for mart, cell, name, value_class in con.execute(
                f"select mart, cell, count_name, value_class from {RECORD_TABLE} where run_id = ?", [run_id]
            ).fetchall()
        }
    model = load_model(con, exact=False)
    hidden = set(model.hidden)
    unaudited = [
        model.cells[c].label
        for c in sorted(hidden)
        if (model.cells[c].mart, model.cells[c].key, model.cells[c].column) not in classes
    ]
    unaudited += [
        f.label for f in model.forms if f.coefs.keys() & hidden and (f.mart, f.key, f.relation) not in classes
    ]
    if unaudited:
        raise DisclosureError(
            f"disclosure audit: {unaudited[0]} is hidden but was not audited when the marts of run {run_id} were "
            "built; rebuild the marts"
        )
    ranges = audit(model, classes)
    unsafe = _unsafe(ranges)
    if unsafe:
        raise DisclosureError(
            f"disclosure audit: {unsafe[0].target} can be worked out to within +-2 from the other published counts "
            f"(range width {unsafe[0].width:g} < {MIN_WIDTH}; {len(unsafe)} unsafe in all); snapshot not published"
        )
    return ranges
