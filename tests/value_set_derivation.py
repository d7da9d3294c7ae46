"""The O09-O48 split of the pregnancy value sets, derived from the FY2026 ICD-10-CM titles (simple_icd_10_cm).

Codes of chapter O09-O48 whose own title says "childbirth" or "puerperium" end a pregnancy (value set
`pregnancy_outcome`, listed as exact codes); every other code of O09-O48 starts one (value set `pregnancy`, listed
as the fewest entries that cover exactly those codes: a category or subcategory as a prefix when none of its codes
ends a pregnancy, else its children one by one).

Only codes a record can carry are judged: the leaves of the tabular list (billable codes, including 7th-character
extensions). A header such as O24.4 ("Gestational diabetes mellitus", whose children are pregnancy, childbirth and
puerperium codes) is in neither list: it does not say which of the three it is.

`tests/reference/test_value_sets.py` re-derives both lists and compares them with `sql/seeds/value_sets.csv`. To
print the rows after an ICD-10-CM update: `python tests/value_set_derivation.py`.
"""

from __future__ import annotations

import simple_icd_10_cm as icd

FIRST_CATEGORY, LAST_CATEGORY = 9, 48  # O09 .. O48
OUTCOME_WORDS = ("childbirth", "puerperium")


def _categories() -> list[str]:
    return sorted(
        {
            code
            for code in icd.get_all_codes(with_dots=True)
            if icd.is_category(code)
            and code.startswith("O")
            and code[1:3].isdigit()
            and FIRST_CATEGORY <= int(code[1:3]) <= LAST_CATEGORY
        }
    )


def ends_pregnancy(code: str) -> bool:
    """The code's own title says childbirth or puerperium."""
    title = icd.get_description(code).lower()
    return any(word in title for word in OUTCOME_WORDS)


def _leaves(code: str) -> list[str]:
    return [code] if icd.is_leaf(code) else [c for c in icd.get_descendants(code) if icd.is_leaf(c)]


def outcome_codes() -> list[str]:
    """Leaves of O09-O48 whose title says childbirth or puerperium (exact codes of `pregnancy_outcome`)."""
    return sorted({leaf for category in _categories() for leaf in _leaves(category) if ends_pregnancy(leaf)})


def pregnancy_entries() -> list[tuple[str, str]]:
    """(code, match) entries of `pregnancy` covering every other leaf of O09-O48 and nothing else."""
    entries: list[tuple[str, str]] = []

    def cover(code: str) -> None:
        if icd.is_leaf(code):
            if not ends_pregnancy(code):
                entries.append((code, "exact"))
            return
        if not any(ends_pregnancy(leaf) for leaf in _leaves(code)):
            entries.append((code, "prefix"))
            return
        for child in icd.get_children(code):
            cover(child)

    for category in _categories():
        cover(category)
    return sorted(entries)


def main() -> None:
    for code, match in pregnancy_entries():
        print(f'pregnancy,ICD10CM,{code},{match},"{icd.get_description(code)}",true')
    for code in outcome_codes():
        print(f'pregnancy_outcome,ICD10CM,{code},exact,"{icd.get_description(code)}",true')


if __name__ == "__main__":
    main()
