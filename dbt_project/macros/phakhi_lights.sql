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

{# Traffic light of an ACE element from its monthly activity counts: red without activity in the last 3 months;
   amber when the last 3 months fell below `ace_fall` (dashboard_thresholds seed) of the 3 months before, once
   there are at least 6 months of history; green otherwise (steady or rising); grey without any month. #}
{% macro phakhi_ace_light(months, last3, prev3, ace_fall) -%}
    case
        when coalesce({{ months }}, 0) = 0 then 'grey'
        when {{ last3 }} = 0 then 'red'
        when {{ months }} >= 6 and {{ prev3 }} > 0 and {{ last3 }} < {{ ace_fall }} * {{ prev3 }} then 'amber'
        else 'green'
    end
{%- endmacro %}
