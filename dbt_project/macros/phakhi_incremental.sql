{# Helpers for the incremental facts (fct_activities, fct_ghg_reductions).

   Pattern: the model computes every row from its (cheap) upstream views, fingerprints each row with
   phakhi_row_hash(), and on an incremental run writes only rows that are new or whose fingerprint changed
   (delete+insert on the unique key); phakhi_delete_vanished() removes rows whose key left the source. So an
   incremental run and a --full-refresh give the same table: late reports, corrected rows, a revised emission
   factor (the factor id/version/value are columns, hence in the fingerprint) and withdrawn files all land. #}

{# md5 of the whole row: DuckDB casts a relation alias to a struct, so every column is in the fingerprint. #}
{% macro phakhi_row_hash(relation_alias) -%}
    md5(cast({{ relation_alias }} as varchar))
{%- endmacro %}

{# Post-hook: delete rows whose key is no longer produced by the model's source. #}
{% macro phakhi_delete_vanished(key, source_relation) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ key }} not in (select {{ key }} from {{ source_relation }})
    {%- else -%}
    select 1 -- first build: nothing can have vanished
    {%- endif -%}
{%- endmacro %}
