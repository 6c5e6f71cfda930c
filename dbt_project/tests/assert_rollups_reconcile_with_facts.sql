-- Every roll-up adds up to the facts over the same window (each reduction counted once):
-- provinces, sectors and partners vs fct_ghg_reductions; provinces and the ACE grid vs fct_activities.
with params as (
    {{ phakhi_period() }}
),

ghg_window as (
    select sum(f.counted_tco2e) as counted, sum(f.reduction_tco2e) as claimed
    from {{ ref('fct_ghg_reductions') }} as f, params as p
    where f.period_start between p.window_start and p.period_start
),

act_window as (
    select count(*) as activities, sum(a.participants_total) as participants, sum(a.budget_thb) as budget
    from {{ ref('fct_activities') }} as a, params as p
    where a.period_start between p.window_start and p.period_start
),

act_to_date as (
    select count(*) as activities, sum(a.participants_total) as participants, sum(a.participants_youth) as youth,
           sum(a.participants_female) as female, sum(a.budget_thb) as budget
    from {{ ref('fct_activities') }} as a, params as p
    where a.period_start <= p.period_start
),

checks as (
    select 'province counted reductions' as check_name,
           (select sum(reductions_12m_counted_tco2e) from {{ ref('mart_province_summary') }}) as rollup,
           (select coalesce(counted, 0) from ghg_window) as facts
    union all
    select 'province claimed reductions',
           (select sum(reductions_12m_claimed_tco2e) from {{ ref('mart_province_summary') }}),
           (select coalesce(claimed, 0) from ghg_window)
    union all
    select 'sector counted reductions',
           (select sum(reductions_12m_counted_tco2e) from {{ ref('mart_sector_progress') }}),
           (select coalesce(counted, 0) from ghg_window)
    union all
    select 'sector claimed reductions',
           (select sum(reductions_12m_claimed_tco2e) from {{ ref('mart_sector_progress') }}),
           (select coalesce(claimed, 0) from ghg_window)
    union all
    select 'partner counted reductions',
           (select sum(counted_12m_tco2e) from {{ ref('mart_partner_progress') }}),
           (select coalesce(counted, 0) from ghg_window)
    union all
    select 'partner claimed reductions',
           (select sum(reductions_12m_tco2e) from {{ ref('mart_partner_progress') }}),
           (select coalesce(claimed, 0) from ghg_window)
    union all
    select 'province activities',
           (select sum(activities_12m) from {{ ref('mart_province_summary') }}),
           (select activities from act_window)
    union all
    select 'province participants',
           (select sum(participants_12m) from {{ ref('mart_province_summary') }}),
           (select coalesce(participants, 0) from act_window)
    union all
    select 'province budget',
           (select sum(budget_12m_thb) from {{ ref('mart_province_summary') }}),
           (select coalesce(budget, 0) from act_window)
    union all
    select 'ACE grid activities',
           (select sum(activities) from {{ ref('mart_ace_indicators') }}),
           (select activities from act_to_date)
    union all
    select 'ACE grid participants',
           (select sum(participants_total) from {{ ref('mart_ace_indicators') }}),
           (select coalesce(participants, 0) from act_to_date)
    union all
    select 'ACE grid female',
           (select sum(participants_female) from {{ ref('mart_ace_indicators') }}),
           (select coalesce(female, 0) from act_to_date)
    union all
    select 'ACE grid youth',
           (select sum(participants_youth) from {{ ref('mart_ace_indicators') }}),
           (select coalesce(youth, 0) from act_to_date)
    union all
    select 'ACE grid budget',
           (select sum(budget_thb) from {{ ref('mart_ace_indicators') }}),
           (select coalesce(budget, 0) from act_to_date)
)

select *
from checks
where abs(coalesce(rollup, 0) - coalesce(facts, 0)) > 1e-6
