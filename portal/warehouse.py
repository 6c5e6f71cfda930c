"""The portal's one door into the warehouse: read-only DuckDB queries on the PUBLISHED warehouse (or on a
candidate's, during a review window). Every table name the portal reads is in TABLES: gated marts only (the
presentation layer's quality marts, models/marts/dashboard/, never raw tables). Nothing in the portal computes
a figure: it selects rows of gated marts for one partner."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from phakhi.settings import Paths

TABLES = {
    "progress": "marts.mart_partner_progress",
    "activities": "marts.fct_activities",
    "manifest": "marts.dash_quality_files",               # every landed file with its outcome
    "quarantine": "marts.dash_quality_quarantine_rows",   # every quarantined problem (quality/quarantine.csv)
}

# The figures a partner confirms or disputes in a review window: mart_partner_progress columns.
REVIEW_FIGURES = ["reductions_12m_tco2e", "required_path_tco2e", "track_status", "activities_12m",
                  "participants_12m", "months_reported"]


def published_db(paths: Paths | None = None) -> Path:
    return (paths or Paths.from_env()).published_db


@contextmanager
def connect(db: Path | None = None):
    """A read-only connection, or None when there is no warehouse yet (no refresh published so far). Retries
    briefly: a publication replaces the file atomically, and a writer may hold it for a moment."""
    import duckdb

    db = Path(db or published_db())
    if not db.exists():
        yield None
        return
    con = None
    for attempt in range(20):
        try:
            con = duckdb.connect(str(db), read_only=True)
            break
        except duckdb.IOException:
            time.sleep(0.1 * (attempt + 1))
    if con is None:
        yield None
        return
    try:
        yield con
    finally:
        con.close()


def _records(con, sql: str, params: list) -> list[dict]:
    import duckdb

    try:
        cur = con.execute(sql, params)
    except duckdb.CatalogException:          # a mart not built yet: the page says "not available"
        return []
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def partner_progress(partner_id: str, db: Path | None = None) -> dict | None:
    with connect(db) as con:
        if con is None:
            return None
        rows = _records(con, f"select * from {TABLES['progress']} where partner_id = ?", [partner_id])
    return rows[0] if rows else None


def partner_activities(partner_id: str, limit: int = 50, db: Path | None = None) -> list[dict]:
    with connect(db) as con:
        if con is None:
            return []
        return _records(con, f"select period, activity_no, ace_element, activity_type, title, province_code, "
                             f"participants_total from {TABLES['activities']} where partner_id = ? "
                             f"order by period desc, activity_no limit ?", [partner_id, limit])


def partner_quarantine(partner_id: str, db: Path | None = None) -> list[dict]:
    """Rows of this partner's current files that the last published refresh quarantined, with the reason."""
    with connect(db) as con:
        if con is None:
            return []
        return _records(con, f"""
            select q.family, q.file, q.row, q."column", q.value, q.rule, q.expected, q.message_en, q.message_th
            from {TABLES['quarantine']} q join {TABLES['manifest']} m using (family, file_hash)
            where m.partner_id = ? and m.status in ('loaded', 'partially_loaded', 'quarantined')
            order by q.family, q.file, q.row""", [partner_id])


def reporting_status(period: str, db: Path | None = None) -> dict[str, dict]:
    """{partner_id: {periods reported, quarantined rows}} from the published refresh's manifest."""
    with connect(db) as con:
        if con is None:
            return {}
        rows = _records(con, f"""
            select partner_id, family, max(period) as last_period,
                   bool_or(period = ?) as reported_period, sum(rows_quarantined) as rows_quarantined,
                   bool_or(period = ? and file like '%/portal/%') as via_portal
            from {TABLES['manifest']}
            where partner_id is not null and partner_id <> '*'
              and status in ('loaded', 'partially_loaded', 'quarantined')
            group by all""", [period, period])
    out: dict[str, dict] = {}
    for r in rows:
        d = out.setdefault(r["partner_id"], {"reported_period": False, "rows_quarantined": 0, "last_period": None,
                                             "via_portal": False})
        d["reported_period"] |= bool(r["reported_period"])
        d["via_portal"] |= bool(r["via_portal"])
        d["rows_quarantined"] += int(r["rows_quarantined"] or 0)
        if r["last_period"] and (d["last_period"] is None or r["last_period"] > d["last_period"]):
            d["last_period"] = r["last_period"]
    return out


def published_at(paths: Paths | None = None, db: Path | None = None):
    """When the published warehouse (or `db`) was last written, as an aware UTC datetime, or None."""
    from datetime import datetime, timezone

    db = Path(db) if db else published_db(paths)
    return datetime.fromtimestamp(db.stat().st_mtime, timezone.utc) if db.exists() else None


def published_period(db: Path | None = None) -> str | None:
    with connect(db) as con:
        if con is None:
            return None
        rows = _records(con, f"select max(period) as period from {TABLES['progress']}", [])
    return rows[0]["period"] if rows else None
