"""Landing a batch folder in DuckDB: raw tables (all text) and typed, deduplicated staging tables."""
