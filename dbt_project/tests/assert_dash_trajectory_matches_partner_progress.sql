-- The partner page's trajectory ends where the partner's status is judged: at the refreshed month its rolling
-- 12-month sum is the mart's reductions_12m_tco2e and its required path is the mart's required_path_tco2e.
with params as (
    {{ phakhi_period() }}
)

select t.partner_id, t.rolling_12m_tco2e, p.reductions_12m_tco2e, t.required_path_tco2e, p.required_path_tco2e
from {{ ref('dash_partner_trajectory') }} as t
join {{ ref('mart_partner_progress') }} as p using (partner_id)
cross join params
where t.period = params.period
  and (abs(t.rolling_12m_tco2e - p.reductions_12m_tco2e) > 1e-6
       or t.required_path_tco2e is distinct from p.required_path_tco2e)
union all
-- every partner has a trajectory row for the refreshed month
select p.partner_id, null, p.reductions_12m_tco2e, null, p.required_path_tco2e
from {{ ref('mart_partner_progress') }} as p
where p.partner_id not in (select partner_id from {{ ref('dash_partner_trajectory') }}
                           where period = (select period from params))
