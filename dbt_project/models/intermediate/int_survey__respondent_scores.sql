-- Per-respondent awareness scores on 0-100.
-- Item score = (answer - scale_min) / (scale_max - scale_min) * 100, reversed for reverse-coded items;
-- "don't know"/"refused" codes (outside the scale) are missing, never a scale point.
-- Dimension score = mean of its answered item scores, when at least min_answered_share of its items are answered.
-- Awareness index = mean of the three dimension scores (knowledge, concern, behaviour), when all three exist.
with item_scores as (
    select
        a.wave,
        a.respondent_id,
        i.dimension,
        i.min_answered_share,
        case
            when a.answer_code between i.scale_min and i.scale_max then
                100.0 * (case when i.is_reverse_coded then i.scale_max + i.scale_min - a.answer_code
                              else a.answer_code end - i.scale_min) / (i.scale_max - i.scale_min)
        end as item_score
    from {{ ref('stg_survey__answers') }} as a
    inner join {{ ref('stg_survey__instrument_items') }} as i on i.item_code = a.item_code
    where i.is_core
),

dimensions as (
    select
        wave,
        respondent_id,
        dimension,
        case when count(item_score) >= max(min_answered_share) * count(*) then avg(item_score) end as score
    from item_scores
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
)

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
