{#- dbt docs' catalog, by relation: dbt-duckdb's own macro filters with one OR'd pair of upper() comparisons per
    relation (~180 here), which DuckDB took 7-9 s to evaluate on a 20 MB warehouse (issue 17: most of every new
    month's `dbt docs generate`). The same rows come from one IN list of schema/name keys (0.03 s). Found by
    dispatch before the adapter's `duckdb__get_catalog_relations`; the tables/columns/results SQL is the
    adapter's own. -#}
{% macro duckdb__get_catalog_relations(information_schema, relations) -%}
  {%- set keys = [] -%}
  {%- set schemas = [] -%}
  {%- for relation in relations -%}
    {%- if not relation.schema -%}
      {%- do exceptions.raise_compiler_error('`get_catalog_relations` requires a list of relations, each with a schema') -%}
    {%- endif -%}
    {%- if relation.identifier -%}
      {%- do keys.append("upper('" ~ (relation.schema | replace("'", "''")) ~ "') || chr(31) || upper('"
                         ~ (relation.identifier | replace("'", "''")) ~ "')") -%}
    {%- else -%}
      {%- do schemas.append("upper('" ~ (relation.schema | replace("'", "''")) ~ "')") -%}
    {%- endif -%}
  {%- endfor -%}
  {% set where_clause %}
    where {% if not keys and not schemas %}1 = 0{% else %}(
      {%- if keys %} upper(table_schema) || chr(31) || upper(table_name) in ({{ keys | join(', ') }}){% endif -%}
      {%- if keys and schemas %} or{% endif -%}
      {%- if schemas %} upper(table_schema) in ({{ schemas | join(', ') }}){% endif %}
    ){% endif %}
  {% endset %}
  {% set query %}
    with tables as (
      {{ duckdb__get_catalog_tables_sql(information_schema) }}
      {{ where_clause }}
    ),
    columns as (
      {{ duckdb__get_catalog_columns_sql(information_schema) }}
      {{ where_clause }}
    )
    {{ duckdb__get_catalog_results_sql() }}
  {% endset %}

  {{ return(run_query(query)) }}
{%- endmacro %}
