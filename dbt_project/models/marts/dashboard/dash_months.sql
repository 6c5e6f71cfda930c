-- Every month the dashboard's time axes show: from the first month with partner data (or the start of the
-- 12-month window, if earlier) to the refreshed month. in_window marks the 12 months the status is judged on.
with params as (
    {{ phakhi_period() }}
),

first_data as (
    select least(
        (select min(period_start) from {{ ref('fct_ghg_reductions') }}),
        (select min(period_start) from {{ ref('mart_ace_indicators') }})
    ) as first_start
),

months as (
    select cast(unnest(generate_series(least(coalesce(f.first_start, p.window_start), p.window_start),
                                       p.period_start, interval 1 month)) as date) as period_start
    from params as p cross join first_data as f
)

select
    strftime(m.period_start, '%Y-%m') as period,
    m.period_start,
    year(m.period_start) as year,
    month(m.period_start) as month,
    m.period_start >= p.window_start as in_window,
    datediff('month', m.period_start, p.period_start) as months_before_period
from months as m cross join params as p
