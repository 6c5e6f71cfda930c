-- The nation, per year, in one long table: every value is labelled observed, projected or target in
-- `series_kind` (never mixed within a series), with its source, basis and unit.
--   observed   national inventory series (seed national_inventory: BTR1, CAIT, EDGAR, EPPO - never merged) and
--              BTR1 reductions credited against BAU (seed national_inventory_supplementary);
--              partner-attributed reductions per calendar year up to the refreshed month (claimed, duplicate
--              claims, counted once); the share of the gap to each target in force that they close
--   projected  the BAU 2030 projection BAU-relative targets refer to; the current year's counted partner
--              reductions annualised when the year is not complete
--   target     the straight-line path of every target that states a level (int_targets__trajectories), with
--              target_in_force_at_period / target_status so superseded targets stay visible but marked
-- Gap share (docs/monitor.md): for calendar year Y and each target in force on min(31 Dec Y, end of the
-- refreshed month) that states a level:
--   gap_mtco2e = latest BTR1 inventory on the target's basis (year <= Y) - target_value_mtco2e
--   share      = partner reductions counted in Y (MtCO2e) / gap_mtco2e
-- (shown only while a gap remains, i.e. the latest inventory is above the target level)
with params as (
    {{ phakhi_period() }}
),

targets as (
    select * from {{ ref('dim_targets') }}
),

inventory as (
    select * from {{ ref('national_inventory') }}
),

-- national figures that are not emission levels: BTR1 reductions credited against BAU (sector splits stay out)
supplementary as (
    select observation_id, series_id, source, source_ref, year, measure as scope, value_mtco2e, version
    from {{ ref('national_inventory_supplementary') }}
    where sector_code is null
),

inventory_rows as (
    select
        i.year,
        'observed' as series_kind,
        i.series_id,
        case i.scope when 'reductions_vs_bau' then 'reductions' else 'emissions' end as measure,
        i.source || ' ' || replace(i.scope, '_', ' ') as series_label_en,
        i.source || ' ' || case i.scope
            when 'gross_excl_lulucf' then 'การปล่อยรวม ไม่รวมภาคป่าไม้และการใช้ที่ดิน'
            when 'net_incl_lulucf' then 'การปล่อยสุทธิ รวมภาคป่าไม้และการใช้ที่ดิน'
            when 'energy_co2' then 'CO2 จากภาคพลังงาน'
            when 'reductions_vs_bau' then 'ปริมาณที่ลดได้เทียบกับกรณีปกติ'
        end as series_label_th,
        i.value_mtco2e as value,
        case when i.scope = 'energy_co2' then 'MtCO2' else 'MtCO2e' end as unit,
        i.source,
        i.scope as basis,
        cast(null as varchar) as target_id,
        i.version || '; ' || i.source_ref as source_detail
    from (
        select observation_id, series_id, source, source_ref, year, scope, value_mtco2e, version from inventory
        union all
        select * from supplementary
    ) as i
),

bau_rows as (
    select distinct
        t.reference_year as year,
        'projected' as series_kind,
        'bau_projection' as series_id,
        'emissions' as measure,
        'Business-as-usual projection referred to by BAU-relative targets' as series_label_en,
        'ประมาณการกรณีปกติ (BAU) ที่เป้าหมายแบบเทียบกับกรณีปกติอ้างอิง' as series_label_th,
        t.reference_value_mtco2e as value,
        'MtCO2e' as unit,
        'NDC (BAU-relative targets)' as source,
        'gross_excl_lulucf' as basis,
        cast(null as varchar) as target_id,
        'targets seed reference_value_mtco2e (domain-facts: BAU2030 about 555 MtCO2e)' as source_detail
    from targets as t
    where t.basis = 'bau_relative' and t.reference_value_mtco2e is not null
),

path_rows as (
    select
        tr.year,
        'target' as series_kind,
        'target_path__' || t.target_id as series_id,
        'emissions' as measure,
        t.name_en || ' - straight-line path' as series_label_en,
        t.name_th || ' - เส้นทางเป้าหมาย' as series_label_th,
        tr.path_value_mtco2e as value,
        'MtCO2e' as unit,
        t.source,
        case when t.includes_lulucf then 'net_incl_lulucf' else 'gross_excl_lulucf' end as basis,
        t.target_id,
        t.path_start_note as source_detail
    from {{ ref('int_targets__trajectories') }} as tr
    join targets as t using (target_id)
),

partner_years as (
    select
        f.year,
        {{ exact_sum("f.reduction_tco2e") }} as claimed_tco2e,
        {{ exact_sum("case when f.is_duplicate then f.reduction_tco2e else 0 end") }} as duplicate_tco2e,
        {{ exact_sum("f.counted_tco2e") }} as counted_tco2e,
        count(distinct f.period) as months_with_claims,
        max(f.period_start) as last_month
    from {{ ref('fct_ghg_reductions') }} as f, params as p
    where f.period_start <= p.period_start
    group by f.year
),

