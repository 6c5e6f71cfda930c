-- The targets registry (seed `targets`) as of the refreshed month: which target is in force, on which basis,
-- and the parameters of its trajectory. A target is in force for a date when valid_from <= date and
-- (valid_to is blank or date <= valid_to); this model judges it on the last day of the refreshed month.
with targets as (
    select * from {{ ref('targets') }}
),

params as (
    {{ phakhi_period() }}
)

select
    t.target_id,
    t.name_th,
    t.name_en,
    t.target_kind,
    t.basis,
    t.includes_lulucf,
    t.gwp_set,
    t.conditional,
    t.reference_year,
    t.reference_value_mtco2e,
    t.target_year,
    t.target_value_mtco2e,
    t.reduction_pct,
    t.path_start_year,
    t.path_start_value_mtco2e,
    t.path_start_note,
    t.path_start_year is not null and t.path_start_value_mtco2e is not null and t.target_value_mtco2e is not null
        and t.target_year > t.path_start_year as has_path,
    (t.target_value_mtco2e - t.path_start_value_mtco2e)
        / nullif(t.target_year - t.path_start_year, 0) as path_slope_mtco2e_per_year,
    t.valid_from,
    t.valid_to,
    t.superseded_by,
    p.period as as_of_period,
    t.valid_from <= p.period_end and (t.valid_to is null or p.period_end <= t.valid_to) as in_force_at_period,
    case
        when t.valid_from > p.period_end then 'not_yet_in_force'
        when t.valid_to is not null and t.valid_to < p.period_end then 'superseded'
        else 'in_force'
    end as status_at_period,
    -- the official inventory series on the target's own basis (BTR1), used for the gap to the target
    case
        when t.includes_lulucf = true then 'btr1_net_incl_lulucf'
        when t.includes_lulucf = false then 'btr1_gross_excl_lulucf'
    end as inventory_series_id,
    case t.basis
        when 'bau_relative' then 'below projected business-as-usual (gross'
            || case when t.includes_lulucf = false then ', excl. LULUCF' else '' end || ')'
        when 'absolute_net' then 'absolute net emissions'
            || case when t.includes_lulucf = true then ' incl. LULUCF' else '' end
        else 'basis not stated in project sources'
    end || coalesce(', ' || t.gwp_set || ' GWP-100', '') as basis_label_en,
    case t.basis
        when 'bau_relative' then 'เทียบกับกรณีปกติ (BAU) แบบรวม'
            || case when t.includes_lulucf = false then ' ไม่รวมภาคป่าไม้และการใช้ที่ดิน' else '' end
        when 'absolute_net' then 'การปล่อยสุทธิ (สัมบูรณ์)'
            || case when t.includes_lulucf = true then ' รวมภาคป่าไม้และการใช้ที่ดิน' else '' end
        else 'แหล่งข้อมูลไม่ระบุฐานการคำนวณ'
    end as basis_label_th,
    t.source,
    t.source_ref,
    t.source_note
from targets as t
cross join params as p
