-- One row per partner with its pledge. The contact e-mail stays in raw: it is never published.
select
    partner_id,
    name_th,
    coalesce(name_en, name_th) as name_en,
    partner_type,
    province_code,
    parent_partner_id,
    cast(join_date as date) as join_date,
    cast(pledge_base_year as integer) as pledge_base_year,
    cast(baseline_tco2e as double) as baseline_tco2e,
    cast(target_year as integer) as target_year,
    cast(reduction_pct as double) as reduction_pct,
    cast(net_zero_year as integer) as net_zero_year,
    _file as source_file
from {{ source('registry', 'partner_registry') }}
