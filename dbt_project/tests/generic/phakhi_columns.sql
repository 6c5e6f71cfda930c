{#- The column guards of one model in one test: not_null, unique, accepted_values, relationships, between
    (phakhi_between's range) and unique_combination (phakhi_unique_combination's multi-column keys) for several
    columns (issue 17: one dbt node per column check cost ~45 ms of dbt each; 290 not_null, 57 unique, 44
    accepted_values, 45 relationships, 35 between and 29 unique_combination nodes
    became one node per model). Declared once per model, beside its columns:
        - phakhi_columns:
            name: columns_<model>
            arguments:
              not_null: [partner_id, period]
              unique: [activity_id]
              accepted_values: {status: [loaded, quarantined]}
              relationships: [{column: partner_id, to: ref('stg_registry__partners'), field: partner_id}]
              between: {participants_total: [0, 1000000]}       # inclusive, as phakhi_between
              unique_combination: [[partner_id, period]]         # nulls compare equal, as its group by
              expressions:                                       # as phakhi_expression_is_true, one per entry
                - {expression: "partner_a < partner_b", where: "link_type = 'joint_activity'"}
              sums:                                              # as phakhi_sum_matches (tolerance 0.001)
                - {column: weight, compare_model: ref('x'), compare_column: 1, where: .., compare_where: .., tolerance: 0}
              row_count: [77, 77]                                # rows in the model: [min] or [min, max], inclusive
    Same meaning as dbt's tests of those names: nulls pass unique, accepted_values, relationships, between; values
    are compared as quoted literals. A column check with its own config (where, severity) stays a plain dbt
    test. tests/test_guards.py reads each listed column as guarded by the named check.

    Each failing check is one result row: check_name, column_name, failing_rows, examples (up to 5 values),
    expected. An expression's row names the expression ("expression partner_a < partner_b (1 row; expected
    true)"); a sum's names its column and both totals ("sum_matches weight (10 against 12; expected the sum of 1
    of its comparison within 0)"). The row expressions and reconciliations of a model were 27 nodes of their own
    (issue 17); only those with a config of their own (severity warn) stay plain tests. A model's row count
    bounds too (the scan counts its rows already): each was a node of its own, ~65 ms of dbt's CPU per build
    whatever the rows (benchmarks/checks.py, quarter-scale month: the month's 62 test nodes cost ~4 s of dbt's CPU,
    their SQL 0.9 s). With the default severity (error) and no store_failures the test stops the build with a message
    naming every failing check, column and value - "phakhi_columns failed on dim_provinces: not_null region
    (2 rows; expected a value); unique province_code (2 rows: TH-10; expected each value once (1 value
    repeated))" - through DuckDB's error(), since dbt's own message only counts result rows. With severity warn
    or store_failures the rows are returned (and stored), as dbt does.

    Scoped to the changed months (issue 17 item 4): with `scope_column: period`, an incremental build whose plan
    found every input of the test unchanged or changed only in some months (phakhi/selection.py:scoped_nodes,
    macros/phakhi_scope.sql) checks the rows of
    those months only, the comparison model's of a sum too; a fresh build, a full gate (--full-gate) and any
    test without the declaration check every row. Declare it only where that is sound: the column is the period
    of the raw rows each row comes from, and every unique / unique_combination key includes it (or a value
    made of it), so the rows of other months are the last build's, which this test passed. Not with row_count.

    What differs from one node per check: dbt build skips a model when a test of all its ancestors failed;
    a model's relationships add their parents to this test, so a model downstream of the tested model but not
    of a parent no longer waits for it. The build still fails (dbt exits non-zero: nothing is published). -#}
{% test phakhi_columns(model, not_null=[], unique=[], accepted_values={}, relationships=[], between={},
                       unique_combination=[], expressions=[], sums=[], row_count=[], scope_column=none) %}
{%- if not (not_null or unique or accepted_values or relationships or between or unique_combination
            or expressions or sums or row_count) -%}
    {{ exceptions.raise_compiler_error("phakhi_columns on " ~ model ~ ": declare not_null, unique, accepted_values, relationships, between, unique_combination, expressions, sums or row_count") }}
{%- endif -%}
{%- if row_count and (row_count | length > 2 or row_count[0] is none) -%}
    {{ exceptions.raise_compiler_error("phakhi_columns on " ~ model ~ ": row_count is [min] or [min, max]") }}
{%- endif -%}
{%- if scope_column and row_count -%}
    {{ exceptions.raise_compiler_error("phakhi_columns on " ~ model ~ ": scope_column cannot go with row_count (it counts every row)") }}
{%- endif -%}
{%- set raise_error = config.get('severity', 'error') | lower == 'error' and not should_store_failures() -%}
{#- the months this build checks (none: every row): macros/phakhi_scope.sql -#}
{%- set model_name = model.identifier if model.identifier is defined else none -%}
{%- set in_scope = phakhi_scope_condition('tests', model_name, scope_column) -%}
{%- set periods = phakhi_scope_periods('tests', model_name) if in_scope else none -%}
{%- if in_scope -%}
    {%- set rows = "(select * from " ~ model ~ " where " ~ in_scope ~ ")" -%}
{%- else -%}
    {%- set rows = model -%}
{%- endif %}
{%- set accepted = accepted_values.items() | list -%}
{%- set ranges = between.items() | list -%}
{%- set in_list = {} -%}
{%- for column, values in accepted -%}
    {%- set quoted = [] -%}
    {%- for v in values %}{% do quoted.append("'" ~ (v | string | replace("'", "''")) ~ "'") %}{% endfor -%}
    {%- do in_list.update({column: "(" ~ quoted | join(", ") ~ ")"}) -%}
{%- endfor %}
with scan as (   -- one pass for the null counts and the values outside their lists
    select
        count(*) as total_rows
    {%- for column in not_null %},
        count(*) filter (where {{ column }} is null) as {{ adapter.quote('nn_' ~ loop.index) }}
    {%- endfor %}
    {%- for column, values in accepted %},
        count(*) filter (where {{ column }} not in {{ in_list[column] }}) as {{ adapter.quote('av_' ~ loop.index) }},
        list(distinct cast({{ column }} as varchar)) filter (where {{ column }} not in {{ in_list[column] }})
            as {{ adapter.quote('avx_' ~ loop.index) }}
    {%- endfor %}
    {%- for column, bounds in ranges %},
        count(*) filter (where {{ column }} < {{ bounds[0] }} or {{ column }} > {{ bounds[1] }})
            as {{ adapter.quote('bt_' ~ loop.index) }},
        list_sort(list(distinct {{ column }}) filter (where {{ column }} < {{ bounds[0] }} or {{ column }} > {{ bounds[1] }}))
            as {{ adapter.quote('btx_' ~ loop.index) }}
    {%- endfor %}
    {%- for e in expressions %},       -- rows where it is not true, as phakhi_expression_is_true
        count(*) filter (where not coalesce(({{ e.expression }}), false){% if e.get('where') %} and ({{ e.where }}){% endif %})
            as {{ adapter.quote('ex_' ~ loop.index) }}
    {%- endfor %}
    {%- for m in sums %},
        coalesce(sum({{ m.column }}){% if m.get('where') %} filter (where {{ m.where }}){% endif %}, 0)
            as {{ adapter.quote('smt_' ~ loop.index) }}
    {%- endfor %}
    from {{ rows }}
),
{%- for column in unique %}
{{ adapter.quote('dup_' ~ loop.index) }} as (
    select count(*) as n_values, sum(n) as n_rows, list(cast(k as varchar) order by k)[1:5] as examples
    from (select {{ column }} as k, count(*) as n from {{ rows }} as m where {{ column }} is not null
          group by {{ column }} having count(*) > 1) as d
),
{%- endfor %}
{%- for columns in unique_combination %}
{{ adapter.quote('uc_' ~ loop.index) }} as (    -- keys repeated, as phakhi_unique_combination (its group by: nulls equal)
    select count(*) as n_values, sum(n) as n_rows,
           list('(' || concat_ws(', ', {% for c in columns %}coalesce(cast({{ c }} as varchar), 'null'){{ ", " if not loop.last }}{% endfor %}) || ')'
                order by {{ columns | join(', ') }})[1:5] as examples
    from (select {{ columns | join(', ') }}, count(*) as n from {{ rows }} as m
          group by {{ columns | join(', ') }} having count(*) > 1) as d
),
{%- endfor %}
{%- for r in relationships %}
{{ adapter.quote('rel_' ~ loop.index) }} as (    -- values with no match in the parent, as dbt's relationships test
    select count(*) as n_rows, list(distinct cast(child.k as varchar)) as orphans
    from (select {{ r.column }} as k from {{ rows }} as m where {{ r.column }} is not null) as child
    left join (select {{ r.field }} as k from {{ r.to }}) as parent on child.k = parent.k
    where parent.k is null
),
{%- endfor %}
{%- for m in sums %}
{{ adapter.quote('sm_' ~ loop.index) }} as (    -- the model's total (from the scan) and the other's, as phakhi_sum_matches
    select s.{{ adapter.quote('smt_' ~ loop.index) }} as model_total,
           (select coalesce(sum({{ m.compare_column }}), 0) from {{ m.compare_model }}
            {%- set compare_filters = ([m.compare_where] if m.get('compare_where') else []) + ([in_scope] if in_scope else []) %}
            {% if compare_filters %}where ({{ compare_filters | join(') and (') }}){% endif %}) as compare_total
    from scan as s
),
{%- endfor %}
failures as (
    select null::varchar as check_name, null::varchar as column_name, null::bigint as failing_rows,
           null::varchar as examples, null::varchar as expected
    where false
{%- for column in not_null %}
    union all
    select 'not_null', '{{ column }}', {{ adapter.quote('nn_' ~ loop.index) }}, null, 'a value'
    from scan where {{ adapter.quote('nn_' ~ loop.index) }} > 0
{%- endfor %}
{%- for column in unique %}
    union all
    select 'unique', '{{ column }}', n_rows, array_to_string(examples, ', '),
           'each value once (' || n_values || (case when n_values = 1 then ' value' else ' values' end) || ' repeated)'
    from {{ adapter.quote('dup_' ~ loop.index) }} where n_values > 0
{%- endfor %}
{%- for columns in unique_combination %}
    union all
    select 'unique_combination', '{{ columns | join(", ") }}', n_rows, array_to_string(examples, ', '),
           'each combination once (' || n_values || (case when n_values = 1 then ' combination' else ' combinations' end) || ' repeated)'
    from {{ adapter.quote('uc_' ~ loop.index) }} where n_values > 0
{%- endfor %}
{%- for column, values in accepted %}
    union all
    select 'accepted_values', '{{ column }}', {{ adapter.quote('av_' ~ loop.index) }},
           array_to_string(list_sort({{ adapter.quote('avx_' ~ loop.index) }})[1:5], ', '),
           'one of {{ values | join(", ") | replace("'", "''") }}'
    from scan where {{ adapter.quote('av_' ~ loop.index) }} > 0
{%- endfor %}
{%- for column, bounds in ranges %}
    union all
    select 'between', '{{ column }}', {{ adapter.quote('bt_' ~ loop.index) }},
           array_to_string({{ adapter.quote('btx_' ~ loop.index) }}[1:5], ', '),
           'between {{ bounds[0] }} and {{ bounds[1] }}'
    from scan where {{ adapter.quote('bt_' ~ loop.index) }} > 0
{%- endfor %}
{%- for r in relationships %}
    union all
    select 'relationships', '{{ r.column }}', n_rows, array_to_string(list_sort(orphans)[1:5], ', '),
           'a {{ r.field }} of {{ r.to.identifier if r.to.identifier is defined else r.to }}'
    from {{ adapter.quote('rel_' ~ loop.index) }} where n_rows > 0
{%- endfor %}
{%- for e in expressions %}
    union all
    select 'expression', '{{ e.expression | replace("'", "''") }}', {{ adapter.quote('ex_' ~ loop.index) }}, null,
           'true{{ (" where " ~ e.where) | replace("'", "''") if e.get('where') }}'
    from scan where {{ adapter.quote('ex_' ~ loop.index) }} > 0
{%- endfor %}
{%- if row_count %}
    union all
    select 'row_count', 'rows', total_rows, null,
           '{{ "between " ~ row_count[0] ~ " and " ~ row_count[1] if row_count | length > 1 else "at least " ~ row_count[0] }}'
    from scan where total_rows < {{ row_count[0] }}{% if row_count | length > 1 %} or total_rows > {{ row_count[1] }}{% endif %}
{%- endif %}
{%- for m in sums %}
    union all
    select 'sum_matches', '{{ m.column | string | replace("'", "''") }}', null,
           cast(model_total as varchar) || ' against ' || cast(compare_total as varchar),
           'the sum of {{ m.compare_column | string | replace("'", "''") }} of {{ (m.compare_model.identifier if m.compare_model.identifier is defined else "its comparison") | replace("'", "''") }} within {{ m.get('tolerance', 0.001) }}'
    from {{ adapter.quote('sm_' ~ loop.index) }}
    where abs(model_total - compare_total) > {{ m.get('tolerance', 0.001) }}
{%- endfor %}
),
summary as (
    select string_agg(check_name || ' ' || column_name || ' ('
                      || coalesce(failing_rows || (case when failing_rows = 1 then ' row' else ' rows' end)
                                  || coalesce(': ' || examples, ''), examples)
                      || '; expected ' || expected || ')', '; '
                      order by check_name, column_name) as found
    from failures
)
select f.*
from failures as f, summary as s
{%- if raise_error %}
-- error() in the filter, not the select list: dbt wraps the test in `select count(*) ...`, which would never
-- evaluate a column. A case, so that it runs only when a check failed.
where case when s.found is null then true
           else error('phakhi_columns failed on {{ model.identifier if model.identifier is defined else model }}{{ " (rows of " ~ (periods | join(", ") | replace("'", "''")) ~ ")" if periods }}: ' || s.found) is null end
{%- endif %}
{% endtest %}
