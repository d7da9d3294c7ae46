"""The published counts of the marts and the relations between them, as linear rows over cells.

A cell is one count column of one mart row (named by the mart's key). `load_model` reads every cell of the marts
(published value or hidden; with the exact counts while the marts are being built) and expands the relations
declared in `specs.py` into rows `sum(coef * cell) = 0` or `<= 0`, and into derived counts (`Form`: patients
without a flag, ...). `disclosure.py` audits what a reader can work out from them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from pipelines.marts.relations import AtMost, Cells, Relation, RunningTotal, Same, Total
from pipelines.marts.specs import MARTS, MartSpec
from pipelines.marts.suppression import SMALL_MAX, SMALL_MIN

# Value classes of a count: what a reader is told of a hidden one depends on it.
SMALL, ZERO, LARGE = "1-10", "0", ">10"
Classes = dict[tuple[str, str, str], str]  # (mart, cell key, count name) -> value class


class DisclosureError(RuntimeError):
    """A hidden count can be worked out from the published ones, or the relations do not hold."""


def value_class(value: int) -> str:
    return SMALL if SMALL_MIN <= value <= SMALL_MAX else ZERO if value == 0 else LARGE


@dataclass
class Cell:
    mart: str
    key: str  # "flag=pad, breakdown=overall, group_value=all"
    column: str
    published: int | None  # None: hidden
    key_values: tuple = ()
    exact: int | None = None  # known while building the marts only
    hidden_by: str = "rule"

    @property
    def label(self) -> str:
        return f"marts.{self.mart}.{self.column} [{self.key}]"


@dataclass
class Row:
    """sum(coef * cell) = 0 (sense '=') or <= 0 (sense '<=')."""

    relation: str
    coefs: dict[int, int]
    sense: str


@dataclass
class Form:
    """A derived count (larger - smaller of an `AtMost` with `difference_is_a_count`), from model row `row`."""

    relation: str
    mart: str
    key: str
    coefs: dict[int, int]
    row: int

    @property
    def label(self) -> str:
        return f"marts.{self.mart} [{self.key}] {self.relation}"


@dataclass
class SnapshotModel:
    cells: list[Cell]
    rows: list[Row]
    forms: list[Form]
    running_total_columns: set[tuple[str, str]]

    def __post_init__(self) -> None:
        self.rows_of: dict[int, list[int]] = defaultdict(list)
        for r, row in enumerate(self.rows):
            for c in row.coefs:
                self.rows_of[c].append(r)
        self.forms_of: dict[int, list[Form]] = defaultdict(list)
        for form in self.forms:
            for c in form.coefs:
                self.forms_of[c].append(form)

    @property
    def hidden(self) -> list[int]:
        return [i for i, c in enumerate(self.cells) if c.published is None]

    def cell_class(self, i: int, classes: Classes) -> str:
        cell = self.cells[i]
        if cell.exact is not None:
            return value_class(cell.exact)
        return classes[(cell.mart, cell.key, cell.column)]

    def form_class(self, form: Form, classes: Classes) -> str:
        if all(self.cells[c].exact is not None for c in form.coefs):
            return value_class(sum(a * self.cells[c].exact for c, a in form.coefs.items()))
        if not (form.coefs.keys() & set(self.hidden)):
            return value_class(self.constant(form.coefs))
        return classes[(form.mart, form.key, form.relation)]

    def constant(self, coefs: dict[int, int]) -> int:
        """The published part of sum(coef * cell)."""
        return sum(a * self.cells[c].published for c, a in coefs.items() if self.cells[c].published is not None)


# --------------------------------------------------------------------------------------------------------------
# Building the model from the marts


def load_model(con: duckdb.DuckDBPyConnection, exact: bool = False) -> SnapshotModel:
    """Every count cell of the marts and every declared relation, as linear rows over the cells.

    With `exact`, the exact counts are read from the temp tables `_exact_<mart>` the build keeps until the end.
    """
    cells: list[Cell] = []
    index: dict[tuple[str, str, str], int] = {}
    keys: dict[str, dict[tuple, str]] = {}
    for spec in MARTS:
        keys[spec.name] = {}
        for key_values, counts in _mart_cells(con, spec, exact):
            label = ", ".join(f"{k}={v}" for k, v in zip(spec.key, key_values, strict=True))
            keys[spec.name][key_values] = label
            for column, (published, value) in counts.items():
                index[(spec.name, label, column)] = len(cells)
                cells.append(Cell(spec.name, label, column, published, key_values=key_values, exact=value))
    rows: list[Row] = []
    forms: list[Form] = []
    running: set[tuple[str, str]] = set()
    for relation in (r for spec in MARTS for r in spec.relations):
        if isinstance(relation, RunningTotal):
            running.add((relation.mart, relation.column))
        _expand(con, relation, index, keys, rows, forms)
    return SnapshotModel(cells, rows, forms, running)


def _mart_cells(con: duckdb.DuckDBPyConnection, spec: MartSpec, exact: bool) -> Iterable[tuple[tuple, dict]]:
    key = ", ".join(f"m.{k}" for k in spec.key)
    counts = spec.count_columns
    published = ", ".join(f"case when m.{c}_suppressed then null else m.{c} end" for c in counts)
    exact_values = ", ".join(f"e.{c}" for c in counts) if exact else ", ".join("null" for _ in counts)
    on = " and ".join(f"m.{k} is not distinct from e.{k}" for k in spec.key)
    join = f"left join _exact_{spec.name} as e on {on}" if exact else ""
    rows = con.execute(
        f"select {key}, {published}, {exact_values} from marts.{spec.name} as m {join} order by {key}"
    ).fetchall()
    n = len(spec.key)
    if len({row[:n] for row in rows}) != len(rows):
        raise DisclosureError(f"disclosure audit: marts.{spec.name} has rows with the same key {spec.key}")
    if exact and any(v is None for row in rows for v in row[n + len(counts) :]):
        raise DisclosureError(f"disclosure audit: marts.{spec.name} has rows without exact counts")
    for row in rows:
        values = row[n:]
        yield row[:n], {c: (values[i], values[len(counts) + i]) for i, c in enumerate(counts)}


def _select(
    con: duckdb.DuckDBPyConnection,
    cells: Cells,
    match: tuple[str, ...],
    index: dict[tuple[str, str, str], int],
    keys: dict[str, dict[tuple, str]],
) -> dict[tuple, list[int]]:
    """Cell indices of a `Cells` selection, per match group."""
    spec = next(m for m in MARTS if m.name == cells.mart)
    columns = ", ".join((*(cells.match_as or match), *spec.key))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in con.execute(f"select {columns} from marts.{cells.mart} where {cells.where} order by all").fetchall():
        group, key_values = tuple(row[: len(match)]), tuple(row[len(match) :])
        label = keys[cells.mart][key_values]
        groups[group] += [index[(cells.mart, label, column)] for column in cells.columns]
    return groups


def _expand(
    con: duckdb.DuckDBPyConnection,
    relation: Relation,
    index: dict[tuple[str, str, str], int],
    keys: dict[str, dict[tuple, str]],
    rows: list[Row],
    forms: list[Form],
) -> None:
    def coefs(plus: list[int], minus: list[int]) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for c in plus:
            out[c] += 1
        for c in minus:
            out[c] -= 1
        return {c: v for c, v in out.items() if v}

    if isinstance(relation, RunningTotal):
        ordered = con.execute(
            f"select {', '.join(next(m for m in MARTS if m.name == relation.mart).key)} "
            f"from marts.{relation.mart} order by {relation.order_by}"
        ).fetchall()
        previous: int | None = None
        for key_values in ordered:
            label = keys[relation.mart][tuple(key_values)]
            total = index[(relation.mart, label, relation.column)]
            increment = index[(relation.mart, label, relation.increments)]
            minus = [increment] + ([previous] if previous is not None else [])
            rows.append(Row(relation.name, coefs([total], minus), "="))
            previous = total
        return
    if isinstance(relation, Same):
        for members in _select(con, relation.cells, relation.match, index, keys).values():
            for other in members[1:]:
                rows.append(Row(relation.name, coefs([other], [members[0]]), "="))
        return
    if isinstance(relation, Total):
        totals = _select(con, relation.total, relation.match, index, keys)
        parts = _select(con, relation.parts, relation.match, index, keys)
        for group in sorted(totals.keys() & parts.keys(), key=str):
            rows.append(Row(relation.name, coefs(parts[group], totals[group]), "="))
        return
    if isinstance(relation, AtMost):
        smaller = _select(con, relation.smaller, relation.match, index, keys)
        larger = _select(con, relation.larger, relation.match, index, keys)
        for group in sorted(smaller.keys() & larger.keys(), key=str):
            rows.append(Row(relation.name, coefs(smaller[group], larger[group]), "<="))
            if relation.difference_is_a_count:
                key = ", ".join(f"{k}={v}" for k, v in zip(relation.match, group, strict=True)) or "all"
                form = Form(
                    relation.name, relation.smaller.mart, key, coefs(larger[group], smaller[group]), len(rows) - 1
                )
                forms.append(form)
        return
    raise TypeError(f"unknown relation {relation!r}")


def check_relations_hold(model: SnapshotModel) -> None:
    """Every declared relation must be true of the exact counts (else its declaration is wrong)."""
    for row in model.rows:
        total = sum(coef * model.cells[c].exact for c, coef in row.coefs.items())
        if (row.sense == "=" and total != 0) or (row.sense == "<=" and total > 0):
            cells = ", ".join(sorted({model.cells[c].label for c in row.coefs}))[:300]
            raise DisclosureError(f"declared relation '{row.relation}' does not hold on the exact counts ({cells})")
