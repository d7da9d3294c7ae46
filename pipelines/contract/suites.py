"""The data-quality checks as files: one GX 1.x suite JSON per staging table, plus the generic checks.

A table's suite is its JSON file (`expectations/<table>.json`: the checks particular to it) and the generic
checks the field-level table assigns to it, in the manner of OHDSI's DataQualityDashboard:
`expectations/generic/checks.csv` describes each generic check (name, type, Kahn category, explanation, the
staging rule it measures), `expectations/generic/<check>.sql` is its one SQL template, and
`expectations/generic/table_checks.csv` lists which table (and column) gets it, with severity and threshold.

Reading a suite needs no Great Expectations import (the Dagster code location builds its check specs from these
files at load time). A site adds a check by editing these files only; the metadata is validated here so a typo
fails the load with the file and expectation named instead of a silent skip.

`staging_rule` (meta) marks a check that measures a rule the staging build already enforces (its reject reason
code, or `newest_row_per_key` for the natural key): it proves the rule held, so any failing row fails it.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

KAHN_CATEGORIES = ("conformance", "completeness", "plausibility", "uniqueness", "referential")
SEVERITIES = ("error", "warn")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# GX 1.24 substitutes `{batch}` by `(<select>) AS subselect` unless the query contains a JOIN, so an alias after
# `{batch}` only works in queries that join: reject the other case at load time instead of a SQL error per run.
_BATCH_ALIAS = re.compile(r"\{batch\}\s+(as\s+)?(?!where\b|join\b|left\b|inner\b|group\b|order\b)[a-z_]\w*", re.I)
_JOIN = re.compile(r"\bjoin\b", re.I)


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and the expectation."""


@dataclass(frozen=True)
class ExpectationDef:
    check_name: str
    type: str
    kwargs: dict[str, Any]
    kahn_category: str
    severity: str
    threshold: float  # max % of the table's rows allowed to fail
    explanation: str
    quarantine: bool  # error row checks move failing rows to quarantine (meta "quarantine": false opts out)
    staging_rule: str | None = None  # the staging rule this check measures (see the module docstring)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")


@dataclass(frozen=True)
class Suite:
    table: str
    path: Path
    expectations: tuple[ExpectationDef, ...]


def load_suites(suites_dir: Path) -> dict[str, Suite]:
    """All `<table>.json` suites of a directory with their generic checks, keyed by table name."""
    suites_dir = Path(suites_dir)
    if not suites_dir.is_dir():
        raise SuiteError(f"expectations directory {suites_dir} does not exist")
    generic = generic_expectations(suites_dir / GENERIC_DIR)
    return {path.stem: load_suite(path, generic.get(path.stem, ())) for path in sorted(suites_dir.glob("*.json"))}


