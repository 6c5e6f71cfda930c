-- Partner progress against pledge, as of the refreshed month (var 'period'). One row per current partner.
--
-- ON-TRACK RULE (docs/monitor.md, _marts.yml): a partner is ON TRACK when its COUNTED reductions over the
-- 12 months ending with the refreshed month reach the straight-line required path for that year:
--   pledged_reduction = baseline_tco2e x reduction_pct / 100       (tCO2e/year, due in target_year)
--   required_path     = pledged_reduction x clamp((year - base_year) / (target_year - base_year), 0, 1)
-- 'no_data' when the partner has no counted reduction in the window.
-- Counted = each reduction once (fct_ghg_reductions.counted_tco2e): a claim flagged as a duplicate (e.g. one
-- quoting another partner's T-VER credential) changes neither status, percentages nor peer rank.
-- Shown beside it, labelled: reductions_12m_tco2e = everything the partner CLAIMED, duplicate_12m_tco2e =
-- what was EXCLUDED as double counting (claimed = counted + excluded).
with params as (
    {{ phakhi_period() }}
),

partners as (
    select * from {{ ref('dim_partner_versions') }} where is_current
),

families as (
    select * from {{ ref('int_partners__families') }}
),

claims as (
    select * from {{ ref('fct_ghg_reductions') }}
),

reductions as (
    select
        c.partner_id,
        {{ exact_sum("c.reduction_tco2e") }} as reductions_12m_tco2e,
        {{ exact_sum("c.counted_tco2e") }} as counted_12m_tco2e,
        {{ exact_sum("case when c.is_duplicate then c.reduction_tco2e else 0 end") }} as duplicate_12m_tco2e,
        count(*) filter (where c.is_duplicate) as duplicate_claims_12m,
        {{ exact_sum("case when c.programme_third_party_verified and c.verification_status = 'verified'
                 then c.reduction_tco2e else 0 end") }} as verified_12m_tco2e,
        count(distinct c.period) as months_with_reductions,
        max(c.period) as last_reduction_period
    from claims as c, params as p
    where c.period_start between p.window_start and p.period_start
    group by c.partner_id
),

to_date as (
    select c.partner_id, {{ exact_sum("c.reduction_tco2e") }} as reductions_to_date_tco2e,
           {{ exact_sum("c.counted_tco2e") }} as counted_to_date_tco2e, min(c.period) as first_reduction_period
    from claims as c, params as p
    where c.period_start <= p.period_start
    group by c.partner_id
),

reports as (
    select
        a.partner_id,
        count(distinct a.period) as months_reported,
        count(*) as activities_12m,
        sum(a.participants_total) as participants_12m,
        max(a.period) as last_activity_period
    from {{ ref('fct_activities') }} as a, params as p
    where a.period_start between p.window_start and p.period_start
    group by a.partner_id
),

inventories as (
    select partner_id, inventory_year, {{ exact_sum("scope12_tco2e") }} as scope12_tco2e,
           string_agg(distinct verification_status, ', ') as verification_status
    from {{ ref('stg_registry__partner_inventories') }}
    group by partner_id, inventory_year
),

progress as (
    select
        pt.partner_id,
        pt.name_th,
        pt.name_en,
        pt.partner_type,
        pt.peer_group,
        pt.province_code,
        pt.region,
        pt.parent_partner_id,
        f.root_partner_id,
        pt.partner_version_id,
        pt.valid_from as partner_version_valid_from,
        pt.join_date,
        pt.pledge_base_year,
        pt.baseline_tco2e,
        inv.scope12_tco2e as inventory_baseline_tco2e,
        inv.verification_status as inventory_verification_status,
        pt.target_year,
        pt.reduction_pct,
        pt.net_zero_year,
        p.period,
        p.period_year as path_year,
        pt.baseline_tco2e * pt.reduction_pct / 100.0 as pledged_reduction_tco2e,
        {{ phakhi_required_path('pt.baseline_tco2e * pt.reduction_pct / 100.0', 'pt.pledge_base_year',
                                'pt.target_year', 'p.period_year') }} as required_path_tco2e,
        coalesce(r.reductions_12m_tco2e, 0) as reductions_12m_tco2e,
        coalesce(r.counted_12m_tco2e, 0) as counted_12m_tco2e,
        coalesce(r.duplicate_12m_tco2e, 0) as duplicate_12m_tco2e,
        coalesce(r.duplicate_claims_12m, 0) as duplicate_claims_12m,
        coalesce(r.verified_12m_tco2e, 0) as verified_12m_tco2e,
        coalesce(td.reductions_to_date_tco2e, 0) as reductions_to_date_tco2e,
        coalesce(td.counted_to_date_tco2e, 0) as counted_to_date_tco2e,
        td.first_reduction_period,
        coalesce(rp.months_reported, 0) as months_reported,
        -- months expected: the 12-month window, less the months before the partner joined
        greatest(1, least(12, datediff('month', greatest(p.window_start, date_trunc('month', pt.join_date)),
                                        p.period_start) + 1)) as months_expected,
        coalesce(rp.activities_12m, 0) as activities_12m,
        coalesce(rp.participants_12m, 0) as participants_12m,
        r.last_reduction_period,
        rp.last_activity_period,
        greatest(r.last_reduction_period, rp.last_activity_period) as last_report_period
    from partners as pt
    cross join params as p
    left join families as f using (partner_id)
    left join reductions as r using (partner_id)
    left join to_date as td using (partner_id)
    left join reports as rp using (partner_id)
    left join inventories as inv on inv.partner_id = pt.partner_id and inv.inventory_year = pt.pledge_base_year
),

judged as (
    select
        *,
        counted_12m_tco2e / nullif(pledged_reduction_tco2e, 0) as pct_of_pledge,
        counted_12m_tco2e / nullif(required_path_tco2e, 0) as pct_of_required_path,
        reductions_12m_tco2e / nullif(required_path_tco2e, 0) as claimed_pct_of_required_path,
        least(1.0, months_reported * 1.0 / months_expected) as reporting_completeness,
        case
            when counted_12m_tco2e = 0 then 'no_data'
            when counted_12m_tco2e >= required_path_tco2e then 'on_track'
            else 'off_track'
        end as track_status,
        duplicate_12m_tco2e > 0 as has_duplicate_claims
    from progress
)

select
    *,
    -- percentile within the peer group (partners of the same type): 0 = lowest, 1 = highest; null when the
    -- partner has no required path to compare against
    case when pct_of_required_path is not null then
        percent_rank() over (partition by partner_type, pct_of_required_path is null order by pct_of_required_path)
    end as peer_percentile,
    count(*) over (partition by partner_type) as peer_group_size
from judged
