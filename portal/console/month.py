"""The month as DCCE sees it: every registered partner, whether it reported for the month (in the last
publication, or through the portal since), its contact, its quarantined rows outstanding."""
from __future__ import annotations

from portal import warehouse
from portal.accounts.models import Partner
from portal.submissions.models import Submission


def month_rows(period: str) -> list[dict]:
    published = warehouse.reporting_status(period)
    uploads: dict[str, list[Submission]] = {}
    for s in Submission.objects.filter(status=Submission.ACCEPTED).order_by("id"):
        uploads.setdefault(s.partner_id, []).append(s)
    rows = []
    for p in Partner.objects.all():
        pub = published.get(p.partner_id, {})
        mine = uploads.get(p.partner_id, [])
        current = [s for s in mine if s.superseded_by is None]
        via_portal = any(s.period == period for s in mine)
        rows.append({
            "partner": p, "submitted": bool(pub.get("reported_period")) or via_portal, "via_portal": via_portal,
            "last_period": max([x for x in [pub.get("last_period")] + [s.period for s in mine] if x], default=""),
            "published_quarantined": pub.get("rows_quarantined", 0),
            "portal_quarantined": sum(s.rows_quarantined for s in current),
        })
    return rows
