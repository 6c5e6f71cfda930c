{# Every row (optionally only rows matching `where`) satisfies the boolean SQL `expression`. #}
{% test phakhi_expression_is_true(model, expression, where=none, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% if where %}  and ({{ where }}){% endif %}
{% endtest %}
