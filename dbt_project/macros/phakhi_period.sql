{# The refreshed month (env PHAKHI_PERIOD, set by phakhi/transform.py; else var 'period'; YYYY-MM) as one row of dates every as-of model cross-joins:
   period_start (1st of the month), period_end (last day), window_start (first month of the 12-month window
   ending with the period), period_year, period_month, period. A malformed period stops compilation. #}
{#- The environment is read only when dbt compiles to run (`execute`), never while parsing: dbt records every env
   var read during parsing, and a new month then re-parsed the ~30 files calling this macro (2.4 s of every
   month's build, partial parse or not). While parsing the default month stands in; the SQL that runs always
   has the refreshed month. -#}
{% macro phakhi_period() -%}
    {%- set period = (env_var('PHAKHI_PERIOD', var('period') | string) if execute else var('period')) | string -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', period) -%}
        {{ exceptions.raise_compiler_error("var 'period' must be YYYY-MM, got '" ~ period ~ "'") }}
    {%- endif -%}
    select
        cast('{{ period }}-01' as date) as period_start,
        last_day(cast('{{ period }}-01' as date)) as period_end,
        cast(cast('{{ period }}-01' as date) - interval 11 month as date) as window_start,
        year(cast('{{ period }}-01' as date)) as period_year,
        month(cast('{{ period }}-01' as date)) as period_month,
        '{{ period }}' as period
{%- endmacro %}

{# Rows of `relation` inside the 12-month window ending with the refreshed month (window_start through
   period_start, both included), for the marts that total "the last 12 months". `params` is the CTE holding
   phakhi_period(). One definition of the window, so the marts cannot drift apart:
       window_claims as ({{ phakhi_window_rows(ref('fct_ghg_reductions')) }}) #}
{% macro phakhi_window_rows(relation, params='params') -%}
    select w.*
    from {{ relation }} as w, {{ params }} as p
    where w.period_start between p.window_start and p.period_start
{%- endmacro %}
