"""The reader's range of hidden counts: exact propagation first, then integer programs (HiGHS).

Constraints are `sum(coef * x) + constant = 0` or `<= 0` over hidden cells `x` with integer bounds. Propagation
does what a patient reader does by hand: an equation with one unknown fixes it, `x - y = 0` makes two unknowns one,
an inequality with one unknown narrows its bounds; repeated until nothing changes. What is left goes to linear
programs; an LP optimum at a whole-number point is also the integer optimum, otherwise a MIP solve settles it.

Every bound remembers the declared relations (`origin`, row ids of the model) it came from, so that the caller can
see which published counts give a hidden count away.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field

import highspy
import numpy as np

_TOL = 1e-6


class InconsistentError(RuntimeError):
    """No whole numbers satisfy the constraints (the published counts contradict a relation or a bound)."""


@dataclass
class Linear:
    """sum(coef * x) + constant (= | <=) 0, derived from the declared relations `origin`."""

    coefs: dict[int, int]
    constant: int
    sense: str
    origin: frozenset[int] = frozenset()


@dataclass
class Bound:
    lo: float
    hi: float
    lo_origin: frozenset[int] = frozenset()
    hi_origin: frozenset[int] = frozenset()


@dataclass
class Outcome:
    lo: float
    hi: float
    origin: frozenset[int] = field(default_factory=frozenset)
    exact: bool = True  # False: [lo, hi] is spanned by known solutions; the true range may be wider


class Solver:
    """Ranges of linear expressions over variables with `bounds`, subject to `constraints`."""

    def __init__(
        self, constraints: list[Linear], bounds: dict[int, Bound], solution: dict[int, int] | None = None
    ) -> None:
        """`solution`, when known (the exact counts), is one whole-number point that satisfies everything."""
        self.solution = solution
        self.bounds = {v: Bound(b.lo, b.hi, b.lo_origin, b.hi_origin) for v, b in bounds.items()}
        self.alias: dict[int, tuple[int, frozenset[int]]] = {}  # x = x_rep, by these relations
        self.remaining = self._propagate(constraints)
        self._problems: dict[int, _Problem] = {}
        self._group = self._groups()
        self._constrained = {v for con in self.remaining for v in con.coefs}
        self._ranges: dict[tuple, Outcome] = {}

    # -- propagation ------------------------------------------------------------------------------------------

    def _rep(self, v: int) -> tuple[int, frozenset[int]]:
        origin: frozenset[int] = frozenset()
        while v in self.alias:
            v, why = self.alias[v]
            origin |= why
        return v, origin

    def _substitute(self, con: Linear) -> Linear:
        coefs: dict[int, int] = defaultdict(int)
        constant, origin = con.constant, con.origin
        for v, a in con.coefs.items():
            rep, why = self._rep(v)
            origin |= why
            b = self.bounds[rep]
            if b.lo == b.hi:
                constant += a * int(b.lo)
                origin |= b.lo_origin | b.hi_origin
            else:
                coefs[rep] += a
        return Linear({v: a for v, a in coefs.items() if a}, constant, con.sense, origin)

    def _propagate(self, constraints: list[Linear]) -> list[Linear]:
        """Applies the three rules until nothing changes; returns the constraints left for the programs.

        A work list: a constraint is looked at again only when one of its unknowns was fixed or merged.
        """
        pending = list(constraints)
        watchers: dict[int, set[int]] = defaultdict(set)
        for i, con in enumerate(pending):
            for v in con.coefs:
                watchers[v].add(i)
        queue, queued, done = deque(range(len(pending))), set(range(len(pending))), set()
        while queue:
            i = queue.popleft()
            queued.discard(i)
            con = pending[i] = self._substitute(pending[i])
            changed: list[int] = []
            if not con.coefs:
                if (con.sense == "=" and con.constant != 0) or (con.sense == "<=" and con.constant > 0):
                    raise InconsistentError(f"relations {sorted(con.origin)} cannot all hold")
                done.add(i)
            elif len(con.coefs) == 1:
                ((v, a),) = con.coefs.items()
                self._narrow(v, a, con)
                done.add(i)
                if self.bounds[v].lo == self.bounds[v].hi:
                    changed.append(v)
            elif con.sense == "=" and con.constant == 0 and len(con.coefs) == 2:
                (v, a), (w, b) = sorted(con.coefs.items())
                if a == -b:
                    self._merge(v, w, con.origin)
                    watchers[v] |= watchers.pop(w, set())
                    done.add(i)
                    changed.append(v)
            for v in changed:
                for j in watchers[v] - done - queued:
                    queue.append(j)
                    queued.add(j)
        return [pending[i] for i in range(len(pending)) if i not in done]

    def _narrow(self, v: int, a: int, con: Linear) -> bool:
        """a * x + constant (= | <=) 0 for one variable x."""
        b = self.bounds[v]
        value = -con.constant / a
        lo, hi = b.lo, b.hi
        if con.sense == "=":
            if abs(value - round(value)) > _TOL:
                raise InconsistentError(f"relations {sorted(con.origin)} need a fraction")
            lo = hi = round(value)
        elif a > 0:
            hi = min(hi, math.floor(value + _TOL))
        else:
            lo = max(lo, math.ceil(value - _TOL))
        changed = False
        if lo > b.lo:
            b.lo, b.lo_origin, changed = lo, con.origin, True
        if hi < b.hi:
            b.hi, b.hi_origin, changed = hi, con.origin, True
        if b.lo > b.hi:
            raise InconsistentError(f"relations {sorted(con.origin | b.lo_origin | b.hi_origin)} cannot all hold")
        return changed

    def _merge(self, v: int, w: int, origin: frozenset[int]) -> None:
        keep, gone = self.bounds[v], self.bounds.pop(w)
        if gone.lo > keep.lo:
            keep.lo, keep.lo_origin = gone.lo, gone.lo_origin | origin
        if gone.hi < keep.hi:
            keep.hi, keep.hi_origin = gone.hi, gone.hi_origin | origin
        if keep.lo > keep.hi:
            raise InconsistentError(f"relations {sorted(origin)} cannot all hold")
        self.alias[w] = (v, origin)

    # -- linear programs ----------------------------------------------------------------------------------------

    def _groups(self) -> dict[int, int]:
        """Variables that share a remaining constraint solve together."""
        parent = {v: v for v in self.bounds}

        def find(v: int) -> int:
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        for con in self.remaining:
            first, *rest = con.coefs
            for v in rest:
                parent[find(v)] = find(first)
        return {v: find(v) for v in self.bounds}

    def fixed(self, v: int) -> Outcome | None:
        """The value propagation pinned `v` to, if it did."""
        rep, origin = self._rep(v)
        b = self.bounds[rep]
        return Outcome(b.lo, b.hi, origin | b.lo_origin | b.hi_origin) if b.lo == b.hi else None

    def range(self, coefs: dict[int, int], constant: int = 0, enough: float = math.inf) -> Outcome:
        """The smallest and largest whole-number value of sum(coef * x) + constant.

        Stops early, with `exact=False`, once known solutions already span `enough`: most counts are far from
        pinned, and a few solutions kept from earlier programs show it without solving anything.
        """
        expression = self._substitute(Linear(coefs, constant, "="))
        memo = (tuple(sorted(expression.coefs.items())), expression.constant)
        known = self._ranges.get(memo)
        if known is None or not (known.exact or known.hi - known.lo >= enough):
            self._ranges[memo] = known = self._range(expression, enough)
        return known

    def _range(self, expression: Linear, enough: float) -> Outcome:
        if not expression.coefs:
            return Outcome(expression.constant, expression.constant, expression.origin)
        if len(expression.coefs) == 1:
            ((v, a),) = expression.coefs.items()
            if v not in self._constrained:  # only its bounds limit it
                b = self.bounds[v]
                ends = sorted((a * b.lo, a * b.hi))
                origin = expression.origin | b.lo_origin | b.hi_origin
                return Outcome(ends[0] + expression.constant, ends[1] + expression.constant, origin)
        parts = []
        for group in sorted({self._group[v] for v in expression.coefs}):
            problem = self._problem(group)
            parts.append(
                _Part(
                    problem, problem.objective({v: a for v, a in expression.coefs.items() if self._group[v] == group})
                )
            )
        while sum(part.hi - part.lo for part in parts) < enough:
            pending = [part for part in parts if not part.exact]
            if not pending:
                break
            pending[0].solve_next(self.bounds)
        lo = expression.constant + sum(part.lo for part in parts)
        hi = expression.constant + sum(part.hi for part in parts)
        origin = expression.origin.union(*(part.origin for part in parts))
        return Outcome(lo, hi, origin, all(part.exact for part in parts))

    def _problem(self, group: int) -> _Problem:
        if group not in self._problems:
            variables = sorted(v for v in self.bounds if self._group[v] == group)
            constraints = [c for c in self.remaining if self._group[next(iter(c.coefs))] == group]
            problem = self._problems[group] = _Problem(variables, constraints, self.bounds)
            if self.solution is not None:
                problem.points.append(np.array([self.solution[v] for v in variables], dtype=float))
        return self._problems[group]


class _Part:
    """One group's share of an expression: its range so far, from known solutions, then from programs."""

    def __init__(self, problem: _Problem, objective: np.ndarray) -> None:
        self.problem, self.objective = problem, objective
        self.lo, self.hi = math.inf, -math.inf
        self.refresh()
        self.solved: list[str] = []
        self.origin: frozenset[int] = frozenset()

    def refresh(self) -> None:
        values = [float(point @ self.objective) for point in self.problem.points]
        if values:
            self.lo, self.hi = min(self.lo, *values), max(self.hi, *values)

    @property
    def exact(self) -> bool:
        return len(self.solved) == 2

    def solve_next(self, bounds: dict[int, Bound]) -> None:
        if "hi" not in self.solved:
            value, origin = self.problem.optimum(-self.objective, bounds)
            self.hi, side = -value, "hi"
        else:
            value, origin = self.problem.optimum(self.objective, bounds)
            self.lo, side = value, "lo"
        self.solved.append(side)
        self.origin |= origin


