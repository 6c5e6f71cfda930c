"""The month as DCCE sees it: every registered partner, whether it reported for the month (in the last
publication, or through the portal since), its contact, its quarantined rows outstanding."""
from __future__ import annotations

from portal import warehouse
from portal.accounts.models import Partner
from portal.submissions.models import Submission


def month_rows(period: str, cand: dict | None = None) -> list[dict]:
    """With a candidate waiting for approval, the month is read from the candidate's warehouse (what is about
    to be published), otherwise from the last publication; portal uploads count when made after either."""
    db = cand["warehouse"] if cand else None
    published = warehouse.reporting_status(period, db=db)
    uploads: dict[str, list[tuple]] = {}
    latest: dict[tuple, tuple] = {}      # (partner, report, month) -> its latest accepted upload: the current one
    subs = Submission.objects.filter(status=Submission.ACCEPTED)
    since = warehouse.published_at(db=db)
    if since is not None:           # uploads the last publication already read are counted in its figures
        subs = subs.filter(uploaded_at__gt=since)
    for row in subs.order_by("id").values_list(
            "partner_id", "family", "period", "rows_quarantined"):
        uploads.setdefault(row[0], []).append(row)
        latest[row[:3]] = row
    rows = []
    for p in Partner.objects.all():
        pub = published.get(p.partner_id, {})
        mine = uploads.get(p.partner_id, [])
        current = {latest[r[:3]] for r in mine}
        via_portal = any(r[2] == period for r in mine) or bool(pub.get("via_portal"))
        rows.append({
            "partner": p, "submitted": bool(pub.get("reported_period")) or via_portal, "via_portal": via_portal,
            "last_period": max([x for x in [pub.get("last_period")] + [r[2] for r in mine] if x], default=""),
            "published_quarantined": pub.get("rows_quarantined", 0),
            "portal_quarantined": sum(r[3] for r in current),
        })
    return rows
