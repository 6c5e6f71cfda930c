-- Every province (77 rows, none dropped) as of the refreshed month: its partners and their status, the
-- reductions they claimed in the 12-month window - each reduction counted once - and the ACE activities
-- that took place there.
-- Attribution: a reduction belongs to the province of the partner whose claim is counted (current registry);
-- an activity to the province where it took place (else its partner's).
-- Province status: 'no_partners' without registered partners; 'no_data' when none of them claimed a
-- reduction in the window; else 'on_track' when counted reductions >= the sum of its partners' required paths.
with params as (
    {{ phakhi_period() }}
),

progress as (
    select * from {{ ref('mart_partner_progress') }}
),

partner_stats as (
    select
        province_code,
        count(*) as partners,
        count(*) filter (where track_status = 'on_track') as partners_on_track,
        count(*) filter (where track_status = 'off_track') as partners_off_track,
        count(*) filter (where track_status = 'no_data') as partners_no_data,
        {{ exact_sum("pledged_reduction_tco2e") }} as pledged_reduction_tco2e,
        {{ exact_sum("required_path_tco2e") }} as required_path_tco2e,
        {{ exact_avg("reporting_completeness") }} as mean_reporting_completeness
    from progress
    group by province_code
),

claims as (
    select
        f.province_code,
        {{ exact_sum("f.reduction_tco2e") }} as reductions_12m_claimed_tco2e,
        {{ exact_sum("case when f.is_duplicate then f.reduction_tco2e else 0 end") }} as duplicate_12m_tco2e,
        {{ exact_sum("f.counted_tco2e") }} as reductions_12m_counted_tco2e,
        count(*) filter (where f.is_duplicate) as duplicate_claims_12m
    from {{ ref('fct_ghg_reductions') }} as f, params as p
    where f.period_start between p.window_start and p.period_start
    group by f.province_code
),

activities as (
    select
        a.province_code,
        count(*) as activities_12m,
        count(distinct a.partner_id) as partners_with_activities_12m,
        count(distinct a.ace_element) as ace_elements_covered_12m,
        sum(a.participants_total) as participants_12m,
        sum(a.participants_female) as participants_female_12m,
        sum(a.participants_male) as participants_male_12m,
        sum(a.participants_youth) as participants_youth_12m,
        {{ exact_sum("a.budget_thb") }} as budget_12m_thb
    from {{ ref('fct_activities') }} as a, params as p
    where a.period_start between p.window_start and p.period_start
    group by a.province_code
)

select
    d.province_code,
    d.name_th,
    d.name_en,
    d.region,
    d.region_th,
    d.region_en,
    d.grid_row,
    d.grid_col,
    p.period,
    coalesce(s.partners, 0) as partners,
    coalesce(s.partners_on_track, 0) as partners_on_track,
    coalesce(s.partners_off_track, 0) as partners_off_track,
    coalesce(s.partners_no_data, 0) as partners_no_data,
    coalesce(s.pledged_reduction_tco2e, 0) as pledged_reduction_tco2e,
    coalesce(s.required_path_tco2e, 0) as required_path_tco2e,
    coalesce(c.reductions_12m_claimed_tco2e, 0) as reductions_12m_claimed_tco2e,
    coalesce(c.duplicate_12m_tco2e, 0) as duplicate_12m_tco2e,
    coalesce(c.duplicate_claims_12m, 0) as duplicate_claims_12m,
    coalesce(c.reductions_12m_counted_tco2e, 0) as reductions_12m_counted_tco2e,
    coalesce(c.reductions_12m_counted_tco2e, 0) / nullif(s.required_path_tco2e, 0) as pct_of_required_path,
    case
        when coalesce(s.partners, 0) = 0 then 'no_partners'
        when coalesce(c.reductions_12m_counted_tco2e, 0) = 0 then 'no_data'
        when c.reductions_12m_counted_tco2e >= s.required_path_tco2e then 'on_track'
        else 'off_track'
    end as track_status,
    s.mean_reporting_completeness,
    coalesce(a.activities_12m, 0) as activities_12m,
    coalesce(a.partners_with_activities_12m, 0) as partners_with_activities_12m,
    coalesce(a.ace_elements_covered_12m, 0) as ace_elements_covered_12m,
    coalesce(a.participants_12m, 0) as participants_12m,
    coalesce(a.participants_female_12m, 0) as participants_female_12m,
    coalesce(a.participants_male_12m, 0) as participants_male_12m,
    coalesce(a.participants_youth_12m, 0) as participants_youth_12m,
    coalesce(a.budget_12m_thb, 0) as budget_12m_thb
from {{ ref('dim_provinces') }} as d
cross join params as p
left join partner_stats as s using (province_code)
left join claims as c using (province_code)
left join activities as a using (province_code)