partner_rows as (
    {%- set partner_series = [
        ('partner_reductions_claimed', 'claimed_tco2e', 'Reductions claimed by partners (all claims)',
         'ปริมาณก๊าซที่ภาคีรายงานว่าลดได้ (ทุกรายการ)', 'fct_ghg_reductions.reduction_tco2e'),
        ('partner_reductions_duplicate', 'duplicate_tco2e', 'Claims flagged as double counting (excluded)',
         'รายการที่นับซ้ำ (ไม่นับรวม)', 'fct_ghg_reductions.reduction_tco2e where is_duplicate'),
        ('partner_reductions_counted', 'counted_tco2e', 'Partner-attributed reductions, each counted once',
         'ปริมาณก๊าซที่ภาคีลดได้ (นับครั้งเดียว)', 'fct_ghg_reductions.counted_tco2e'),
    ] %}
    {%- for series_id, column, label_en, label_th, detail in partner_series %}
    select
        year,
        'observed' as series_kind,
        '{{ series_id }}' as series_id,
        'reductions' as measure,
        '{{ label_en }}' as series_label_en,
        '{{ label_th }}' as series_label_th,
        {{ column }} as value,
        'tCO2e' as unit,
        'DCCE partner reports (Phakhi)' as source,
        'partner_claims' as basis,
        cast(null as varchar) as target_id,
        '{{ detail }}; ' || months_with_claims || ' month(s) with claims' as source_detail
    from partner_years
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

projected_rows as (
    select
        y.year,
        'projected' as series_kind,
        'partner_reductions_counted_annualised' as series_id,
        'reductions' as measure,
        'Partner-attributed reductions, current year annualised (x 12 / months elapsed)' as series_label_en,
        'ปริมาณก๊าซที่ภาคีลดได้ ประมาณทั้งปี (x 12 / จำนวนเดือนที่ผ่านไป)' as series_label_th,
        y.counted_tco2e * 12.0 / p.period_month as value,
        'tCO2e' as unit,
        'DCCE partner reports (Phakhi)' as source,
        'partner_claims' as basis,
        cast(null as varchar) as target_id,
        'projection: counted reductions January-' || p.period || ' x 12 / ' || p.period_month as source_detail
    from partner_years as y, params as p
    where y.year = p.period_year and p.period_month < 12
),

-- targets in force for each year's judgement date, with the latest official inventory on their basis
gap as (
    select
        y.year,
        t.target_id,
        t.name_en,
        t.name_th,
        t.source,
        case when t.includes_lulucf then 'net_incl_lulucf' else 'gross_excl_lulucf' end as basis,
        y.counted_tco2e,
        arg_max(i.value_mtco2e, i.year) as inventory_mtco2e,
        max(i.year) as inventory_year,
        t.target_value_mtco2e
    from partner_years as y
    cross join params as p
    join targets as t
        on t.target_value_mtco2e is not null
        and t.valid_from <= least(p.period_end, make_date(y.year, 12, 31))
        and (t.valid_to is null or least(p.period_end, make_date(y.year, 12, 31)) <= t.valid_to)
    join inventory as i on i.series_id = t.inventory_series_id and i.year <= y.year
    group by all
),

gap_rows as (
    select
        year,
        'observed' as series_kind,
        'partner_share_of_gap__' || target_id as series_id,
        'gap_share' as measure,
        'Share of the gap to "' || name_en || '" closed by counted partner reductions' as series_label_en,
        'สัดส่วนของช่องว่างถึงเป้าหมาย "' || name_th || '" ที่ภาคีลดได้' as series_label_th,
        (counted_tco2e / 1e6) / nullif(inventory_mtco2e - target_value_mtco2e, 0) as value,
        'share' as unit,
        source,
        basis,
        target_id,
        'gap = BTR1 ' || inventory_year || ' ' || round(inventory_mtco2e, 2) || ' - target '
            || target_value_mtco2e || ' = ' || round(inventory_mtco2e - target_value_mtco2e, 2) || ' MtCO2e'
            as source_detail
    from gap
    where inventory_mtco2e > target_value_mtco2e      -- no gap left to close: no share (the paths show it)
),

unioned as (
    select * from inventory_rows
    union all select * from bau_rows
    union all select * from path_rows
    union all select * from partner_rows
    union all select * from projected_rows
    union all select * from gap_rows
)

select
    u.year,
    u.series_kind,
    u.series_id,
    u.measure,
    u.series_label_en,
    u.series_label_th,
    u.value,
    u.unit,
    u.source,
    u.basis,
    u.target_id,
    t.in_force_at_period as target_in_force_at_period,
    t.status_at_period as target_status,
    u.source_detail,
    p.period as as_of_period
from unioned as u
cross join params as p
left join targets as t using (target_id)
