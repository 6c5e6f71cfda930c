-- Every code the site shows, with its Thai and English label: one vocabulary, from the seeds
-- (dashboard_labels for codes without a reference table of their own) and the survey instrument.
with labels as (
    select kind, code, label_th, label_en from {{ ref('dashboard_labels') }}
    union all
    select 'partner_type', code, name_th, name_en from {{ ref('partner_types') }}
    union all
    select 'sector', sector_code, name_th, name_en from {{ ref('ipcc_sectors') }}
    union all
    select 'ace_element', element_code, name_th, name_en from {{ ref('ace_elements') }}
    union all
    select 'programme', programme_code, name_th, name_en from {{ ref('ghg_programmes') }}
    union all
    select 'province', province_code, name_th, name_en from {{ ref('provinces') }}
    union all
    select distinct 'survey_item', item_code, text_th, text_en from {{ ref('stg_survey__instrument_items') }}
),

regions as (
    -- region names come with the provinces seed; the dashboard_labels row is the fallback
    select distinct 'region' as kind, region as code, region_th as label_th, region_en as label_en
    from {{ ref('provinces') }}
)

select kind, code, label_th, label_en from labels where kind <> 'region'
union all
select kind, code, label_th, label_en from regions
union all
select l.kind, l.code, l.label_th, l.label_en
from labels as l
where l.kind = 'region' and l.code not in (select code from regions)
