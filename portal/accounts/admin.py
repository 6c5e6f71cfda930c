from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from portal.accounts.models import Membership, Partner


@admin.register(Partner)
class PartnerAdmin(SimpleHistoryAdmin):
    list_display = ("partner_id", "name_th", "partner_type", "province_code", "contact_email")
    list_filter = ("partner_type",)
    search_fields = ("partner_id", "name_th", "name_en", "contact_email")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "created_at")
    search_fields = ("user__username", "partner__partner_id")
    autocomplete_fields = ("partner",)
