-- The registry history has exactly one current version per partner in the registry, and none for a
-- partner that left it.
with current_versions as (
    select partner_id, count(*) as n
    from {{ ref('dim_partner_versions') }}
    where is_current
    group by partner_id
)

select coalesce(r.partner_id, c.partner_id) as partner_id, c.n as current_versions
from {{ ref('stg_registry__partners') }} as r
full outer join current_versions as c using (partner_id)
where r.partner_id is null or c.n is distinct from 1
