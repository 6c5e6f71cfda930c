-- A reduction computed from activity data used the emission factor in force for its month (seed
-- emission_factors, effective-dated) and records that factor's current version and value - so revising a
-- factor in the seed recomputes the figure.
select f.reduction_id, f.period, f.factor_id, f.factor_version, f.factor_kgco2e_per_unit,
       e.version as seed_version, e.kgco2e_per_unit as seed_value
from {{ ref('fct_ghg_reductions') }} as f
left join {{ ref('emission_factors') }} as e on e.factor_id = f.factor_id
where f.figure_kind = 'converted'
  and (e.factor_id is null
       or f.factor_version is distinct from e.version
       or f.factor_kgco2e_per_unit is distinct from e.kgco2e_per_unit
       or (e.valid_from is not null and f.period_start < e.valid_from)
       or (e.valid_to is not null and f.period_start > e.valid_to))
