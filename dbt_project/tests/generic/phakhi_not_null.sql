{#- Not null, for several columns of one model in one query: one pass over the model instead of one query per
    column (issue 17: ~290 single-column not_null tests were half of dbt build's nodes). Declared once per model
    (`phakhi_not_null: {name: not_null_<model>, arguments: {column_names: [...]}}`); a column-level not_null
    with its own config (where, severity) stays a plain not_null.
    A null stops the build as not_null does (dbt reports the test as an error rather than a failure), and the
    message names every column that holds nulls and how many rows: "not_null failed on <model>: partner_id
    (2 rows), period (1 rows)". dbt's own failure message only counts result rows; DuckDB's error() says which
    column. -#}
{% test phakhi_not_null(model, column_names) %}
with null_counts as (
    select
    {%- for column in column_names %}
        count(*) filter (where {{ column }} is null) as {{ adapter.quote('n_' ~ loop.index) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
),
null_columns as (
    select concat_ws(', ',    -- skips the nulls: only columns that hold nulls are named
    {%- for column in column_names %}
        case when {{ adapter.quote('n_' ~ loop.index) }} > 0
             then '{{ column }} (' || {{ adapter.quote('n_' ~ loop.index) }} || ' rows)' end{{ "," if not loop.last }}
    {%- endfor %}
    ) as found
    from null_counts
)
-- error() in the filter, not the select list: dbt wraps the test in `select count(*) ...`, which would never
-- evaluate a column. A case, so that it runs only when a column holds nulls.
select found as null_columns
from null_columns
where case when found = '' then false
           else error('not_null failed on {{ model.identifier if model.identifier is defined else model }}: ' || found) is null end
{% endtest %}
