-- One row per activity a partner reported (the ACE ledger's grain).
select
    partner_id || '|' || period || '|' || cast(activity_no as varchar) as activity_id,
    partner_id,
    period,
    cast(period || '-01' as date) as period_start,
    cast(activity_no as integer) as activity_no,
    ace_element,
    activity_type,
    title,
    province_code,
    district,
    cast(activity_date as date) as activity_date,
    cast(participants_total as integer) as participants_total,
    cast(participants_female as integer) as participants_female,
    cast(participants_male as integer) as participants_male,
    cast(participants_youth as integer) as participants_youth,
    cast(budget_thb as double) as budget_thb,
    climate_tag,
    ghg_project_id,
    lessons_learned,
    _file as source_file,
    cast(_row as integer) as source_row
from {{ source('partner_reports', 'activity_reports') }}
