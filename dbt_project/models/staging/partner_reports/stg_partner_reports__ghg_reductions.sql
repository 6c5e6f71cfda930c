-- One row per partner project and month, as reported: a direct tCO2e figure or activity data + unit.
select
    partner_id || '|' || project_id || '|' || period as reduction_id,
    partner_id,
    project_id,
    sector,
    period,
    cast(period || '-01' as date) as period_start,
    cast(reduction_tco2e as double) as reported_tco2e,
    cast(activity_amount as double) as activity_amount,
    activity_unit,
    method,
    nullif(trim(credential_id), '') as credential_id,
    verification_status,
    _file as source_file,
    cast(_row as integer) as source_row
from {{ source('partner_reports', 'ghg_reductions') }}
