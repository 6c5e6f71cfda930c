-- Partner progress against pledge, as of the refreshed month (var 'period').
--
-- Rule (documented in _marts.yml): a partner is ON TRACK when its reductions over the 12 months ending with the
-- refreshed month reach the straight-line required path for that year:
--   pledged_reduction = baseline_tco2e x reduction_pct / 100       (tCO2e/year, due in target_year)
--   required_path     = pledged_reduction x clamp((year - base_year) / (target_year - base_year), 0, 1)
-- 'no_data' when the partner reported no reduction in the window.
{% set period = var('period') %}
with params as (
    select
        cast('{{ period }}-01' as date) as period_start,
        cast('{{ period }}-01' as date) - interval 11 month as window_start,
        year(cast('{{ period }}-01' as date)) as period_year
),

partners as (
    select * from {{ ref('stg_registry__partners') }}
),

reductions as (
    select
        r.partner_id,
        sum(r.reduction_tco2e) as reductions_12m_tco2e,
        count(distinct r.period) as months_with_reductions,
        max(r.period) as last_reduction_period
    from {{ ref('int_ghg__reductions_converted') }} as r, params as p
    where r.period_start between p.window_start and p.period_start
    group by r.partner_id
),

reports as (
    select
        a.partner_id,
        count(distinct a.period) as months_reported,
        count(*) as activities_12m,
        sum(a.participants_total) as participants_12m,
        max(a.period) as last_report_period
    from {{ ref('stg_partner_reports__activities') }} as a, params as p
    where a.period_start between p.window_start and p.period_start
    group by a.partner_id
),

progress as (
    select
        pt.partner_id,
        pt.name_th,
        pt.name_en,
        pt.partner_type,
        pt.province_code,
        pt.join_date,
        pt.pledge_base_year,
        pt.baseline_tco2e,
        pt.target_year,
        pt.reduction_pct,
        pt.net_zero_year,
        '{{ period }}' as period,
        pt.baseline_tco2e * pt.reduction_pct / 100.0 as pledged_reduction_tco2e,
        pt.baseline_tco2e * pt.reduction_pct / 100.0
            * greatest(0.0, least(1.0, (p.period_year - pt.pledge_base_year)
                                       / nullif(pt.target_year - pt.pledge_base_year, 0))) as required_path_tco2e,
        coalesce(r.reductions_12m_tco2e, 0) as reductions_12m_tco2e,
        coalesce(rp.months_reported, 0) as months_reported,
        -- months expected: the 12-month window, less the months before the partner joined
        greatest(1, least(12, datediff('month', greatest(p.window_start, date_trunc('month', pt.join_date)),
                                        p.period_start) + 1)) as months_expected,
        coalesce(rp.activities_12m, 0) as activities_12m,
        coalesce(rp.participants_12m, 0) as participants_12m,
        greatest(r.last_reduction_period, rp.last_report_period) as last_report_period
    from partners as pt
    cross join params as p
    left join reductions as r using (partner_id)
    left join reports as rp using (partner_id)
)

select
    *,
    reductions_12m_tco2e / nullif(pledged_reduction_tco2e, 0) as pct_of_pledge,
    reductions_12m_tco2e / nullif(required_path_tco2e, 0) as pct_of_required_path,
    least(1.0, months_reported * 1.0 / months_expected) as reporting_completeness,
    case
        when reductions_12m_tco2e = 0 then 'no_data'
        when reductions_12m_tco2e >= required_path_tco2e then 'on_track'
        else 'off_track'
    end as track_status,
    percent_rank() over (
        partition by partner_type
        order by reductions_12m_tco2e / nullif(required_path_tco2e, 0)
    ) as peer_percentile
from progress
