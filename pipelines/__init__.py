"""cramp-cohort: foot/leg cramp cohort analytics over Synthea-layout EHR extracts, in DuckDB.

The project's data folders (`sql/`, `expectations/`) live at the top of the repository and ship inside the
package when it is installed (`pip install .` puts them under `pipelines/`): the installed copy wins when present.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = _PACKAGE.parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE / name
    return installed if installed.is_dir() else PROJECT_ROOT / name


SQL_DIR = _data_dir("sql")
EXPECTATIONS_DIR = _data_dir("expectations")
