"""Data-quality definitions: GX-backed asset checks on the staging assets and the data-quality report.

Checks are built from the suite files (`expectations/<table>.json`, or the folder of the `expectations_dir`
setting), so a site adds a check by editing JSON only. `pipelines/definitions.py` calls the builder.
"""

from pipelines.quality.checks import build_quality_defs

__all__ = ["build_quality_defs"]
