"""Keyed hashes: the secret comes from the environment or an owner-only key file, never the DuckDB file or logs."""

import hashlib
import hmac
import stat

import dagster as dg
import duckdb
import pytest
from marts_synthetic import build_warehouse

from pipelines.marts.keys import KEY_ENV, KeyFileError, load_hmac_key, patient_key, register_patient_key
from pipelines.orchestration.assets.marts import marts
from tests.harness import pipeline_resources


def test_key_file_is_created_owner_only_on_first_use_and_reused(tmp_path):
    key_file = tmp_path / "config" / "hmac.key"
    first = load_hmac_key(key_file, environ={})
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    secret = key_file.read_text().strip()
    assert len(secret) >= 32
    second = load_hmac_key(key_file, environ={})
    assert patient_key(first, "patient-1") == patient_key(second, "patient-1")
    expected = hmac.new(secret.encode(), b"patient-1", hashlib.sha256).hexdigest()
    assert patient_key(first, "patient-1") == expected
    assert expected != hashlib.sha256(b"patient-1").hexdigest()  # keyed, not a plain hash
    assert secret not in repr(first) and secret not in str(first)


def test_environment_variable_wins_over_the_key_file(tmp_path):
    key_file = tmp_path / "hmac.key"
    from_env = load_hmac_key(key_file, environ={KEY_ENV: "an-environment-secret-of-some-length"})
    assert not key_file.exists()  # nothing written when the environment provides the key
    from_file = load_hmac_key(key_file, environ={})
    assert patient_key(from_env, "p") != patient_key(from_file, "p")
    assert from_env.source == f"environment variable {KEY_ENV}"


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    key_file = tmp_path / "hmac.key"
    key_file.write_text("0123456789abcdef0123456789abcdef\n")
    key_file.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600") as caught:
        load_hmac_key(key_file, environ={})
    assert "0123456789abcdef" not in str(caught.value)


def test_sql_function_hashes_with_the_key(tmp_path):
    key = load_hmac_key(tmp_path / "k", environ={})
    with duckdb.connect() as con:
        register_patient_key(con, key)
        rows = con.execute("select patient_key(x) from (values ('a'), (null)) t(x)").fetchall()
    assert rows == [(patient_key(key, "a"),), (None,)]


def test_marts_run_creates_the_key_and_never_stores_or_logs_it(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    db = tmp_path / "warehouse.duckdb"
    build_warehouse(db, patients=150, seed=4)
    key_file = tmp_path / "secrets" / "hmac.key"
    result = dg.materialize([marts], resources=pipeline_resources(db, key_file=key_file))
    assert result.success
    secret = key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret.encode() not in db.read_bytes()
    wal = db.with_name(db.name + ".wal")
    assert not wal.exists() or secret.encode() not in wal.read_bytes()
    logged = " ".join(str(e) for e in result.all_events)
    assert secret not in logged and str(key_file) in logged  # the source is recorded, never the secret
