-- The refreshed month and its 12-month window, as one row: the only place the site learns which months a
-- "last 12 months" figure covers (from the phakhi_period macro every as-of model uses).
select
    period,
    period_start,
    period_end,
    window_start,
    strftime(window_start, '%Y-%m') as window_first_period,
    period_year,
    period_month
from ({{ phakhi_period() }})
