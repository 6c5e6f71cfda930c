-- One row per problem found in a quarantined input row (raw.quarantine): where (file, sheet, row, column),
-- what was wrong (rule, value) and what was expected, with the message in Thai and English.
select
    family,
    file,
    file_hash,
    cast(sheet as varchar) as sheet,
    cast("row" as bigint) as source_row,
    cast("column" as varchar) as column_name,
    cast(header as varchar) as header,
    cast(value as varchar) as value,
    rule,
    cast(expected as varchar) as expected,
    message_en,
    message_th
from {{ source('ingestion', 'quarantine') }}
