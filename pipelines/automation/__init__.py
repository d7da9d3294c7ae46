"""Unattended batch operation: landing detection, batch processing, run summaries, failure hook, logs.

Plain Python (no Dagster imports at module level) so the CLI can use it without loading the code location.
"""
