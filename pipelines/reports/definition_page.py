"""`definition.html`: the phenotype a clinician can check without reading SQL, generated from the seeds.

Everything on the page comes from the warehouse the run wrote: the seed tables exactly as the run loaded them
(`ref.<seed>`, one per `sql/seeds/*.csv`), the version, and the de-identified, suppressed counts of the marts
(`marts.value_set_matches`, `marts.version_diff_counts`). The rule sentences are fixed text whose numbers are
looked up in the parameter seed by name; a number the seed lacks is shown as missing, never typed in here.
Seed tables the page has no section for are shown as plain tables, so a new seed file is never left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2
from markupsafe import Markup

from pipelines.contract.flags import CATALOG
from pipelines.marts.suppression import SMALL_MAX, SUPPRESSED_LABEL
from pipelines.reference import icd10cm
from pipelines.reference.build import CODE_SYSTEM_MAP, DERIVED_TABLES
from pipelines.reference.icd10cm_titles import TITLES_TABLE, read_icd10cm_titles
from pipelines.reference.value_sets import MATCH_KINDS, SYSTEM_NAMES, by_value_set, entries_from_rows
from pipelines.reports.version_diff import read_version_diff
from pipelines.warehouse import atomic_write_text, quote_ident, table_columns, table_exists

TEMPLATES = Path(__file__).parent / "templates"
PAGE_FILE = "definition.html"
# Seeds with a section of their own; any other seed table is listed as it is.
KNOWN_SEEDS = (
    "value_sets",
    "phenotype_parameters",
    "flag_rules",
    "lab_units",
    "lab_text_values",
    "gestation_weeks",
    "code_systems",
)
# Derived from the code-system seed and a site's own labels by the reference step (not a seed file itself).
LABELS_IN_USE = CODE_SYSTEM_MAP.split(".")[1]
# What a value set is for when no flag rule names it (the cohort entry and the pregnancy episodes).
FIXED_ROLES = {
    "cramp": "cohort entry: every cramp event",
    "nocturnal_cramp": "nocturnal_cramps",
    "pregnancy": "pregnancy episode start",
    "pregnancy_outcome": "pregnancy episode end",
    "abi": "pad (ankle-brachial index)",
}


class DefinitionInputError(RuntimeError):
    """The warehouse has no phenotype reference tables yet (no run reached the cohort)."""


@dataclass
class Parameters:
    """The parameter seed, with a record of every name the sentences asked for that it does not hold."""

    rows: list[dict]
    missing: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_name = {str(r["parameter"]): r for r in self.rows}

    def value(self, name: str) -> str | None:
        row = self._by_name.get(name)
        return None if row is None else str(row["value"])

    def show(self, name: str, with_unit: bool = True) -> Markup:
        """The parameter's value (and unit) marked up with its name, or a visible gap when the seed lacks it."""
        row = self._by_name.get(name)
        if row is None:
            if name not in self.missing:
                self.missing.append(name)
            return Markup(
                '<span class="missing-parameter" data-missing="{0}">[{0}: not in the parameter seed]</span>'
            ).format(name)
        unit = str(row.get("unit") or "")
        text = str(row["value"]) + (f" {unit}" if with_unit and unit and unit not in ("ratio", "events") else "")
        return Markup('<span class="param" data-parameter="{}" title="{}">{}</span>').format(
            name, str(row.get("description") or ""), text
        )


