-- Each partner's whole pledge, year by year from its base year to its target year: the straight-line required
-- path (the same macro as mart_partner_progress) and what it reduced in each completed calendar year.
with params as (
    {{ phakhi_period() }}
),

partners as (
    select partner_id, pledged_reduction_tco2e, pledge_base_year, target_year
    from {{ ref('mart_partner_progress') }}
    where pledged_reduction_tco2e is not null and target_year > pledge_base_year
),

years as (
    select partner_id, unnest(generate_series(pledge_base_year, target_year)) as year
    from partners
),

annual as (
    select partner_id, year, {{ exact_sum("reduction_tco2e") }} as reduced_tco2e
    from {{ ref('fct_ghg_reductions') }}
    group by all
)

select
    y.partner_id,
    cast(y.year as integer) as year,
    {{ phakhi_required_path('pt.pledged_reduction_tco2e', 'pt.pledge_base_year', 'pt.target_year', 'y.year') }}
        as required_path_tco2e,
    -- only whole years before the refreshed one: the current year is shown as its rolling 12 months
    case when y.year < p.period_year then a.reduced_tco2e end as reduced_in_year_tco2e,
    y.year = pt.target_year as is_target_year
from years as y
join partners as pt using (partner_id)
cross join params as p
left join annual as a on a.partner_id = y.partner_id and a.year = y.year
