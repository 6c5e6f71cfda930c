-- The partner-registry history (snapshot dim_partners, kept in the persistent history database) copied into
-- the warehouse that is published, with peer group and region joined on. One row per partner and version;
-- is_current marks the version in force now.
select
    s.partner_id,
    row_number() over (partition by s.partner_id order by s.dbt_valid_from) as version_no,
    s.dbt_scd_id as partner_version_id,
    cast(s.dbt_valid_from as timestamp) as valid_from,
    cast(s.dbt_valid_to as timestamp) as valid_to,
    s.dbt_valid_to is null as is_current,
    s.name_th,
    s.name_en,
    s.partner_type,
    t.peer_group,
    t.is_local_government,
    s.province_code,
    p.region,
    s.parent_partner_id,
    s.join_date,
    s.pledge_base_year,
    s.baseline_tco2e,
    s.target_year,
    s.reduction_pct,
    s.net_zero_year,
    s.source_file
from {{ ref('dim_partners') }} as s
left join {{ ref('partner_types') }} as t on t.code = s.partner_type
left join {{ ref('provinces') }} as p on p.province_code = s.province_code
