-- Every GHG reduction claim with its double-counting verdict.
--
-- Two claims for the same month are the SAME reduction when they
--   (a) carry the same credential id (case/space-insensitive), or
--   (b) name the same project within one partner family (a partner and its parent/child via parent_partner_id)
--       - e.g. a project claimed by the child under T-VER and by the parent under LESS.
-- Claims linked directly or through a chain of such links form one group; each group is counted ONCE: the
-- claim kept is the one under the preferred programme (seed ghg_programmes.dedup_priority: Premium T-VER,
-- T-VER, LESS, CFR, CFO, CFP, self-estimate), then the deepest family member (the partner that runs the
-- project rather than the parent consolidating it), then the lowest reduction_id. The others are flagged
-- is_duplicate and count 0 in every roll-up.
-- Not detectable: a parent reporting a consolidated figure with neither the child's project id nor its
-- credential (docs/monitor.md).
--
-- A table, not a view like the other intermediate models: the recursive linking is the costliest query of the
-- GHG chain, and a view is computed again by each of its ~6 reads in a build (fct_ghg_reductions and its
-- vanished-keys post-hook, their column checks' scans and sums): 1.4 s of thread time for its own check alone
-- on a quarter-scale month (issue 17).
-- Incremental with the facts' header (macros/phakhi_incremental.sql) but no fingerprints: every claim of the
-- months built is written again. A claim's group and verdict depend on the claims of its own month only (links
-- join on the period; the rank only orders a group's members), so a build the plan scoped to the months whose
-- claims changed (phakhi_scoped_rows) recomputes those months, and the others are what a full build makes
-- (issue 17: the recursive grouping of every month's claims was the month's third model). Unscoped: every claim.
{{ phakhi_incremental_fact('reduction_id', 'int_ghg__reductions_converted', scope_column='period') }}
with recursive claims as (
    select
        c.*,
        coalesce(f.root_partner_id, c.partner_id) as root_partner_id,
        coalesce(f.family_depth, 0) as family_depth,
        coalesce(pg.dedup_priority, 99) as programme_priority,
        nullif(upper(regexp_replace(c.credential_id, '\s+', '', 'g')), '') as credential_key
    from {{ ref('int_ghg__reductions_converted') }} as c
    left join {{ ref('int_partners__families') }} as f using (partner_id)
    left join {{ ref('ghg_programmes') }} as pg on pg.programme_code = c.method
    {{ phakhi_scoped_rows('c.period') }}
),

ranked as (
    select *, row_number() over (order by programme_priority, family_depth desc, reduction_id) as claim_rank
    from claims
),

edges as (
    select a.reduction_id as a_id, b.reduction_id as b_id
    from ranked as a
    join ranked as b
        on a.period = b.period and a.credential_key = b.credential_key and a.reduction_id <> b.reduction_id
    union
    select a.reduction_id, b.reduction_id
    from ranked as a
    join ranked as b
        on a.period = b.period and a.root_partner_id = b.root_partner_id and a.project_id = b.project_id
        and a.reduction_id <> b.reduction_id
),

-- connected components over the links (UNION deduplicates, so the recursion ends)
reach (reduction_id, member_id) as (
    select a_id, a_id from edges
    union
    select r.reduction_id, e.b_id
    from reach as r
    join edges as e on e.a_id = r.member_id
),

groups as (
    select
        r.reduction_id,
        arg_min(r.member_id, m.claim_rank) as kept_reduction_id,
        count(*) as claim_group_size
    from reach as r
    join ranked as m on m.reduction_id = r.member_id
    group by r.reduction_id
),

judged as (
    select
        c.*,
        coalesce(g.kept_reduction_id, c.reduction_id) as claim_group_id,
        coalesce(g.claim_group_size, 1) as claim_group_size,
        coalesce(g.kept_reduction_id <> c.reduction_id, false) as is_duplicate,
        k.reduction_id as kept_id,
        k.partner_id as kept_partner_id,
        k.method as kept_method,
        k.credential_key as kept_credential_key,
        k.root_partner_id as kept_root_partner_id,
        k.project_id as kept_project_id
    from ranked as c
    left join groups as g using (reduction_id)
    left join ranked as k on k.reduction_id = g.kept_reduction_id
),

reasoned as (
    select
        reduction_id,
        partner_id,
        project_id,
        sector,
        period,
        period_start,
        method,
        credential_id,
        credential_key,
        verification_status,
        reported_tco2e,
        activity_amount,
        activity_unit,
        factor_id,
        factor_version,
        factor_kgco2e_per_unit,
        reduction_tco2e,
        figure_kind,
        root_partner_id,
        family_depth,
        programme_priority,
        claim_group_id,
        claim_group_size,
        is_duplicate,
        case when is_duplicate then kept_id end as duplicate_of,
        case when is_duplicate then nullif(concat_ws('+',
            case when credential_key = kept_credential_key then 'same_credential' end,
            case when root_partner_id = kept_root_partner_id and project_id = kept_project_id
                      and ((method in ('t_ver', 'premium_t_ver') and kept_method = 'less')
                           or (method = 'less' and kept_method in ('t_ver', 'premium_t_ver')))
                 then 'tver_and_less' end,
            case when root_partner_id = kept_root_partner_id and partner_id <> kept_partner_id
                 then 'parent_and_child' end
        ), '') end as reasons,
        case when is_duplicate then 0.0 else reduction_tco2e end as counted_tco2e,
        source_file,
        source_row
    from judged
)

select
    * exclude (reasons),
    case when is_duplicate then coalesce(reasons, 'linked_claim') end as duplicate_reasons,
    case when is_duplicate then split_part(coalesce(reasons, 'linked_claim'), '+', 1) end as duplicate_rule
from reasoned
