-- Which months the publication is complete for, and which months' reports arrived but are held: one row per
-- month from the first month with partner reports to the later of the refreshed month and the last month any
-- report carries. status:
--   published  the refreshed month and the months before it: every figure on the site is as of the refreshed
--              month and includes them (reports that arrive later for them are added at the next refresh)
--   held       a month after the refreshed one: its reports were received and kept, but it is not published
--              until a refresh for that month (one partner's early or mis-dated file never moves the dashboard)
-- Months after the refreshed one appear only when some report for them arrived.
-- partners_reporting: partners with an activity or GHG report for the month; partners_registered: partners
-- who had joined by the end of the month (current registry).
with params as (
    {{ phakhi_period() }}
),

reports as (
    select partner_id, period_start from {{ ref('fct_ghg_reductions') }}
    union
    select partner_id, period_start from {{ ref('fct_activities') }}
),

bounds as (
    select
        coalesce(min(r.period_start), p.period_start) as first_start,
        greatest(coalesce(max(r.period_start), p.period_start), p.period_start) as last_start
    from params as p left join reports as r on true
    group by p.period_start
),

months as (
    select cast(unnest(generate_series(b.first_start, b.last_start, interval 1 month)) as date) as period_start
    from bounds as b
),

registered as (
    select m.period_start, count(d.partner_id) as partners_registered
    from months as m
    left join {{ ref('dim_partner_versions') }} as d
        on d.is_current and (d.join_date is null or d.join_date <= last_day(m.period_start))
    group by m.period_start
),

months_with_status as (
    select
        strftime(m.period_start, '%Y-%m') as period,
        m.period_start,
        case when m.period_start <= p.period_start then 'published' else 'held' end as status,
        count(distinct r.partner_id) as partners_reporting,
        g.partners_registered,
        m.period_start = p.period_start as is_refreshed_month
    from months as m
    cross join params as p
    left join reports as r on r.period_start = m.period_start
    left join registered as g on g.period_start = m.period_start
    group by m.period_start, p.period_start, g.partners_registered
)

-- a month after the refreshed one is listed only when reports for it arrived
select * from months_with_status
where status = 'published' or partners_reporting > 0
