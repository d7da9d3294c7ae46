"""The Dagster side: one check per expectation on the staging assets, error = blocking, warn = not."""

import os
import shutil
import subprocess
import sys

import dagster as dg

from pipelines import EXPECTATIONS_DIR, PROJECT_ROOT
from pipelines.contract.suites import BATCH_VOLUME, load_suites
from pipelines.orchestration.assets.quality import build_quality_checks
from pipelines.orchestration.assets.reports import build_data_quality_report


def test_every_expectation_is_a_check_on_its_staging_asset_and_errors_block():
    checks = build_quality_checks(EXPECTATIONS_DIR)
    suites = load_suites(EXPECTATIONS_DIR)
    specs = {(s.asset_key.to_user_string(), s.name): s for c in checks for s in c.check_specs}
    # per-batch checks (the volume check) sit on the batch-partitioned raw asset, the others on staging
    expected = {
        (f"{'raw' if e.type == BATCH_VOLUME else 'staging'}_{t}", e.check_name): e
        for t, suite in suites.items()
        for e in suite.expectations
    }
    assert {name for asset, name in expected if asset.startswith("raw_")}, "no per-batch check"
    assert set(specs) == set(expected)
    for key, spec in specs.items():
        assert spec.blocking == (expected[key].severity == "error"), key
    report = build_data_quality_report(sorted(suites))
    assert report.group_names_by_key[report.key] == "quality"
    assert set(report.dependency_keys) == {dg.AssetKey(f"staging_{t}") for t in suites}


def test_code_location_loads_without_importing_great_expectations():
    code = "import sys, pipelines.orchestration.definitions; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, timeout=120)


def test_suites_directory_comes_from_the_settings(tmp_path):
    site = tmp_path / "site_expectations"
    site.mkdir()
    shutil.copy(EXPECTATIONS_DIR / "patients.json", site / "patients.json")
    config = tmp_path / "cramp_cohort.toml"
    config.write_text(f'expectations_dir = "{site.as_posix()}"\n')
    code = (
        "from pipelines.orchestration.definitions import defs; "
        "print(sorted({s.asset_key.to_user_string() for c in defs.asset_checks for s in c.check_specs "
        "if s.asset_key.to_user_string().startswith('staging_')}))"
    )
    env = {**os.environ, "CRAMP_COHORT_CONFIG": str(config)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['staging_patients']"
