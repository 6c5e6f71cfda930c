from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import Partner

FAMILIES = [("activity_reports", _("Monthly activity report")),
            ("ghg_reductions", _("GHG-reduction report")),
            ("partner_inventories", _("GHG inventory"))]


class Submission(models.Model):
    """One upload: what the contract made of it, and where it landed (accepted) or why it was refused."""
    ACCEPTED, REFUSED, DUPLICATE = "accepted", "refused", "duplicate"
    STATUSES = [(ACCEPTED, _("accepted")), (REFUSED, _("refused")), (DUPLICATE, _("already received"))]

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="submissions")
    family = models.CharField(_("report"), max_length=32, choices=FAMILIES)
    original_name = models.CharField(_("file name"), max_length=200)     # shown only; never a path
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=16, choices=STATUSES)
    period = models.CharField(_("period"), max_length=16, blank=True)
    landing_path = models.CharField(max_length=300, blank=True)          # relative to the landing area
    rows_read = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_quarantined = models.PositiveIntegerField(default=0)
    reason_en = models.TextField(blank=True)
    reason_th = models.TextField(blank=True)
    problems = models.JSONField(default=list, blank=True)               # contract quarantine records

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def reason(self, lang: str) -> str:
        return self.reason_th if lang == "th" else self.reason_en

    @property
    def superseded_by(self):
        """A later accepted upload of the same report and period (it replaces this one at the next refresh)."""
        if self.status != self.ACCEPTED or not self.period:
            return None
        return Submission.objects.filter(partner=self.partner, family=self.family, period=self.period,
                                         status=self.ACCEPTED, id__gt=self.id).order_by("id").first()
