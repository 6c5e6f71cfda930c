-- Awareness change beside ACE effort, by region and by province (evaluators; docs/evaluator.md).
-- One row per area (level = region | province) for the latest wave compared with the baseline:
--   change, change_se, change_ci_low/high   the awareness index's change since the baseline wave with its 95% CI
--                                           (mart_awareness_change: design-based SEs, independent waves)
--   activities, participants                ACE activities partners reported as held in the area (activity's
--                                           province) from 1 Jan of the baseline wave's year to 31 Dec of the
--                                           latest wave's year (capped at the refreshed month)
--   population                              registered population (seed province_population: official
--                                           figures with source and date); a region's only when the seed
--                                           covers every province of the region, else null
--   participants_per_1000, activities_per_100k   ACE intensity per population
-- Provinces appear only where the survey cells are stable: n >= min_cell_n respondents in both waves (and the
-- change is published); unstable_se (few sampled areas: design df < 8) is carried as a caution flag.
-- included_in_correlation: the area has a comparable change and an intensity (mart_awareness_ace_correlation).
-- This is an ecological comparison between areas: it cannot say ACE activities changed anyone's awareness.
with month as (
    {{ phakhi_period() }}
),

params as (
    select period_start, period_end, {{ var('min_cell_n') }} as min_cell_n from month
),

latest as (
    select max(wave) as wave from {{ ref('mart_awareness_change') }} where measure = 'awareness_index'
),

change as (
    select c.*
    from {{ ref('mart_awareness_change') }} as c
    join latest as l on l.wave = c.wave
    where c.measure = 'awareness_index' and c.domain in ('region', 'province')
),

provinces as (
    select province_code, name_th, name_en, region, region_th, region_en from {{ ref('provinces') }}
),

population as (
    select province_code, population, reference_date from {{ ref('province_population') }}
),

ace_window as (
    select
        make_date(cast(min(c.baseline_wave) as integer), 1, 1) as ace_from,
        least(make_date(cast(max(c.wave) as integer), 12, 31), max(p.period_end)) as ace_to
    from change as c, params as p
),

activities as (
    select a.province_code, count(*) as activities, sum(a.participants_total) as participants
    from {{ ref('fct_activities') }} as a, ace_window as w
    where a.period_start between w.ace_from and w.ace_to
    group by a.province_code
),

province_rows as (
    select
        'province' as level,
        pr.province_code as area_code,
        pr.name_th, pr.name_en,
        pr.region,
        coalesce(ac.activities, 0) as activities,
        coalesce(ac.participants, 0) as participants,
        po.population,
        po.reference_date as population_reference_date,
        case when po.population is not null then 1 else 0 end as provinces_with_population,
        1 as provinces_in_area
    from provinces as pr
    left join activities as ac using (province_code)
    left join population as po using (province_code)
),

regions as (
    select region, min(region_th) as region_th, min(region_en) as region_en from provinces group by region
),

region_rows as (
    select
        'region' as level,
        r.region as area_code,
        r.region_th as name_th, r.region_en as name_en,
        r.region,
        sum(pr.activities) as activities,
        sum(pr.participants) as participants,
        -- a region's population only when every province of it has an official figure
        case when count(pr.population) = count(*) then sum(pr.population) end as population,
        max(pr.population_reference_date) as population_reference_date,
        cast(count(pr.population) as integer) as provinces_with_population,
        cast(count(*) as integer) as provinces_in_area
    from province_rows as pr
    join regions as r using (region)
    group by r.region, r.region_th, r.region_en
),

areas as (
    select * from province_rows
    union all
    select * from region_rows
),

joined as (
    select
        a.*,
        c.baseline_wave,
        c.wave,
        c.baseline_estimate,
        c.wave_estimate,
        c.difference as change,
        c.se_difference as change_se,
        c.ci_low as change_ci_low,
        c.ci_high as change_ci_high,
        c.n_baseline,
        c.n_wave,
        c.unstable_se,
        c.suppressed,
        c.comparable,
        w.ace_from,
        w.ace_to
    from areas as a
    join change as c on c.domain = a.level and c.domain_value = a.area_code
    cross join ace_window as w
)

select
    j.level || '|' || j.area_code as area_id,
    j.*,
    j.participants * 1000.0 / nullif(j.population, 0) as participants_per_1000,
    j.activities * 100000.0 / nullif(j.population, 0) as activities_per_100k,
    j.n_baseline >= p.min_cell_n and j.n_wave >= p.min_cell_n and not j.suppressed and j.comparable
        as survey_stable,
    j.n_baseline >= p.min_cell_n and j.n_wave >= p.min_cell_n and not j.suppressed and j.comparable
        and j.population is not null as included_in_correlation,
    case
        when not j.comparable then 'waves not comparable'
        when j.suppressed or j.n_baseline < p.min_cell_n or j.n_wave < p.min_cell_n then 'too few respondents'
        when j.population is null and j.level = 'region'
            then 'population missing for ' || cast(j.provinces_in_area - j.provinces_with_population as varchar) || ' of '
                 || cast(j.provinces_in_area as varchar) || ' provinces'
        when j.population is null then 'population figure missing'
    end as exclusion_reason
,
    case
        when not j.comparable then 'รอบการสำรวจเปรียบเทียบกันไม่ได้'
        when j.suppressed or j.n_baseline < p.min_cell_n or j.n_wave < p.min_cell_n then 'ผู้ตอบน้อยกว่าเกณฑ์'
        when j.population is null and j.level = 'region'
            then 'ไม่มีจำนวนประชากรทางการของ ' || cast(j.provinces_in_area - j.provinces_with_population as varchar)
                 || ' จาก ' || cast(j.provinces_in_area as varchar) || ' จังหวัดในภาค'
        when j.population is null then 'ไม่มีจำนวนประชากรทางการ'
    end as exclusion_reason_th
from joined as j, params as p
-- provinces only where the survey cell is stable; every region is listed (with its reason when excluded)
where j.level = 'region'
   or (j.n_baseline >= p.min_cell_n and j.n_wave >= p.min_cell_n and not j.suppressed)
