{# Traffic light of a partner, province or sector from its track status and its share of the required path:
   green on track; amber off track but at least `amber_from` of the required path; red below (or without a
   path); grey without data. `amber_from` comes from the dashboard_thresholds seed. #}
{% macro phakhi_progress_light(track_status, pct_of_required_path, amber_from) -%}
    case
        when {{ track_status }} = 'on_track' then 'green'
        when {{ track_status }} = 'off_track' then
            case when {{ pct_of_required_path }} >= {{ amber_from }} then 'amber' else 'red' end
        else 'grey'
    end
{%- endmacro %}
