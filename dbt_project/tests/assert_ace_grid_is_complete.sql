-- The ACE grid is dense: every ACE element (seed ace_elements) x every province (seed provinces) x every month
-- from the first reported month to the refreshed month, each once. Returns a row per shortfall.
with params as (
    {{ phakhi_period() }}
),

grid as (
    select count(*) as cells, count(distinct period) as months, min(period) as first_period, max(period) as last_period
    from {{ ref('mart_ace_indicators') }}
),

expected as (
    select (select count(*) from {{ ref('ace_elements') }}) * (select count(*) from {{ ref('provinces') }}) as per_month,
           date_diff('month', cast(g.first_period || '-01' as date), p.period_start) + 1 as months
    from grid as g, params as p
)

select g.cells, g.months, e.per_month, e.months as expected_months, g.last_period, p.period
from grid as g, expected as e, params as p
where g.months = 0
   or g.last_period <> p.period
   or g.months <> e.months
   or g.cells <> e.per_month * e.months
