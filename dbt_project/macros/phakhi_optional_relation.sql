{# A warehouse table that may not exist yet (e.g. raw.partner_inventories, added by another family's
   ingestion). Returns the relation or none, so a model can fall back to an empty, typed result. #}
{% macro phakhi_optional_relation(schema, identifier) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema=schema, identifier=identifier)) }}
{%- endmacro %}

{# The first of `candidates` that is a column of `relation` (case-insensitive), or none. #}
{% macro phakhi_first_column(relation, candidates) -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- for c in candidates -%}
        {%- if c | lower in names -%}
            {{ return(c) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
