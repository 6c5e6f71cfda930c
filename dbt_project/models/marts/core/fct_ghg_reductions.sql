-- GHG reduction claims: one row per partner project and month (reduction_id), in tCO2e, with the emission
-- factor (id, version, value) used when the partner sent activity data, the partner's current attributes and
-- the double-counting verdict (int_ghg__claims_deduplicated). Roll-ups sum counted_tco2e: a reduction
-- claimed twice counts once.
--
-- Incremental (see macros/phakhi_incremental.sql): an incremental run rewrites only rows that are new or
-- changed - including every converted row when an emission factor is revised - and deletes rows whose claim
-- left the source; `dbt build --full-refresh` rebuilds it whole. Both give the same table (tested).
{{ phakhi_incremental_fact('reduction_id', 'int_ghg__claims_deduplicated', scope_column='period') }}

with claims as (    -- scoped: the months whose claims changed (a row depends on its claim and partner only)
    select * from {{ ref('int_ghg__claims_deduplicated') }} {{ phakhi_scoped_rows('period') }}
),

partners as (
    select * from {{ ref('dim_partner_versions') }} where is_current
),

programmes as (
    select * from {{ ref('ghg_programmes') }}
),

facts as (
    select
        c.reduction_id,
        c.partner_id,
        p.partner_version_id,
        p.partner_type,
        p.peer_group,
        p.province_code,
        p.region,
        c.root_partner_id,
        c.family_depth,
        c.project_id,
        c.sector,
        c.period,
        c.period_start,
        cast(year(c.period_start) as integer) as year,
        c.method,
        pg.third_party_verified as programme_third_party_verified,
        pg.tradable_credits as programme_tradable,
        c.credential_id,
        c.verification_status,
        c.reported_tco2e,
        c.activity_amount,
        c.activity_unit,
        c.factor_id,
        c.factor_version,
        c.factor_kgco2e_per_unit,
        c.figure_kind,
        c.reduction_tco2e,
        c.is_duplicate,
        c.duplicate_of,
        c.duplicate_rule,
        c.duplicate_reasons,
        c.claim_group_id,
        c.claim_group_size,
        c.counted_tco2e,
        c.source_file,
        c.source_row
    from claims as c
    left join partners as p using (partner_id)
    left join programmes as pg on pg.programme_code = c.method
),

hashed as (
    select facts.*, {{ phakhi_row_hash('facts') }} as row_hash
    from facts
)

select h.*
from hashed as h
-- incremental run: only claims that are new or whose content changed
{{ phakhi_changed_rows('reduction_id', scope_column='period') }}
