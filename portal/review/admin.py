from django.contrib import admin

from portal.review.models import Reply


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    """Read-only: partners reply in the portal, DCCE resolves disputes in the console."""
    list_display = ("period", "partner", "figure", "reply", "resolved", "replied_at")
    list_filter = ("period", "reply", "resolved")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
