-- Partners' scope 1 / scope 2 GHG inventories, one row per partner and inventory year.
--
-- raw.partner_inventories is loaded by another ingestion family that may not be deployed yet: when the table
-- (or one of the columns below) is missing this model is an empty, typed relation, so every downstream model
-- builds either way. Column names are matched from a short list of candidates until the family's contract
-- settles (sources/contracts/partner_inventories.yml); switch to source() once it is declared in _sources.yml.
{%- set rel = phakhi_optional_relation('raw', 'partner_inventories') %}
{%- set cols = {} %}
{%- if rel is not none %}
    {%- do cols.update({
        'partner_id': phakhi_first_column(rel, ['partner_id']),
        'year': phakhi_first_column(rel, ['inventory_year', 'baseline_year', 'base_year', 'year', 'reporting_year']),
        'scope1': phakhi_first_column(rel, ['scope1_tco2e', 'scope_1_tco2e', 'scope1']),
        'scope2': phakhi_first_column(rel, ['scope2_tco2e', 'scope_2_tco2e', 'scope2']),
        'standard': phakhi_first_column(rel, ['standard', 'method']),
        'status': phakhi_first_column(rel, ['verification_status']),
    }) %}
{%- endif %}
{%- if rel is not none and cols.partner_id and cols.year and cols.scope1 and cols.scope2 %}
select
    cast({{ cols.partner_id }} as varchar) as partner_id,
    cast({{ cols.year }} as integer) as inventory_year,
    cast({{ cols.scope1 }} as double) as scope1_tco2e,
    cast({{ cols.scope2 }} as double) as scope2_tco2e,
    coalesce(cast({{ cols.scope1 }} as double), 0) + coalesce(cast({{ cols.scope2 }} as double), 0) as scope12_tco2e,
    {{ ('cast(' ~ cols.standard ~ ' as varchar)') if cols.standard else 'cast(null as varchar)' }} as standard,
    {{ ('cast(' ~ cols.status ~ ' as varchar)') if cols.status else 'cast(null as varchar)' }} as verification_status,
    true as from_raw_table
from {{ rel }}
{%- else %}
{%- if execute and rel is not none %}
{{ log("raw.partner_inventories has no usable partner/year/scope1/scope2 columns: treated as empty", info=true) }}
{%- endif %}
select
    cast(null as varchar) as partner_id,
    cast(null as integer) as inventory_year,
    cast(null as double) as scope1_tco2e,
    cast(null as double) as scope2_tco2e,
    cast(null as double) as scope12_tco2e,
    cast(null as varchar) as standard,
    cast(null as varchar) as verification_status,
    false as from_raw_table
where false
{%- endif %}
