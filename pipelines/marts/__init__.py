"""Marts layer: de-identified aggregates, small-cell suppression, keyed hashes, publishing and the dashboard."""
