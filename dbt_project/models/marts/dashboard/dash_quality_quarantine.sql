-- Quarantined input by family, rule and column: how many problems, rows and files, with one example value and
-- message in Thai and English (the Data quality page).
select
    family,
    rule,
    column_name,
    count(*) as problems,
    count(distinct (file, sheet, source_row)) as rows,
    count(distinct file) as files,
    arg_min(value, (file, source_row)) as example_value,
    arg_min(message_th, (file, source_row)) as message_th,
    arg_min(message_en, (file, source_row)) as message_en
from {{ ref('stg_ingestion__quarantine') }}
group by family, rule, column_name
