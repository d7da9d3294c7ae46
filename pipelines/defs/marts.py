"""marts definitions (placeholder until built)."""

import dagster as dg

defs = dg.Definitions()
