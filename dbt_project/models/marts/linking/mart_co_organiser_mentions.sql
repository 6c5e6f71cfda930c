-- Every co-organiser an activity report names (activity_reports.co_organisers, contract 1.2), one row per
-- mention, matched against the partner registry: by partner id (case-insensitive), else by the registered
-- Thai or English name (spaces and case ignored). A name two partners share is 'ambiguous_name'; a name that
-- is no partner is 'not_in_registry'; a partner naming itself is 'self'. Only 'id' and 'name' matches make
-- links (mart_partner_links); the rest are listed on the network page so DCCE can follow them up.
-- Mentions are split on ';' or new lines (registered English names may contain commas).
with params as (
    {{ phakhi_period() }}
),

activities as (
    select a.activity_id, a.partner_id, a.period, a.period_start, a.title, a.co_organisers
    from {{ ref('stg_partner_reports__activities') }} as a, params as p
    where a.period_start <= p.period_start
      and nullif(trim(a.co_organisers), '') is not null
),

split as (
    select *, string_split_regex(trim(co_organisers), '\s*[;\n]+\s*') as parts
    from activities
),

mentions as (
    select activity_id, partner_id, period, title, mention_no, trim(parts[mention_no]) as mention
    from (select *, unnest(generate_series(1, len(parts))) as mention_no from split)
    where nullif(trim(parts[mention_no]), '') is not null
),

partners as (
    select partner_id, name_th, name_en from {{ ref('dim_partner_versions') }} where is_current
),

keys as (
    select 'id' as how, upper(partner_id) as k, partner_id from partners
    union all
    select 'name', lower(regexp_replace(trim(name_th), '\s+', ' ', 'g')), partner_id from partners where name_th is not null
    union all
    select 'name', lower(regexp_replace(trim(name_en), '\s+', ' ', 'g')), partner_id from partners where name_en is not null
),

key_matches as (
    select how, k, count(distinct partner_id) as n, min(partner_id) as partner_id
    from keys
    group by how, k
),

matched as (
    select
        m.*,
        case when ki.partner_id is not null then ki.partner_id
             when kn.n = 1 then kn.partner_id end as co_partner_id,
        case when ki.partner_id is not null then 'id'
             when kn.n = 1 then 'name'
             when kn.n > 1 then 'ambiguous_name'
             else 'not_in_registry' end as how_matched
    from mentions as m
    left join key_matches as ki on ki.how = 'id' and ki.k = upper(m.mention)
    left join key_matches as kn on kn.how = 'name' and kn.k = lower(regexp_replace(m.mention, '\s+', ' ', 'g'))
)

select
    activity_id || '|' || cast(mention_no as varchar) as mention_id,
    activity_id,
    partner_id,
    period,
    title,
    mention_no,
    mention,
    case when co_partner_id = partner_id then null else co_partner_id end as co_partner_id,
    case when co_partner_id = partner_id then 'self' else how_matched end as match_status
from matched
