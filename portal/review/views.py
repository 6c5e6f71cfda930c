from datetime import datetime, timezone

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from phakhi.review import open_candidate
from phakhi.settings import Paths
from portal import warehouse
from portal.accounts.access import partner_view
from portal.review.forms import ReplyForm
from portal.review.models import FIGURES, Reply
from portal.review.replies import write_replies


@partner_view()
def review(request, partner):
    cand = open_candidate(Paths.from_env())
    if cand is None:
        return render(request, "review/none.html", {"partner": partner})
    period = cand["period"]
    figures = warehouse.partner_progress(partner.partner_id, db=cand["warehouse"]) or {}
    replies = {r.figure: r for r in Reply.objects.filter(partner=partner, period=period)}
    is_open = datetime.fromisoformat(cand["closes_at"]) > datetime.now(timezone.utc)
    if request.method == "POST" and not is_open:
        messages.error(request, _("The review window has closed; DCCE is deciding on publication."))
        return redirect("review", partner_id=partner.partner_id)
    if request.method == "POST":
        form = ReplyForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            Reply.objects.update_or_create(
                partner=partner, period=period, figure=d["figure"],
                defaults={"reply": d["reply"], "comment": d["comment"].strip(), "run_id": cand["run_id"],
                          "replied_by": request.user, "resolved": False, "resolved_by": None, "resolved_at": None})
            write_replies(period)
            messages.success(request, _("Thank you: your reply was recorded."))
            return redirect("review", partner_id=partner.partner_id)
    else:
        form = ReplyForm()
    statuses = {"on_track": _("on track"), "off_track": _("off track"), "no_data": _("no reductions reported")}
    rows = [{"code": code, "label": label, "value": figures.get(code), "reply": replies.get(code),
             "status": statuses.get(figures.get(code), figures.get(code)) if code == "track_status" else None}
            for code, label in FIGURES]
    return render(request, "review/review.html", {"partner": partner, "cand": cand, "rows": rows, "form": form,
                                                  "is_open": is_open,
                                                  "closes": datetime.fromisoformat(cand["closes_at"])})
