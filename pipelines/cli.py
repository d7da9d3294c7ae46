"""The `cramp-cohort` command: generate synthetic extracts, run the pipeline, rebuild reports."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
from pathlib import Path

from pipelines.contract.batch_ids import unconventional_batch_id
from pipelines.operations.logs import configure_logging
from pipelines.settings import Settings, SettingsError
from pipelines.warehouse import WarehouseBusy

EXIT_CODES = """exit codes:
  0  every batch succeeded (or, for report, the reports were written)
  1  a batch failed (unusable input, a blocking data-quality check, a crash) or the warehouse is busy
  2  a usage or configuration error (a folder that does not exist, a bad setting, nothing to report)"""
ENVIRONMENT = """environment (every setting also reads ./cramp_cohort.toml or $CRAMP_COHORT_CONFIG):
  CRAMP_COHORT_DB             the DuckDB warehouse (default warehouse/cramp_cohort.duckdb)
  CRAMP_COHORT_REPORTS_DIR    HTML reports (default: reports/ beside the warehouse)
  CRAMP_COHORT_PUBLISHED_DIR  the published snapshot (default: published/ beside the warehouse)
  CRAMP_COHORT_RUNS_DIR       run summaries and run logs (default: runs/ beside the warehouse)
  CRAMP_COHORT_LANDING        the landing folder of batch folders (default landing)
  CRAMP_COHORT_LOG_FORMAT     auto (text on a terminal, JSON otherwise), json, keyvalue or text
  CRAMP_COHORT_LOG_LEVEL      INFO by default
  (docs/operations.md lists every setting)"""
EXAMPLES = {
    "main": """examples:
  cramp-cohort run --input extract/2026-11-30              one batch folder (its name is the batch id)
  cramp-cohort run --landing landing/                      every new complete batch folder, in order
  cramp-cohort report                                      redraw the HTML reports from the warehouse""",
    "run": """examples:
  cramp-cohort run --input extract/2026-11-30
  cramp-cohort run --input synthea/output/csv --batch-id 2026-11-30   a Synthea export folder named csv
  cramp-cohort run --landing landing/ --db /data/site_a.duckdb        snapshot, reports, runs beside it""",
    "report": """examples:
  cramp-cohort report
  cramp-cohort report --db /data/site_a.duckdb --out /srv/www/cramp""",
    "reprocess": """examples:
  cramp-cohort reprocess                      every batch the warehouse knows, e.g. after a value-set change
  cramp-cohort reprocess --batch 2026-11-30""",
    "generate": """examples:
  cramp-cohort generate --patients 3000 --out /tmp/extract --batches 2""",
}


def _version() -> str:
    try:
        return importlib.metadata.version("cramp-cohort")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _epilog(command: str) -> str:
    return f"{EXAMPLES[command]}\n\n{EXIT_CODES}\n\n{ENVIRONMENT}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cramp-cohort",
        description="Foot/leg cramp cohort analytics over Synthea-layout EHR extracts, in DuckDB.",
        epilog=_epilog("main"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cramp-cohort {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = {"formatter_class": argparse.RawDescriptionHelpFormatter}

    gen = commands.add_parser(
        "generate", help="write a synthetic extract with known ground truth", epilog=_epilog("generate"), **raw
    )
    gen.add_argument("--patients", type=int, required=True, help="number of patients")
    gen.add_argument("--out", type=Path, required=True, help="output folder")
    gen.add_argument("--seed", type=int, default=42, help="random seed (same seed, same bytes)")
    gen.add_argument("--batches", type=int, default=1, help="number of batch folders over time")
    gen.add_argument("--defects", type=float, default=0.0, help="fraction of defective rows per file")

    run = commands.add_parser(
        "run", help="materialize the whole asset graph for one batch or a landing folder", epilog=_epilog("run"), **raw
    )
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="one batch folder (its name is the batch id)")
    source.add_argument("--landing", type=Path, help="process every new complete batch folder under DIR, in order")
    run.add_argument(
        "--db",
        type=Path,
        help="DuckDB file (default warehouse/cramp_cohort.duckdb or $CRAMP_COHORT_DB); the published snapshot, "
        "reports and run summaries go beside it unless set",
    )
    run.add_argument(
        "--batch-id",
        help="batch id for --input (default: the folder name); a digit first, a date such as 2026-11-20 is best",
    )
    run.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="load a new batch whose id sorts before a batch already loaded (its rows lose to the later batch)",
    )
    run.add_argument(
        "--full",
        action="store_true",
        help="rebuild every staging and cohort table over all accepted batches instead of only the patients the "
        "batch can change (a run takes the full path by itself when it must; its summary says which ran and why)",
    )

    reprocess = commands.add_parser(
        "reprocess",
        help="re-run known batches (all, or --batch ID …), e.g. after a value-set change",
        epilog=_epilog("reprocess"),
        **raw,
    )
    reprocess.add_argument("--batch", action="append", dest="batches", metavar="ID", help="batch id (repeatable)")
    reprocess.add_argument("--db", type=Path, help="DuckDB file")
    reprocess.add_argument(
        "--full", action="store_true", help="every re-run rebuilds every staging and cohort table (the full path)"
    )

    report = commands.add_parser(
        "report",
        help="rewrite the HTML dashboard, the phenotype definition page and the data-quality report",
        epilog=_epilog("report"),
        **raw,
    )
    report.add_argument("--db", type=Path, help="the warehouse DuckDB file (not a published snapshot)")
    report.add_argument("--out", type=Path, help="reports folder (default: reports/ beside the warehouse)")

    _add_export_parser(commands)
    return parser


def _add_export_parser(commands) -> None:
    from pipelines.reference.export import DEFAULT_BASE_URL, FORMATS

    export = commands.add_parser(
        "export-value-sets",
        help="write every value set as FHIR R4 ValueSet resources (JSON) or one flat CSV, for other tools",
        description="Writes the phenotype's value sets, versioned with the phenotype version: --format fhir gives "
        "one ValueSet-<name>.json per value set (compose.include per code system), --format csv one "
        "value_sets.csv. ICD-10-CM prefix entries are expanded to every code below them (FY2026).",
    )
    export.add_argument("--format", choices=FORMATS, required=True, help="fhir (JSON resources) or csv")
    export.add_argument("--out", type=Path, required=True, help="output folder (created when missing)")
    export.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help=f"canonical URL base of the ValueSets (default {DEFAULT_BASE_URL})"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command == "export-value-sets":
            return _export_value_sets(args)
        settings = Settings.load(db_path=args.db, reports_dir=getattr(args, "out", None))
        configure_logging(settings.log_level, settings.log_format)
        if settings.engine.lower() == "spark" and args.command in ("run", "reprocess"):
            logging.getLogger("pipelines.cli").info(
                "engine spark (%s): reference data, validation and the phenotype run on Spark (tables under %s); "
                "ingest, the marts and the snapshot run in the DuckDB file (docs/scale-out.md)",
                settings.spark_remote or settings.spark_master,
                settings.spark_warehouse_dir,
            )
        if args.command == "run":
            return _run(args, settings)
        if args.command == "reprocess":
            return _reprocess(args, settings)
        return _report(settings)
    except SettingsError as exc:
        print(f"cramp-cohort: configuration error: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:  # `report` while a run holds the warehouse (runs report it themselves)
        print(f"cramp-cohort: {exc}", file=sys.stderr)
        return 1


def _generate(args: argparse.Namespace) -> int:
    from pipelines.generate import generate_extract

    summary = generate_extract(
        args.out, patients=args.patients, seed=args.seed, batches=args.batches, defects=args.defects
    )
    print(summary)
    return 0


def _export_value_sets(args: argparse.Namespace) -> int:
    from pipelines.reference.export import export_value_sets
    from pipelines.reference.value_sets import ValueSetError

    try:
        settings = Settings.load()
        written = export_value_sets(
            args.out, args.format, base_url=args.base_url, code_system_map_file=settings.code_system_map_file
        )
    except (ValueSetError, OSError) as exc:
        print(f"cramp-cohort: export-value-sets: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} file(s) to {args.out} ({args.format})")
    return 0


def _runner(settings: Settings, allow_out_of_order: bool = False, full: bool = False):
    from pipelines.orchestration.runner import run_batch

    return lambda path, batch_id: run_batch(
        path, batch_id, settings=settings, allow_out_of_order=allow_out_of_order, full=full
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.operations.processing import exit_code, process_folder, process_landing, report_busy

    runner = _runner(settings, args.allow_out_of_order, args.full)
    if args.input is not None:
        folder = args.input.resolve()
        if not folder.is_dir():
            print(f"cramp-cohort: input folder {args.input} does not exist", file=sys.stderr)
            return 2
        batch_id = args.batch_id or folder.name
        problem = unconventional_batch_id(batch_id)
        if problem:
            how = "choose another" if args.batch_id else "name the batch"
            print(f"cramp-cohort: {problem}; {how} with --batch-id, e.g. --batch-id 2026-11-20", file=sys.stderr)
            return 2
        try:
            outcome = process_folder(folder, batch_id, settings, runner)
        except WarehouseBusy as exc:
            outcome = report_busy(exc, settings, batch_id, source_dir=folder, origin="input")
        return exit_code([outcome])
    if not args.landing.is_dir():
        print(f"cramp-cohort: landing folder {args.landing} does not exist", file=sys.stderr)
        return 2
    try:
        return exit_code(process_landing(args.landing, settings, runner))
    except WarehouseBusy as exc:
        return exit_code([report_busy(exc, settings, "landing", origin="landing")])


def _reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.operations.processing import exit_code, report_busy, reprocess_all

    try:
        return exit_code(reprocess_all(settings, _runner(settings, full=args.full), args.batches))
    except WarehouseBusy as exc:
        return exit_code([report_busy(exc, settings, "reprocess", origin="reprocess")])


def _report(settings: Settings) -> int:
    from pipelines.reports.dashboard import write_dashboard
    from pipelines.reports.data_quality import write_data_quality_report
    from pipelines.reports.definition_page import DefinitionInputError, write_definition_page
    from pipelines.warehouse import Warehouse, holding_warehouse, table_exists

    if not settings.db_path.exists():
        print(f"cramp-cohort: no warehouse at {settings.db_path}; run `cramp-cohort run` first", file=sys.stderr)
        return 2
    if (settings.db_path.resolve().parent / "manifest.json").exists():
        print(
            f"cramp-cohort: {settings.db_path} is a published snapshot (marts only, drawn into the dashboard by the "
            "run that published it); give report the warehouse it came from: --db <warehouse.duckdb>",
            file=sys.stderr,
        )
        return 2
    # The report reads what a finished run left, never the middle of one (raises WarehouseBusy).
    with holding_warehouse(settings.db_path, "report"):
        with Warehouse.from_settings(settings).connect(read_only=True) as con:
            has_marts = con.execute(
                "select count(*) from information_schema.tables where table_schema = 'marts'"
            ).fetchone()[0]
            if not has_marts and not table_exists(con, "dq.check_results"):
                # an empty or foreign file: never replace existing reports with empty ones
                print(
                    f"cramp-cohort: {settings.db_path} holds no data-quality results and no marts: nothing to "
                    f"report (the reports in {settings.reports_dir} are left as they are)",
                    file=sys.stderr,
                )
                return 2
            quality = write_data_quality_report(con, settings.reports_dir)
            dashboard = write_dashboard(con, settings.reports_dir) if has_marts else None
            try:
                definition = write_definition_page(con, settings.reports_dir)
            except DefinitionInputError:
                definition = None
            _print_summary(con)
    print(f"data-quality report: {quality}")
    print(f"dashboard:           {dashboard or 'not written (no marts yet: the last run did not reach them)'}")
    print(f"definition:          {definition or 'not written (no phenotype tables yet: no run reached them)'}")
    return 0


def _print_summary(con) -> None:
    """Rows per input file over all batches, and the cohort size: counts only, never data values."""
    tables = {r[0] for r in con.execute(
        "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
    if "dq.batch_reconciliation" in tables:
        print(f"{'file':<18}{'read':>10}{'loaded':>10}{'quarantined':>13}{'superseded':>12}")
        for row in con.execute(
            """
            select source_file, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_superseded)
            from dq.batch_reconciliation group by source_file order by source_file
            """
        ).fetchall():
            print(f"{row[0]:<18}{row[1]:>10}{row[2]:>10}{row[3]:>13}{row[4]:>12}")
    if "cohort.patient_flags" in tables:
        size = con.execute("select count(*) from cohort.patient_flags").fetchone()[0]
        print(f"cohort: {size} patients with foot/leg cramps")


if __name__ == "__main__":
    sys.exit(main())
