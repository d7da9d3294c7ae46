"""Dagster definitions, one module per domain."""
