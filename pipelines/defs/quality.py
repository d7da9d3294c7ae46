"""Data-quality definitions: GX-backed asset checks on the staging assets and the data-quality report.

Checks are built from the suite files (`expectations/<table>.json`, or the directory set as
`[extra] expectations_dir` in the settings file), so a site adds a check by editing JSON only.
"""

from pathlib import Path

from pipelines import EXPECTATIONS_DIR
from pipelines.quality.checks import build_quality_defs
from pipelines.settings import Settings

defs = build_quality_defs(Path(Settings.load().extra.get("expectations_dir", EXPECTATIONS_DIR)))
