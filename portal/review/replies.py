"""The replies of one reviewed month, written into the landing area as the partner_replies source family
(sources/contracts/partner_replies.yml): one CSV per month holding every reply, replaced atomically."""
from __future__ import annotations

import csv
import io
import os

from phakhi.ingest.contracts import load_contract
from phakhi.home import note_portal_file
from phakhi.settings import Paths

COLUMNS = [c.name for c in load_contract("partner_replies").columns]


def write_replies(period: str, paths: Paths | None = None):
    from portal.review.models import Reply
    from portal.submissions.checks import unsafe_cell

    paths = paths or Paths.from_env()
    folder = paths.landing_for("partner_replies")
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in Reply.objects.filter(period=period).order_by("partner_id", "figure"):
        comment = " ".join(r.comment.split())
        if unsafe_cell(comment):                 # a reason is text: never a formula in an open-data CSV
            comment = "'" + comment
        w.writerow([r.partner_id, r.period, r.figure, r.reply, "resolved" if r.resolved else "open", comment,
                    r.replied_at.date().isoformat()])
    out = folder / f"replies_{period}.csv"
    tmp = folder / f".replies_{period}.{os.getpid()}.tmp"
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, out)
    note_portal_file(paths, out)
    return out
