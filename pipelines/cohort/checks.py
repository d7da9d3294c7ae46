"""Queries behind the cohort asset checks (kept out of the asset module so tests can call them directly)."""

from __future__ import annotations

import duckdb

from pipelines.contract.flags import FLAG_COLUMNS


def evidence_matches_flags(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(patient_id, flag, problem) for each true flag without evidence and each evidence without its flag."""
    columns = ", ".join(FLAG_COLUMNS)
    return con.execute(
        f"""
        with true_flags as (
            select patient_id, flag
            from (select patient_id, {columns} from cohort.patient_flags)
            unpivot (is_set for flag in ({columns}))
            where is_set
        ),
        evidenced as (select distinct patient_id, flag from cohort.flag_evidence)
        select patient_id, flag, 'true flag without evidence' from true_flags
        except select patient_id, flag, 'true flag without evidence' from evidenced
        union all
        select patient_id, flag, 'evidence without a true flag' from evidenced
        except select patient_id, flag, 'evidence without a true flag' from true_flags
        order by 1, 2
        """
    ).fetchall()


def excluded_lab_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Lab rows excluded from flagging, per reason (every reason listed, zero when none)."""
    rows = dict(
        con.execute(
            "select exclusion_reason, count(*) from intermediate.lab_results where not usable group by all"
        ).fetchall()
    )
    counts = {reason: int(rows.get(reason, 0)) for reason in ("unknown_unit", "implausible", "not_numeric", "censored")}
    counts["lab_rows"] = int(con.execute("select count(*) from intermediate.lab_results").fetchone()[0])
    return counts


def male_pregnancy_codes(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(pregnancy start evidence rows, distinct patients) on patients with sex M."""
    rows, patients = con.execute(
        "select count(*), count(distinct patient_id) from intermediate.pregnancy_intervals where is_male"
    ).fetchone()
    return int(rows), int(patients)


def unmatched_code_system_labels(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Staged condition rows whose SYSTEM label names no accepted code system, per label (most rows first).

    Those rows never match a value set; a label listed here is either another coding (WHO ICD-10, ICD-9-CM, ...)
    or a site spelling of an accepted one, which the site can map (setting `code_system_map_file`).
    """
    rows = con.execute(
        """
        -- labels compare trimmed and upper-case, as the code-system map matches them
        select upper(coalesce(source_system, '')) as label, count(*) as n
        from staging.conditions
        where code_system = 'UNKNOWN'
        group by all
        order by n desc, label
        """
    ).fetchall()
    return {label: int(n) for label, n in rows}

