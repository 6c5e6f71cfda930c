-- Observed, projected and target values are never mixed: each series of mart_national_progress has one
-- series_kind, one unit and one basis.
select series_id, count(distinct series_kind) as kinds, count(distinct unit) as units,
       count(distinct coalesce(basis, '')) as bases
from {{ ref('mart_national_progress') }}
group by series_id
having count(distinct series_kind) > 1 or count(distinct unit) > 1 or count(distinct coalesce(basis, '')) > 1
