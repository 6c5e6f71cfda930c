-- Partners' replies to their candidate figures (the right of reply). A reply is a mark, never a number.
select
    partner_id,
    cast(period as varchar) as period,
    figure,
    reply,
    status,
    comment,
    cast(replied_at as date) as replied_at,
    _file as source_file
from {{ source('portal', 'partner_replies') }}
