-- Best-practice case catalogue (objective 4 of the project brief): one case per partner with a measurable
-- outcome in the 12 months ending with the refreshed month - counted GHG reductions (each reduction counted
-- once) and/or people reached by its ACE activities - with its lessons learned and tags, ranked within its
-- peer group (partners of the same type: like is compared with like).
-- Outcome measures:
--   tco2e_per_thb     counted reductions / ACE activity budget reported in the window (the budget partners
--                     report for activities, not project capital cost: a screening measure, not a cost curve)
--   thb_per_tco2e     its inverse
--   participants_reached, youth_reached, female_share
-- Ranking within the peer group: rank_in_peer_group orders by tco2e_per_thb (cases without it last), then
-- participants reached; rank_participants_in_peer_group by participants reached. is_featured marks rank 1.
with params as (
    {{ phakhi_period() }}
),

progress as (
    select * from {{ ref('mart_partner_progress') }}
),

-- not materialized: read by three CTEs below, DuckDB would copy the window's rows (every column of the fact)
-- once and scan the copy; each read scanning the fact for its own few columns is ~35 % less CPU (issue 17)
activities as not materialized (
    {{ phakhi_window_rows(ref('fct_activities')) }}
),

claims as (
    {{ phakhi_window_rows(ref('fct_ghg_reductions')) }}
),

activity_outcomes as (
    select
        partner_id,
        count(*) as activities_12m,
        sum(participants_total) as participants_reached,
        sum(participants_youth) as youth_reached,
        sum(participants_female) as participants_female,
        {{ exact_sum("budget_thb") }} as budget_12m_thb,
        {{ exact_sum("case when ghg_project_id is not null then budget_thb else 0 end") }} as budget_linked_to_ghg_projects_thb,
        string_agg(distinct ace_element, ', ' order by ace_element) as ace_element_tags,
        string_agg(distinct activity_type, ', ' order by activity_type) as practice_tags,
        string_agg(distinct climate_tag, ', ' order by climate_tag) as climate_tags
    from activities
    group by partner_id
),

-- the activity that reached the most people (ties: the lowest id; ids are unique, so one row): one aggregate per
-- partner - a row_number() window sorted all the window's activities for it (~40 % of the model's CPU, issue 17)
featured as (
    select partner_id, f.activity_id as featured_activity_id, f.title as featured_activity_title
    from (
        select partner_id,
               arg_min({'activity_id': activity_id, 'title': title},
                       {'reached': -participants_total, 'activity_id': activity_id}) as f
        from activities
        group by partner_id
    )
),

lessons as (
    select partner_id,
           string_agg(lessons_learned, ' | ' order by n desc, lessons_learned) as lessons_learned,
           count(*) as distinct_lessons
    from (
        select partner_id, trim(lessons_learned) as lessons_learned, count(*) as n
        from activities
        where nullif(trim(lessons_learned), '') is not null
        group by all
    )
    group by partner_id
),

claim_outcomes as (
    select
        partner_id,
        string_agg(distinct sector, ', ' order by sector) as sector_tags,
        string_agg(distinct method, ', ' order by method) as programme_tags,
        count(distinct project_id) as ghg_projects
    from claims
    group by partner_id
),

cases as (
    select
        pp.partner_id || '|' || pp.period as case_id,
        pp.partner_id,
        pp.name_th,
        pp.name_en,
        pp.partner_type,
        pp.peer_group,
        pp.province_code,
        pp.region,
        pp.period,
        pp.track_status,
        pp.pct_of_required_path,
        pp.counted_12m_tco2e,
        pp.has_duplicate_claims,
        coalesce(ao.activities_12m, 0) as activities_12m,
        coalesce(ao.participants_reached, 0) as participants_reached,
        coalesce(ao.youth_reached, 0) as youth_reached,
        ao.participants_female / nullif(ao.participants_reached, 0) as female_share,
        coalesce(ao.budget_12m_thb, 0) as budget_12m_thb,
        coalesce(ao.budget_linked_to_ghg_projects_thb, 0) as budget_linked_to_ghg_projects_thb,
        pp.counted_12m_tco2e / nullif(ao.budget_12m_thb, 0) as tco2e_per_thb,
        ao.budget_12m_thb / nullif(pp.counted_12m_tco2e, 0) as thb_per_tco2e,
        co.ghg_projects,
        co.sector_tags,
        co.programme_tags,
        ao.ace_element_tags,
        ao.practice_tags,
        ao.climate_tags,
        fa.featured_activity_title,
        fa.featured_activity_id,
        l.lessons_learned,
        coalesce(l.distinct_lessons, 0) as distinct_lessons
    from progress as pp
    left join activity_outcomes as ao using (partner_id)
    left join claim_outcomes as co using (partner_id)
    left join lessons as l using (partner_id)
    left join featured as fa using (partner_id)
    where pp.counted_12m_tco2e > 0 or coalesce(ao.participants_reached, 0) > 0
)

select
    *,
    row_number() over (
        partition by partner_type
        order by tco2e_per_thb desc nulls last, participants_reached desc, partner_id
    ) as rank_in_peer_group,
    row_number() over (
        partition by partner_type order by participants_reached desc, partner_id
    ) as rank_participants_in_peer_group,
    count(*) over (partition by partner_type) as peer_group_cases,
    row_number() over (
        partition by partner_type
        order by tco2e_per_thb desc nulls last, participants_reached desc, partner_id
    ) = 1 as is_featured
from cases
