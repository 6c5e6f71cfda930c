-- Every quarantined problem, published as quality/quarantine.csv so a partner can find and fix its rows.
select family, file, file_hash, sheet, source_row as "row", column_name as "column", header, value, rule, expected,
       message_en, message_th
from {{ ref('stg_ingestion__quarantine') }}
