-- Action for Climate Empowerment indicators: six ACE elements x 77 provinces x every month from the first
-- reported month to the refreshed month - a dense grid, so a zero is a reported nothing, not a missing row.
-- Counts come from the ACE ledger (fct_activities); province = where the activity took place.
with params as (
    {{ phakhi_period() }}
),

activities as (
    select a.*
    from {{ ref('fct_activities') }} as a, params as p
    where a.period_start <= p.period_start
),

months as (
    select cast(m as date) as period_start, strftime(m, '%Y-%m') as period
    from params as p,
         (select coalesce(min(period_start), (select period_start from params)) as first_month from activities) as f,
         generate_series(f.first_month, p.period_start, interval 1 month) as g(m)
),

grid as (
    select m.period, m.period_start, e.element_code, e.name_th as element_th, e.name_en as element_en,
           e.sort_order as element_order, d.province_code, d.name_th as province_th, d.name_en as province_en,
           d.region
    from months as m
    cross join {{ ref('ace_elements') }} as e
    cross join {{ ref('dim_provinces') }} as d
),

counts as (
    select
        period,
        ace_element,
        province_code,
        count(*) as activities,
        count(distinct partner_id) as partners_reporting,
        sum(participants_total) as participants_total,
        sum(participants_female) as participants_female,
        sum(participants_male) as participants_male,
        sum(participants_unspecified_sex) as participants_unspecified_sex,
        sum(participants_youth) as participants_youth,
        {{ exact_sum("budget_thb") }} as budget_thb
    from activities
    group by period, ace_element, province_code
)

select
    g.period,
    g.period_start,
    g.element_code,
    g.element_th,
    g.element_en,
    g.element_order,
    g.province_code,
    g.province_th,
    g.province_en,
    g.region,
    coalesce(c.activities, 0) as activities,
    coalesce(c.partners_reporting, 0) as partners_reporting,
    coalesce(c.participants_total, 0) as participants_total,
    coalesce(c.participants_female, 0) as participants_female,
    coalesce(c.participants_male, 0) as participants_male,
    coalesce(c.participants_unspecified_sex, 0) as participants_unspecified_sex,
    coalesce(c.participants_youth, 0) as participants_youth,
    coalesce(c.budget_thb, 0) as budget_thb
from grid as g
left join counts as c
    on c.period = g.period and c.ace_element = g.element_code and c.province_code = g.province_code
