-- Credential ids (T-VER / Premium T-VER project registrations, LESS and CFO/CFR letters) quoted by partners'
-- reduction claims up to the refreshed month: one row per credential (case- and space-insensitive key), who
-- claimed it, who it is counted for, and claimed / counted / excluded tCO2e side by side. A credential quoted by
-- more than one partner is a double claim: counted once (int_ghg__claims_deduplicated), the rest excluded.
with claims as (
    select * from {{ ref('int_ghg__claims_keyed_by_credential') }}
)

select
    credential_key,
    min(credential_id) as credential_id,
    string_agg(distinct method, ', ' order by method) as programme_codes,
    string_agg(distinct partner_id, ', ' order by partner_id) as claiming_partner_ids,
    count(distinct partner_id) as claiming_partners,
    string_agg(distinct case when not is_duplicate then partner_id end, ', ') as counted_for_partner_ids,
    string_agg(distinct project_id, ', ' order by project_id) as project_ids,
    count(*) as claims,
    count(*) filter (where is_duplicate) as excluded_claims,
    min(period) as first_period,
    max(period) as last_period,
    {{ exact_sum("reduction_tco2e") }} as claimed_tco2e,
    {{ exact_sum("counted_tco2e") }} as counted_tco2e,
    {{ exact_sum("reduction_tco2e") }} - {{ exact_sum("counted_tco2e") }} as excluded_tco2e,
    bool_or(verification_status = 'verified') as any_verified
from claims
group by credential_key
