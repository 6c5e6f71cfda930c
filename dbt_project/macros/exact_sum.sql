{# Sum of a DOUBLE quantity (tCO2e, THB) that does not depend on the order of the rows. DuckDB adds doubles in
   the order its threads meet the rows, so the same rows could sum to values differing in the last digit between
   a full and an incremental build (nationally, 341 of 7,999 partner pages differed only so, and their files were
   not shared between publications). Each value is rounded to 1e-9 (a microgram of CO2e, a billionth of a baht),
   summed exactly as a decimal, and returned as a double. #}
{% macro exact_sum(expr) -%}
    cast(sum(cast({{ expr }} as decimal(38, 9))) as double)
{%- endmacro %}

{# The mean of a DOUBLE share (a value in [0, 1]), order-independent like exact_sum: to 1e-18, summed exactly. #}
{% macro exact_avg(expr) -%}
    cast(avg(cast({{ expr }} as decimal(38, 18))) as double)
{%- endmacro %}
