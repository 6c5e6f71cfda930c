from django.shortcuts import redirect, render
from django.contrib.auth.decorators import login_required

from portal import warehouse
from portal.accounts.access import own_partner_id, partner_view
from portal.submissions.models import Submission


@login_required
def home(request):
    pid = own_partner_id(request.user)
    if pid:
        return redirect("progress", partner_id=pid)
    if request.user.is_staff:
        return redirect("console")
    return render(request, "progress/no_partner.html", status=403)


@partner_view()
def progress(request, partner):
    pid = partner.partner_id
    p = warehouse.partner_progress(pid)
    bars = None
    if p:
        top = max(p.get("required_path_tco2e") or 0, p.get("reductions_12m_tco2e") or 0,
                  p.get("pledged_reduction_tco2e") or 0) or 1
        bars = [(key, p.get(key) or 0, round(100 * (p.get(key) or 0) / top))
                for key in ("reductions_12m_tco2e", "required_path_tco2e", "pledged_reduction_tco2e")]
    pending = [s for s in Submission.objects.filter(partner=partner, status=Submission.ACCEPTED, rows_quarantined__gt=0)
               if s.superseded_by is None]
    return render(request, "progress/progress.html", {
        "partner": partner, "p": p, "bars": bars,
        "activities": warehouse.partner_activities(pid, limit=20),
        "quarantine": warehouse.partner_quarantine(pid),
        "pending": pending,
        "recent": Submission.objects.filter(partner=partner)[:5],
    })
