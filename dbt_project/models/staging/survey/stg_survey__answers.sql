-- One row per respondent, wave and questionnaire item, with the raw answer code (scale point or missing code).
with answers as (
    unpivot (
        select * exclude (_row, stratum, psu, weight, province_code, urban_rural, sex, age, education,
                          _file, _sheet, _file_hash)
        from {{ source('survey', 'survey_waves') }}
    )
    on columns(* exclude (wave, respondent_id))
    into name item_code value answer_code
)

select
    cast(a.wave as integer) as wave,
    a.respondent_id,
    a.item_code,
    cast(a.answer_code as integer) as answer_code
from answers as a
-- only the instrument's items (unknown columns in a survey file are not questionnaire items)
inner join {{ source('survey', 'survey_instrument_items') }} as i on i.code = a.item_code
