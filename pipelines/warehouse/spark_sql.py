"""The SQL models as Spark SQL: one source (the DuckDB SQL under `sql/`), rendered per engine.

A model is parsed with sqlglot (read="duckdb"); the DuckDB macros of `sql/staging/_macros.sql` are inlined into
the tree (so Spark needs no session state: this works over Spark Connect too); then one rewrite per DuckDB
construct that sqlglot does not map, or maps with another meaning, turns it into Spark SQL that gives the same
rows. Each rewrite is one function in `SPARK_REWRITES`, so the equivalence tests can show that breaking one
breaks the comparison.

What the rewrites stand for (DuckDB -> Spark):
- `try_strptime(v, fmt | [fmts])` -> guarded `try_to_timestamp` (Java patterns; the guard admits exactly what
  DuckDB's strptime reads, and keeps a 5-digit year away from Spark, which raises on it even in try_)
- `to_days(n)` -> `make_dt_interval(n)`; `epoch(ts)` -> `unix_micros(ts) / 1e6`; `strlen` -> `octet_length`
- `isfinite(x)` -> `abs(x) < double('Infinity')`; `regexp_full_match(v, p)` -> `v rlike '^(?:p)$'`
- POSIX classes in brackets (`[[:space:]]`) -> Java classes (Java would read them as the letters ':space')
- `date_diff('day', a, b)` -> `datediff(b, a)` (an INT of days)
- `try_cast(x as double)` -> NULL for the Java literals Spark also reads (`1d`, `1f`) and DuckDB does not
- `rowid` -> `monotonically_increasing_id()` (file order of a one-file table: the seed read, see docs/scale-out.md)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp

from pipelines import SQL_DIR

ENGINES = ("duckdb", "spark")
MACROS_FILE = Path("staging") / "_macros.sql"
Macros = dict[str, tuple[list[str], exp.Expression]]


def to_spark(duckdb_sql: str, macros: Macros | None = None) -> str:
    """A DuckDB select (placeholders already filled) as Spark SQL."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    tree = inline_macros(tree, duckdb_macros() if macros is None else macros)
    # sqlglot's transform does not visit the children of a node it just replaced: repeat to a fixed point
    for _ in range(20):
        before = tree.sql(dialect="duckdb")
        for rewrite in SPARK_REWRITES:
            tree = tree.transform(rewrite)
        if tree.sql(dialect="duckdb") == before:
            break
    return tree.sql(dialect="spark", pretty=True)


# ---------------------------------------------------------------------------------------------- DuckDB macros
@cache
def duckdb_macros(sql_dir: Path = SQL_DIR) -> Macros:
    """name -> (parameter names, body) of every `create macro` of sql/staging/_macros.sql."""
    macros: Macros = {}
    for statement in sqlglot.parse((sql_dir / MACROS_FILE).read_text(), read="duckdb"):
        if isinstance(statement, exp.Create) and str(statement.args.get("kind")).upper() == "MACRO":
            function = statement.this
            macros[function.this.name.lower()] = ([p.name for p in function.expressions], statement.expression)
    return macros


