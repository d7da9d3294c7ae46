"""Batches are Dagster dynamic partitions, one per extract folder keyed by the batch id; run tags say the rest."""

import dagster as dg

batch_partitions = dg.DynamicPartitionsDefinition(name="batches")

PARTITION_TAG = "dagster/partition"
SOURCE_DIR_TAG = "cramp_cohort/source_dir"  # the batch folder (else: the registry, else <landing>/<batch id>)
# "true" lets a new batch whose id sorts before an accepted batch load anyway (--allow-out-of-order).
ALLOW_OUT_OF_ORDER_TAG = "cramp_cohort/allow_out_of_order"
FINGERPRINT_TAG = "cramp_cohort/batch_fingerprint"  # the delivery a sensor or schedule run was requested for
TRIGGER_TAG = "cramp_cohort/trigger"  # sensor / schedule / schedule_refresh / cli
FULL_TAG = "cramp_cohort/full"  # "true": the full path (every staging and cohort table rebuilt), --full
