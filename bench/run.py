"""`make bench`: generation, bare load, ingest, validation, phenotype, marts, end to end, the incremental delta,
a tiny batch on a big warehouse, and the scaling curve.

Absolute times on shared 2-core machines are noisy, so every figure is paired with a ratio measured in the same
run. Extracts are generated once and cached under bench/cache/ (git-ignored; BENCH_CACHE moves it). Which pieces
run (environment, so the pieces can be run one at a time):

    BENCH_SIZES=100000,1000000   extract sizes (full run, bare load, incremental delta)
    BENCH_INCREMENTAL=1          0 skips the delta batch after the full run
    BENCH_TINY=100000            sizes whose warehouse also gets the 5-patient batch ("" for none)
    BENCH_SPARK_MAX=100000       sizes up to this also run end to end on the Spark engine (`local[2]`) next to the
                                 DuckDB run, with the ratio (docs/scale-out.md)
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BENCH_CACHE", ROOT / "bench" / "cache"))
RESULTS = ROOT / "bench" / "results.json"
BIN = Path(sys.executable).parent
FULL_BATCH, INCREMENT_BATCH = "2026-01-01", "2026-02-01"
TINY_BATCHES = ("2026-03-01", "2026-03-02", "2026-03-03")  # three tiny batches: the median of three runs
TINY_PATIENTS = 5
DELTA_SHARE = 0.01  # of the extract's patients re-delivered by the delta (bench/delta.py)
NEW_PATIENTS_SHARE = 0.001  # new patients in the delta, as a share of the extract's
FILES = ("patients", "encounters", "conditions", "observations", "medications", "procedures")

BARE_LOAD = """
import sys, pathlib
from pipelines.warehouse import connect
con = connect(sys.argv[2])
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.csv")):
    con.execute(f"create table {f.stem} as select * from read_csv('{f}', all_varchar = true)")
con.close()
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of the command's whole process tree, polled every 50 ms."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"bench: command failed ({proc.returncode}): {' '.join(cmd)}")
    return time.monotonic() - started, peak


def median_of(cmd_factory, runs: int = 3) -> tuple[float, int]:
    """The median of 3 runs where one run takes under a minute, else one run (docs/benchmark.md)."""
    first = cmd_factory()
    if first[0] >= 60:
        return first
    rest = [cmd_factory() for _ in range(runs - 1)]
    times = [first[0], *(r[0] for r in rest)]
    return statistics.median(times), max([first[1], *(r[1] for r in rest)])


def extract(patients: int, seed: int, name: str) -> tuple[Path, float | None, int | None]:
    """The cached extract; its generation figures were measured when it was made (kept beside it)."""
    out = CACHE / name
    figures = CACHE / f"{name}.generation.json"
    if (out / "_SUCCESS").exists():
        if figures.exists():
            cached = json.loads(figures.read_text())
            return out, cached["seconds"], cached["peak_rss"]
        return out, None, None
    seconds, rss = measure([str(BIN / "cramp-cohort"), "generate", "--patients", str(patients), "--out", str(out),
                            "--seed", str(seed)])
    figures.write_text(json.dumps({"seconds": seconds, "peak_rss": rss}))
    return out, seconds, rss


def bare_load(folder: Path) -> float:
    db = CACHE / "bare.duckdb"

    def once() -> tuple[float, int]:
        db.unlink(missing_ok=True)
        return measure([sys.executable, "-c", BARE_LOAD, str(folder), str(db)])

    seconds, _ = median_of(once)
    db.unlink(missing_ok=True)
    return seconds


