-- One row per respondent and wave: design fields and demographics (items are in stg_survey__answers).
select
    cast(wave as integer) as wave,
    respondent_id,
    stratum,
    psu,
    cast(weight as double) as weight,
    province_code,
    urban_rural,
    sex,
    cast(age as integer) as age,
    case
        when age < 25 then '15-24'
        when age < 40 then '25-39'
        when age < 60 then '40-59'
        else '60+'
    end as age_group,
    education,
    _file as source_file
from {{ source('survey', 'survey_waves') }}
