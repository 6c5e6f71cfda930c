-- The overview's headline cards (one row): partners by status, what they counted over the 12 months against
-- what their required paths add up to, and their mean reporting completeness.
select
    count(*) as partners,
    count(*) filter (where status = 'on_track') as on_track,
    count(*) filter (where status = 'off_track') as off_track,
    count(*) filter (where status = 'no_data') as no_data,
    coalesce({{ exact_sum("counted_12m_tco2e") }}, 0) as counted_12m_tco2e,
    coalesce({{ exact_sum("required_path_tco2e") }}, 0) as required_path_tco2e,
    {{ exact_avg("reporting_completeness") }} as mean_reporting_completeness
from {{ ref('dash_partners') }}
