-- Each partner's credential ids (T-VER / Premium T-VER project registrations, LESS, CFO and CFR letters) as its
-- partner page shows them: one row per partner and credential quoted in the partner's reduction claims up to the
-- refreshed month, with claimed, counted and excluded tCO2e side by side and the verdict:
--   counted         every claim under the credential counts for this partner
--   partly_counted  some of them repeat a reduction counted under another claim (int_ghg__claims_deduplicated)
--   excluded        none counts for this partner (the reduction is counted for counted_for_partner_ids)
-- and who else quoted the credential (mart_credentials: a credential is counted once, whoever quotes it).
with claims as (
    select * from {{ ref('int_ghg__claims_keyed_by_credential') }}
),

per_partner as (
    select
        partner_id,
        credential_key,
        min(credential_id) as credential_id,
        min(method) as programme_code,
        string_agg(distinct method, ', ' order by method) as programme_codes,
        string_agg(distinct project_id, ', ' order by project_id) as project_ids,
        count(*) as claims,
        count(*) filter (where is_duplicate) as excluded_claims,
        min(period) as first_period,
        max(period) as last_period,
        {{ exact_sum("reduction_tco2e") }} as claimed_tco2e,
        {{ exact_sum("counted_tco2e") }} as counted_tco2e,
        {{ exact_sum("reduction_tco2e") }} - {{ exact_sum("counted_tco2e") }} as excluded_tco2e,
        bool_or(verification_status = 'verified') as any_verified,
        string_agg(distinct duplicate_rule, ', ' order by duplicate_rule) as duplicate_rules
    from claims
    group by partner_id, credential_key
)

select
    p.partner_id,
    p.credential_key,
    p.credential_id,
    p.programme_code,
    p.programme_codes,
    p.project_ids,
    p.claims,
    p.excluded_claims,
    case
        when p.excluded_claims = 0 then 'counted'
        when p.excluded_claims = p.claims then 'excluded'
        else 'partly_counted'
    end as credential_status,
    p.duplicate_rules,
    p.first_period,
    p.last_period,
    p.claimed_tco2e,
    p.counted_tco2e,
    p.excluded_tco2e,
    p.any_verified,
    c.claiming_partners,
    c.claiming_partner_ids,
    c.counted_for_partner_ids
from per_partner as p
left join {{ ref('mart_credentials') }} as c using (credential_key)
