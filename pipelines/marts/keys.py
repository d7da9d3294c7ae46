"""Keyed hashes for patient keys (HMAC-SHA256): the secret lives outside the DuckDB file and is never logged.

Order of precedence: the environment variable `CRAMP_COHORT_HMAC_KEY`, else the key file (created on first use
with owner-only permissions, 0600, in a 0700 folder). No mart carries a patient key today; any that needs one
must use `patient_key` (or the `patient_key` SQL function registered by `register_patient_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

import duckdb
from duckdb import sqltypes

KEY_ENV = "CRAMP_COHORT_HMAC_KEY"
KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """The key file is unusable (readable by others, empty, ...). The message never contains the key."""


class HmacKey:
    """The secret, wrapped so that repr/str/logging never print it."""

    __slots__ = ("_secret", "source")

    def __init__(self, secret: bytes, source: str) -> None:
        if len(secret) < 16:
            raise KeyFileError(f"HMAC key from {source} is shorter than 16 bytes")
        self._secret = secret
        self.source = source

    def __repr__(self) -> str:
        return f"HmacKey(source={self.source!r}, secret=<hidden>)"

    __str__ = __repr__

    def digest(self, value: str) -> str:
        return hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def load_hmac_key(key_file: Path, environ: Mapping[str, str] | None = None) -> HmacKey:
    """The key from the environment, else from `key_file` (created with 0600 permissions when missing)."""
    environ = os.environ if environ is None else environ
    if environ.get(KEY_ENV):
        return HmacKey(environ[KEY_ENV].encode("utf-8"), source=f"environment variable {KEY_ENV}")
    key_file = Path(key_file).expanduser()
    if not key_file.exists():
        _create_key_file(key_file)
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {key_file} is accessible by group/others (mode {mode:o}); chmod 600 it")
    secret = key_file.read_text().strip()
    if not secret:
        raise KeyFileError(f"key file {key_file} is empty")
    return HmacKey(secret.encode("utf-8"), source=f"key file {key_file}")


def _create_key_file(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL + mode 0600 at creation: the secret is never readable by others, not even for a moment.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")


def patient_key(key: HmacKey, patient_id: str) -> str:
    """The pseudonymous key of a patient: hex HMAC-SHA256 of the input patient id."""
    return key.digest(patient_id)


def register_patient_key(con: duckdb.DuckDBPyConnection, key: HmacKey) -> None:
    """Registers `patient_key(varchar) -> varchar` on this connection only (the key stays in Python memory)."""
    con.create_function(
        "patient_key",
        lambda value: None if value is None else key.digest(value),
        [sqltypes.VARCHAR],
        sqltypes.VARCHAR,
        null_handling="special",
    )
