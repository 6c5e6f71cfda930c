{# The model has between min_value and max_value rows (max_value optional). #}
{% test phakhi_row_count_between(model, min_value=1, max_value=none) %}
select n
from (select count(*) as n from {{ model }}) as c
where n < {{ min_value }} {% if max_value is not none %}or n > {{ max_value }}{% endif %}
{% endtest %}
