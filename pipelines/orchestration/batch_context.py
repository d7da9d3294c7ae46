"""The batch a run is about, worked out in one place: its id, its folder, and how it was started.

- batch id: the run's partition (every `process_batch` run has one); a run without a partition (a manual
  materialization of unpartitioned assets) is about the batch registered last, else about no batch (`none`);
- folder: the run's `source_dir` tag (CLI, sensor, schedule), else where the batch was registered from, else
  `<landing_dir>/<batch id>` (a backfill or a run started by hand);
- flags: `allow_out_of_order`, `full` (rebuild every table instead of the batch's patients), and the delivery
  fingerprint and trigger of sensor and schedule runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.ingest.lifecycle import registered_source_dir
from pipelines.orchestration.partitions import (
    ALLOW_OUT_OF_ORDER_TAG,
    FINGERPRINT_TAG,
    FULL_TAG,
    PARTITION_TAG,
    SOURCE_DIR_TAG,
    TRIGGER_TAG,
)
from pipelines.warehouse import table_exists

NO_BATCH = "none"


@dataclass(frozen=True)
class BatchContext:
    batch_id: str | None  # the partition key; None for a run without one
    source_dir_tag: str | None
    allow_out_of_order: bool
    fingerprint: str | None
    trigger: str
    full: bool = False  # the full path was asked for (--full)

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> BatchContext:
        return cls(
            batch_id=tags.get(PARTITION_TAG),
            source_dir_tag=tags.get(SOURCE_DIR_TAG),
            allow_out_of_order=tags.get(ALLOW_OUT_OF_ORDER_TAG) == "true",
            fingerprint=tags.get(FINGERPRINT_TAG),
            trigger=tags.get(TRIGGER_TAG, "manual"),
            full=tags.get(FULL_TAG) == "true",
        )

    def batch_or_latest(self, con: duckdb.DuckDBPyConnection) -> str:
        """The run's batch, else the batch registered last, else `none`."""
        if self.batch_id:
            return self.batch_id
        if table_exists(con, "raw._batches"):
            row = con.execute("select batch_id from raw._batches order by registered_at desc limit 1").fetchone()
            if row:
                return str(row[0])
        return NO_BATCH

    def source_dir(self, con: duckdb.DuckDBPyConnection, landing_dir: Path) -> Path:
        """The folder of this run's batch (see the module docstring)."""
        if self.source_dir_tag:
            return Path(self.source_dir_tag)
        assert self.batch_id, "a batch folder needs a batch"
        return registered_source_dir(con, self.batch_id) or landing_dir / self.batch_id
