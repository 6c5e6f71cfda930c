-- Reduction claims that quote a credential id (T-VER / Premium T-VER registrations, LESS, CFO and CFR letters), up
-- to the refreshed month, each with its credential key (case- and space-insensitive): what mart_credentials (per
-- credential) and dash_partner_credentials (per partner and credential) aggregate.
with params as (
    {{ phakhi_period() }}
)

select
    c.*,
    {{ credential_key('c.credential_id') }} as credential_key
from {{ ref('fct_ghg_reductions') }} as c, params as p
where c.credential_id is not null
  and trim(c.credential_id) <> ''
  and c.period_start <= p.period_start
