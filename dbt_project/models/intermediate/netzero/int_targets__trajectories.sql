-- The straight-line trajectory of every target that states a level, one row per target and year:
--   value(y) = start + (target - start) x (y - path_start_year) / (target_year - path_start_year)
-- for path_start_year <= y <= target_year, where (path_start_year, start) comes from the targets seed
-- (path_start_note says where). Peak and net-zero-CO2 targets state no level and have no trajectory.
with targets as (
    select *
    from {{ ref('dim_targets') }}
    where has_path
)

select
    t.target_id,
    cast(y.year as integer) as year,
    t.path_start_year,
    t.path_start_value_mtco2e,
    t.target_year,
    t.target_value_mtco2e,
    t.path_start_value_mtco2e
        + (t.target_value_mtco2e - t.path_start_value_mtco2e)
        * (y.year - t.path_start_year) / (t.target_year - t.path_start_year) as path_value_mtco2e
from targets as t
join (select cast(range as integer) as year from range(1900, 2201)) as y
    on y.year between t.path_start_year and t.target_year
