-- Activities per ACE element and month, every month from the first ACE report to the refreshed month (months
-- without activity are 0): the ACE page's time series and the input of the element's light.
with params as (
    {{ phakhi_period() }}
),

ace as (
    select a.* from {{ ref('mart_ace_indicators') }} as a, params as p where a.period_start <= p.period_start
),

elements as (
    select element_code, min(element_order) as element_order from ace group by element_code
),

months as (
    select cast(unnest(generate_series((select min(period_start) from ace), p.period_start, interval 1 month)) as date)
        as period_start
    from params as p
),

monthly as (
    select element_code, period_start, sum(activities) as activities from ace group by all
)

select
    e.element_code,
    e.element_order,
    strftime(m.period_start, '%Y-%m') as period,
    m.period_start,
    datediff('month', m.period_start, p.period_start) as months_before_period,
    coalesce(x.activities, 0) as activities
from elements as e
cross join months as m
cross join params as p
left join monthly as x on x.element_code = e.element_code and x.period_start = m.period_start
