{# Reconciliation: sum(column_name) over `model` (rows matching `where`) equals sum(compare_column) over
   `compare_model` (rows matching `compare_where`) within `tolerance`. Empty sums count as 0. #}
{% test phakhi_sum_matches(model, column_name, compare_model, compare_column, where=none, compare_where=none, tolerance=0.001) %}
with a as (
    select coalesce(sum({{ column_name }}), 0) as total from {{ model }} {% if where %}where {{ where }}{% endif %}
),
b as (
    select coalesce(sum({{ compare_column }}), 0) as total from {{ compare_model }} {% if compare_where %}where {{ compare_where }}{% endif %}
)
select a.total as model_total, b.total as compare_total
from a, b
where abs(a.total - b.total) > {{ tolerance }}
{% endtest %}
