"""The Logs screen: the company's audit events, newest first, read-only, each explained in words.

Filters by action, outcome, actor, target and a date range; the *Export CSV* button streams the filtered list
(``apps/audit/export.py``) and records ``audit.exported``. A company admin sees their own company's events, a
server admin every event (the mixin's scoping); each event links to its object's admin page when the object
still exists and the admin may open it, resolved for the whole page at once (one query per kind of object).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst

from apps.audit.catalogue import action_label, describe
from apps.audit.export import csv_filename, csv_stream
from apps.audit.models import AuditEvent
from apps.audit.services import audit_export_record, public_id_field
from apps.companies.admin import (
    COMPACT_LIST_CSS,
    CompanyScopedAdminMixin,
    admin_actor,
    compact_datetime,
    is_company_owned,
    is_server_admin,
    scope_to_request,
)


class ActionFilter(admin.SimpleListFilter):
    """The actions that occur in the admin's own (scoped) log, not every action of the server, by name."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = model_admin.get_queryset(request).order_by("action").values_list("action", flat=True).distinct()
        return sorted(((action, action_label(action)) for action in actions), key=lambda choice: choice[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class TargetTypeFilter(admin.SimpleListFilter):
    """The kinds of object the admin's own events are about (API client, user, group, ...)."""

    title = "target"
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        kinds = (
            model_admin.get_queryset(request)
            .exclude(target_type="")
            .order_by("target_type")
            .values_list("target_type", flat=True)
            .distinct()
        )
        return [(kind, capfirst(_kind_name(kind))) for kind in kinds]

    def queryset(self, request, queryset):
        return queryset.filter(target_type=self.value()) if self.value() else queryset


class DateRangeFilter(admin.ListFilter):
    """From and to dates (both included, in the server's time zone), typed or picked in the sidebar."""

    title = "date range"
    template = "admin/audit/date_range_filter.html"
    since_parameter = "created_from"
    until_parameter = "created_to"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        for name in self.expected_parameters():
            if name in params:
                value = params.pop(name)
                self.values[name] = (value[-1] if isinstance(value, list) else value).strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.since_parameter, self.until_parameter]

    def queryset(self, request, queryset):
        since = self._date(self.since_parameter)
        until = self._date(self.until_parameter)
        if since is not None:
            queryset = queryset.filter(created__gte=_start_of(since))
        if until is not None:
            queryset = queryset.filter(created__lt=_start_of(until + timedelta(days=1)))
        return queryset

    def _date(self, name: str) -> date | None:
        value = self.values.get(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError as error:
            # The change list answers this with its "?e=1" page, like any malformed filter.
            raise IncorrectLookupParameters(f"{name} must be a date (YYYY-MM-DD).") from error

    def choices(self, changelist):
        # One "choice": the form, carrying every other current parameter along as hidden inputs.
        others = [
            (key, value)
            for key, values in changelist.filter_params.items()
            if key not in self.expected_parameters()
            for value in values
        ]
        yield {
            "since_name": self.since_parameter,
            "until_name": self.until_parameter,
            "since": self.values.get(self.since_parameter, ""),
            "until": self.values.get(self.until_parameter, ""),
            "hidden": others,
            "clear": changelist.get_query_string(remove=self.expected_parameters()),
            "selected": bool(self.values),
        }


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _kind_name(target_type: str) -> str:
    model = _model_of(target_type)
    return str(model._meta.verbose_name) if model is not None else target_type


def _model_of(target_type: str) -> type[Model] | None:
    try:
        return django_apps.get_model(target_type)
    except (LookupError, ValueError):
        return None


def _valid_values(model: type[Model], field: str, values: set[str]) -> set[str]:
    """The ``values`` that ``field`` can hold (a malformed target id must not turn the page into a 500)."""
    model_field = model._meta.pk if field == "pk" else model._meta.get_field(field)
    valid = set()
    for value in values:
        try:
            model_field.to_python(value)
        except ValidationError:
            continue
        valid.add(value)
    return valid


def titled(filter_class: type[admin.FieldListFilter], title: str) -> type[admin.FieldListFilter]:
    """``filter_class`` with its sidebar heading set (a field filter otherwise shows the field's name)."""

    def __init__(self, *args, **kwargs):
        filter_class.__init__(self, *args, **kwargs)
        self.title = title

    return type(f"Titled{filter_class.__name__}", (filter_class,), {"__init__": __init__})


class AuditChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.model_admin.attach_target_urls(request, self.result_list)


class AuditExportChangeList(ChangeList):
    """The change list's filtering, search and ordering without fetching a page: the export streams them."""

    def get_results(self, request):
        self.result_count = self.full_result_count = 0
        self.result_list = self.queryset.none()
        self.can_show_all = self.multi_page = False
        self.show_full_result_count = False
        self.show_admin_actions = False


@admin.register(AuditEvent)
class AuditEventAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    # Fits beside the navigation and filter sidebars at 1280 px; the action code, actor and IP address are on
    # the event's page and in the CSV.
    list_display = ["when", "what_happened", "target_link", "outcome"]
    list_display_links = ["when"]
    list_filter = [
        ActionFilter,
        "outcome",
        ("actor_type", titled(admin.ChoicesFieldListFilter, "kind of actor")),
        ("actor_user", titled(admin.RelatedOnlyFieldListFilter, "actor (person)")),
        ("actor_client", titled(admin.RelatedOnlyFieldListFilter, "actor (API client)")),
        TargetTypeFilter,
        "client",
        "user",
        DateRangeFilter,
    ]
    list_select_related = ["client", "user"]
    empty_value_display = "(none)"  # also the related filters' choice of events without an actor person, ...
    search_fields = ["action", "actor_label", "target_label", "target_id", "trace_id"]
    search_help_text = "Searches the action, the actor, the target's name or id, and the trace id."
    date_hierarchy = "created"
    ordering = ["-created", "-id"]
    fields = [
        "what_happened",
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
        "target_link",
        "ip",
        "trace_id",
        "detail",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": [*COMPACT_LIST_CSS["all"], "audit/logs.css"]}

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_changelist(self, request, **kwargs):
        return AuditExportChangeList if getattr(request, "_audit_export", False) else AuditChangeList

    @admin.display(description="when", ordering="created")
    def when(self, obj: AuditEvent) -> str:
        # The caller's address under the time: the two things a support person matches against a report.
        stamp = compact_datetime(obj.created)
        if not obj.ip:
            return stamp
        return format_html('{}<br><small class="audit-ip">from {}</small>', stamp, obj.ip)

    @admin.display(description="what happened")
    def what_happened(self, obj: AuditEvent) -> str:
        return describe(obj)

    @admin.display(description="target", ordering="target_label")
    def target_link(self, obj: AuditEvent) -> str:
        if not (obj.target_label or obj.target_id):
            return self.get_empty_value_display()
        label = obj.target_label or obj.target_id
        url = getattr(obj, "target_url", None)
        events = reverse("admin:audit_auditevent_changelist")
        history = format_html(
            '<a class="audit-target-events" href="{}?target_type={}&amp;target_id={}" title="{}">events</a>',
            events,
            obj.target_type,
            obj.target_id,
            "Every logged event about this object",
        )
        if url is None:
            return format_html('<span class="audit-target">{}</span> {}', label, history)
        return format_html('<a class="audit-target" href="{}">{}</a> {}', url, label, history)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)  # the mixin's 404 for a foreign or missing one
        self.attach_target_urls(request, [obj])
        return obj

    def attach_target_urls(self, request: HttpRequest, events) -> None:
        """Set ``target_url`` on each event whose object exists and the admin may open: one query per kind of
        object on the page, whatever the number of rows (Django would otherwise look each one up)."""
        wanted: dict[str, set[str]] = {}
        for event in events:
            event.target_url = None
            if event.target_type and event.target_id:
                wanted.setdefault(event.target_type, set()).add(event.target_id)
        urls: dict[tuple[str, str], str] = {}
        for target_type, public_ids in wanted.items():
            model = _model_of(target_type)
            model_admin = self.admin_site._registry.get(model) if model is not None else None
            if model_admin is None or not model_admin.has_view_or_change_permission(request):
                continue
            field = public_id_field(model)
            public_ids = _valid_values(model, field, public_ids)
            rows = model._default_manager.all()
            if is_company_owned(model):
                rows = scope_to_request(request, rows)
            elif not is_server_admin(request):
                continue
            found = rows.filter(**{f"{field}__in": public_ids}).values_list(field, "pk")
            url_name = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
            for public_id, pk in found:
                try:
                    urls[(target_type, str(public_id))] = reverse(url_name, args=[pk])
                except NoReverseMatch:
                    continue
        for event in events:
            event.target_url = urls.get((event.target_type, event.target_id))

    # --- CSV export ---

    def get_urls(self):
        export = path(
            "export.csv", self.admin_site.admin_view(self.export_csv_view), name="audit_auditevent_export_csv"
        )
        return [export, *super().get_urls()]

    def export_csv_view(self, request: HttpRequest):
        """The change list's rows (same filters, search and order) as CSV, streamed row by row."""
        if not self.has_view_permission(request):
            raise PermissionDenied  # admin_view lets only staff in; this is a second lock
        request._audit_export = True
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:audit_auditevent_changelist") + "?e=1")
        company = None if is_server_admin(request) else request.user.company
        criteria = {key: value for key, value in request.GET.items() if value}
        audit_export_record(company=company, actor=admin_actor(request), criteria=criteria, fmt="CSV")
        response = StreamingHttpResponse(csv_stream(changelist.queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{csv_filename(company)}"'
        response["Cache-Control"] = "no-store"
        return response
