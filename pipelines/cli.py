"""The `cramp-cohort` command: generate synthetic extracts, run the pipeline, rebuild reports."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipelines.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cramp-cohort",
        description="Foot/leg cramp cohort analytics over Synthea-layout EHR extracts, in DuckDB.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="write a synthetic extract with known ground truth")
    gen.add_argument("--patients", type=int, required=True, help="number of patients")
    gen.add_argument("--out", type=Path, required=True, help="output folder")
    gen.add_argument("--seed", type=int, default=42, help="random seed (same seed, same bytes)")
    gen.add_argument("--batches", type=int, default=1, help="number of batch folders over time")
    gen.add_argument("--defects", type=float, default=0.0, help="fraction of defective rows per file")

    run = commands.add_parser("run", help="materialize the whole asset graph for one batch or a landing folder")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="one batch folder (its name is the batch id)")
    source.add_argument("--landing", type=Path, help="process every new complete batch folder under DIR, in order")
    run.add_argument("--db", type=Path, help="DuckDB file (default warehouse/cramp_cohort.duckdb or $CRAMP_COHORT_DB)")
    run.add_argument("--batch-id", help="batch id for --input (default: the folder name)")

    report = commands.add_parser("report", help="rewrite the HTML dashboard and data-quality report")
    report.add_argument("--db", type=Path, help="DuckDB file")
    report.add_argument("--out", type=Path, help="reports folder (default warehouse/reports)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "generate":
            return _generate(args)
        settings = Settings.load(db_path=args.db, reports_dir=getattr(args, "out", None))
        if args.command == "run":
            return _run(args, settings)
        return _report(settings)
    except SettingsError as exc:
        print(f"cramp-cohort: configuration error: {exc}", file=sys.stderr)
        return 2


def _generate(args: argparse.Namespace) -> int:
    from pipelines.generate import generate_extract

    summary = generate_extract(
        args.out, patients=args.patients, seed=args.seed, batches=args.batches, defects=args.defects
    )
    print(summary)
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.runner import run_batch

    if args.input is not None:
        if not args.input.is_dir():
            print(f"cramp-cohort: input folder {args.input} does not exist", file=sys.stderr)
            return 2
        outcome = run_batch(args.input, args.batch_id, settings=settings)
        print(outcome.one_line())
        return 0 if outcome.success else 1
    from pipelines.automation.landing import process_landing

    def run_one(path: Path, batch_id: str):  # noqa: ANN202 (BatchOutcome, imported lazily)
        return run_batch(path, batch_id, settings=settings)

    outcomes = process_landing(args.landing, settings, run_one)
    return 0 if all(o.success for o in outcomes) else 1


def _report(settings: Settings) -> int:
    import duckdb

    from pipelines.marts.dashboard import write_dashboard
    from pipelines.quality.report import write_data_quality_report

    if not settings.db_path.exists():
        print(f"cramp-cohort: no warehouse at {settings.db_path}; run `cramp-cohort run` first", file=sys.stderr)
        return 2
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        quality = write_data_quality_report(con, settings.reports_dir)
        has_marts = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts'"
        ).fetchone()[0]
        dashboard = write_dashboard(con, settings.reports_dir) if has_marts else None
    print(f"data-quality report: {quality}")
    print(f"dashboard:           {dashboard or 'not written (no marts yet: the last run did not reach them)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
