"""Where a check sits in the harmonized data-quality framework (Kahn et al. 2016) as OHDSI's Data Quality
Dashboard shows it: three categories (conformance, completeness, plausibility), each with subcategories, and a
context (verification: the data agree with our own rules and with themselves; validation: with an external
standard, such as physiological ranges or the units a laboratory can report).

The suites carry the Kahn category of each check; in the framework "uniqueness" and "referential" are not
categories but subcategories (plausibility / uniqueness, conformance / relational). The subcategory follows from
the category and the kind of check; a suite can state it in the expectation's meta (`dqd_subcategory`,
`dqd_context`) where the rule below would be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

DQD_CATEGORIES = ("conformance", "completeness", "plausibility")
# Words in a check name that make a plausibility check temporal (an event against a date or another event).
_TEMPORAL = ("birth", "death", "future", "before", "after", "_start", "age_", "_volume_")
# Checks that compare with knowledge from outside the data (laboratory units and physiological ranges).
_VALIDATION = ("_plausible", "_unit_known")


@dataclass(frozen=True)
class DqdPlace:
    category: str  # conformance / completeness / plausibility
    subcategory: str  # value, relational, computational, uniqueness, atemporal, temporal ('' for completeness)
    context: str  # verification / validation


def dqd_place(kahn_category: str, check_name: str, meta: dict | None = None) -> DqdPlace:
    """The DQD category, subcategory and context of a check of the given (suite) Kahn category."""
    meta = meta or {}
    if kahn_category == "referential":
        category, subcategory = "conformance", "relational"
    elif kahn_category == "uniqueness":
        category, subcategory = "plausibility", "uniqueness"
    elif kahn_category == "conformance":
        category, subcategory = "conformance", "value"
    elif kahn_category == "completeness":
        category, subcategory = "completeness", ""
    else:
        category = "plausibility"
        subcategory = "temporal" if any(word in check_name for word in _TEMPORAL) else "atemporal"
    context = "validation" if any(word in check_name for word in _VALIDATION) else "verification"
    return DqdPlace(
        category,
        str(meta.get("dqd_subcategory", subcategory)),
        str(meta.get("dqd_context", context)),
    )
