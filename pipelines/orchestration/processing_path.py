"""Full or incremental: which path a batch run takes, decided once when the batch is registered.

Incremental (only the patients the batch can change are recomputed, ingest/staging_scope.py and
cohort/models.py) is chosen when the warehouse allows it; otherwise the full path rebuilds every staging and
cohort table over all accepted batches. The choice and its reason are stored on the batch (`raw._batches`) and
reach the run summary. The full path is taken when

- it is asked for (`cramp-cohort run --full`, `reprocess --full`, or the setting `incremental = false`);
- the Spark engine runs the batch (`engine = "spark"`: its staging and cohort builds are full builds);
- the warehouse has no staging or cohort tables yet (its first batch);
- the definitions changed since the cohort was built: any SQL model, seed or value set, suite, the code-system
  map, or the package's version or Python code (`definitions_signature`);
- the cohort was not built over the batches accepted now (a run stopped after accepting its batch).
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb

from pipelines import SQL_DIR
from pipelines.cohort.build_state import builds_recorded, stale_assets
from pipelines.cohort.models import ASSET_MODELS
from pipelines.contract.scope import ALL_PATIENTS, FULL, INCREMENTAL, Scope
from pipelines.contract.synthea import LAYOUTS
from pipelines.ingest.batch_state import processing_path
from pipelines.warehouse import table_exists

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def definitions_signature(suites_dir: Path, code_system_map_file: Path | None) -> str:
    """A digest of everything besides the data that decides staging and cohort rows: the package's version and
    Python code, the SQL models and seeds, the suites and the code-system map."""
    digest = hashlib.sha256()
    try:
        digest.update(version("cramp-cohort").encode())
    except PackageNotFoundError:
        digest.update(b"source tree")
    files = [(PACKAGE_DIR, p) for p in PACKAGE_DIR.rglob("*.py")]
    files += [(root, p) for root in (SQL_DIR, suites_dir) for p in root.rglob("*") if p.is_file()]
    for root, path in sorted(f for f in files if "__pycache__" not in f[1].parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    if code_system_map_file is not None:
        digest.update(code_system_map_file.read_bytes())
    return digest.hexdigest()


def choose_path(
    con: duckdb.DuckDBPyConnection, full_requested: bool, signature: str, spark_engine: bool = False
) -> tuple[str, str]:
    """(path, reason) for a batch about to be registered (call before it changes anything)."""
    if full_requested:
        return FULL, "full rebuild requested"
    if spark_engine:
        return FULL, "the Spark engine builds staging and the cohort in full (incremental builds run on DuckDB)"
    missing = [name for name in LAYOUTS if not table_exists(con, f"staging.{name}")]
    if missing:
        return FULL, "first build of this warehouse's staging tables"
    stale = stale_assets(con, list(ASSET_MODELS), signature)
    if stale:
        if not builds_recorded(con):
            return FULL, "no record of the cohort's last build (a warehouse built before incremental runs)"
        return FULL, (
            "the cohort was built over other batches or other definitions (SQL, value sets, suites, code-system "
            f"map, the package's version or code) than now: {', '.join(stale)}"
        )
    return INCREMENTAL, "the warehouse holds every accepted batch under the same definitions"


def run_scope(con: duckdb.DuckDBPyConnection, batch_id: str | None) -> Scope:
    """The scope of this run's builds: the batch's patients when it took the incremental path, else all."""
    if batch_id and processing_path(con, batch_id) == INCREMENTAL:
        return Scope(batch_id)
    return ALL_PATIENTS
