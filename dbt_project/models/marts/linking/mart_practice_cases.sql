-- Curated best practices: each case of mart_best_practices (a partner's activities and reduction projects in
-- the last 12 months, with results, lessons and the partner's status) with the EVIDENCE that qualifies it and
-- whether DCCE features it.
-- CRITERIA (all must hold for meets_criteria; shown on the practices page):
--   criterion_on_track          the partner is on track with its pledge (mart_partner_progress)
--   criterion_measured_result   counted reductions > 0, or at least var practice_min_participants (100) people
--                               reached by its ACE activities in the 12 months
--   criterion_has_lessons       at least one lesson learned reported (mart_practice_lessons)
--   criterion_counted_once      none of its reductions was double counted in the window
--   criterion_reports_regularly reporting completeness >= var practice_min_completeness (0.75)
-- FEATURED: DCCE's choice, from the seed featured_practices (in force for the refreshed month); the page shows
-- featured cases first (feature_order), then cases meeting every criterion, then the rest by peer-group rank.
with params as (
    {{ phakhi_period() }}
),

cases as (
    select * from {{ ref('mart_best_practices') }}
),

progress as (
    select partner_id, verified_12m_tco2e, reporting_completeness, months_reported, months_expected
    from {{ ref('mart_partner_progress') }}
),

lessons as (
    select case_id, count(*) as lessons, count(lesson_en) as lessons_with_english
    from {{ ref('mart_practice_lessons') }}
    group by case_id
),

featured as (
    select f.*
    from {{ ref('featured_practices') }} as f, params as p
    where f.featured_from <= p.period_end
      and (f.featured_until is null or f.featured_until >= p.period_start)
),

judged as (
    select
        c.case_id,
        c.partner_id,
        c.name_th,
        c.name_en,
        c.partner_type,
        c.peer_group,
        c.province_code,
        c.region,
        c.period,
        c.track_status,
        c.pct_of_required_path,
        c.counted_12m_tco2e,
        coalesce(pr.verified_12m_tco2e, 0) as verified_12m_tco2e,
        c.activities_12m,
        c.participants_reached,
        c.youth_reached,
        c.female_share,
        c.budget_12m_thb,
        c.tco2e_per_thb,
        c.ghg_projects,
        c.sector_tags,
        c.programme_tags,
        c.ace_element_tags,
        c.practice_tags,
        c.climate_tags,
        c.featured_activity_id,
        c.featured_activity_title,
        coalesce(l.lessons, 0) as lessons,
        coalesce(l.lessons_with_english, 0) as lessons_with_english,
        pr.reporting_completeness,
        c.rank_in_peer_group,
        c.peer_group_cases,
        c.is_featured as top_of_peer_group,
        coalesce(c.track_status = 'on_track', false) as criterion_on_track,
        (c.counted_12m_tco2e > 0 or c.participants_reached >= {{ var('practice_min_participants', 100) }})
            as criterion_measured_result,
        coalesce(l.lessons, 0) > 0 as criterion_has_lessons,
        not coalesce(c.has_duplicate_claims, false) as criterion_counted_once,
        coalesce(pr.reporting_completeness >= {{ var('practice_min_completeness', 0.75) }}, false)
            as criterion_reports_regularly,
        f.partner_id is not null as is_featured_by_dcce,
        f.feature_order,
        f.reason_th as featured_reason_th,
        f.reason_en as featured_reason_en,
        f.featured_from,
        f.decided_by as featured_by,
        f.source as featured_source
    from cases as c
    left join progress as pr using (partner_id)
    left join lessons as l using (case_id)
    left join featured as f using (partner_id)
)

select
    *,
    criterion_on_track and criterion_measured_result and criterion_has_lessons and criterion_counted_once
        and criterion_reports_regularly as meets_criteria,
    cast(row_number() over (
        order by is_featured_by_dcce desc, feature_order nulls last,
                 (criterion_on_track and criterion_measured_result and criterion_has_lessons
                  and criterion_counted_once and criterion_reports_regularly) desc,
                 partner_type, rank_in_peer_group, partner_id
    ) as integer) as display_order
from judged
