-- The ACE ledger: every activity partners reported, one row per activity (partner, month, activity number),
-- with its ACE element, participants by sex and youth, budget, lessons learned and the partner's current
-- attributes. Province: where the activity took place as reported, else the partner's province.
-- participants_unspecified_sex = total - female - male (people whose sex was not recorded).
--
-- Incremental, like fct_ghg_reductions (macros/phakhi_incremental.sql); --full-refresh rebuilds it whole.
{{ phakhi_incremental_fact('activity_id', 'stg_partner_reports__activities', scope_column='period') }}

with activities as (    -- scoped: the months whose rows changed (a row depends on its report row and partner only)
    select * from {{ ref('stg_partner_reports__activities') }} {{ phakhi_scoped_rows('period') }}
),

partners as (
    select * from {{ ref('dim_partner_versions') }} where is_current
),

facts as (
    select
        a.activity_id,
        a.partner_id,
        p.partner_version_id,
        p.partner_type,
        p.peer_group,
        p.province_code as partner_province_code,
        coalesce(a.province_code, p.province_code) as province_code,
        a.province_code is not null as province_reported,
        a.district,
        a.period,
        a.period_start,
        cast(year(a.period_start) as integer) as year,
        a.activity_no,
        a.activity_date,
        a.ace_element,
        a.activity_type,
        a.title,
        a.climate_tag,
        a.ghg_project_id,
        coalesce(a.participants_total, 0) as participants_total,
        coalesce(a.participants_female, 0) as participants_female,
        coalesce(a.participants_male, 0) as participants_male,
        greatest(0, coalesce(a.participants_total, 0) - coalesce(a.participants_female, 0)
                    - coalesce(a.participants_male, 0)) as participants_unspecified_sex,
        coalesce(a.participants_youth, 0) as participants_youth,
        coalesce(a.budget_thb, 0) as budget_thb,
        a.lessons_learned,
        a.source_file,
        a.source_row
    from activities as a
    left join partners as p using (partner_id)
),

hashed as (
    select facts.*, {{ phakhi_row_hash('facts') }} as row_hash
    from facts
)

select h.*
from hashed as h
-- incremental run: only activities that are new or whose content changed
{{ phakhi_changed_rows('activity_id', scope_column='period') }}
