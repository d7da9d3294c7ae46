"""`python -m pipelines.automation.reprocess [--batch ID ...] [--db PATH]`: re-run batches from the shell.

Re-runs every known batch (or the given ones) in name order, e.g. after a value-set change bumped the
phenotype version. Each re-run replaces that batch's rows exactly; exit 1 when any batch failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.automation.logs import configure_logging
from pipelines.automation.processing import exit_code, reprocess_all
from pipelines.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.automation.reprocess", description=__doc__)
    parser.add_argument("--batch", action="append", help="batch id to re-run (repeatable; default: all)")
    parser.add_argument("--db", type=Path, help="DuckDB file (default from settings)")
    parser.add_argument("--landing", type=Path, help="landing folder (default from settings)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(db_path=args.db, landing_dir=args.landing)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    from pipelines.runner import run_batch  # loads Dagster: only once the arguments are known to be good

    def run(path: Path, batch_id: str):  # noqa: ANN202 - the runner's BatchOutcome
        return run_batch(path, batch_id, settings=settings)

    return exit_code(reprocess_all(settings, run, args.batch))


if __name__ == "__main__":
    sys.exit(main())
