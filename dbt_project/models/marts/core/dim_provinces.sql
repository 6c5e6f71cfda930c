-- Thailand's 77 provinces (seed `provinces`, ISO 3166-2:TH) with region and tile-map position, and how many
-- current registry partners sit in each.
with partners as (
    select province_code, count(*) as partners_registered
    from {{ ref('dim_partner_versions') }}
    where is_current
    group by province_code
)

select
    p.province_code,
    p.name_th,
    p.name_en,
    p.region,
    p.region_th,
    p.region_en,
    p.grid_row,
    p.grid_col,
    coalesce(pt.partners_registered, 0) as partners_registered,
    p.source,
    p.version as seed_version
from {{ ref('provinces') }} as p
left join partners as pt using (province_code)
