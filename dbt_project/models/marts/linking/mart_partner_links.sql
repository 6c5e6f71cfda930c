-- Partner-partner links, one row per partner pair (partner_a < partner_b) and link type, up to the refreshed
-- month:
--   joint_activity     activities one partner reported with the other named as co-organiser
--                      (mart_co_organiser_mentions, matched by id or registered name); weight = activities
--   shared_credential  both claimed reductions under the same GHG credential (fct_ghg_reductions.credential_id,
--                      duplicates included: a shared credential is a tie even when one claim is not counted);
--                      weight = credentials shared
--   parent_child       one is registered as the other's parent (dim_partner_versions.parent_partner_id); weight 1
-- evidence lists the activity ids / credential ids behind a link.
with params as (
    {{ phakhi_period() }}
),

partners as (
    select partner_id, name_th, name_en, parent_partner_id from {{ ref('dim_partner_versions') }} where is_current
),

joint as (
    select
        least(partner_id, co_partner_id) as partner_a,
        greatest(partner_id, co_partner_id) as partner_b,
        'joint_activity' as link_type,
        count(distinct activity_id) as weight,
        min(period) as first_period,
        max(period) as last_period,
        string_agg(distinct activity_id, '; ' order by activity_id) as evidence
    from {{ ref('mart_co_organiser_mentions') }}
    where match_status in ('id', 'name')
    group by 1, 2
),

credentials as (
    select distinct c.credential_id, c.partner_id, c.period
    from {{ ref('fct_ghg_reductions') }} as c, params as p
    where nullif(trim(c.credential_id), '') is not null and c.period_start <= p.period_start
),

shared as (
    select
        c1.partner_id as partner_a,
        c2.partner_id as partner_b,
        'shared_credential' as link_type,
        count(distinct c1.credential_id) as weight,
        min(least(c1.period, c2.period)) as first_period,
        max(greatest(c1.period, c2.period)) as last_period,
        string_agg(distinct c1.credential_id, '; ' order by c1.credential_id) as evidence
    from credentials as c1
    join credentials as c2 on c2.credential_id = c1.credential_id and c1.partner_id < c2.partner_id
    group by 1, 2
),

family as (
    select
        least(c.partner_id, c.parent_partner_id) as partner_a,
        greatest(c.partner_id, c.parent_partner_id) as partner_b,
        'parent_child' as link_type,
        1 as weight,
        cast(null as varchar) as first_period,
        cast(null as varchar) as last_period,
        'parent ' || c.parent_partner_id || ' / member ' || c.partner_id as evidence
    from partners as c
    join partners as parent on parent.partner_id = c.parent_partner_id
    where c.parent_partner_id <> c.partner_id
),

links as (
    select * from joint
    union all
    select * from shared
    union all
    select * from family
)

select
    l.partner_a || '|' || l.partner_b || '|' || l.link_type as link_id,
    l.partner_a,
    a.name_th as partner_a_name_th,
    a.name_en as partner_a_name_en,
    l.partner_b,
    b.name_th as partner_b_name_th,
    b.name_en as partner_b_name_en,
    l.link_type,
    cast(l.weight as integer) as weight,
    l.first_period,
    l.last_period,
    l.evidence
from links as l
join partners as a on a.partner_id = l.partner_a
join partners as b on b.partner_id = l.partner_b
