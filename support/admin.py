from django.contrib import admin

from support.models import InboundEmail


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """Every inbound email and what happened to it (deliberately cross-tenant: superusers)."""

    list_display = ("received_at", "from_address", "subject", "outcome", "organization")
    list_filter = ("outcome",)
    search_fields = ("from_address", "subject", "message_id")
    readonly_fields = [f.name for f in InboundEmail._meta.fields]
