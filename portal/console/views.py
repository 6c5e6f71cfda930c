import csv
from datetime import datetime, timezone

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone as djtz
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from phakhi.review import open_candidate, publish_candidate, set_state
from phakhi.settings import Paths
from portal import warehouse
from portal.accounts.access import staff_view
from portal.console.month import month_rows
from portal.review.models import Reply
from portal.review.replies import write_replies
from portal.submissions.checks import unsafe_cell


def _period(request, cand) -> str:
    p = request.GET.get("period", "")
    if len(p) == 7 and p[4] == "-" and p.replace("-", "").isdigit():
        return p
    return (cand or {}).get("period") or warehouse.published_period() or djtz.now().strftime("%Y-%m")


@staff_view
def console(request):
    cand = open_candidate(Paths.from_env())
    period = _period(request, cand)
    rows = month_rows(period, cand if cand and cand["period"] == period else None)
    backlog = sorted((r for r in rows if r["published_quarantined"] or r["portal_quarantined"]),
                     key=lambda r: -(r["published_quarantined"] + r["portal_quarantined"]))
    window_open = bool(cand) and datetime.fromisoformat(cand["closes_at"]) > datetime.now(timezone.utc)
    return render(request, "console/console.html", {
        "period": period, "rows": rows, "backlog": backlog, "cand": cand, "window_open": window_open,
        "closes": datetime.fromisoformat(cand["closes_at"]) if cand else None,
        "submitted": sum(r["submitted"] for r in rows), "replies": Reply.objects.filter(period=period)
        .select_related("partner")})


def _csv_cell(v) -> str:
    """Open-data hygiene for a spreadsheet: a cell that would run as a formula is written as text."""
    text = "" if v is None else str(v)
    return "'" + text if unsafe_cell(text) == "formula" else text


@staff_view
def export(request):
    cand = open_candidate(Paths.from_env())
    period = _period(request, cand)
    resp = HttpResponse(content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="phakhi_submissions_{period}.csv"'
    resp.write("\ufeff")                     # Excel opens UTF-8 Thai correctly with a BOM
    w = csv.writer(resp)
    w.writerow(["partner_id", "name_th", "name_en", "partner_type", "period", "submitted", "last_period",
                "quarantined_rows", "contact_name", "contact_email", "contact_phone"])
    for r in month_rows(period, cand if cand and cand["period"] == period else None):
        p = r["partner"]
        w.writerow([_csv_cell(v) for v in (p.partner_id, p.name_th, p.name_en, p.partner_type, period,
                                           "yes" if r["submitted"] else "no", r["last_period"],
                                           r["published_quarantined"] + r["portal_quarantined"],
                                           p.contact_name, p.contact_email, p.contact_phone)])
    return resp


@require_POST
@staff_view
def resolve(request, pk):
    reply = get_object_or_404(Reply, pk=pk)
    reply.resolved, reply.resolved_by, reply.resolved_at = True, request.user, djtz.now()
    reply.resolution = request.POST.get("resolution", "")[:1000]
    reply.save()
    write_replies(reply.period)
    messages.success(request, _("Dispute marked as resolved."))
    return redirect("console")


@require_POST
@staff_view
def approve(request):
    paths = Paths.from_env()
    cand = open_candidate(paths)
    if cand is None or cand["run_id"] != request.POST.get("run_id"):
        messages.error(request, _("There is no candidate publication waiting for approval."))
        return redirect("console")
    if datetime.fromisoformat(cand["closes_at"]) > datetime.now(timezone.utc):
        messages.error(request, _("The review window is still open."))
        return redirect("console")
    who = request.user.get_username()
    write_replies(cand["period"])
    if cand.get("paused") and cand.get("flow_run_id"):
        # the refresh is paused on the Prefect server: resume it with DCCE's decision; it publishes itself
        from uuid import UUID

        from prefect.flow_runs import resume_flow_run

        resume_flow_run(UUID(cand["flow_run_id"]), run_input={"approved": True, "decided_by": who})
        set_state(paths, cand["run_id"], "approved", decided_by=who)
        messages.success(request, _("Approved: the refresh resumes and publishes."))
        return redirect("console")
    try:
        pub = publish_candidate(paths, cand["run_id"], decided_by=who)
    except Exception as exc:          # a failed gate or dbt error: say so, publish nothing
        messages.error(request, _("Publication failed: %(error)s") % {"error": str(exc)[:500]})
        return redirect("console")
    messages.success(request, _("Published: %(pub)s") % {"pub": pub.name})
    return redirect("console")
