"""Synthetic staging tables at scale (built in DuckDB with range()), for timing validation."""

from __future__ import annotations

import duckdb

from pipelines.reference.build import build_reference_data as prepare_reference_tables
from quality_fixtures.staging import seed_reconciliation


def build_scaled_staging(con: duckdb.DuckDBPyConnection, observations: int = 1_000_000) -> None:
    """observations rows over observations/20 patients and observations/5 encounters; ~0.1 % unknown units."""
    prepare_reference_tables(con)
    patients = max(observations // 20, 1)
    encounters = max(observations // 5, 1)
    con.execute("create schema if not exists staging")
    con.execute(
        f"""create or replace table staging.patients as
        select 'p' || i as patient_id, date '1940-01-01' + (i % 20000)::int as birth_date, null::date as death_date,
               case when i % 2 = 0 then 'F' else 'M' end as sex, 'white' as race, 'nonhispanic' as ethnicity,
               'M' as marital, 'MA' as state, 'X County' as county,
               'b1' as _batch_id, i + 2 as _source_line
        from range({patients}) r(i)"""
    )
    con.execute(
        f"""create or replace table staging.encounters as
        select 'e' || i as encounter_id, 'p' || (i % {patients}) as patient_id,
               timestamp '2020-01-01' + to_minutes(i) as started_at,
               timestamp '2020-01-01' + to_minutes(i + 30) as stopped_at,
               (timestamp '2020-01-01' + to_minutes(i))::date as start_date,
               (timestamp '2020-01-01' + to_minutes(i + 30))::date as stop_date,
               'ambulatory' as encounter_class, 'enc' as code, 'visit' as description, null::varchar as reason_code,
               'b1' as _batch_id, i + 2 as _source_line
        from range({encounters}) r(i)"""
    )
    con.execute(
        f"""create or replace table staging.observations as
        with codes as (
            select code, min(unit) as unit, row_number() over (order by code) - 1 as k
            from ref.lab_rules group by code
        )
        select 'p' || (e % {patients}) as patient_id, 'e' || e as encounter_id,
               timestamp '2020-01-01' + to_minutes(e) + to_seconds(i % 7) as observed_at,
               (timestamp '2020-01-01' + to_minutes(e))::date as observation_date, 'laboratory' as category,
               'LOINC' as code_system, codes.code, 'lab' as description,
               (1.0 + (i % 50) / 10.0)::varchar as value_text, 1.0 + (i % 50) / 10.0 as value_numeric,
               case when i % 1000 = 0 then 'furlongs' else codes.unit end as units, 'numeric' as value_type,
               'b1' as _batch_id, i + 2 as _source_line
        from (select i, i % {encounters} as e from range({observations}) r(i)) src
        join codes on codes.k = src.i % (select count(*) from codes)"""
    )
    seed_reconciliation(con, ("patients", "encounters", "observations"))
