-- A partner's status, percentages and peer rank rest on COUNTED reductions: a claim flagged as a duplicate
-- (e.g. one quoting another partner's T-VER credential, as P040's did in the SAMPLE data) must not lift a
-- partner on track. Rows returned = partners whose status or share disagrees with their counted reductions.
select partner_id, track_status, counted_12m_tco2e, reductions_12m_tco2e, required_path_tco2e, pct_of_required_path
from {{ ref('mart_partner_progress') }}
where track_status <> case
        when counted_12m_tco2e = 0 then 'no_data'
        when counted_12m_tco2e >= required_path_tco2e then 'on_track'
        else 'off_track'
    end
   or abs(coalesce(pct_of_required_path, 0) - coalesce(counted_12m_tco2e / nullif(required_path_tco2e, 0), 0)) > 1e-9