def pipeline_run(
    folder: Path, db: Path, runs_dir: Path, batch_id: str, *extra: str, engine: dict[str, str] | None = None
) -> tuple[float, int, dict]:
    # The cached folders are not named as batch ids: the run names its batch (the increment's sorts later).
    seconds, rss = measure(
        [str(BIN / "cramp-cohort"), "run", "--input", str(folder), "--db", str(db), "--batch-id", batch_id, *extra],
        # Each warehouse its own snapshot folder: publishing refuses a folder holding another warehouse's snapshot.
        env={"CRAMP_COHORT_RUNS_DIR": str(runs_dir), "CRAMP_COHORT_REPORTS_DIR": str(CACHE / f"reports_{db.stem}"),
             "CRAMP_COHORT_PUBLISHED_DIR": str(CACHE / f"published_{db.stem}"), **(engine or {})},
    )
    summaries = sorted(runs_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
    summary = json.loads(summaries[-1].read_text()) if summaries else {}
    if summary.get("batch_id") != batch_id or not summary.get("success"):
        raise SystemExit(f"bench: the run of {batch_id} wrote no successful summary ({summary.get('reason')})")
    return seconds, rss, summary


def full_flag() -> list[str]:
    """`--full` where the CLI has it (the first run of a size must be the full path, whatever the default)."""
    done = subprocess.run([str(BIN / "cramp-cohort"), "run", "--help"], capture_output=True, text=True)
    return ["--full"] if "--full" in done.stdout else []


def delta_folder(folder: Path, patients: int) -> tuple[Path, dict[str, int]]:
    """The cached daily delta of the extract: 1 % of its patients re-delivered (a third of their rows updated, some
    encounters moved to another patient) plus 0.1 % new patients (bench/delta.py)."""
    from bench.delta import write_delta

    out = CACHE / f"synthea_{patients}_delta"
    rows_file = CACHE / f"synthea_{patients}_delta.rows.json"
    if (out / "_SUCCESS").exists() and rows_file.exists():
        return out, json.loads(rows_file.read_text())
    new, _, _ = extract(max(int(patients * NEW_PATIENTS_SHARE), 1), 43, f"synthea_{patients}_new")
    if out.exists():
        shutil.rmtree(out)
    rows = write_delta(folder, new, out, DELTA_SHARE)
    rows_file.write_text(json.dumps(rows))
    return out, rows


def tiny_batches(db: Path, runs_dir: Path) -> dict:
    """Three 5-patient batches (new patients, three seeds) on top of the warehouse: whole CLI process wall time."""
    times, paths = [], []
    for n, batch_id in enumerate(TINY_BATCHES):
        folder, _, _ = extract(TINY_PATIENTS, 44 + n, f"synthea_tiny_{n}")
        seconds, _, summary = pipeline_run(folder, db, runs_dir, batch_id)
        times.append(seconds)
        paths.append(summary.get("processing_path"))
    return {
        "tiny_batch_s": round(statistics.median(times), 2),
        "tiny_batch_runs_s": [round(t, 2) for t in times],
        "tiny_batch_paths": paths,
    }


def phase_seconds(timings: dict[str, float]) -> dict[str, float]:
    """Sums step timings by the asset group of each step (checks count as validation)."""
    from pipelines.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    phases = {"ingest": 0.0, "validation": 0.0, "phenotype": 0.0, "marts_reports": 0.0}
    # The reference layer counts with the phenotype, whose seeds it loads (as when it was a cohort asset).
    by_group = {"ingest": "ingest", "staging": "ingest", "quality": "validation", "reference": "phenotype",
                "cohort": "phenotype", "marts": "marts_reports"}
    for step, seconds in timings.items():
        group = groups.get(step)
        phase = by_group.get(group or "", "validation")
        phases[phase] += seconds
    return phases


def bench_size(patients: int, incremental: bool = True, tiny: bool = False) -> dict:
    load_at_start = os.getloadavg()[0]
    folder, gen_s, gen_rss = extract(patients, 42, f"synthea_{patients}")
    bare = bare_load(folder)
    db = CACHE / f"run_{patients}.duckdb"
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    runs_dir = CACHE / f"runs_{patients}"
    e2e, rss, summary = pipeline_run(folder, db, runs_dir, FULL_BATCH, *full_flag())
    phases = phase_seconds(summary.get("asset_timings_seconds", {}))
    extra: dict = {}
    inc_rss = 0
    if incremental:
        delta, delta_rows = delta_folder(folder, patients)
        inc_s, inc_rss, inc_summary = pipeline_run(delta, db, runs_dir, INCREMENT_BATCH)
        extra |= {
            "incremental_s": round(inc_s, 2),
            "incremental_delta_rows": sum(delta_rows.values()),
            "incremental_path": inc_summary.get("processing_path"),
            "incremental_reason": inc_summary.get("processing_reason"),
            "incremental_phases_s": {k: round(v, 2) for k, v in
                                     phase_seconds(inc_summary.get("asset_timings_seconds", {})).items()},
        }
    if tiny:
        extra |= tiny_batches(db, runs_dir)
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    spark = spark_run(folder, patients) if patients <= int(os.environ.get("BENCH_SPARK_MAX", "100000")) else None
    csv_bytes = sum(f.stat().st_size for f in folder.glob("*.csv"))
    return {
        "patients": patients,
        # When, and how busy the shared machine was (1-minute load average at the start and at the end).
        "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "load_average": [round(load_at_start, 1), round(os.getloadavg()[0], 1)],
        "csv_gib": round(csv_bytes / 2**30, 2),
        "generation_s": gen_s,
        "generation_peak_rss_gib": None if gen_rss is None else round(gen_rss / 2**30, 2),
        "bare_load_s": round(bare, 2),
        **{f"{k}_s": round(v, 2) for k, v in phases.items()},
        "end_to_end_s": round(e2e, 2),
        "peak_rss_gib": round(max(rss, inc_rss) / 2**30, 2),
        "full_run_peak_rss_gib": round(rss / 2**30, 2),
        **extra,
        "ratios": {
            "ingest/bare_load": round(phases["ingest"] / bare, 2),
            "validation/ingest": round(phases["validation"] / phases["ingest"], 2) if phases["ingest"] else None,
            "phenotype/ingest": round(phases["phenotype"] / phases["ingest"], 2) if phases["ingest"] else None,
            "end_to_end/bare_load": round(e2e / bare, 2),
            "incremental/end_to_end": round(extra["incremental_s"] / e2e, 2) if incremental else None,
            "spark/duckdb_end_to_end": round(spark["end_to_end_s"] / e2e, 2) if spark else None,
        },
        "spark_local2": spark,
    }


def spark_run(folder: Path, patients: int) -> dict:
    """The same full batch end to end on the Spark engine, `local[2]`, its tables under bench/cache/."""
    db = CACHE / f"spark_run_{patients}.duckdb"
    db.unlink(missing_ok=True)
    tables = CACHE / f"spark_run_{patients}.spark"
    shutil.rmtree(tables, ignore_errors=True)
    # its own snapshot and reports: a published folder belongs to one warehouse
    engine = {"CRAMP_COHORT_ENGINE": "spark", "CRAMP_COHORT_SPARK_MASTER": "local[2]",
              "CRAMP_COHORT_WAREHOUSE_DIR": str(tables), "CRAMP_COHORT_PUBLISHED_DIR": str(CACHE / "spark_published"),
              "CRAMP_COHORT_REPORTS_DIR": str(CACHE / "spark_reports")}
    e2e, rss, summary = pipeline_run(folder, db, CACHE / f"spark_runs_{patients}", FULL_BATCH, engine=engine)
    phases = phase_seconds(summary.get("asset_timings_seconds", {}))
    db.unlink(missing_ok=True)
    shutil.rmtree(tables, ignore_errors=True)
    return {
        "end_to_end_s": round(e2e, 2),
        **{f"{k}_s": round(v, 2) for k, v in phases.items()},
        "peak_rss_gib": round(rss / 2**30, 2),
    }


def scaling(results: list[dict]) -> dict:
    """End-to-end seconds and peak RSS per size, and the exponent b of seconds ~ patients^b (least squares on
    log-log; 1 is linear), over every size in the results."""
    points = sorted((r["patients"], r["end_to_end_s"], r.get("full_run_peak_rss_gib", r["peak_rss_gib"]))
                    for r in results)
    curve = {"patients": [p for p, _, _ in points], "end_to_end_s": [s for _, s, _ in points],
             "peak_rss_gib": [m for _, _, m in points], "exponent": None}
    if len(points) >= 2:
        xs = [math.log(p) for p, _, _ in points]
        ys = [math.log(s) for _, s, _ in points]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
        curve["exponent"] = round(slope, 3)
    return curve


def _sizes(variable: str, default: str) -> list[int]:
    return [int(s) for s in os.environ.get(variable, default).split(",") if s.strip()]


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    sizes = _sizes("BENCH_SIZES", "100000,1000000")
    tiny_sizes = set(_sizes("BENCH_TINY", "100000"))
    incremental = os.environ.get("BENCH_INCREMENTAL", "1") != "0"
    results = []
    for n in sizes:
        print(f"bench: {n:,} patients …", flush=True)
        results.append(bench_size(n, incremental=incremental, tiny=n in tiny_sizes))
        print(json.dumps(results[-1], indent=2), flush=True)
    # Keep the figures of sizes not run this time (BENCH_SIZES=100000 must not erase the 1M figures).
    if RESULTS.exists():
        earlier = [r for r in json.loads(RESULTS.read_text()).get("results", []) if r["patients"] not in sizes]
        results = sorted(earlier + results, key=lambda r: r["patients"])
    versions = {p: metadata.version(p) for p in ("duckdb", "dagster", "polars", "great-expectations", "pyspark")}
    payload = {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
               "versions": versions, "results": results, "scaling": scaling(results)}
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    header = ["patients", "bare s", "ingest s", "ingest/bare", "valid/ingest", "pheno/ingest", "e2e s",
              "e2e/bare", "incr s", "incr/e2e", "tiny s", "peak RSS GiB", "spark local[2] e2e s", "spark/duckdb"]
    print("\n" + " | ".join(header))
    for r in results:
        q = r["ratios"]
        spark = r.get("spark_local2") or {}
        print(" | ".join(str(x) for x in (
            f"{r['patients']:,}", r["bare_load_s"], r["ingest_s"], q["ingest/bare_load"], q["validation/ingest"],
            q["phenotype/ingest"], r["end_to_end_s"], q["end_to_end/bare_load"], r.get("incremental_s"),
            q.get("incremental/end_to_end"), r.get("tiny_batch_s"), r["peak_rss_gib"],
            spark.get("end_to_end_s", "-"), q.get("spark/duckdb_end_to_end") or "-")))
    curve = payload["scaling"]
    print(f"\nscaling: e2e seconds ~ patients^{curve['exponent']} over {curve['patients']}")
    print(f"written: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
