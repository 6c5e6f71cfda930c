-- One row per current partner as its page and the partner lists show it: the progress mart's figures, its
-- light, its labels, its rank among partners of the same type and where its registry row came from.
with progress as (
    select * from {{ ref('mart_partner_progress') }}
),

lights as (
    select code as partner_id, light from {{ ref('dash_progress_lights') }} where scope = 'partner'
),

labels as (
    select * from {{ ref('dash_labels') }}
),

registry as (
    select * from {{ ref('stg_registry__partner_rows') }}
),

files as (
    select file, file_hash from {{ ref('stg_ingestion__files') }}
)

select
    p.*,
    coalesce(p.track_status, 'no_data') as status,
    l.light,
    rank() over (partition by p.partner_type, p.pct_of_required_path is null
                 order by p.pct_of_required_path desc) as rank_in_type,
    count(p.pct_of_required_path) over (partition by p.partner_type) as peers_with_path,
    type_l.label_th as type_th,
    type_l.label_en as type_en,
    peer_l.label_th as peer_group_th,
    peer_l.label_en as peer_group_en,
    prov_l.label_th as province_th,
    prov_l.label_en as province_en,
    reg_l.label_th as region_th,
    reg_l.label_en as region_en,
    r.source_file as registry_file,
    r.source_sheet as registry_sheet,
    r.source_row as registry_row,
    f.file_hash as registry_file_hash
from progress as p
left join lights as l using (partner_id)
left join labels as type_l on type_l.kind = 'partner_type' and type_l.code = p.partner_type
left join labels as peer_l on peer_l.kind = 'peer_group' and peer_l.code = p.peer_group
left join labels as prov_l on prov_l.kind = 'province' and prov_l.code = p.province_code
left join labels as reg_l on reg_l.kind = 'region' and reg_l.code = p.region
left join registry as r on r.partner_id = p.partner_id
left join files as f on f.file = r.source_file
