-- Figures of the refreshed month (var 'period') that a partner disputes and DCCE has not resolved yet: the
-- publication shows each as "disputed" with the partner's reason. The figure itself is published unchanged.
with params as (
    {{ phakhi_period() }}
)

select
    r.partner_id,
    r.period,
    r.figure,
    r.comment,
    r.replied_at
from {{ ref('stg_portal__partner_replies') }} as r, params as p
where r.reply = 'dispute' and r.status = 'open' and r.period = p.period
