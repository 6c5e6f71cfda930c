-- Lessons learned behind each best-practice case: one row per case and distinct lesson text the partner
-- reported in the case's 12-month window, with the English text when the partner gave one
-- (activity_reports.lessons_learned_en, contract 1.2). text_is_thai: the main text is in Thai script; in English
-- mode a Thai lesson without English is shown in Thai, labelled "Thai only". Search on the practices page
-- covers both texts.
with params as (
    {{ phakhi_period() }}
),

cases as (
    select case_id, partner_id from {{ ref('mart_best_practices') }}
),

reported as (
    select
        a.partner_id,
        a.period,
        trim(a.lessons_learned) as lesson_th,
        nullif(trim(a.lessons_learned_en), '') as lesson_en
    from {{ ref('stg_partner_reports__activities') }} as a, params as p
    where a.period_start between p.window_start and p.period_start
      and nullif(trim(a.lessons_learned), '') is not null
),

lessons as (
    select
        partner_id,
        lesson_th,
        -- the English text given most often for this lesson (ties: alphabetical)
        arg_max(lesson_en, n_en) as lesson_en,
        sum(n_en) as times_reported,
        max(last_reported) as last_reported
    from (
        select partner_id, lesson_th, lesson_en, count(*) as n_en, max(period) as last_reported
        from reported
        group by all
        order by partner_id, lesson_th, lesson_en nulls last
    )
    group by partner_id, lesson_th
)

select
    c.case_id || '|' || cast(row_number() over (partition by c.case_id order by l.times_reported desc, l.lesson_th) as varchar)
        as lesson_id,
    c.case_id,
    l.partner_id,
    cast(row_number() over (partition by c.case_id order by l.times_reported desc, l.lesson_th) as integer) as lesson_no,
    l.lesson_th,
    l.lesson_en,
    l.lesson_en is not null as has_english,
    regexp_matches(l.lesson_th, '[ก-๙]') as text_is_thai,
    cast(l.times_reported as integer) as times_reported,
    l.last_reported
from lessons as l
join cases as c using (partner_id)