def collect(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything the page shows, read from the warehouse."""
    if not table_exists(con, "ref.phenotype_version") or not table_exists(con, "ref.value_sets"):
        raise DefinitionInputError("no phenotype reference tables in this DuckDB file: run the pipeline first")
    seeds = {name: _rows(con, f"ref.{name}") for name in seed_tables(con)}
    version = con.execute("select max(phenotype_version) from ref.phenotype_version").fetchone()[0]
    catalog = _flag_catalog()
    labels = {flag: row["label"] for flag, row in catalog.items()}
    parameters = Parameters(seeds.get("phenotype_parameters", []))
    flag_rules = [
        dict(
            r,
            flag_label=labels.get(str(r.get("flag")), ""),
            flag_group=catalog.get(str(r.get("flag")), {}).get("flag_group", ""),
        )
        for r in seeds.get("flag_rules", [])
    ]
    counts = _code_counts(con)
    titles = IcdTitles(read_icd10cm_titles(con) or {})
    lab_measures = _lab_measures(seeds, parameters)
    return {
        "version": version,
        "run": _first(
            con,
            "marts.run_info",
            "run_id, batch_id, phenotype_version, strftime(built_at, '%Y-%m-%d %H:%M:%S UTC') as built_at",
        ),
        "diff": read_version_diff(con),
        "parameters": parameters,
        "flag_rules": flag_rules,
        "flag_labels": labels,
        "labs": lab_measures,
        "gestation_weeks": [_with_title(r, titles) for r in seeds.get("gestation_weeks", [])],
        # the labels in use (project seed + the site's map) where the run recorded them, else the seed
        "code_systems": _rows(con, f"ref.{LABELS_IN_USE}")
        if table_exists(con, f"ref.{LABELS_IN_USE}")
        else seeds.get("code_systems", []),
        "value_sets": _value_sets(seeds.get("value_sets", []), flag_rules, lab_measures, counts, titles),
        "counts_available": counts is not None,
        "other_seeds": [
            {"name": name, "columns": list(rows[0]) if rows else table_columns(con, f"ref.{name}"), "rows": rows}
            for name, rows in seeds.items()
            if name not in KNOWN_SEEDS
        ],
        "seed_tables": [{"name": name, "rows": len(rows)} for name, rows in seeds.items()],
        "suppressed_label": SUPPRESSED_LABEL,
        "small_max": SMALL_MAX,
    }


def seed_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The `ref` tables loaded verbatim from seed files: every ref table except the derived ones."""
    derived = {t.split(".")[1] for t in (*DERIVED_TABLES, TITLES_TABLE)} | {"phenotype_version", LABELS_IN_USE}
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'ref' "
        "and table_catalog = current_database() order by table_name"
    ).fetchall()
    names = [r[0] for r in rows if r[0] not in derived]
    return sorted(names, key=lambda n: (KNOWN_SEEDS.index(n) if n in KNOWN_SEEDS else len(KNOWN_SEEDS), n))


