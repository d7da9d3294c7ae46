"""Batches are Dagster dynamic partitions: one per extract folder, keyed by the folder's name."""

import dagster as dg

batch_partitions = dg.DynamicPartitionsDefinition(name="batches")

SOURCE_DIR_TAG = "cramp_cohort/source_dir"
