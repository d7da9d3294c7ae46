"""Installing the `spark` extra must not change what importing the pipeline does.

Great Expectations imports PySpark's Connect client when PySpark is installed; without Connect's own
dependencies (grpc, googleapis protos, zstandard) that client decides it runs under doctests in any process
whose main module has no file (`python -c`, a script on stdin, a fork server) and calls `sys.exit(0)`: the
process stops at `import great_expectations` and reports success. The extra therefore installs
`pyspark[connect]` (which Spark Connect, setting `spark_remote`, needs anyway).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_python_c_process_importing_the_pipeline_keeps_running():
    program = "import great_expectations, pipelines.cli, pipelines.orchestration.definitions; print('still running')"
    for how in (["-c", program], ["-"]):
        done = subprocess.run(
            [sys.executable, *how], input=program if how == ["-"] else None, capture_output=True, text=True,
            cwd=ROOT, timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "still running", f"{how}: {done.stderr[-2000:]}"


def test_spark_connect_client_dependencies_are_installed():
    from pyspark.sql.connect.utils import check_dependencies

    check_dependencies()  # raises an ImportError naming the missing package
