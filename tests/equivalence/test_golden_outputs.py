"""The outputs of the sample and of the clinical vignettes equal their committed fingerprints, table by table.

Any change to a staging, quarantine, dq, ref, intermediate, cohort or marts table shows up here with the table
named. When an output is meant to change, rewrite the fingerprints on purpose and say why in the commit:

    python -m tests.equivalence.outputs refresh-golden
"""

from pathlib import Path

import pytest

from tests.equivalence.outputs import build, differences, fingerprint, golden_path, load


@pytest.mark.parametrize("case", ["sample", "vignettes"])
def test_outputs_equal_the_golden_fingerprints(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # the sample is the session's shared warehouse (built the same way); the vignettes are built here
    db = request.getfixturevalue("sample_warehouse") if case == "sample" else build(case, tmp_path / case)
    problems = differences(load(golden_path(case)), fingerprint(db))
    assert problems == [], f"{case}: outputs changed (refresh-golden if on purpose): {problems}"
