-- Per-respondent awareness scores on 0-100 (the formula is also in sources/instrument/ccai_core_v1.yml `index`).
-- Item score (int_survey__item_scores) = (answer - scale_min) / (scale_max - scale_min) * 100, reversed for
-- reverse-coded items; "don't know"/"refused" codes (outside the scale) are missing, never a scale point.
-- Dimension score = mean of its answered CORE item scores, when at least min_answered_share of its core items are
-- answered (optional items never count). Awareness index = mean of the three dimension scores (knowledge, concern,
-- behaviour), when all three exist.
-- Awareness level (documented cut points, dbt vars with these defaults):
--   low    : index <  awareness_level_medium_from (50: on average below the scale's neutral point)
--   medium : 50 <= index < awareness_level_high_from (75: on average at or above "agree")
--   high   : index >= 75
-- The index is rounded to 9 decimals before the comparison, so that e.g. 74.99999999999999 (a floating-point
-- mean of exact quarters) counts as 75.
{% set medium_from = var('awareness_level_medium_from', 50) %}
{% set high_from = var('awareness_level_high_from', 75) %}
with dimensions as (
    select
        wave,
        respondent_id,
        dimension,
        case when count(item_score) >= max(min_answered_share) * count(*) then avg(item_score) end as score
    from {{ ref('int_survey__item_scores') }}
    where is_core
    group by wave, respondent_id, dimension
),

wide as (
    select
        wave,
        respondent_id,
        max(score) filter (where dimension = 'knowledge') as knowledge,
        max(score) filter (where dimension = 'concern') as concern,
        max(score) filter (where dimension = 'behaviour') as behaviour
    from dimensions
    group by wave, respondent_id
),

scored as (
    select
        r.wave,
        r.respondent_id,
        r.stratum,
        r.psu,
        r.weight,
        r.province_code,
        p.region,
        r.urban_rural,
        r.sex,
        r.age_group,
        r.education,
        w.knowledge,
        w.concern,
        w.behaviour,
        (w.knowledge + w.concern + w.behaviour) / 3.0 as awareness_index
    from {{ ref('stg_survey__responses') }} as r
    inner join wide as w using (wave, respondent_id)
    left join {{ ref('provinces') }} as p on p.province_code = r.province_code
)

select
    *,
    case
        when awareness_index is null then null
        when round(awareness_index, 9) >= {{ high_from }} then 'high'
        when round(awareness_index, 9) >= {{ medium_from }} then 'medium'
        else 'low'
    end as awareness_level
from scored
