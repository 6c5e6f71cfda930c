-- One row per respondent, wave and questionnaire item (core and optional), with the item score on 0-100.
-- item_score = 100 * (answer - scale_min) / (scale_max - scale_min), where a reverse-coded item's answer is first
-- reflected (scale_max + scale_min - answer). An answer code outside the scale ("don't know" 8, "refused" 9, or any
-- other missing code of the instrument) is missing: item_score is null and is_missing_code is true. It is never
-- a scale point, so it can never enter a dimension score or the index.
select
    a.wave,
    a.respondent_id,
    a.item_code,
    i.dimension,
    i.is_core,
    i.is_reverse_coded,
    i.min_answered_share,
    a.answer_code,
    not (a.answer_code between i.scale_min and i.scale_max) as is_missing_code,
    case
        when a.answer_code between i.scale_min and i.scale_max then
            100.0 * (case when i.is_reverse_coded then i.scale_max + i.scale_min - a.answer_code
                          else a.answer_code end - i.scale_min) / (i.scale_max - i.scale_min)
    end as item_score
from {{ ref('stg_survey__answers') }} as a
inner join {{ ref('stg_survey__instrument_items') }} as i on i.item_code = a.item_code