def render(data: dict, generated_at: datetime | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["count"] = _display_count
    env.filters["system_name"] = lambda code: SYSTEM_NAMES.get(code, code)
    params: Parameters = data["parameters"]
    html = env.get_template("definition.html.j2").render(
        data=data,
        p=params.show,
        match_kinds=MATCH_KINDS,
        styles=(TEMPLATES / "definition.css").read_text(),
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    if params.missing:
        # Rendered after the body so that it lists every gap the sentences met.
        warning = Markup(
            '<p class="warning" id="missing-parameters">The parameter seed lacks {}: the sentences show the gap '
            "instead of a number.</p>"
        ).format(", ".join(params.missing))
        html = html.replace("<!-- missing-parameters -->", str(warning))
    return html


def write_definition_page(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Writes `<out_dir>/definition.html` (atomically: an open browser never sees half a file)."""
    return atomic_write_text(Path(out_dir) / PAGE_FILE, render(collect(con)))


@dataclass(frozen=True)
class IcdTitles:
    """ICD-10-CM titles as the reference layer recorded them (`ref.icd10cm_titles`); a code the table lacks (a
    warehouse built before it existed) is looked up in the tabular list itself."""

    recorded: dict[str, tuple[str | None, int]]

    def title(self, code: str) -> str | None:
        return self.recorded[code][0] if code in self.recorded else icd10cm.title(code)

    def codes_below(self, code: str) -> int:
        if code in self.recorded:
            return self.recorded[code][1]
        return max(len(icd10cm.codes_under(code)) - 1, 0)


def _value_sets(
    seed_rows: list[dict], flag_rules: list[dict], labs: list[dict], counts: dict | None, titles: IcdTitles
) -> list[dict]:
    used_by: dict[str, list[str]] = {}
    for rule in flag_rules:
        used_by.setdefault(str(rule["value_set"]), []).append(str(rule["flag"]))
    lab_sets = {lab["measure"] for lab in labs}
    out = []
    for name, entries in by_value_set(entries_from_rows(seed_rows)).items():
        roles = list(dict.fromkeys(used_by.get(name, [])))
        if name in FIXED_ROLES:
            roles.insert(0, FIXED_ROLES[name])
        if name in lab_sets and name not in FIXED_ROLES:
            roles.append("lab measure (see Labs)")
        rows = []
        for entry in entries:
            icd = entry.code_system == "ICD10CM"
            title = titles.title(entry.code) if icd else None
            below = titles.codes_below(entry.code) if icd and entry.match == "prefix" else 0
            count = (counts or {}).get(entry.key)
            rows.append(
                {
                    "code_system": entry.code_system,
                    "code": entry.code,
                    "match": entry.match,
                    "title": title if entry.code_system == "ICD10CM" else entry.description,
                    "title_source": _title_source(entry.code_system, title),
                    "unknown_code": entry.code_system == "ICD10CM" and title is None,
                    "seed_note": entry.description if title and entry.description.lower() != title.lower() else "",
                    "codes_below": max(below, 0),
                    "verified": entry.verified,
                    "patients": None if count is None else count[0],
                    "rows": None if count is None else count[1],
                    "counted": count is not None,
                }
            )
        out.append(
            {
                "name": name,
                "anchor": f"vs-{name}",
                "roles": roles,
                "entries": rows,
                "unverified": sum(1 for r in rows if r["verified"] is False),
            }
        )
    return out


def _with_title(row: dict, titles: IcdTitles) -> dict:
    """A seed row with the official title of its code (ICD-10-CM), else the seed's own description."""
    official = titles.title(str(row["code"])) if str(row.get("code_system", "")).upper() == "ICD10CM" else None
    return dict(row, title=official or row.get("description") or "")


def _title_source(code_system: str, title: str | None) -> str:
    if code_system != "ICD10CM":
        return "seed description"
    return "ICD-10-CM FY2026" if title else "not in ICD-10-CM FY2026"


def _lab_measures(seeds: dict[str, list[dict]], parameters: Parameters) -> list[dict]:
    """One entry per lab measure (a value set with units or text interpretations), in unit-seed order."""
    units = seeds.get("lab_units", [])
    texts = seeds.get("lab_text_values", [])
    measures = list(dict.fromkeys([str(r["measure"]) for r in units] + [str(r["measure"]) for r in texts]))
    out = []
    for measure in measures:
        measure_units = [r for r in units if r["measure"] == measure]
        canonical = list(dict.fromkeys(str(r["canonical_unit"]) for r in measure_units))
        out.append(
            {
                "measure": measure,
                "anchor": f"vs-{measure}",
                "canonical_unit": ", ".join(canonical),
                "units": measure_units,
                "text_values": [r for r in texts if r["measure"] == measure],
                "plausible_min": parameters.value(f"{measure}_plausible_min"),
                "plausible_max": parameters.value(f"{measure}_plausible_max"),
            }
        )
    return out


def _code_counts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str, str], tuple] | None:
    """(value set, system, code, match) -> (patients, rows), suppressed ones None; None without the mart."""
    if not table_exists(con, "marts.value_set_matches"):
        return None
    rows = con.execute(
        "select value_set, code_system, code, match, matched_patients, matched_rows from marts.value_set_matches"
    ).fetchall()
    return {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in rows}


def _flag_catalog() -> dict[str, dict[str, str]]:
    return {flag.name: {"flag": flag.name, "flag_group": flag.group, "label": flag.label} for flag in CATALOG}


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[dict]:
    schema, name = table.split(".")
    return _query(con, f"select * from {quote_ident(schema)}.{quote_ident(name)} order by rowid")


def _first(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> dict:
    if not table_exists(con, table):
        return {}
    rows = _query(con, f"select {columns} from {table} limit 1")
    return rows[0] if rows else {}


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _display_count(value: int | None) -> str:
    return SUPPRESSED_LABEL if value is None else f"{value:,}"