def inline_macros(tree: exp.Expression, macros: Macros) -> exp.Expression:
    """Each call of a macro replaced by its body with the arguments substituted (repeatedly: macros nest)."""

    def expand(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in macros:
            params, body = macros[node.name.lower()]
            args = dict(zip(params, node.expressions, strict=True))

            def substitute(inner: exp.Expression) -> exp.Expression:
                if isinstance(inner, exp.Column) and not inner.table and inner.name in args:
                    return exp.paren(args[inner.name].copy(), copy=False)
                return inner

            return exp.paren(inline_macros(body.copy().transform(substitute), macros), copy=False)
        return node

    return tree.transform(expand)


# ------------------------------------------------------------------------------------------ Spark rewrites
# DuckDB's strptime takes 1-4 year digits and 1-2 digits for the other fields; Java's single-letter fields are
# variable-width, so the regular expression decides what is accepted and Java only converts.
_FORMAT_PARTS = {
    "%Y": ("y", "[0-9]{1,4}"),
    "%m": ("M", "[0-9]{1,2}"),
    "%d": ("d", "[0-9]{1,2}"),
    "%H": ("H", "[0-9]{1,2}"),
    "%M": ("m", "[0-9]{1,2}"),
    "%S": ("s", "[0-9]{1,2}"),
    "%f": ("SSSSSS", "[0-9]{1,6}"),
}
_C_SPACE = "[ \\t\\n\\x0B\\f\\r]"  # what DuckDB's strptime skips around a value


def strptime_format(fmt: str) -> tuple[str, str]:
    """A DuckDB strptime format (the subset the models use) as (Java pattern, full-match regex of what DuckDB
    accepts)."""
    java: list[str] = []
    regex: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            java.append("'" + "".join(literal) + "'")
            literal.clear()

    i = 0
    while i < len(fmt):
        token = fmt[i : i + 2]
        if token in _FORMAT_PARTS:
            flush()
            java.append(_FORMAT_PARTS[token][0])
            regex.append(_FORMAT_PARTS[token][1])
            i += 2
            continue
        if token.startswith("%"):
            raise ValueError(f"strptime format {fmt!r}: {token} has no Spark mapping")
        char = fmt[i]
        regex.append(re.escape(char))
        if char.isalpha():
            literal.append(char)  # Spark parses case-insensitively: the regex keeps DuckDB's exact case
        else:
            flush()
            java.append(char)
        i += 1
    flush()
    return "".join(java), f"^{_C_SPACE}*" + "".join(regex) + f"{_C_SPACE}*$"


def _guarded_parse(value: exp.Expression, fmt: str) -> exp.Expression:
    """case when value rlike <what DuckDB accepts> then try_to_timestamp(trimmed value, java pattern) end"""
    java, regex = strptime_format(fmt)
    trimmed = exp.Anonymous(
        this="regexp_replace",
        expressions=[value.copy(), exp.Literal.string(f"^{_C_SPACE}+|{_C_SPACE}+$"), exp.Literal.string("")],
    )
    parse = exp.Anonymous(this="try_to_timestamp", expressions=[trimmed, exp.Literal.string(java)])
    matches = exp.RegexpLike(this=value.copy(), expression=exp.Literal.string(regex))
    return exp.Case(ifs=[exp.If(this=matches, true=parse)])


def try_strptime(node: exp.Expression) -> exp.Expression:
    """try_strptime(v, fmt | [fmts]) -> coalesce of guarded try_to_timestamp (Spark has no list form)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "try_strptime":
        value, formats = node.expressions
        items = formats.expressions if isinstance(formats, exp.Array) else [formats]
        calls = [_guarded_parse(value, item.name) for item in items]
        return calls[0] if len(calls) == 1 else exp.Coalesce(this=calls[0], expressions=calls[1:])
    return node


def to_days(node: exp.Expression) -> exp.Expression:
    """to_days(n) (an interval of n days) -> make_dt_interval(n): timestamp +/- n days."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_days":
        return exp.Anonymous(this="make_dt_interval", expressions=[node.expressions[0].copy()])
    if isinstance(node, _TYPED_TO_DAYS):
        return exp.Anonymous(this="make_dt_interval", expressions=[node.this.copy()])
    return node


def epoch(node: exp.Expression) -> exp.Expression:
    """epoch(ts) (DOUBLE seconds of a naive timestamp) -> unix_micros(ts as timestamp) / 1e6 (session zone UTC)."""
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(
            this="unix_micros", expressions=[exp.cast(node.this.copy(), exp.DataType.build("timestamp_ltz"))]
        )
        return exp.paren(exp.Div(this=exp.cast(micros, "double"), expression=exp.Literal.number("1e6")))
    return node


def strlen(node: exp.Expression) -> exp.Expression:
    """strlen (bytes) -> octet_length."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "strlen":
        return exp.Anonymous(this="octet_length", expressions=[e.copy() for e in node.expressions])
    return node


def isfinite(node: exp.Expression) -> exp.Expression:
    """isfinite(x) -> abs(x) < double('Infinity') (NULL stays NULL; NaN is false: NaN sorts above +inf in Spark)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite":
        infinity = exp.cast(exp.Literal.string("Infinity"), "double")
        return exp.paren(exp.LT(this=exp.Abs(this=node.expressions[0].copy()), expression=infinity))
    return node


def regexp_full_match(node: exp.Expression) -> exp.Expression:
    """regexp_full_match(v, p) -> v rlike '^(?:p)$' (Spark's rlike searches, like DuckDB's regexp_matches)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "regexp_full_match":
        value, pattern = node.expressions
    elif isinstance(node, _TYPED_FULL_MATCH):
        value, pattern = node.this, node.expression
    else:
        return node
    return exp.RegexpLike(this=value.copy(), expression=exp.Literal.string(f"^(?:{pattern.name})$"))


_POSIX_CLASSES = {"[:space:]": r"\s", "[:digit:]": r"\d", "[:alpha:]": r"\p{Alpha}", "[:alnum:]": r"\p{Alnum}"}


def posix_classes(node: exp.Expression) -> exp.Expression:
    """RE2 POSIX classes in brackets ([[:space:]]) -> Java classes. Silent otherwise: Java reads `[[:space:]]` as
    the characters ':', 's', 'p', 'a', 'c', 'e'."""
    if isinstance(node, exp.RegexpReplace | exp.RegexpLike | exp.RegexpExtract):
        pattern = node.args.get("expression")
        if isinstance(pattern, exp.Literal) and "[:" in pattern.name:
            text = pattern.name
            for posix, java in _POSIX_CLASSES.items():
                text = text.replace(posix, java)
            pattern.replace(exp.Literal.string(text))
    return node


def date_diff_day(node: exp.Expression) -> exp.Expression:
    """date_diff('day', a, b) -> datediff(b, a) (an INT of days; Spark's `date - date` is an INTERVAL)."""
    if isinstance(node, exp.DateDiff) and (node.unit is None or node.unit.name.lower() == "day"):
        return exp.Anonymous(this="datediff", expressions=[node.this.copy(), node.expression.copy()])
    return node


def try_cast_double(node: exp.Expression) -> exp.Expression:
    """try_cast(x as double): Spark also reads Java literals ('1d', '1f'), DuckDB does not: those are NULL."""
    if isinstance(node, exp.TryCast) and node.to.this in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        if node.args.get("_spark_guarded"):
            return node
        guarded = node.copy()
        guarded.set("_spark_guarded", True)
        suffix = exp.RegexpLike(this=node.this.copy(), expression=exp.Literal.string("[dDfF][ \\t\\n\\r]*$"))
        return exp.Case(ifs=[exp.If(this=exp.Not(this=exp.paren(suffix)), true=guarded)])
    return node


def rowid(node: exp.Expression) -> exp.Expression:
    """rowid (DuckDB's row position) -> monotonically_increasing_id(): the same order for a table of one file
    read as one partition (the seed tables)."""
    if isinstance(node, exp.Column) and not node.table and node.name.lower() == "rowid":
        return exp.Anonymous(this="monotonically_increasing_id", expressions=[])
    return node


def any_value(node: exp.Expression) -> exp.Expression:
    """any_value(x) (DuckDB: the first non-NULL value) -> any_value(x, true): Spark's takes NULLs unless told, and
    its grammar puts `FILTER (WHERE ...)` before `IGNORE NULLS`, which sqlglot writes after it."""
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        return exp.Anonymous(this="any_value", expressions=[node.this.this.copy(), exp.true()])
    return node


def _typed(*names: str) -> tuple[type, ...]:
    """sqlglot parses some DuckDB functions into typed nodes in some versions: match those too."""
    return tuple(getattr(exp, name) for name in names if hasattr(exp, name))


_TYPED_FULL_MATCH = _typed("RegexpFullMatch")
_TYPED_TO_DAYS = _typed("ToDays")

SPARK_REWRITES: list[Callable[[exp.Expression], exp.Expression]] = [
    try_strptime,
    to_days,
    epoch,
    strlen,
    isfinite,
    regexp_full_match,
    posix_classes,
    date_diff_day,
    try_cast_double,
    rowid,
    any_value,
]
