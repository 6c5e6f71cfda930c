-- The traffic light of every partner, province and sector: one rule (macro phakhi_progress_light) with its
-- threshold from the dashboard_thresholds seed.
with thresholds as (
    select max(value) filter (where threshold = 'progress_amber_from') as amber_from
    from {{ ref('dashboard_thresholds') }}
),

judged as (
    select 'partner' as scope, partner_id as code, track_status, pct_of_required_path
    from {{ ref('mart_partner_progress') }}
    union all
    select 'province', province_code, track_status, pct_of_required_path from {{ ref('mart_province_summary') }}
    union all
    select 'sector', sector, track_status, pct_of_required_path from {{ ref('mart_sector_progress') }}
)

select
    j.scope,
    j.code,
    coalesce(j.track_status, 'no_data') as track_status,
    j.pct_of_required_path,
    {{ phakhi_progress_light('j.track_status', 'j.pct_of_required_path', 't.amber_from') }} as light,
    t.amber_from
from judged as j cross join thresholds as t
