"""Official ICD-10-CM titles and code hierarchy from the FY2026 tabular list (package `simple-icd-10-cm`).

The package takes ~3 s to load its tables, so it is imported on first use, not when the CLI or Dagster starts.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType


@cache
def _icd() -> ModuleType:
    import simple_icd_10_cm

    return simple_icd_10_cm


def is_known(code: str) -> bool:
    """Whether `code` (with or without its dot) is a code, category or chapter of ICD-10-CM FY2026."""
    return bool(_icd().is_valid_item(code.strip()))


@cache
def official_code(code: str) -> str:
    """The code as the tabular list writes it (with its dot), e.g. `t672xxa` -> `T67.2XXA`."""
    code = code.strip().upper()
    return _icd().add_dot(code) if "." not in code and len(code) > 3 else code


@cache
def title(code: str) -> str | None:
    """The official title of `code`, or None when ICD-10-CM has no such code."""
    if not is_known(code):
        return None
    return str(_icd().get_description(official_code(code)))


@cache
def codes_under(code: str) -> tuple[str, ...]:
    """`code` and every code below it (billable or not), with dots, in tabular-list order."""
    if not is_known(code):
        return ()
    code = official_code(code)
    return (code, *(str(c) for c in _icd().get_descendants(code)))
