-- This run's ingestion by family (the Data quality page and quality/ingest_report.csv): files landed,
-- rejected, superseded, duplicate; rows read, loaded, quarantined, superseded; and whether the rows balance.
select
    family,
    count(*) as files,
    count(*) filter (where status = 'rejected') as files_rejected,
    count(*) filter (where status = 'superseded') as files_superseded,
    count(*) filter (where status = 'duplicate') as files_duplicate,
    cast(sum(rows_read) as bigint) as rows_read,
    cast(sum(rows_loaded) as bigint) as rows_loaded,
    cast(sum(rows_quarantined) as bigint) as rows_quarantined,
    cast(sum(rows_superseded) as bigint) as rows_superseded,
    sum(rows_read) = sum(rows_loaded) + sum(rows_quarantined) + sum(rows_superseded) as balanced
from {{ ref('stg_ingestion__files') }}
group by family