def load_suite(path: Path, generic: tuple[dict[str, Any], ...] = ()) -> Suite:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{path}: {exc}") from exc
    table = Path(path).stem
    if doc.get("name") != table:
        raise SuiteError(f"{path}: suite name {doc.get('name')!r} must equal the table name {table!r}")
    raw = doc.get("expectations")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{path}: 'expectations' must be a non-empty list")
    items = [*raw, *generic]
    expectations = tuple(_parse_expectation(path, table, i, item) for i, item in enumerate(items))
    names = [e.check_name for e in expectations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SuiteError(f"{path}: duplicate check names {duplicates}")
    return Suite(table=table, path=Path(path), expectations=expectations)


def _parse_expectation(path: Path, table: str, index: int, item: dict[str, Any]) -> ExpectationDef:
    where = f"{path} expectation #{index}"
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise SuiteError(f"{where}: needs a 'type'")
    kwargs = item.get("kwargs") or {}
    meta = dict(item.get("meta") or {})
    check_name = meta.get("check_name") or _default_name(table, item["type"], kwargs)
    if not _NAME.match(check_name):
        raise SuiteError(f"{where}: check_name {check_name!r} must be letters, digits and underscores")
    category = meta.get("kahn_category")
    if category not in KAHN_CATEGORIES:
        raise SuiteError(f"{where} ({check_name}): kahn_category must be one of {KAHN_CATEGORIES}")
    severity = meta.get("severity")
    if severity not in SEVERITIES:
        raise SuiteError(f"{where} ({check_name}): severity must be one of {SEVERITIES}")
    threshold = meta.get("threshold")
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 100:
        raise SuiteError(f"{where} ({check_name}): threshold must be a number of percent in [0, 100]")
    explanation = meta.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        raise SuiteError(f"{where} ({check_name}): explanation (one line for the report) is required")
    query = kwargs.get("unexpected_rows_query")
    if item["type"] == "unexpected_rows_expectation":
        if not isinstance(query, str) or "{batch}" not in query:
            raise SuiteError(f"{where} ({check_name}): unexpected_rows_query must select from {{batch}}")
        if _BATCH_ALIAS.search(query) and not _JOIN.search(query):
            raise SuiteError(
                f"{where} ({check_name}): an alias after {{batch}} needs a JOIN in the query "
                "(Great Expectations wraps {batch} as an aliased subquery otherwise); drop the alias"
            )
    meta["check_name"] = check_name
    return ExpectationDef(
        check_name=check_name,
        type=item["type"],
        kwargs=dict(kwargs),
        kahn_category=category,
        severity=severity,
        threshold=float(threshold),
        explanation=explanation.strip(),
        quarantine=bool(meta.get("quarantine", True)),
        staging_rule=meta.get("staging_rule") or None,
        meta=meta,
    )


def _default_name(table: str, expectation_type: str, kwargs: dict[str, Any]) -> str:
    subject = kwargs.get("column") or "_".join(kwargs.get("column_list") or []) or "table"
    short = expectation_type.removeprefix("expect_").removeprefix("column_values_to_")
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{table}_{subject}_{short}")


GENERIC_DIR = "generic"
# A check our code runs itself (not Great Expectations): the rows a batch delivered against the batch before it.
BATCH_VOLUME = "batch_volume_expectation"
QUERY_KWARG = {BATCH_VOLUME: "volume_query"}


def generic_expectations(generic_dir: Path) -> dict[str, tuple[dict[str, Any], ...]]:
    """The generic checks as suite items (GX expectation + meta), per table (none without the folder)."""
    checks_file, tables_file = generic_dir / "checks.csv", generic_dir / "table_checks.csv"
    if not checks_file.exists():
        return {}
    checks = {row["check"]: row for row in _csv(checks_file)}
    out: dict[str, list[dict[str, Any]]] = {}
    for line, row in enumerate(_csv(tables_file), start=2):
        where = f"{tables_file} line {line}"
        check = checks.get(row["check"])
        if check is None:
            raise SuiteError(f"{where}: unknown generic check {row['check']!r} (not in {checks_file.name})")
        values = {"table": row["table"], "column": row["column"], **_key_values(row["table"])}
        try:
            query = _template_sql(generic_dir / f"{row['check']}.sql").substitute(values)
            name = Template(check["name"]).substitute(values)
            explanation = Template(check["explanation"]).substitute(values)
        except (KeyError, ValueError, OSError) as exc:
            raise SuiteError(f"{where}: generic check {row['check']}: {exc}") from exc
        try:
            threshold: float = float(row["threshold"])
        except ValueError as exc:
            raise SuiteError(f"{where}: threshold must be a number of percent") from exc
        out.setdefault(row["table"], []).append(
            {
                "type": check["expectation_type"],
                "kwargs": {QUERY_KWARG.get(check["expectation_type"], "unexpected_rows_query"): query},
                "meta": {
                    "check_name": name,
                    "kahn_category": check["kahn_category"],
                    "severity": row["severity"],
                    "threshold": threshold if threshold != int(threshold) else int(threshold),
                    "explanation": explanation,
                    "quarantine": check["quarantine"].strip().lower() == "true",
                    "staging_rule": check["staging_rule"],
                    "generic_check": row["check"],
                },
            }
        )
    return {table: tuple(items) for table, items in out.items()}


def _csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except OSError as exc:
        raise SuiteError(f"{path}: {exc}") from exc


def _template_sql(path: Path) -> Template:
    """The template without its comment lines, on one line (GX runs it as a subquery)."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return Template(" ".join(line for line in lines if line and not line.startswith("--")))


def _key_values(table: str) -> dict[str, str]:
    """The natural key of the staging table, for the natural-key template."""
    from pipelines.contract.tables import natural_key

    try:
        key = natural_key(table)
    except KeyError:
        return {}  # a table without a staging contract: the natural-key template names what is missing
    return {
        "key_columns": ", ".join(key),
        "key_match": " and ".join(f"t.{c} is not distinct from d.{c}" for c in key),
    }
