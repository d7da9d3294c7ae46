"""cramp-cohort: foot/leg cramp cohort analytics over Synthea-layout EHR extracts, in DuckDB."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
