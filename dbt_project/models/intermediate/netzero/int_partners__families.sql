-- Each current partner with the root of its family (following parent_partner_id upwards) and its depth
-- (0 = a partner with no parent). A reduction claimed by two members of one family is claimed twice.
-- The walk stops after 10 levels, so a cycle in the registry cannot loop forever (and is flagged by a test).
with recursive partners as (
    select partner_id, parent_partner_id
    from {{ ref('dim_partner_versions') }}
    where is_current
),

chain (partner_id, ancestor_id, depth) as (
    select partner_id, partner_id, 0
    from partners
    union all
    select c.partner_id, p.parent_partner_id, c.depth + 1
    from chain as c
    join partners as p on p.partner_id = c.ancestor_id
    where p.parent_partner_id is not null and c.depth < 10
)

select
    partner_id,
    arg_max(ancestor_id, depth) as root_partner_id,
    max(depth) as family_depth,
    list(ancestor_id order by depth) filter (where depth > 0) as ancestor_ids
from chain
group by partner_id
