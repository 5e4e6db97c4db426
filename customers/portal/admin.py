from django.contrib import admin

from customers.portal.models import CancellationFeedback, PortalSettings


@admin.register(PortalSettings)
class PortalSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "max_pause_days", "pauses_per_year", "cancel_mode")

    def get_queryset(self, request):
        return PortalSettings.unscoped.select_related("organization")


@admin.register(CancellationFeedback)
class CancellationFeedbackAdmin(admin.ModelAdmin):
    list_display = ("organization", "subscription", "reason", "at_period_end", "created_at")
    list_filter = ("reason",)
    readonly_fields = [f.name for f in CancellationFeedback._meta.fields]

    def get_queryset(self, request):
        return CancellationFeedback.unscoped.select_related("organization")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
