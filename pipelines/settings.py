"""One settings object for paths and environment: read once, passed everywhere (no env lookups in assets).

Precedence: defaults < TOML file (`CRAMP_COHORT_CONFIG`, else `./cramp_cohort.toml`) < environment
< overrides. Every field is documented in `docs/operations.md` ("Configuration"). Bad values fail in
`Settings.load()` with a `SettingsError` naming the setting, so a misconfigured nightly job stops before
it touches the warehouse.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines import EXPECTATIONS_DIR

ENV_PREFIX = "CRAMP_COHORT_"

# Environment names that differ from PREFIX + FIELD_NAME (the short names are the documented ones; the long
# names are accepted too so that every setting can be spelled the same way).
_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "db_path": ("DB", "DB_PATH"),
    "landing_dir": ("LANDING", "LANDING_DIR"),
    "code_system_map_file": ("CODE_SYSTEM_MAP", "CODE_SYSTEM_MAP_FILE"),
}
# Path settings that may be left unset (None): empty means none.
_OPTIONAL_PATHS = ("code_system_map_file", "warehouse_dir")
ENGINES = ("duckdb", "spark")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")
_STATUSES = ("running", "stopped")
_LOG_FORMATS = ("auto", "json", "keyvalue", "text")


class SettingsError(ValueError):
    """Bad configuration; the message names the setting."""


# The folders a warehouse writes beside its DuckDB file (when not set on their own).
WAREHOUSE_FOLDERS = {"reports_dir": "reports", "published_dir": "published", "runs_dir": "runs"}


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("warehouse/cramp_cohort.duckdb")
    landing_dir: Path = Path("landing")  # one sub-folder per batch (see docs/operations.md)
    reports_dir: Path = Path("warehouse/reports")
    published_dir: Path = Path("warehouse/published")
    runs_dir: Path = Path("warehouse/runs")  # run summaries (JSON), one file per batch run
    key_file: Path = Path("~/.config/cramp-cohort/hmac.key")  # HMAC key (salt) for de-identified keys
    # Data-quality checks with their thresholds (GX suite JSON per staging table). Clinical thresholds are not
    # settings: they live in the versioned seed files (sql/seeds/), and changing them bumps the phenotype version.
    expectations_dir: Path = EXPECTATIONS_DIR
    # The site's own SYSTEM labels for conditions (CSV: source_system,code_system,note), added to the project's
    # (blank, SNOMED-CT, http://snomed.info/sct, ICD-10-CM, http://hl7.org/fhir/sid/icd-10-cm). Its contents
    # enter the phenotype version: a mapping changes which rows match.
    code_system_map_file: Path | None = None
    schedule_cron: str = "0 3 * * *"  # the daily safety-net schedule
    schedule_timezone: str = "UTC"
    sensor_interval_seconds: int = 60  # how often the landing sensor looks at landing_dir
    automation_status: str = "running"  # default status of the sensor and schedule: running / stopped
    failure_command: str = ""  # run on a failed batch, with the run summary path as last argument
    failure_webhook: str = ""  # http(s) URL: a failed batch's run summary is POSTed there as JSON
    failure_timeout_seconds: int = 30  # limit for failure_command and failure_webhook
    log_level: str = "INFO"
    # auto: readable text when stderr is a terminal, JSON otherwise; json (one object per line) / keyvalue / text
    log_format: str = "auto"
    duckdb_threads: int = 0  # 0 = DuckDB's default (all cores)
    duckdb_memory_limit: str = "3GB"  # DuckDB spills to disk beyond this: keeps a nightly run within ~4 GiB RSS
    # A batch fails when more than this share of one file's rows is quarantined (0.2 = 20 %); a batch whose rows
    # are all quarantined fails whatever the share.
    max_quarantine_share: float = 0.2
    # Batch folders and files that are symbolic links leading out of the landing folder are refused unless true.
    allow_external_symlinks: bool = False
    # The engine the SQL models run on (docs/scale-out.md): duckdb (the embedded file) or spark.
    engine: str = "duckdb"
    # Spark's tables (Parquet) live here; unset: the folder `<db file name>.spark` beside the db file. Any
    # Hadoop-compatible or object-store URL on a cluster (s3a://, abfss://, hdfs://).
    warehouse_dir: Path | None = None
    spark_master: str = "local[*]"  # local[n] for one machine; ignored when spark_remote is set
    spark_remote: str = ""  # a Spark Connect URL (sc://host:15002): the cluster's session instead of a local one

    def __post_init__(self) -> None:
        # Defaults too (key_file) must not keep a literal "~".
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                object.__setattr__(self, f.name, value.expanduser())

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: object) -> Settings:
        """Defaults < TOML file (CRAMP_COHORT_CONFIG or ./cramp_cohort.toml) < environment < overrides."""
        values: dict[str, object] = {}
        config_file = config_file or _default_config_file()
        if config_file is not None:
            try:
                values.update(tomllib.loads(Path(config_file).read_text()))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"config file {config_file}: {exc}") from exc
        for f in fields(cls):
            for suffix in _ENV_NAMES.get(f.name, (f.name.upper(),)):
                if ENV_PREFIX + suffix in os.environ:
                    values[f.name] = os.environ[ENV_PREFIX + suffix]
                    break
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("db_path") is not None:
            # A warehouse named elsewhere keeps its snapshot, reports and run summaries beside it, unless they are
            # set too: a run on another file never writes into the default warehouse's folders.
            beside = Path(str(values["db_path"])).expanduser().parent
            for name, folder in WAREHOUSE_FOLDERS.items():
                values.setdefault(name, beside / folder)
        return cls._coerce(values)

    @classmethod
    def _coerce(cls, values: dict[str, object]) -> Settings:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        out: dict[str, object] = {}
        for name, value in values.items():
            default = known[name].default
            if name in _OPTIONAL_PATHS:
                if value is not None and not isinstance(value, str | Path):
                    raise SettingsError(f"setting {name}: expected a path, got {value!r}")
                out[name] = Path(str(value)).expanduser() if value is not None and str(value).strip() else None
            elif isinstance(default, bool):  # before int: bool is an int
                out[name] = _boolean(name, value)
            elif isinstance(default, float):
                try:
                    out[name] = float(value)  # type: ignore[arg-type]
                except (TypeError, ValueError) as exc:
                    raise SettingsError(f"setting {name}: expected a number, got {value!r}") from exc
            elif isinstance(default, Path):
                if not isinstance(value, str | Path) or not str(value).strip():
                    raise SettingsError(f"setting {name}: expected a path, got {value!r}")
                out[name] = Path(str(value)).expanduser()
            elif isinstance(default, int):
                try:
                    out[name] = int(value)  # type: ignore[arg-type]
                except (TypeError, ValueError) as exc:
                    raise SettingsError(f"setting {name}: expected an integer, got {value!r}") from exc
            else:
                if not isinstance(value, str):
                    raise SettingsError(f"setting {name}: expected a string, got {value!r}")
                out[name] = value.strip()
        settings = cls(**out)  # type: ignore[arg-type]
        settings._validate()
        return settings

    def _validate(self) -> None:
        """Fail fast on values that would only break at 3 a.m. (schedule, hook, logging)."""
        cron = self.schedule_cron.split()
        if len(cron) != 5 or not all(_CRON_FIELD.match(part) for part in cron):
            raise SettingsError(f"setting schedule_cron: expected 5 cron fields, got {self.schedule_cron!r}")
        try:
            ZoneInfo(self.schedule_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"setting schedule_timezone: unknown time zone {self.schedule_timezone!r}") from exc
        if self.sensor_interval_seconds < 5:
            raise SettingsError(f"setting sensor_interval_seconds: expected >= 5, got {self.sensor_interval_seconds}")
        if self.failure_timeout_seconds < 1:
            raise SettingsError(f"setting failure_timeout_seconds: expected >= 1, got {self.failure_timeout_seconds}")
        if not 0.0 <= self.max_quarantine_share <= 1.0:
            raise SettingsError(
                f"setting max_quarantine_share: expected a share between 0 and 1, got {self.max_quarantine_share}"
            )
        if self.engine.lower() not in ENGINES:
            raise SettingsError(f"setting engine: expected one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.spark_remote and not self.spark_remote.startswith("sc://"):
            raise SettingsError(f"setting spark_remote: expected sc://host:port, got {self.spark_remote!r}")
        if self.duckdb_threads < 0:
            raise SettingsError(f"setting duckdb_threads: expected >= 0, got {self.duckdb_threads}")
        if self.automation_status.lower() not in _STATUSES:
            raise SettingsError(
                f"setting automation_status: expected one of {', '.join(_STATUSES)}, got {self.automation_status!r}"
            )
        if self.log_format.lower() not in _LOG_FORMATS:
            raise SettingsError(
                f"setting log_format: expected one of {', '.join(_LOG_FORMATS)}, got {self.log_format!r}"
            )
        if not isinstance(logging.getLevelName(self.log_level.upper()), int):
            raise SettingsError(f"setting log_level: unknown level {self.log_level!r}")
        if self.failure_command:
            try:
                shlex.split(self.failure_command)
            except ValueError as exc:
                raise SettingsError(f"setting failure_command: {exc}") from exc
        if self.code_system_map_file is not None:
            from pipelines.contract.code_systems import CodeSystemMapError, code_system_labels

            try:
                code_system_labels(self.code_system_map_file)
            except CodeSystemMapError as exc:
                raise SettingsError(f"setting code_system_map_file: {exc}") from exc
        if self.failure_webhook:
            url = urlparse(self.failure_webhook)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise SettingsError(f"setting failure_webhook: expected an http(s) URL, got {self.failure_webhook!r}")


    @property
    def spark_warehouse_dir(self) -> Path:
        """Where the Spark engine keeps its tables: `warehouse_dir`, else `<db file name>.spark` beside the db."""
        return self.warehouse_dir or self.db_path.with_name(self.db_path.name + ".spark")


def _boolean(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"setting {name}: expected true or false, got {value!r}")


def _default_config_file() -> Path | None:
    explicit = os.environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("cramp_cohort.toml")
    return local if local.exists() else None
