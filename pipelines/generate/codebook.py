"""Clinical codes for the generator, read from CSV files (never literals in Python).

- `sql/seeds/value_sets.csv`: the project's value sets (the same file the phenotype SQL uses).
- `codes/child_codes.csv`: pick lists of concrete codes to plant (a real child for each `prefix` entry).
- `codes/background.csv`: noise codes outside every value set (encounters, conditions, vitals, drugs, procedures).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from pipelines import SQL_DIR

CODES_DIR = Path(__file__).resolve().parent / "codes"
VALUE_SETS_FILE = SQL_DIR / "seeds" / "value_sets.csv"

def normalize_code(code_system: str, code: str) -> str:
    """ICD-10-CM codes compare upper-case without the dot; other systems compare as written."""
    code = code.strip()
    return code.replace(".", "").upper() if code_system == "ICD10CM" else code


def code_system_of(code: str) -> str:
    """Pick-list codes carry no system column: SNOMED ids are all digits, ICD-10-CM codes start with a letter."""
    return "SNOMED" if code.isdigit() else "ICD10CM"


@dataclass(frozen=True)
class Pick:
    code_system: str  # normalized: ICD10CM / SNOMED / LOINC
    code: str  # as delivered (ICD-10-CM with its dot)
    description: str


class CodeBook:
    """Value sets, pick lists and background codes, with value-set membership by the spec's matching rules."""

    def __init__(self, value_sets: pl.DataFrame, children: pl.DataFrame, background: pl.DataFrame) -> None:
        self.value_sets = value_sets.with_columns(
            pl.struct("code_system", "code")
            .map_elements(lambda r: normalize_code(r["code_system"], r["code"]), return_dtype=pl.String)
            .alias("code_norm")
        )
        self.children = children
        self.background = background
        self._membership_cache: dict[tuple[str, str], tuple[str, ...]] = {}

    # -- value sets ---------------------------------------------------------------------------------
    def members(self, code_system: str, code: str) -> tuple[str, ...]:
        """Value sets a code belongs to (exact match, or prefix match for `prefix` entries)."""
        key = (code_system, normalize_code(code_system, code))
        if key not in self._membership_cache:
            hits = self.value_sets.filter(pl.col("code_system") == key[0]).filter(
                (pl.col("code_norm") == key[1])
                | ((pl.col("match") == "prefix") & pl.lit(key[1]).str.starts_with(pl.col("code_norm")))
            )
            self._membership_cache[key] = tuple(sorted(set(hits["value_set"].to_list())))
        return self._membership_cache[key]

    def set_codes(self, value_set: str) -> list[Pick]:
        """Entries of a value set in file order (used for LOINC lab codes)."""
        rows = self.value_sets.filter(pl.col("value_set") == value_set)
        if rows.height == 0:
            raise KeyError(f"value set {value_set!r} is not in {VALUE_SETS_FILE.name}")
        return [Pick(r["code_system"], r["code"], r["description"]) for r in rows.iter_rows(named=True)]

    def lab(self, measure: str, index: int = 0) -> Pick:
        codes = self.set_codes(measure)
        return codes[min(index, len(codes) - 1)]

    # -- pick lists ---------------------------------------------------------------------------------
    def pick(self, pick_list: str, index: int = 0) -> Pick:
        rows = self.children.filter(pl.col("value_set") == pick_list)
        if rows.height == 0:
            raise KeyError(f"pick list {pick_list!r} is not in child_codes.csv")
        row = rows.row(min(index, rows.height - 1), named=True)
        return Pick(code_system_of(row["code"]), row["code"], row["description"])

    def picks(self, pick_list: str) -> list[Pick]:
        rows = self.children.filter(pl.col("value_set") == pick_list)
        return [Pick(code_system_of(c), c, d) for c, d in rows.select("code", "description").iter_rows()]

    # -- background -------------------------------------------------------------------------------
    def background_of(self, kind: str) -> pl.DataFrame:
        return self.background.filter(pl.col("kind") == kind)


@lru_cache(maxsize=1)
def load_codebook() -> CodeBook:
    """The code book of this checkout (read once per process)."""
    value_sets = pl.read_csv(VALUE_SETS_FILE, infer_schema=False)
    children = pl.read_csv(CODES_DIR / "child_codes.csv", infer_schema=False)
    background = pl.read_csv(
        CODES_DIR / "background.csv",
        schema_overrides={"low": pl.Float64, "high": pl.Float64, "decimals": pl.Int32},
        infer_schema=False,
    )
    return CodeBook(value_sets, children, background)
