"""Settings: precedence (defaults < TOML < environment < overrides); fail-fast messages naming the setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.settings import ENV_PREFIX, Settings, SettingsError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Start every test from a neutral environment: no CRAMP_COHORT_* variables, no ./cramp_cohort.toml.
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings.load()
    assert settings.landing_dir == Path("landing")
    assert settings.db_path == Path("warehouse/cramp_cohort.duckdb")
    assert settings.runs_dir == Path("warehouse/runs")
    assert settings.schedule_cron == "0 3 * * *"
    assert "~" not in str(settings.key_file)


def test_precedence_toml_then_env_then_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cramp_cohort.toml"
    config.write_text(
        'landing_dir = "from_toml"\nreports_dir = "r_toml"\nschedule_cron = "30 2 * * 1-5"\n'
        'schedule_timezone = "Europe/Paris"\nsensor_interval_seconds = 45\n'
    )
    monkeypatch.setenv("CRAMP_COHORT_LANDING", "from_env")
    monkeypatch.setenv("CRAMP_COHORT_DB", "db/env.duckdb")
    settings = Settings.load(reports_dir="r_override")
    assert settings.landing_dir == Path("from_env")
    assert settings.db_path == Path("db/env.duckdb")
    assert settings.reports_dir == Path("r_override")
    assert settings.schedule_cron == "30 2 * * 1-5"
    assert settings.schedule_timezone == "Europe/Paris"
    assert settings.sensor_interval_seconds == 45


def test_explicit_config_file_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('failure_command = "notify-team --urgent"\nlog_format = "keyvalue"\n')
    monkeypatch.setenv("CRAMP_COHORT_CONFIG", str(config))
    settings = Settings.load()
    assert settings.failure_command == "notify-team --urgent"
    assert settings.log_format == "keyvalue"


def test_long_env_names_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAMP_COHORT_LANDING_DIR", "drop")
    monkeypatch.setenv("CRAMP_COHORT_RUNS_DIR", "runs_here")
    settings = Settings.load()
    assert settings.landing_dir == Path("drop")
    assert settings.runs_dir == Path("runs_here")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("schedule_cron", "every day"),
        ("schedule_cron", "0 3 * *"),
        ("schedule_timezone", "Mars/Olympus_Mons"),
        ("sensor_interval_seconds", "soon"),
        ("sensor_interval_seconds", "1"),
        ("duckdb_threads", "-2"),
        ("automation_status", "paused"),
        ("log_level", "LOUD"),
        ("log_format", "xml"),
        ("failure_webhook", "ftp://example.invalid/hook"),
        ("failure_command", "notify 'unbalanced"),
        ("failure_timeout_seconds", "0"),
        ("engine", "postgres"),
        ("spark_remote", "http://cluster:15002"),
    ],
)
def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(ENV_PREFIX + name.upper(), value)
    with pytest.raises(SettingsError, match=f"setting {name}"):
        Settings.load()


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('landing_dri = "typo"\n')
    with pytest.raises(SettingsError, match="landing_dri"):
        Settings.load(config_file=config)


def test_wrong_toml_type_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("failure_command = 5\n")
    with pytest.raises(SettingsError, match="setting failure_command"):
        Settings.load(config_file=config)


def test_unreadable_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("landing_dir = \n")
    with pytest.raises(SettingsError, match="broken.toml"):
        Settings.load(config_file=config)


def test_engine_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.load(db_path=tmp_path / "w.duckdb")
    assert (settings.engine, settings.warehouse_dir) == ("duckdb", None)
    assert settings.spark_warehouse_dir == tmp_path / "w.duckdb.spark"  # beside the db file by default
    monkeypatch.setenv(ENV_PREFIX + "ENGINE", "spark")
    monkeypatch.setenv(ENV_PREFIX + "WAREHOUSE_DIR", str(tmp_path / "lake"))
    settings = Settings.load()
    assert (settings.engine, settings.spark_warehouse_dir) == ("spark", tmp_path / "lake")
