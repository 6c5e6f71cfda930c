-- The questionnaire definition: item, dimension, direction and scale.
select
    instrument,
    instrument_version,
    code as item_code,
    dimension,
    cast(reverse as boolean) as is_reverse_coded,
    cast(core as boolean) as is_core,
    cast(scale_min as integer) as scale_min,
    cast(scale_max as integer) as scale_max,
    cast(min_answered_share as double) as min_answered_share,
    text_en,
    text_th
from {{ source('survey', 'survey_instrument_items') }}
