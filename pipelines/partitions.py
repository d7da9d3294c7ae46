"""Batches are Dagster dynamic partitions: one per extract folder, keyed by the folder's name."""

import dagster as dg

batch_partitions = dg.DynamicPartitionsDefinition(name="batches")

SOURCE_DIR_TAG = "cramp_cohort/source_dir"
# "true" on a run lets a new batch whose id sorts before an accepted batch load anyway (--allow-out-of-order).
ALLOW_OUT_OF_ORDER_TAG = "cramp_cohort/allow_out_of_order"
