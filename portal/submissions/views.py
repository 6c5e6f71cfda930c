from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import get_valid_filename
from django.utils.translation import get_language, gettext as _
from django.views.decorators.http import require_GET

from phakhi.ingest.template import default_name
from phakhi.settings import Paths
from portal.accounts.access import partner_view
from portal.accounts.models import Partner
from portal.submissions import checks
from portal.submissions.forms import UploadForm
from portal.submissions.models import FAMILIES, Submission
from portal.submissions.templates import partner_template


def _lang():
    return "th" if (get_language() or "th").startswith("th") else "en"


@partner_view()
def history(request, partner):
    return render(request, "submissions/history.html",
                  {"partner": partner, "submissions": Submission.objects.filter(partner=partner)[:200],
                   "lang": _lang()})


@partner_view()
def detail(request, partner, pk):
    sub = get_object_or_404(Submission, pk=pk, partner=partner)      # another partner's upload: 404
    return render(request, "submissions/detail.html", {"partner": partner, "s": sub, "lang": _lang(),
                                                       "reason": sub.reason(_lang())})


@partner_view()
@require_GET
def template(request, partner, family):
    if family not in dict(FAMILIES):
        return HttpResponse(status=404)
    lang = _lang()
    data = partner_template(family, lang, partner.partner_id)
    resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = default_name(family, lang).replace("_template", f"_{partner.partner_id}_template")
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


@partner_view(write=True)
def upload(request, partner):
    limit = settings.PORTAL_MAX_UPLOAD_BYTES
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:    # refuse before reading it
            return render(request, "submissions/too_large.html", {"partner": partner, "limit": limit}, status=413)
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            sub = _receive(request, partner, form.cleaned_data["family"], form.cleaned_data["file"])
            if sub.status == Submission.ACCEPTED:
                messages.success(request, _("Your file was received."))
            return redirect("submission", partner_id=partner.partner_id, pk=sub.pk)
    else:
        form = UploadForm()
    return render(request, "submissions/upload.html", {"partner": partner, "form": form, "limit": limit,
                                                       "families": FAMILIES})


def _receive(request, partner: Partner, family: str, f) -> Submission:
    paths = Paths.from_env()
    suffix = checks.safe_suffix(f.name, family)
    scratch = checks.scratch_file(paths, suffix)
    with open(scratch, "wb") as out:
        for chunk in f.chunks():
            out.write(chunk)
    try:
        known = set(Partner.objects.values_list("partner_id", flat=True))
        res = checks.check_file(scratch, family, partner.partner_id, known)
        display_name = get_valid_filename(f.name.replace("\\", "/").rsplit("/", 1)[-1])[:200] or "upload" + suffix
        status = res.status
        if status == "accepted" and Submission.objects.filter(partner=partner, family=family, sha256=res.sha256,
                                                              status=Submission.ACCEPTED).exists():
            status = Submission.DUPLICATE
            res.reason_en, res.reason_th = ("this exact file was received before; nothing changed",
                                            "เคยได้รับไฟล์นี้แล้ว (เนื้อหาเหมือนเดิมทุกประการ)")
        if status == "accepted":
            res.landing_path = checks.land(paths, scratch, family, partner.partner_id, res.period, res.sha256,
                                           suffix, request.user.get_username(), display_name)
        return Submission.objects.create(
            partner=partner, family=family, original_name=display_name, sha256=res.sha256,
            size_bytes=res.size_bytes, uploaded_by=request.user, status=status, period=res.period,
            landing_path=res.landing_path, rows_read=res.rows_read, rows_loaded=res.rows_loaded,
            rows_quarantined=res.rows_quarantined, reason_en=res.reason_en, reason_th=res.reason_th,
            problems=res.problems[:500])
    finally:
        scratch.unlink(missing_ok=True)
