"""Data validation: GX suites (expectations/*.json) computed in DuckDB, quarantine, history, report."""
