-- Partners of each type in a few numbers: how many, how many on track, and the distribution of the share of
-- the required path reached (quantiles for a box plot: a partner is drawn against this, never against every
-- peer), with the median reporting completeness.
select
    partner_type,
    any_value(type_th) as type_th,
    any_value(type_en) as type_en,
    count(*) as partners,
    count(*) filter (where status = 'on_track') as on_track,
    count(pct_of_required_path) as partners_with_path,
    min(pct_of_required_path) as pct_path_min,
    quantile_cont(pct_of_required_path, 0.25) as pct_path_q1,
    quantile_cont(pct_of_required_path, 0.5) as pct_path_median,
    quantile_cont(pct_of_required_path, 0.75) as pct_path_q3,
    max(pct_of_required_path) as pct_path_max,
    quantile_cont(reporting_completeness, 0.5) as completeness_median
from {{ ref('dash_partners') }}
group by partner_type
