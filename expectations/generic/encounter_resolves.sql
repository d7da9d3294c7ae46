-- rows whose ENCOUNTER is no encounter of the same patient in staging.encounters
select t.* from {batch} t left join staging.encounters e on e.encounter_id = t.encounter_id and e.patient_id = t.patient_id where t.encounter_id is not null and e.encounter_id is null
