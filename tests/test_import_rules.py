"""The arrows between the rooms of `pipelines/` (docs/ARCHITECTURE.md), checked on the source itself.

- Only `orchestration/` imports Dagster; the domain rooms are plain Python that take a connection and settings.
- The CLI goes through orchestration; a domain room never imports orchestration or the CLI.
- The base rooms (warehouse, contract, settings, faults) import no domain room.
- Quality never imports ingest.
- Only `warehouse/` opens DuckDB (`duckdb.connect`), in the product and in the bench.

Each rule is also run on a small source with a deliberate violation, so a checker that cannot fail shows up.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pipelines"

BASE_ROOMS = {"warehouse", "contract", "settings", "faults"}
DOMAIN_ROOMS = {"reference", "ingest", "quality", "cohort", "marts", "reports", "operations", "generate"}
ORCHESTRATION = "orchestration"
CLI = "cli"
WAREHOUSE = "warehouse"


@dataclass(frozen=True)
class Module:
    room: str  # the first folder (or file) under pipelines/, or "bench"
    path: str
    source: str


def room_of(path: Path) -> str:
    if PACKAGE in path.parents:
        return path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    return path.relative_to(ROOT).parts[0]


def product_modules() -> list[Module]:
    paths = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
    return [Module(room_of(p), str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in paths]


def imported_modules(source: str) -> set[str]:
    """Every module a source imports (`from a.b import c` counts as `a.b` and `a.b.c`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def rooms_imported(source: str) -> set[str]:
    return {name.split(".")[1] for name in imported_modules(source) if name.startswith("pipelines.")}


def opens_duckdb(source: str) -> bool:
    """`duckdb.connect(...)` or a `connect` imported from duckdb; strings that hold code count too (the bench
    runs scripts in subprocesses)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "connect":
            if isinstance(node.value, ast.Name) and node.value.id == "duckdb":
                return True
        if isinstance(node, ast.ImportFrom) and node.module == "duckdb":
            if any(alias.name == "connect" for alias in node.names):
                return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "duckdb.connect(" in node.value:
            return True
    return False


def violations(modules: list[Module]) -> list[str]:
    found: list[str] = []
    for m in modules:
        imports = imported_modules(m.source)
        rooms = rooms_imported(m.source)
        if m.room != ORCHESTRATION and any(name.split(".")[0].startswith("dagster") for name in imports):
            found.append(f"{m.path}: imports dagster outside pipelines/orchestration/")
        if m.room in DOMAIN_ROOMS | BASE_ROOMS and rooms & {ORCHESTRATION, CLI}:
            found.append(f"{m.path}: the {m.room} room imports {sorted(rooms & {ORCHESTRATION, CLI})}")
        if m.room in BASE_ROOMS and rooms & DOMAIN_ROOMS:
            found.append(f"{m.path}: the base room {m.room} imports domain rooms {sorted(rooms & DOMAIN_ROOMS)}")
        if m.room == "quality" and "ingest" in rooms:
            found.append(f"{m.path}: quality imports ingest")
        if m.room != WAREHOUSE and opens_duckdb(m.source):
            found.append(f"{m.path}: calls duckdb.connect (open the warehouse through pipelines.warehouse)")
    return found


def test_the_rooms_keep_their_arrows() -> None:
    modules = product_modules()
    assert {m.room for m in modules} >= DOMAIN_ROOMS | {ORCHESTRATION, WAREHOUSE, CLI}
    assert violations(modules) == []


@pytest.mark.parametrize(
    ("room", "source", "expected"),
    [
        ("cohort", "import dagster as dg\n", "imports dagster"),
        ("cli", "from dagster import materialize\n", "imports dagster"),
        ("marts", "from pipelines.orchestration.resources import DuckDBWarehouse\n", "imports ['orchestration']"),
        ("warehouse", "from pipelines.ingest import lifecycle\n", "base room warehouse imports"),
        ("quality", "from pipelines.ingest.staging_rules import staging_rules\n", "quality imports ingest"),
        ("marts", "import duckdb\ncon = duckdb.connect('x.duckdb')\n", "calls duckdb.connect"),
        ("operations", "from duckdb import connect\n", "calls duckdb.connect"),
        ("bench", "SCRIPT = 'import duckdb; duckdb.connect(1)'\n", "calls duckdb.connect"),
    ],
)
def test_a_deliberate_violation_is_caught(room: str, source: str, expected: str) -> None:
    (problem,) = violations([Module(room, f"pipelines/{room}/example.py", source)])
    assert expected in problem


def test_allowed_arrows_pass() -> None:
    allowed = [
        Module("orchestration", "o.py", "import dagster as dg\nfrom pipelines.ingest import lifecycle\n"),
        Module("cli", "c.py", "from pipelines.orchestration.runner import run_batch\n"),
        Module("warehouse", "w.py", "import duckdb\ncon = duckdb.connect()\n"),
        Module("reports", "r.py", "from pipelines.marts.publish import SNAPSHOT_FILE\n"),
    ]
    assert violations(allowed) == []
