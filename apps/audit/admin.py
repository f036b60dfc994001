"""The Logs screen: the company's audit events, newest first, read-only."""

from django.contrib import admin

from apps.audit.models import AuditEvent
from apps.companies.admin import COMPACT_LIST_CSS, CompanyScopedAdminMixin, compact_datetime


class ActionFilter(admin.SimpleListFilter):
    """The actions that occur in the admin's own (scoped) log, not every action of the server."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = model_admin.get_queryset(request).order_by("action").values_list("action", flat=True).distinct()
        return [(action, action) for action in actions]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    # The actor's label already names the client and the user ("client X for user Y"); they stay filters.
    list_display = ["when", "action", "outcome", "actor_label", "target_label", "ip"]
    list_filter = [ActionFilter, "outcome", "actor_type", "actor_user", "client", "user", "created"]
    list_select_related = ["client", "user"]
    search_fields = ["action", "actor_label", "target_label", "target_id", "trace_id"]
    date_hierarchy = "created"
    ordering = ["-created", "-id"]
    fields = [
        "created",
        "action",
        "outcome",
        "actor_type",
        "actor_label",
        "actor_user",
        "actor_client",
        "client",
        "user",
        "target_type",
        "target_id",
        "target_label",
        "ip",
        "trace_id",
        "detail",
    ]
    readonly_fields = fields

    class Media:
        css = COMPACT_LIST_CSS

    @admin.display(description="when", ordering="created")
    def when(self, obj: AuditEvent) -> str:
        return compact_datetime(obj.created)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
