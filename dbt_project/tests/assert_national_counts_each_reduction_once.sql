-- The national roll-up equals the sum over partners minus the flagged duplicates, and equals the facts:
--   for each year: partner_reductions_counted = claimed - duplicate = sum(fct counted_tco2e)
--   for the refreshed year, when the refreshed month is December (the 12-month window is that year):
--   counted = sum(mart_partner_progress.reductions_12m_tco2e) - sum(duplicate_12m_tco2e)
with params as (
    {{ phakhi_period() }}
),

national as (
    select
        year,
        sum(value) filter (where series_id = 'partner_reductions_claimed') as claimed,
        sum(value) filter (where series_id = 'partner_reductions_duplicate') as duplicate,
        sum(value) filter (where series_id = 'partner_reductions_counted') as counted
    from {{ ref('mart_national_progress') }}
    where series_kind = 'observed' and measure = 'reductions' and series_id like 'partner_%'
    group by year
),

facts as (
    select f.year, sum(f.counted_tco2e) as counted
    from {{ ref('fct_ghg_reductions') }} as f, params as p
    where f.period_start <= p.period_start
    group by f.year
),

partners as (
    select sum(reductions_12m_tco2e) - sum(duplicate_12m_tco2e) as counted
    from {{ ref('mart_partner_progress') }}
)

select 'national vs facts' as check_name, coalesce(n.year, f.year) as year, n.counted as national, f.counted as other
from national as n
full outer join facts as f using (year)
where abs(coalesce(n.counted, 0) - coalesce(f.counted, 0)) > 1e-6

union all

select 'claimed - duplicate', year, counted, claimed - duplicate
from national
where abs(counted - (claimed - duplicate)) > 1e-6

union all

select 'national vs partner sum', p.period_year, n.counted, pt.counted
from params as p
cross join partners as pt
left join national as n on n.year = p.period_year
where p.period_month = 12 and abs(coalesce(n.counted, 0) - coalesce(pt.counted, 0)) > 1e-6
