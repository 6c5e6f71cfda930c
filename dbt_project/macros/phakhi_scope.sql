{# The months an incremental build checks or rebuilds for a node (issue 17 item 4), from the build plan
   (phakhi/selection.py:scoped_nodes, env PHAKHI_SCOPE: {"tests"/"models": {model: [periods]}}): the periods whose
   inputs changed, when every input of the node is unchanged or changed only in known periods. None: every row
   (a fresh build, a full gate, a node not scoped, or dbt parsing: the environment is read only when a node
   compiles to run, never while parsing, as phakhi_period - a new scope must not re-parse the project). #}
{% macro phakhi_scope_periods(kind, name) -%}
    {%- if not execute or not name -%}{{ return(none) }}{%- endif -%}
    {{ return((fromjson(env_var('PHAKHI_SCOPE', '{}')).get(kind) or {}).get(name)) }}
{%- endmacro %}

{# The SQL condition "`column` is one of the scope's periods" ('false' for none of them), or none for every row. #}
{% macro phakhi_scope_condition(kind, name, column) -%}
    {%- set periods = phakhi_scope_periods(kind, name) -%}
    {%- if periods is none or not column -%}{{ return(none) }}{%- endif -%}
    {%- set quoted = [] -%}
    {%- for p in periods %}{% do quoted.append("'" ~ (p | string | replace("'", "''")) ~ "'") %}{% endfor -%}
    {{ return(column ~ " in (" ~ quoted | join(", ") ~ ")" if periods else "false") }}
{%- endmacro %}
