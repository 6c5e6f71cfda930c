-- Each partner's reductions month by month, from its first claim (or the start of the 12-month window) to the
-- refreshed month: claimed and counted in the month, the rolling 12-month sum the status is judged on, and the
-- required path of that month's year (the same macro as mart_partner_progress). Drawn on partner pages.
with params as (
    {{ phakhi_period() }}
),

partners as (
    select partner_id, pledged_reduction_tco2e, pledge_base_year, target_year from {{ ref('mart_partner_progress') }}
),

claims as (
    select c.partner_id, c.period_start, {{ exact_sum("c.reduction_tco2e") }} as reduced_tco2e, {{ exact_sum("c.counted_tco2e") }} as counted_tco2e
    from {{ ref('fct_ghg_reductions') }} as c, params as p
    where c.period_start <= p.period_start
    group by all
),

firsts as (
    select pt.partner_id, least(coalesce(min(c.period_start), p.window_start), p.window_start) as first_start
    from partners as pt
    cross join params as p
    left join claims as c using (partner_id)
    group by pt.partner_id, p.window_start
),

months as (
    select f.partner_id,
           cast(unnest(generate_series(f.first_start, p.period_start, interval 1 month)) as date) as period_start
    from firsts as f cross join params as p
),

filled as (
    select
        m.partner_id,
        m.period_start,
        coalesce(c.reduced_tco2e, 0) as reduced_tco2e,
        coalesce(c.counted_tco2e, 0) as counted_tco2e
    from months as m
    left join claims as c using (partner_id, period_start)
)

select
    f.partner_id,
    strftime(f.period_start, '%Y-%m') as period,
    f.period_start,
    f.reduced_tco2e,
    f.counted_tco2e,
    -- exact as exact_sum: the frame's doubles summed as decimals (the same value whatever the order)
    cast(sum(cast(f.reduced_tco2e as decimal(38, 9))) over (partition by f.partner_id order by f.period_start
                               rows between 11 preceding and current row) as double) as rolling_12m_tco2e,
    {{ phakhi_required_path('pt.pledged_reduction_tco2e', 'pt.pledge_base_year', 'pt.target_year',
                            'year(f.period_start)') }} as required_path_tco2e
from filled as f
join partners as pt using (partner_id)
