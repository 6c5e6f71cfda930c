-- Double counting: every group of linked claims has exactly one counted claim, that claim is the group's
-- id and is not itself a duplicate, and every duplicate points at it.
with groups as (
    select
        claim_group_id,
        count(*) filter (where not is_duplicate) as counted_claims,
        bool_or(reduction_id = claim_group_id and not is_duplicate) as head_is_counted,
        bool_and(duplicate_of is null or duplicate_of = claim_group_id) as duplicates_point_at_head
    from {{ ref('fct_ghg_reductions') }}
    group by claim_group_id
)

select *
from groups
where counted_claims <> 1 or not head_is_counted or not duplicates_point_at_head
