-- One row per ACE element: its light, the last 3 months against the 3 before, and the 12-month totals
-- (activities, participants by sex, provinces and partners reached).
-- Light: red without activity in the last 3 months; amber when the last 3 months fell below `ace_fall`
-- (dashboard_thresholds seed) of the 3 months before (with at least 6 months of history); green otherwise.
with params as (
    {{ phakhi_period() }}
),

thresholds as (
    select max(value) filter (where threshold = 'ace_fall') as ace_fall from {{ ref('dashboard_thresholds') }}
),

series as (
    select
        element_code,
        min(element_order) as element_order,
        count(*) as months,
        sum(activities) filter (where months_before_period < 3) as last3,
        coalesce(sum(activities) filter (where months_before_period between 3 and 5), 0) as prev3
    from {{ ref('dash_ace_monthly') }}
    group by element_code
),

window_rows as (
    {{ phakhi_window_rows(ref('mart_ace_indicators')) }}
),

totals as (
    select
        element_code,
        sum(activities) as activities_12m,
        sum(participants_total) as participants_12m,
        sum(participants_female) as participants_female_12m,
        sum(participants_male) as participants_male_12m,
        sum(participants_unspecified_sex) as participants_unspecified_12m,
        sum(participants_youth) as participants_youth_12m,
        count(distinct province_code) filter (where activities > 0) as provinces_12m
    from window_rows
    group by element_code
),

partners as (
    select ace_element as element_code, count(distinct partner_id) as partners_12m
    from ({{ phakhi_window_rows(ref('fct_activities')) }})
    group by all
)

select
    s.element_code,
    s.element_order,
    lab.label_th as element_th,
    lab.label_en as element_en,
    s.months,
    s.last3,
    s.prev3,
    {{ phakhi_ace_light('s.months', 's.last3', 's.prev3', 't.ace_fall') }} as light,
    t.ace_fall,
    coalesce(tt.activities_12m, 0) as activities_12m,
    coalesce(tt.participants_12m, 0) as participants_12m,
    coalesce(tt.participants_female_12m, 0) as participants_female_12m,
    coalesce(tt.participants_male_12m, 0) as participants_male_12m,
    coalesce(tt.participants_unspecified_12m, 0) as participants_unspecified_12m,
    coalesce(tt.participants_youth_12m, 0) as participants_youth_12m,
    tt.participants_female_12m / nullif(tt.participants_12m, 0) as female_share_12m,
    coalesce(tt.provinces_12m, 0) as provinces_12m,
    coalesce(pa.partners_12m, 0) as partners_12m
from series as s
cross join thresholds as t
left join totals as tt using (element_code)
left join partners as pa using (element_code)
left join {{ ref('dash_labels') }} as lab on lab.kind = 'ace_element' and lab.code = s.element_code
