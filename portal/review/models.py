from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import Partner

FIGURES = [("reductions_12m_tco2e", _("Reductions, last 12 months (tCO2e)")),
           ("required_path_tco2e", _("Required path (tCO2e)")),
           ("track_status", _("On-track status")),
           ("activities_12m", _("ACE activities, last 12 months")),
           ("participants_12m", _("Participants, last 12 months")),
           ("months_reported", _("Months reported"))]


class Reply(models.Model):
    """A partner's reply to one candidate figure of a reviewed month. It never changes the figure."""
    CONFIRM, DISPUTE = "confirm", "dispute"
    REPLIES = [(CONFIRM, _("I confirm this figure")), (DISPUTE, _("I dispute this figure"))]

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="replies")
    period = models.CharField(max_length=7)
    run_id = models.CharField(max_length=40)
    figure = models.CharField(_("figure"), max_length=32, choices=FIGURES)
    reply = models.CharField(_("reply"), max_length=8, choices=REPLIES)
    comment = models.TextField(_("reason"), blank=True, max_length=1000)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    replied_at = models.DateTimeField(auto_now=True)
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "period", "figure"], name="one_reply_per_figure")]
        ordering = ["partner_id", "figure"]
