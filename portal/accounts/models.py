"""The partner registry as DCCE keeps it (edited in the admin, with history), and who belongs to which partner.

The registry's columns are the contract's (sources/contracts/partner_registry.yml); the refresh reads the
registry from the file the portal writes into the landing area (portal/accounts/registry.py): one registry."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from phakhi.ingest.contracts import load_contract

_REGISTRY = load_contract("partner_registry")
PARTNER_TYPES = [(code, _REGISTRY.column("partner_type").value_label(code, "en"))
                 for code in _REGISTRY.column("partner_type").allowed]
PARTNER_ID = RegexValidator(r"^P[0-9]{3,5}$", _("A partner id is P followed by 3 to 5 digits, e.g. P001."))


class Partner(models.Model):
    partner_id = models.CharField(_("partner id"), max_length=6, primary_key=True, validators=[PARTNER_ID])
    name_th = models.CharField(_("name (Thai)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    partner_type = models.CharField(_("partner type"), max_length=32, choices=PARTNER_TYPES)
    province_code = models.CharField(_("province (ISO code)"), max_length=8, help_text="TH-10 ... TH-96")
    parent_partner_id = models.CharField(_("parent partner id"), max_length=6, blank=True, validators=[PARTNER_ID])
    join_date = models.DateField(_("date joined"))
    pledge_base_year = models.PositiveIntegerField(_("pledge base year"))
    baseline_tco2e = models.FloatField(_("baseline emissions (tCO2e/year)"), validators=[MinValueValidator(0)])
    target_year = models.PositiveIntegerField(_("target year"))
    reduction_pct = models.FloatField(_("reduction target (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)])
    net_zero_year = models.PositiveIntegerField(_("net-zero year"), null=True, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["partner_id"]
        verbose_name = _("partner")
        verbose_name_plural = _("partner registry")

    def __str__(self):
        return f"{self.partner_id} {self.name_th}"


class Membership(models.Model):
    """A user account of a partner organisation (one partner per user; staff have none)."""
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="members")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner user")
        verbose_name_plural = _("partner users")

    def __str__(self):
        return f"{self.user} → {self.partner_id}"
