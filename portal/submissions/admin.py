from django.contrib import admin

from portal.submissions.models import Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Read-only: an upload's record is evidence (who, when, hash, what the contract found)."""
    list_display = ("uploaded_at", "partner", "family", "period", "status", "rows_loaded", "rows_quarantined")
    list_filter = ("status", "family")
    search_fields = ("partner__partner_id", "sha256")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
