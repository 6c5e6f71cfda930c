-- Every reported reduction in tCO2e. Activity data is converted with the emission factor in force for the
-- reporting month (effective-dated seed), and the factor used is recorded so a revision can be traced.
with reported as (
    select * from {{ ref('stg_partner_reports__ghg_reductions') }}
),

-- One factor per reported unit: the unit's activity and factor unit come from raw.activity_units (written by
-- ingestion from the GHG contract); scope-3 upstream components are not part of a reduction claim.
factors as (
    select
        u.unit_code,
        f.factor_id,
        f.version,
        f.valid_from,
        f.valid_to,
        f.kgco2e_per_unit * u.to_ef_unit as kgco2e_per_reported_unit
    from {{ source('partner_reports', 'activity_units') }} as u
    inner join {{ ref('emission_factors') }} as f
        on f.activity = u.activity and lower(f.unit) = lower(u.ef_unit) and f.scope <> 'scope_3'
)

select
    r.reduction_id,
    r.partner_id,
    r.project_id,
    r.sector,
    r.period,
    r.period_start,
    r.method,
    r.credential_id,
    r.verification_status,
    r.reported_tco2e,
    r.activity_amount,
    r.activity_unit,
    f.factor_id,
    f.version as factor_version,
    f.kgco2e_per_reported_unit as factor_kgco2e_per_unit,   -- per unit as reported (MWh = 1000 x kWh factor)
    coalesce(r.reported_tco2e, r.activity_amount * f.kgco2e_per_reported_unit / 1000.0) as reduction_tco2e,
    case when r.reported_tco2e is not null then 'reported' else 'converted' end as figure_kind,
    r.source_file,
    r.source_row
from reported as r
left join factors as f
    on r.reported_tco2e is null
    and r.activity_unit = f.unit_code
    and (f.valid_from is null or r.period_start >= f.valid_from)
    and (f.valid_to is null or r.period_start <= f.valid_to)
