"""`cramp-cohort export-value-sets`: the value sets for other tools, as FHIR R4 ValueSet resources or one flat CSV.

Read from the seed file (the definition this installation runs), versioned with the phenotype version. ICD-10-CM
prefix entries are expanded to the concrete codes below them in the FY2026 tabular list, so a system that has no
"starts with" matching loads exactly the codes the pipeline matches.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from pipelines.reference.seeds import SEEDS_DIR, phenotype_version
from pipelines.reference.value_sets import SYSTEM_NAMES, SYSTEM_URIS, Entry, by_value_set, expand, read_seed_entries

FORMATS = ("fhir", "csv")
# `.invalid` never resolves (RFC 2606): a site sets its own canonical base with --base-url.
DEFAULT_BASE_URL = "http://cramp-cohort.invalid/fhir/ValueSet"
CSV_FILE = "value_sets.csv"
CSV_COLUMNS = (
    "value_set",
    "code_system",
    "system_uri",
    "code",
    "display",
    "listed_code",
    "match",
    "verified",
    "phenotype_version",
)


def export_value_sets(
    out_dir: Path,
    fmt: str,
    seeds_dir: Path = SEEDS_DIR,
    base_url: str = DEFAULT_BASE_URL,
    code_system_map_file: Path | None = None,
) -> list[Path]:
    """Writes every value set of the seed into `out_dir`; returns the files written. The version is the one the
    pipeline writes on its rows, so a site's code-system map enters it too."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    seeds_dir = Path(seeds_dir)
    version = phenotype_version(seeds_dir, code_system_map_file)
    value_sets = by_value_set(read_seed_entries(seeds_dir))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return [_write_csv(out_dir / CSV_FILE, value_sets, version)]
    written = []
    for name, entries in value_sets.items():
        resource = fhir_value_set(name, entries, version, base_url)
        path = out_dir / f"ValueSet-{resource['id']}.json"
        path.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def fhir_value_set(name: str, entries: list[Entry], version: str, base_url: str = DEFAULT_BASE_URL) -> dict:
    """One FHIR R4 ValueSet resource: one `compose.include` per code system, prefix entries expanded."""
    resource_id = resource_id_of(name)
    includes: dict[str, list[dict[str, str]]] = {}
    for concept in expand(entries):
        includes.setdefault(SYSTEM_URIS[concept.code_system], []).append(
            {"code": concept.code, "display": concept.display}
        )
    return {
        "resourceType": "ValueSet",
        "id": resource_id,
        "url": f"{base_url.rstrip('/')}/{resource_id}",
        "version": version,
        "name": computable_name(name),
        "title": f"Cramp cohort value set: {name.replace('_', ' ')}",
        "status": "active",
        "experimental": False,
        "publisher": "cramp-cohort",
        "description": _description(name, entries, version),
        "compose": {"include": [{"system": system, "concept": concepts} for system, concepts in includes.items()]},
    }


def resource_id_of(name: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) for a value-set name."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", name)[:64]


def computable_name(name: str) -> str:
    """A FHIR computable name (starts with an upper-case letter, letters/digits/underscore): `diabetic_neuropathy`
    -> `DiabeticNeuropathy`."""
    camel = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
    return camel if camel[:1].isalpha() else f"ValueSet{camel}"


def _description(name: str, entries: list[Entry], version: str) -> str:
    text = f"Value set `{name}` of the cramp-cohort phenotype, version {version}."
    prefixes = [e.code for e in entries if e.match == "prefix"]
    if prefixes:
        text += (
            f" ICD-10-CM entries listed as prefixes ({', '.join(prefixes)}) are expanded to the code and every"
            " code below it in the ICD-10-CM FY2026 tabular list."
        )
    unverified = [f"{SYSTEM_NAMES.get(e.code_system, e.code_system)} {e.code}" for e in entries if e.verified is False]
    if unverified:
        text += (
            " Not checked against a terminology release (taken from public code; verify before relying on them):"
            f" {', '.join(unverified)}."
        )
    return text


def _write_csv(path: Path, value_sets: dict[str, list[Entry]], version: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for name, entries in value_sets.items():
            for concept in expand(entries):
                entry = concept.entry
                writer.writerow(
                    (
                        name,
                        concept.code_system,
                        SYSTEM_URIS[concept.code_system],
                        concept.code,
                        concept.display,
                        entry.code,
                        entry.match,
                        "" if entry.verified is None else str(entry.verified).lower(),
                        version,
                    )
                )
    return path
