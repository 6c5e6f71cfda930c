{# The on-track rule's straight-line required path (docs/monitor.md): the pledged reduction times the share of
   the way from the pledge's base year to its target year, clamped to [0, 1]; null when base = target.
   Used by mart_partner_progress (the partner's status) and dash_partner_trajectory (the path per month and
   per year drawn on partner pages), so the chart and the status can never disagree. #}
{% macro phakhi_required_path(pledged, base_year, target_year, year) -%}
    {{ pledged }}
            * greatest(0.0, least(1.0, ({{ year }} - {{ base_year }})
                                       / nullif({{ target_year }} - {{ base_year }}, 0)))
{%- endmacro %}
