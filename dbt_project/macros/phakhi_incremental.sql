{# Helpers for the incremental facts (fct_activities, fct_ghg_reductions).

   Pattern: the model computes every row from its (cheap) upstream views, fingerprints each row with
   phakhi_row_hash(), and on an incremental run writes only rows that are new or whose fingerprint changed
   (delete+insert on the unique key); phakhi_delete_vanished() removes rows whose key left the source. So an
   incremental run and a --full-refresh give the same table: late reports, corrected rows, a revised emission
   factor (the factor id/version/value are columns, hence in the fingerprint) and withdrawn files all land.

   Used by the two facts only. The marts on them stay tables rebuilt whole (issue 17, measured on the national
   home's 12th month, code 99fa591: dbt's node times, 2 threads): the 38 other SQL models the month's build ran
   (the marts on the facts among them) took 6.2 s of thread time together, the facts 2.6 s, the Python models
   3.4 s, the tests 6.0 s. The only marts
   with a per-month grain (mart_ace_indicators 0.18 s, dash_ace_monthly) are one aggregation over the fact,
   and finding which months changed costs that same scan: the fact records no change log to read. The
   others total a 12-month window ending with the refreshed month (mart_best_practices 1.46 s,
   mart_practice_lessons 0.63 s, the dash_* models) or rank against it, so a new month changes every row. #}

{# DuckDB's 64-bit hash() of the whole row: a relation alias is a struct, so every column (and its position)
   is in the fingerprint. It is only ever compared with the fingerprint of the same key in the previous build,
   so a collision would need one key's changed row to land on its old 64-bit value (~5e-20 per change); md5 of
   the row cast to text was 4.6 of fct_activities' 5 s at national size (casting a million rows to text, then
   md5); hash() costs ~13x less (1.0 M national rows, one DuckDB thread, loaded machine: 1.2 s against 16.1 s). hash() is deterministic but
   may differ between DuckDB versions: the DuckDB version is part of the code fingerprint
   (phakhi/refresh_inputs.py PACKAGES), and a code change builds the warehouse from scratch
   (phakhi/publish/warehouse.py start_build_warehouse), so fingerprints of two versions are never compared;
   were they, every row would look changed once (rewritten, still correct). #}
{% macro phakhi_row_hash(relation_alias) -%}
    hash({{ relation_alias }})
{%- endmacro %}

{# Post-hook: delete rows whose key is no longer produced by the model's source (of the scope's months only, when
   the build is scoped: phakhi_scoped_rows). #}
{% macro phakhi_delete_vanished(key, source_relation, scope_column=none) -%}
    {%- set in_scope = phakhi_scope_condition('models', this.identifier, scope_column) if is_incremental() else none -%}
    {%- if in_scope -%}
    delete from {{ this }} where {{ in_scope }} and {{ key }} not in (select {{ key }} from {{ source_relation }} where {{ in_scope }})
    {%- elif is_incremental() -%}
    delete from {{ this }} where {{ key }} not in (select {{ key }} from {{ source_relation }})
    {%- else -%}
    select 1 -- first build: nothing can have vanished
    {%- endif -%}
{%- endmacro %}

{# The shared header of every incremental fact: call it first in the model, e.g.
       {{ phakhi_incremental_fact('activity_id', 'stg_partner_reports__activities', scope_column='period') }}
   delete+insert on the key, columns follow the model, and the post-hook removes keys that left `source_model`.
   One place for the header (issue 11 item 5, issue 17): a fact added later cannot drift from the pattern.
   `scope_column` (meta, read by phakhi/selection.py:scoped_nodes): the fact may recompute only the months whose
   inputs changed (phakhi_scoped_rows) - declare it only where a row's value there is the period of the source
   rows it comes from, the key includes it, and no row depends on rows of another period. #}
{% macro phakhi_incremental_fact(unique_key, source_model, scope_column=none) -%}
    {{- config(
        materialized='incremental',
        unique_key=unique_key,
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        meta={'scope_column': scope_column} if scope_column else {},
        post_hook="{{ phakhi_delete_vanished('" ~ unique_key ~ "', ref('" ~ source_model ~ "')"
                  ~ (", '" ~ scope_column ~ "'" if scope_column else "") ~ ") }}"
    ) -}}
{%- endmacro %}

{# The filter a scoped fact puts on its source rows: on an incremental build the plan scoped (phakhi_scope.sql),
   only the rows of the months whose inputs changed - the other months' rows in the table are already what a
   full build makes, since nothing they are made of changed (issue 17: the national fct_activities recomputed
   and fingerprinted a million rows for one changed file). Every row otherwise. Use it where the source is read:
       select * from {{ ref('stg_partner_reports__activities') }} {{ phakhi_scoped_rows('period') }} #}
{% macro phakhi_scoped_rows(scope_column) -%}
    {%- set in_scope = phakhi_scope_condition('models', this.identifier, scope_column) if is_incremental() else none -%}
    {%- if in_scope %}where {{ in_scope }}{% endif -%}
{%- endmacro %}

{# The incremental filter every fact ends with: on an incremental run only rows that are new or whose
   fingerprint (row_hash) changed; on a full refresh every row. #}
{% macro phakhi_changed_rows(unique_key, alias='h', scope_column=none) -%}
    {%- if is_incremental() %}
    {#- scoped (phakhi_scoped_rows): the key includes the period, so only the table's rows of the scope can match -#}
    {%- set in_scope = phakhi_scope_condition('models', this.identifier, 't.' ~ scope_column if scope_column else none) %}
where not exists (
    select 1 from {{ this }} as t where t.{{ unique_key }} = {{ alias }}.{{ unique_key }} and t.row_hash = {{ alias }}.row_hash
    {%- if in_scope %} and {{ in_scope }}{% endif %}
)
    {%- endif -%}
{%- endmacro %}
