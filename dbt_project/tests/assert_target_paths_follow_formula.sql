-- Every target trajectory equals its formula, recomputed here from the targets seed alone:
--   value(y) = start + (target - start) x (y - path_start_year) / (target_year - path_start_year)
-- for every year from path_start_year to target_year (no year missing, none extra), and the published
-- national mart carries exactly those values as series_kind = 'target'.
with expected as (
    select
        t.target_id,
        y.year,
        t.path_start_value_mtco2e
            + (t.target_value_mtco2e - t.path_start_value_mtco2e)
            * (y.year - t.path_start_year) * 1.0 / (t.target_year - t.path_start_year) as value
    from {{ ref('targets') }} as t
    join (select cast(range as integer) as year from range(1900, 2201)) as y
        on y.year between t.path_start_year and t.target_year
    where t.path_start_year is not null and t.path_start_value_mtco2e is not null
      and t.target_value_mtco2e is not null
),

published as (
    select target_id, year, value
    from {{ ref('mart_national_progress') }}
    where series_kind = 'target'
)

select coalesce(e.target_id, p.target_id) as target_id, coalesce(e.year, p.year) as year,
       e.value as expected, p.value as published
from expected as e
full outer join published as p using (target_id, year)
where e.value is null or p.value is null or abs(e.value - p.value) > 1e-9
