-- hand-made staging tables with known defects (see staging.py for the expected failing checks).
-- Clinical codes are taken from the seeds (ref.value_set_codes, ref.lab_rules), never written here.
create schema if not exists staging;

create or replace table staging.patients as
select * from (values
    ('p1', date '1980-01-01', null::date, 'M', 'white', 'nonhispanic', 'M', 'MA', 'X County', 'b1', 2),
    ('p2', date '1990-05-05', null::date, 'F', 'white', 'nonhispanic', 'S', 'MA', 'X County', 'b1', 3),
    ('p3', date '2000-02-02', null::date, 'X', 'asian', 'nonhispanic', 'S', 'MA', 'X County', 'b1', 4),
    ('p4', date '1890-03-03', null::date, 'F', 'black', 'hispanic', 'W', 'MA', 'X County', 'b1', 5),
    ('p5', date '1970-07-07', date '2020-01-01', 'M', 'white', 'nonhispanic', 'M', 'MA', 'X County', 'b1', 6)
) t(patient_id, birth_date, death_date, sex, race, ethnicity, marital, state, county,
    _batch_id, _source_line);

create or replace table staging.encounters as
select
    encounter_id, patient_id, started_at, stopped_at,
    started_at::date as start_date, stopped_at::date as stop_date,
    encounter_class, code, description, reason_code,
    _batch_id, _source_line,
from (values
    ('e1', 'p1', timestamp '2020-01-01 10:00', timestamp '2020-01-01 11:00', 'ambulatory', 2),
    ('e2', 'p2', timestamp '2021-01-01 10:00', timestamp '2021-01-01 11:00', 'wellness', 3),
    ('e3', 'p1', timestamp '2022-01-01 10:00', timestamp '2021-12-31 11:00', 'ambulatory', 4),
    ('e4', 'p9', timestamp '2022-02-01 10:00', timestamp '2022-02-01 11:00', 'ambulatory', 5)
) v(encounter_id, patient_id, started_at, stopped_at, encounter_class, _source_line),
lateral (select 'enc-code' as code, 'visit' as description, null::varchar as reason_code,
                'b1' as _batch_id);

create or replace table staging.conditions as
select
    'p1' as patient_id, 'e1' as encounter_id, code_system, 'SNOMED-CT' as source_system, code,
    'condition' as description, date '2020-01-01' as start_date, null::date as stop_date,
    'b1' as _batch_id, _source_line,
from (
    select code_system, code_key as code, 2 as _source_line from ref.value_set_codes
    where value_set = 'pregnancy' and code_system = 'SNOMED' order by code limit 1
) union all
select
    'p2', 'e2', code_system, 'ICD-10-CM', code, 'condition', date '2021-01-01', null, 'b1', 3
from (select code_system, code_key as code from ref.value_set_codes where value_set = 'cramp' and code_system = 'ICD10CM'
      order by code limit 1);

create or replace table staging.observations as
select
    patient_id, encounter_id, observed_at, observed_at::date as observation_date, 'laboratory' as category,
    'LOINC' as code_system, code, 'lab' as description, value_numeric::varchar as value_text,
    value_numeric::double as value_numeric,
    units, 'numeric' as value_type, 'b1' as _batch_id, _source_line,
from (values
    ('p1', 'e1', timestamp '2020-01-01 10:30', 9.5, 'mg/dL', 2),
    ('p2', 'e2', timestamp '2021-01-01 10:30', 9.1, 'furlongs', 3),
    ('p2', 'e2', timestamp '2021-01-01 10:40', 55.0, 'mg/dL', 4),
    ('p1', null, timestamp '2020-06-01 00:00', 9.0, 'mg/dL', 5),
    ('p2', 'e9', timestamp '2021-03-01 10:30', 9.0, 'mg/dL', 6)
) v(patient_id, encounter_id, observed_at, value_numeric, units, _source_line),
lateral (select code from ref.lab_rules where measure = 'calcium_total' order by code limit 1);

create or replace table staging.medications as
select 'p1' as patient_id, 'e1' as encounter_id, 'RXNORM' as code_system, '12345' as code, 'drug' as description,
    timestamp '2020-01-01 10:00' as started_at, null::timestamp as stopped_at, date '2020-01-01' as start_date,
    null::date as stop_date, null::varchar as reason_code,
    'b1' as _batch_id, 2 as _source_line;

create or replace table staging.procedures as
select 'p2' as patient_id, 'e2' as encounter_id, 'SNOMED' as code_system, '123456' as code, 'proc' as description,
    timestamp '2021-01-01 10:00' as started_at, timestamp '2021-01-01 10:30' as stopped_at,
    date '2021-01-01' as start_date, null::varchar as reason_code,
    'b1' as _batch_id, 2 as _source_line;
