-- The national headline (one row): the target in force that is due soonest (or, when all have passed, the one
-- that ended first), where the latest inventory on its basis stands against its path (a BTR inventory is
-- preferred over other observed series when there is one), the share of the gap partners' counted
-- reductions close, and the latest partner reductions counted.
with params as (
    {{ phakhi_period() }}
),

nat as (
    select * from {{ ref('mart_national_progress') }}
),

in_force as (
    select target_id, max(year) as end_year
    from nat
    where series_kind = 'target' and coalesce(target_in_force_at_period, false)
    group by target_id
),

chosen as (
    select i.target_id
    from in_force as i cross join params as p
    order by i.end_year < p.period_year, i.end_year, i.target_id
    limit 1
),

path as (
    select n.* from nat as n join chosen using (target_id)
    where n.series_kind = 'target' and coalesce(n.target_in_force_at_period, false)
),

path_info as (
    select target_id, arg_min(basis, year) as basis, arg_min(series_label_th, year) as label_th,
           arg_min(series_label_en, year) as label_en, arg_min(source, year) as source,
           max(year) as end_year, arg_max(value, year) as end_value
    from path group by target_id
),

observed as (
    select n.*, upper(n.source) like 'BTR%' as is_btr
    from nat as n join path_info as pi on n.basis = pi.basis
    where n.series_kind = 'observed' and n.measure = 'emissions'
),

latest as (
    select * from observed
    where is_btr or not exists (select 1 from observed where is_btr)
    order by year desc, series_id desc
    limit 1
),

gap as (
    select n.* from nat as n join chosen using (target_id) where n.measure = 'gap_share' order by n.year desc limit 1
),

counted as (
    select * from nat where series_id = 'partner_reductions_counted' order by year desc limit 1
)

select
    pi.target_id,
    coalesce(t.name_th, pi.label_th) as name_th,
    coalesce(t.name_en, pi.label_en) as name_en,
    coalesce(t.basis_label_th, bl.label_th, pi.basis) as basis_th,
    coalesce(t.basis_label_en, bl.label_en, pi.basis) as basis_en,
    coalesce(t.target_year, pi.end_year) as target_year,
    coalesce(t.target_value_mtco2e, pi.end_value) as target_value_mtco2e,
    coalesce(t.source, pi.source) as source,
    l.year as latest_year,
    l.value as latest_value,
    l.source as latest_source,
    (select p.value from path as p where p.year = l.year limit 1) as path_at_latest,
    g.year as gap_share_year,
    g.value as gap_share_value,
    g.source_detail as gap_share_source_detail,
    c.year as partner_counted_year,
    c.value as partner_counted_value
from path_info as pi
left join {{ ref('dim_targets') }} as t using (target_id)
left join {{ ref('dash_labels') }} as bl on bl.kind = 'basis' and bl.code = pi.basis
left join latest as l on true
left join gap as g on true
left join counted as c on true
