-- One row per file this run landed, with what became of it (raw.ingest_manifest, written by
-- phakhi.ingest.landing.load_raw). Columns that are all empty in a run arrive untyped: cast here.
select
    family,
    file,
    file_hash,
    cast(size_bytes as bigint) as size_bytes,
    status,
    cast(rule as varchar) as rule,
    cast(reason_en as varchar) as reason_en,
    cast(reason_th as varchar) as reason_th,
    cast(partner_id as varchar) as partner_id,
    cast(period as varchar) as period,
    cast(sheet as varchar) as sheet,
    cast(encoding as varchar) as encoding,
    coalesce(rows_read, 0) as rows_read,
    coalesce(rows_loaded, 0) as rows_loaded,
    coalesce(rows_quarantined, 0) as rows_quarantined,
    coalesce(rows_superseded, 0) as rows_superseded,
    coalesce(blank_rows, 0) as blank_rows,
    cast(contract_version as varchar) as contract_version,
    cast(received_at as timestamp) as received_at,
    cast(superseded_by as varchar) as superseded_by,
    cast(notes as varchar) as notes
from {{ source('ingestion', 'ingest_manifest') }}
