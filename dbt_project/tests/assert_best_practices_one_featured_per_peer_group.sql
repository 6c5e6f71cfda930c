-- The case catalogue features exactly one case per peer group (partner type) that has cases.
select partner_type, count(*) filter (where is_featured) as featured
from {{ ref('mart_best_practices') }}
group by partner_type
having count(*) filter (where is_featured) <> 1
