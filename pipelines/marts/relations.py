"""How published counts are related, declared next to each mart (`specs.py`) for the disclosure audit.

A reader of the snapshot can add and subtract published counts: a total minus its published parts gives the one
hidden part, a running total minus its previous value gives the month's increment, and so on. The disclosure audit
(`disclosure.py`) turns these declarations into linear equations and inequalities over the count cells of the marts
and asks, for every hidden cell, how far a reader could narrow it down.

A cell is one count column of one mart row; a mart's rows are identified by its `MartSpec.key`. `Cells` selects
cells: the rows of `mart` matching `where` (SQL over the published mart's columns), and of those rows the listed
count `columns`. Relations hold separately for each value of their `match` columns (columns of both marts), e.g.
`match=("flag",)` gives one equation per flag; a group is only related when both sides have rows in it (marts leave
out empty groups, and a group missing on one side says nothing).

Every declared relation must be true of the exact counts: the audit checks it on every build and refuses to publish
when one does not hold (the declaration, not the data, is then wrong).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cells:
    """The `columns` (counts, summed) of the rows of marts.`mart` that match `where`.

    `match_as` gives this side's values of the relation's `match` columns as SQL expressions over the mart's
    columns, for a mart that does not carry them (the period a month of `cohort_monthly` falls in).
    """

    mart: str
    columns: tuple[str, ...]
    where: str = "true"
    match_as: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.columns, str):  # a bare column name is a common slip
            object.__setattr__(self, "columns", (self.columns,))


@dataclass(frozen=True)
class Total:
    """sum(parts) = sum(total), per match group (a breakdown that partitions a total, a grand total, ...)."""

    name: str
    total: Cells
    parts: Cells
    match: tuple[str, ...] = ()


@dataclass(frozen=True)
class AtMost:
    """sum(smaller) <= sum(larger), per match group (a subgroup of a published group, ...).

    With `difference_is_a_count`, larger - smaller is itself a number of patients (those without the flag, those
    who left the cohort at a step): when it is 1..10 it is protected like a hidden cell.
    """

    name: str
    smaller: Cells
    larger: Cells
    match: tuple[str, ...] = ()
    difference_is_a_count: bool = False


@dataclass(frozen=True)
class Same:
    """Every cell of a match group holds the same count (one denominator repeated on many rows)."""

    name: str
    cells: Cells
    match: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunningTotal:
    """`column` of each row = the sum of `increments` over this and every earlier row (ordered by `order_by`)."""

    name: str
    mart: str
    column: str
    increments: str
    order_by: str


Relation = Total | AtMost | Same | RunningTotal


def relation_columns(relation: Relation) -> set[tuple[str, str]]:
    """(mart, column) of every count a relation mentions."""
    if isinstance(relation, RunningTotal):
        return {(relation.mart, relation.column), (relation.mart, relation.increments)}
    if isinstance(relation, Total):
        sides = (relation.total, relation.parts)
    elif isinstance(relation, AtMost):
        sides = (relation.smaller, relation.larger)
    else:
        sides = (relation.cells,)
    return {(side.mart, column) for side in sides for column in side.columns}
