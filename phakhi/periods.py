"""Months: what a refresh is for, and ranges of them.

- `resolve_period`: the deployment passes `period="previous"`; this turns it into the calendar month before the
  run's *scheduled* start (Bangkok time), so a late or re-run scheduled run still refreshes the month it was for.
- `months`: every month of a range, in order.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

SCHEDULE_TZ = "Asia/Bangkok"
PREVIOUS = "previous"
LATEST = "latest"
PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def validate_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD_RE.match(period):
        raise ValueError(f"period must be YYYY-MM (e.g. 2025-12), 'previous' or 'latest'; got {period!r}")
    return period


def previous_month(at: datetime, tz: str = SCHEDULE_TZ) -> str:
    """The calendar month before `at`, as seen on a wall clock in `tz` (naive datetimes are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    local = at.astimezone(ZoneInfo(tz))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def scheduled_start_time() -> datetime:
    """When this flow run was scheduled to start (a deployment's cron slot, or the time a run was requested);
    now, outside a flow run."""
    try:
        from prefect.runtime import flow_run

        t = flow_run.scheduled_start_time
    except Exception:  # pragma: no cover - runtime lookups never break a refresh
        t = None
    if t is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(t.timestamp(), tz=timezone.utc)


def resolve_period(period: str | None, at: datetime | None = None, tz: str = SCHEDULE_TZ) -> str | None:
    """The month a refresh is for.

    None, "" or "latest" → None (the flow then takes the latest month in the landed data);
    "previous" → the calendar month before `at` (default: this flow run's scheduled start) in Bangkok time;
    "YYYY-MM" → itself. Anything else raises ValueError (the run fails before any work, and says why).
    """
    if period is None or not str(period).strip() or str(period).strip().lower() == LATEST:
        return None
    p = str(period).strip()
    if p.lower() == PREVIOUS:
        return previous_month(at or scheduled_start_time(), tz)
    return validate_period(p)


def months(start: str, end: str) -> list[str]:
    """Every month from `start` to `end`, both included, in order."""
    y0, m0 = map(int, validate_period(start).split("-"))
    y1, m1 = map(int, validate_period(end).split("-"))
    if (y1, m1) < (y0, m0):
        raise ValueError(f"backfill range ends ({end}) before it starts ({start})")
    out, y, m = [], y0, m0
    while (y, m) <= (y1, m1):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out


# ---------------------------------------------------------------- which month a refresh publishes (issue 12)
PERIOD_QUORUM = 0.5     # a default month must carry reports from at least half as many partners as the busiest


def current_month(at: datetime | None = None, tz: str = SCHEDULE_TZ) -> str:
    at = at or datetime.now(timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    local = at.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


class NoPublishableMonth(ValueError):
    """No month in the landed data can be published (none at or before the cap)."""


def publishable_period(requested: str | None, partners_by_month: dict[str, int], at: datetime | None = None,
                       quorum: float = PERIOD_QUORUM) -> tuple[str, list[str]]:
    """The month a refresh publishes, and the later months it holds back.

    - requested (an explicit YYYY-MM, or "previous" already resolved by `resolve_period`): that month, never a
      later one; every later month found is held;
    - none requested: the latest month, not later than the current month (Bangkok), whose reports come from at
      least `quorum` x the partners of the busiest month -- so one partner's file dated a later month (a typo,
      or sent early) never becomes the month the whole country is published for.

    Held months are not published by this run; their files stay in the landing area for their own month.
    `partners_by_month` = {"YYYY-MM": number of partners with reports for that month}.
    """
    found = {validate_period(p): n for p, n in partners_by_month.items() if p}
    if requested:
        period = validate_period(requested)
        return period, sorted(p for p in found if p > period)
    cap = current_month(at)
    eligible = {p: n for p, n in found.items() if p <= cap}
    if not eligible:
        if found:
            raise NoPublishableMonth(
                f"every month in the landed data ({', '.join(sorted(found)[:6])}) is later than the current month "
                f"{cap}; pass --period YYYY-MM")
        raise NoPublishableMonth("no activity or GHG report in the landing area carries a month; pass --period YYYY-MM")
    busiest = max(eligible.values())
    period = max(p for p, n in eligible.items() if n >= quorum * busiest)
    return period, sorted(p for p in found if p > period)
