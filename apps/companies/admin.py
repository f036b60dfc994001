"""Tenant scoping for the Django admin, and the Companies screen of server admins.

A company admin (role ``admin``) sees only their own company's rows everywhere the admin reads data:
change lists, search, list filters, object URLs (another company's object is a 404, exactly like a
missing one), actions (foreign ids in the POST are dropped because actions run on the scoped queryset),
and the choices of foreign-key and many-to-many fields. A server admin (superuser) sees every company.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from apps.audit.services import Actor
from apps.companies.models import Company
from apps.companies.services import company_create, company_rename, company_set_active


def is_company_owned(model: type[Model]) -> bool:
    try:
        field = model._meta.get_field("company")
    except FieldDoesNotExist:
        return False
    return getattr(field, "related_model", None) is Company


def is_server_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


def scope_to_request(request: HttpRequest, queryset: QuerySet, *, company: Company | None = None) -> QuerySet:
    """Rows of ``queryset`` the requesting admin may see: the own company's for a company admin; every row
    (or ``company``'s, when given) for a server admin; nothing for anybody else."""
    if is_server_admin(request):
        return queryset.filter(company=company) if company is not None else queryset
    own = getattr(request.user, "company", None)
    if own is None or not request.user.is_staff:
        return queryset.none()
    return queryset.filter(company=own)


def admin_actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


# The lists of clients, tokens and logs fit 1280 px: a static stylesheet (see the file) and compact dates.
COMPACT_LIST_CSS = {"all": ["airisk/admin-lists.css"]}


def compact_datetime(value: datetime | None) -> str | None:
    """``2026-05-04 13:07`` in the server's time zone: a list column reads at a glance and stays narrow (it may
    break between the day and the time, never inside the day)."""
    if value is None:
        return None
    local = timezone.localtime(value)
    return format_html('<span class="airisk-day">{}</span> {}', f"{local:%Y-%m-%d}", f"{local:%H:%M}")


class CompanyScopedAdminMixin:
    """Mix into a ``ModelAdmin`` of a company-owned model (one with a ``company`` foreign key).

    Forms never carry the model's ``company`` field: a company admin's objects go to their own company;
    a server admin picks the company on the add form (the ``company`` form field added here).
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_request(request, super().get_queryset(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        # Django would redirect to the index with a "doesn't exist" message; a 404 tells nothing either way.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def related_company(self, request: HttpRequest, obj: Model | None) -> Company | None:
        """The company whose rows the form's choices may offer (a server admin editing an object gets
        that object's company; on an add form, every company)."""
        return getattr(obj, "company", None) if obj is not None else None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and is_company_owned(db_field.related_model):
            kwargs["queryset"] = scope_to_request(request, db_field.related_model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and is_company_owned(db_field.related_model):
            kwargs["queryset"] = scope_to_request(request, db_field.related_model._default_manager.all())
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request: HttpRequest):
        # Django's plain related-field filter lists every row of the related table, across companies;
        # the "related only" filter lists just the rows referenced by the (scoped) change list.
        scoped = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and self._is_relation(entry):
                entry = (entry, admin.RelatedOnlyFieldListFilter)
            scoped.append(entry)
        if is_server_admin(request) and is_company_owned(self.model) and "company" not in scoped:
            scoped.insert(0, "company")
        return scoped

    def _is_relation(self, path: str) -> bool:
        model = self.model
        for name in path.split("__"):
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                return False
            if not field.is_relation:
                return False
            model = field.related_model
        return True

    def get_list_display(self, request: HttpRequest):
        columns = list(super().get_list_display(request))
        if is_server_admin(request) and is_company_owned(self.model) and "company" not in columns:
            columns.append("company")
        return columns

    def get_list_select_related(self, request: HttpRequest):
        related = super().get_list_select_related(request)
        if is_server_admin(request) and is_company_owned(self.model):
            return [*(related if isinstance(related, list | tuple) else []), "company"]
        return related

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        fields = kwargs.get("fields")
        if fields is not None:
            # "company" is a form field of our own (below), not a model field of the form.
            kwargs["fields"] = [name for name in fields if name != "company"]
        form = super().get_form(request, obj, change=change, **kwargs)
        attrs = {"request_company": None if is_server_admin(request) else request.user.company}
        if obj is None and is_server_admin(request):
            attrs["company"] = forms.ModelChoiceField(
                queryset=Company.objects.filter(is_active=True),
                help_text="The company this belongs to. It cannot be changed later.",
            )
        return type(form.__name__, (form,), attrs)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        return self.with_company_choice(request, obj, super().get_fieldsets(request, obj))

    def with_company_choice(self, request: HttpRequest, obj, fieldsets) -> list:
        """``fieldsets`` with the server admin's company choice first on an add form."""
        if obj is None and is_server_admin(request):
            return [(None, {"fields": ["company"]}), *fieldsets]
        return list(fieldsets)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and is_server_admin(request) and is_company_owned(self.model):
            readonly.append("company")
        return readonly

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        # Django's bulk delete bypasses the services (no audit event); admins that allow deletion
        # define their own "delete_selected" action that goes through a service.
        if "delete_selected" in actions and not hasattr(type(self), "delete_selected"):
            del actions["delete_selected"]
        return actions

    def message_validation_error(self, request: HttpRequest, exc: ValidationError) -> None:
        self.message_user(request, " ".join(exc.messages), messages.ERROR)


class CompanyScopedForm(forms.ModelForm):
    """Base of the admin forms of company-owned models; knows which company the object belongs to."""

    request_company: Company | None = None  # set by CompanyScopedAdminMixin.get_form for company admins

    def target_company(self) -> Company | None:
        if self.instance.pk is not None and getattr(self.instance, "company_id", None):
            return self.instance.company
        return self.cleaned_data.get("company") or self.request_company


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["name", "slug", "is_active"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    """Server admins only: company admins have no access to this app (see ApplicationUser.has_perm)."""

    form = CompanyForm
    list_display = ["name", "slug", "is_active", "user_count", "client_count", "created"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created"]
    actions = ["deactivate_companies", "activate_companies"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                user_count=Count("users", distinct=True),
                client_count=Count("oauth_apiuser_set", distinct=True),
            )
            .order_by("name", "id")
        )

    def get_readonly_fields(self, request, obj=None):
        # The slug names the company in tokens (the JWT "company" claim) and commands: fixed once created.
        return ["slug", "created"] if obj is not None else ["created"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deactivate instead: deleting a company would erase its users, clients and audit trail.
        return False

    @admin.display(description="users", ordering="user_count")
    def user_count(self, obj: Company) -> int:
        return obj.user_count

    @admin.display(description="API clients", ordering="client_count")
    def client_count(self, obj: Company) -> int:
        return obj.client_count

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        data = form.cleaned_data
        if not change:
            created = company_create(name=data["name"], slug=data["slug"], actor=actor)
            if not data["is_active"]:
                company_set_active(company=created, active=False, actor=actor)
            obj.pk, obj.created, obj.is_active = created.pk, created.created, created.is_active
            obj._state.adding = False
            return
        company = Company.objects.get(pk=obj.pk)
        company_rename(company=company, name=data["name"], actor=actor)
        company_set_active(company=company, active=data["is_active"], actor=actor)

    @admin.action(description="Deactivate the selected companies (revokes their tokens)", permissions=["change"])
    def deactivate_companies(self, request, queryset):
        actor = admin_actor(request)
        for company in queryset:
            company_set_active(company=company, active=False, actor=actor)
        self.message_user(request, f"Deactivated {len(queryset)} company(ies).", messages.SUCCESS)

    @admin.action(description="Activate the selected companies", permissions=["change"])
    def activate_companies(self, request, queryset):
        actor = admin_actor(request)
        for company in queryset:
            company_set_active(company=company, active=True, actor=actor)
        self.message_user(request, f"Activated {len(queryset)} company(ies).", messages.SUCCESS)
