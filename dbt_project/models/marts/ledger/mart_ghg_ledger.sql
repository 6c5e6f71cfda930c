-- The GHG ledger: every reduction claim up to the refreshed month, one row per claim (reduction_id), with
-- what a reader needs to trace its tCO2e: the activity data and unit, the emission factor (id, version, value,
-- source) it was converted with, the programme and credential id, and the double-counting verdict - claimed,
-- counted and excluded side by side (claimed = counted + excluded). A published download (open data).
with params as (
    {{ phakhi_period() }}
),

claims as (
    select * from {{ ref('fct_ghg_reductions') }}
),

partners as (
    select partner_id, name_th, name_en from {{ ref('dim_partner_versions') }} where is_current
),

programmes as (
    select programme_code, name_en as programme_name_en, name_th as programme_name_th
    from {{ ref('ghg_programmes') }}
),

factors as (
    select factor_id, source as factor_source, source_ref as factor_source_ref
    from {{ ref('emission_factors') }}
)

select
    c.reduction_id,
    c.partner_id,
    p.name_th as partner_name_th,
    p.name_en as partner_name_en,
    c.partner_type,
    c.province_code,
    c.project_id,
    c.sector,
    c.period,
    c.period_start,
    c.method as programme_code,
    pg.programme_name_th,
    pg.programme_name_en,
    c.credential_id,
    c.verification_status,
    c.figure_kind,
    c.reported_tco2e,
    c.activity_amount,
    c.activity_unit,
    c.factor_id,
    c.factor_version,
    c.factor_kgco2e_per_unit,
    f.factor_source,
    f.factor_source_ref,
    c.reduction_tco2e as claimed_tco2e,
    c.counted_tco2e,
    c.reduction_tco2e - c.counted_tco2e as excluded_tco2e,
    c.is_duplicate,
    c.duplicate_of,
    c.duplicate_rule,
    c.claim_group_id,
    c.claim_group_size,
    c.source_file,
    c.source_row
from claims as c
cross join params as pr
left join partners as p using (partner_id)
left join programmes as pg on pg.programme_code = c.method
left join factors as f on f.factor_id = c.factor_id
where c.period_start <= pr.period_start
