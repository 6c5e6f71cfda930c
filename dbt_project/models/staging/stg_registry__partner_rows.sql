-- Where each partner's registry row came from (file, sheet, row): the lineage shown on partner pages.
-- Kept apart from stg_registry__partners so the row number never enters the partner snapshot.
select
    partner_id,
    _file as source_file,
    cast(_sheet as varchar) as source_sheet,
    cast(_row as bigint) as source_row
from {{ source('registry', 'partner_registry') }}
