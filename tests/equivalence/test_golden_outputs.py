"""The outputs of the sample and of the clinical vignettes equal their committed fingerprints, table by table.

Any change to a staging, quarantine, dq, ref, intermediate, cohort or marts table shows up here with the table
named. When an output is meant to change, rewrite the fingerprints on purpose and say why in the commit:

    python -m tests.equivalence.outputs refresh-golden
"""


import pytest

from tests.equivalence.outputs import differences, fingerprint, golden_path, load


@pytest.mark.parametrize("case", ["sample", "vignettes"])
def test_outputs_equal_the_golden_fingerprints(case: str, request: pytest.FixtureRequest) -> None:
    # the session's shared warehouses (built the same way)
    db = request.getfixturevalue(f"{case}_warehouse")
    problems = differences(load(golden_path(case)), fingerprint(db))
    assert problems == [], f"{case}: outputs changed (refresh-golden if on purpose): {problems}"