class _Problem:
    """One group of variables and its constraints, loaded into HiGHS once and re-solved for each objective
    (warm started from the previous basis: a few pivots instead of a new solve)."""

    def __init__(self, variables: list[int], constraints: list[Linear], bounds: dict[int, Bound]) -> None:
        self.variables = variables
        self.position = {v: i for i, v in enumerate(variables)}
        self.constraints = constraints
        self.lows = np.array([bounds[v].lo for v in variables], dtype=float)
        self.highs = np.array([bounds[v].hi for v in variables], dtype=float)
        self.lp = self._highs(integer=False)
        self.ip: highspy.Highs | None = None  # built when an LP optimum is not a whole-number point
        self.points: list[np.ndarray] = []  # whole-number solutions found so far
        self.seeded = False

    def _highs(self, integer: bool) -> highspy.Highs:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")  # small problems; keeps the basis for the next objective
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(self.variables), len(self.constraints)
        lp.col_cost_ = np.zeros(len(self.variables))
        lp.col_lower_ = np.where(np.isinf(self.lows), -highspy.kHighsInf, self.lows)
        lp.col_upper_ = np.where(np.isinf(self.highs), highspy.kHighsInf, self.highs)
        rhs = np.array([-c.constant for c in self.constraints], dtype=float)
        lp.row_lower_ = np.array(
            [b if c.sense == "=" else -highspy.kHighsInf for b, c in zip(rhs, self.constraints, strict=True)]
        )
        lp.row_upper_ = rhs
        starts, index, value = [0], [], []
        for con in self.constraints:
            for v, coef in sorted(con.coefs.items()):
                index.append(self.position[v])
                value.append(float(coef))
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=float)
        if integer:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * len(self.variables)
        h.passModel(lp)
        return h

    def seed(self, bounds: dict[int, Bound]) -> bool:
        """Adds two far-apart solutions (every count as low, then as high as it goes) once: they show most
        counts of the group to be far from pinned without a program each."""
        if self.seeded or len(self.variables) < 3:
            return False
        self.seeded = True
        for sign in (1.0, -1.0):
            self.optimum(np.full(len(self.variables), sign), bounds)
        return True

    def objective(self, coefs: dict[int, int]) -> np.ndarray:
        vector = np.zeros(len(self.variables))
        for v, a in coefs.items():
            vector[self.position[v]] = a
        return vector

    def optimum(self, objective: np.ndarray, bounds: dict[int, Bound]) -> tuple[float, frozenset[int]]:
        """min objective.x over whole numbers, and the relations the optimum depends on."""
        status, value, x = self._run(self.lp, objective)
        if status == highspy.HighsModelStatus.kUnbounded:
            return -math.inf, frozenset()
        solution = self.lp.getSolution()
        origin: set[int] = set()
        for con, dual in zip(self.constraints, solution.row_dual, strict=True):
            if abs(dual) > _TOL:
                origin |= con.origin
        for i, (v, dual) in enumerate(zip(self.variables, solution.col_dual, strict=True)):
            if abs(dual) > _TOL:
                origin |= bounds[v].lo_origin if abs(x[i] - self.lows[i]) <= _TOL else bounds[v].hi_origin
        if np.any(np.abs(x - np.round(x)) > _TOL):  # else the LP optimum is a whole-number point: the integer one
            if self.ip is None:
                self.ip = self._highs(integer=True)
            status, value, x = self._run(self.ip, objective)
        self.points.append(np.round(x))
        return round(value), frozenset(origin)

    def _run(self, h: highspy.Highs, objective: np.ndarray) -> tuple[object, float, np.ndarray]:
        h.changeColsCost(len(objective), np.arange(len(objective), dtype=np.int32), objective)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:  # ask the simplex, without presolve
            h.setOptionValue("presolve", "off")
            h.run()
            status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:
            return status, -math.inf, np.array([])
        if status != highspy.HighsModelStatus.kOptimal:
            raise InconsistentError(h.modelStatusToString(status))
        return status, h.getInfo().objective_function_value, np.array(h.getSolution().col_value)
