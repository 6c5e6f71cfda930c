-- Every file this run landed with its SHA-256 and outcome: the publication's manifest.json inputs and the
-- file hashes shown beside source files on partner pages.
select family, file, file_hash, status, rule, reason_en, reason_th, partner_id, period,
       rows_read, rows_loaded, rows_quarantined, rows_superseded
from {{ ref('stg_ingestion__files') }}
