"""`make bench`: generation, bare load, ingest, validation, phenotype, marts, end to end, incremental.

Absolute times on shared 2-core machines are noisy, so every figure is paired with a ratio measured in the same
run. Extracts are generated once and cached under bench/cache/ (git-ignored). Sizes: BENCH_SIZES (default
"100000,1000000"). Sizes up to BENCH_SPARK_MAX patients (default 100000) also run end to end on the Spark engine
(`local[2]`) next to the DuckDB run, with the ratio (docs/scale-out.md).
"""

from __future__ import annotations

import json
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
CACHE = ROOT / "bench" / "cache"
RESULTS = ROOT / "bench" / "results.json"
BIN = Path(sys.executable).parent
FULL_BATCH, INCREMENT_BATCH = "2026-01-01", "2026-02-01"
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
    folder: Path, db: Path, runs_dir: Path, batch_id: str, engine: dict[str, str] | None = None
) -> tuple[float, int, dict]:
    # The cached folders are not named as batch ids: the run names its batch (the increment's sorts later).
    seconds, rss = measure(
        [str(BIN / "cramp-cohort"), "run", "--input", str(folder), "--db", str(db), "--batch-id", batch_id],
        env={"CRAMP_COHORT_RUNS_DIR": str(runs_dir), "CRAMP_COHORT_REPORTS_DIR": str(CACHE / "reports"),
             "CRAMP_COHORT_PUBLISHED_DIR": str(CACHE / "published"), **(engine or {})},
    )
    summaries = sorted(runs_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
    summary = json.loads(summaries[-1].read_text()) if summaries else {}
    return seconds, rss, summary


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


def bench_size(patients: int) -> dict:
    folder, gen_s, gen_rss = extract(patients, 42, f"synthea_{patients}")
    bare = bare_load(folder)
    db = CACHE / f"run_{patients}.duckdb"
    db.unlink(missing_ok=True)
    runs_dir = CACHE / f"runs_{patients}"
    e2e, rss, summary = pipeline_run(folder, db, runs_dir, FULL_BATCH)
    phases = phase_seconds(summary.get("asset_timings_seconds", {}))
    increment, _, _ = extract(max(patients // 100, 1), 43, f"synthea_{patients}_increment")
    incremental, inc_rss, _ = pipeline_run(increment, db, runs_dir, INCREMENT_BATCH)
    db.unlink(missing_ok=True)
    spark = spark_run(folder, patients) if patients <= int(os.environ.get("BENCH_SPARK_MAX", "100000")) else None
    csv_bytes = sum(f.stat().st_size for f in folder.glob("*.csv"))
    return {
        "patients": patients,
        "csv_gib": round(csv_bytes / 2**30, 2),
        "generation_s": gen_s,
        "generation_peak_rss_gib": None if gen_rss is None else round(gen_rss / 2**30, 2),
        "bare_load_s": round(bare, 2),
        **{f"{k}_s": round(v, 2) for k, v in phases.items()},
        "end_to_end_s": round(e2e, 2),
        "peak_rss_gib": round(max(rss, inc_rss) / 2**30, 2),
        "incremental_s": round(incremental, 2),
        "ratios": {
            "ingest/bare_load": round(phases["ingest"] / bare, 2),
            "validation/ingest": round(phases["validation"] / phases["ingest"], 2) if phases["ingest"] else None,
            "phenotype/ingest": round(phases["phenotype"] / phases["ingest"], 2) if phases["ingest"] else None,
            "end_to_end/bare_load": round(e2e / bare, 2),
            "incremental/end_to_end": round(incremental / e2e, 2),
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
    e2e, rss, summary = pipeline_run(folder, db, CACHE / f"spark_runs_{patients}", FULL_BATCH, engine)
    phases = phase_seconds(summary.get("asset_timings_seconds", {}))
    db.unlink(missing_ok=True)
    shutil.rmtree(tables, ignore_errors=True)
    return {
        "end_to_end_s": round(e2e, 2),
        **{f"{k}_s": round(v, 2) for k, v in phases.items()},
        "peak_rss_gib": round(rss / 2**30, 2),
    }


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
    results = []
    for n in sizes:
        print(f"bench: {n:,} patients …", flush=True)
        results.append(bench_size(n))
        print(json.dumps(results[-1], indent=2), flush=True)
    # Keep the figures of sizes not run this time (BENCH_SIZES=100000 must not erase the 1M figures).
    if RESULTS.exists():
        earlier = [r for r in json.loads(RESULTS.read_text()).get("results", []) if r["patients"] not in sizes]
        results = sorted(earlier + results, key=lambda r: r["patients"])
    versions = {p: metadata.version(p) for p in ("duckdb", "dagster", "polars", "great-expectations", "pyspark")}
    payload = {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
               "versions": versions, "results": results}
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    header = ["patients", "bare s", "ingest s", "ingest/bare", "valid/ingest", "pheno/ingest", "e2e s",
              "e2e/bare", "incr/e2e", "peak RSS GiB", "spark local[2] e2e s", "spark/duckdb"]
    print("\n" + " | ".join(header))
    for r in results:
        q = r["ratios"]
        spark = r.get("spark_local2") or {}
        print(" | ".join(str(x) for x in (
            f"{r['patients']:,}", r["bare_load_s"], r["ingest_s"], q["ingest/bare_load"], q["validation/ingest"],
            q["phenotype/ingest"], r["end_to_end_s"], q["end_to_end/bare_load"], q["incremental/end_to_end"],
            r["peak_rss_gib"], spark.get("end_to_end_s", "-"), q.get("spark/duckdb_end_to_end") or "-")))
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
