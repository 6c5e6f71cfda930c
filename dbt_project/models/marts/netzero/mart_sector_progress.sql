-- Each IPCC sector partners report reductions in (energy, IPPU, agriculture, LULUCF, waste - always five
-- rows), as of the refreshed month: claims in the 12-month window, each reduction counted once, how much is
-- third-party verified or converted from activity data, and progress against the required paths of the
-- partners whose main sector it is.
-- Main sector of a partner: the sector with the largest counted reductions in the window (ties: sector code).
-- Sector status: 'no_data' without counted reductions; else 'on_track' when counted reductions >= the sum of
-- the required paths of the partners whose main sector it is.
-- National context: only where a verified split exists (EPPO energy CO2 for energy); the BTR1 sector split
-- is unverified and is not shown (domain-facts).
with params as (
    {{ phakhi_period() }}
),

sectors as (
    select * from {{ ref('ipcc_sectors') }} where parent_sector_code is null
),

window_claims as (
    {{ phakhi_window_rows(ref('fct_ghg_reductions')) }}
),

claims as (
    select
        sector,
        count(*) as claims_12m,
        count(distinct partner_id) as partners_claiming,
        count(distinct partner_id || '|' || project_id) as projects,
        {{ exact_sum("reduction_tco2e") }} as reductions_12m_claimed_tco2e,
        {{ exact_sum("case when is_duplicate then reduction_tco2e else 0 end") }} as duplicate_12m_tco2e,
        count(*) filter (where is_duplicate) as duplicate_claims_12m,
        {{ exact_sum("counted_tco2e") }} as reductions_12m_counted_tco2e,
        {{ exact_sum("case when programme_third_party_verified and verification_status = 'verified'
                 then counted_tco2e else 0 end") }} as verified_counted_tco2e,
        {{ exact_sum("case when figure_kind = 'converted' then counted_tco2e else 0 end") }} as converted_counted_tco2e
    from window_claims
    group by sector
),

ytd as (
    select f.sector, {{ exact_sum("f.counted_tco2e") }} as reductions_ytd_counted_tco2e
    from {{ ref('fct_ghg_reductions') }} as f, params as p
    where f.year = p.period_year and f.period_start <= p.period_start
    group by f.sector
),

main_sector as (
    select partner_id, sector
    from (
        select partner_id, sector, {{ exact_sum("counted_tco2e") }} as counted_tco2e
        from window_claims
        group by partner_id, sector
    )
    where counted_tco2e > 0
    qualify row_number() over (partition by partner_id order by counted_tco2e desc, sector) = 1
),

paths as (
    select m.sector, count(*) as partners_main_sector, {{ exact_sum("pp.required_path_tco2e") }} as required_path_tco2e
    from main_sector as m
    join {{ ref('mart_partner_progress') }} as pp using (partner_id)
    group by m.sector
),

national as (
    select {{ exact_sum("value_mtco2e") }} as value_mtco2e, max(year) as year, any_value(series_id) as series_id,
           any_value(source) as source
    from {{ ref('national_inventory') }}
    where series_id = 'eppo_energy_co2'
)

select
    s.sector_code as sector,
    s.name_th,
    s.name_en,
    s.ipcc_2006_category,
    p.period,
    coalesce(c.claims_12m, 0) as claims_12m,
    coalesce(c.partners_claiming, 0) as partners_claiming,
    coalesce(c.projects, 0) as projects,
    coalesce(c.reductions_12m_claimed_tco2e, 0) as reductions_12m_claimed_tco2e,
    coalesce(c.duplicate_12m_tco2e, 0) as duplicate_12m_tco2e,
    coalesce(c.duplicate_claims_12m, 0) as duplicate_claims_12m,
    coalesce(c.reductions_12m_counted_tco2e, 0) as reductions_12m_counted_tco2e,
    coalesce(y.reductions_ytd_counted_tco2e, 0) as reductions_ytd_counted_tco2e,
    c.verified_counted_tco2e / nullif(c.reductions_12m_counted_tco2e, 0) as verified_share,
    c.converted_counted_tco2e / nullif(c.reductions_12m_counted_tco2e, 0) as converted_share,
    coalesce(pa.partners_main_sector, 0) as partners_main_sector,
    coalesce(pa.required_path_tco2e, 0) as required_path_tco2e,
    c.reductions_12m_counted_tco2e / nullif(pa.required_path_tco2e, 0) as pct_of_required_path,
    case
        when coalesce(c.reductions_12m_counted_tco2e, 0) = 0 then 'no_data'
        when c.reductions_12m_counted_tco2e >= coalesce(pa.required_path_tco2e, 0) then 'on_track'
        else 'off_track'
    end as track_status,
    case when s.sector_code = 'energy' then n.series_id end as national_reference_series_id,
    case when s.sector_code = 'energy' then n.year end as national_reference_year,
    case when s.sector_code = 'energy' then n.value_mtco2e end as national_reference_mtco2,
    case when s.sector_code = 'energy'
         then n.source || ' energy-related CO2 only (MtCO2, not all gases)'
         else 'no verified national split for this sector (BTR1 sector split unverified)'
    end as national_reference_note
from sectors as s
cross join params as p
cross join national as n
left join claims as c on c.sector = s.sector_code
left join ytd as y on y.sector = s.sector_code
left join paths as pa on pa.sector = s.sector_code
