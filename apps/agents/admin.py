"""Admin screens of AI agents (Admin > AI Agents), company settings (Admin > Company: General Information and
External Agent Provider Settings), the agents of users and groups, and the server's Default Agents (templates).
Every write goes through ``apps.agents.services``; keys are never rendered (only "•••• last 4")."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from apps.accounts.admin import ApplicationUserAdmin, GroupAdmin, GroupForm, ServiceDeleteMixin, UserForm
from apps.accounts.models import ApplicationUser, Group
from apps.agents.engine_fields import ENGINE_LABELS, SECRET_ATTRS
from apps.agents.forms import (
    AgentFileForm,
    AgentForm,
    AgentTemplateForm,
    CompanyProfileForm,
    ProviderCredentialForm,
    engine_fieldsets,
    engines_with_stored_keys,
    field_name,
)
from apps.agents.models import Agent, AgentFile, AgentGroupGrant, AgentTemplate, CompanyProfile, ProviderCredential
from apps.agents.selectors import (
    agents_granted_to_group,
    agents_granted_to_user,
    company_profile_for,
    groups_granted,
    provider_credential_for,
    template_list,
    user_default_agent,
    users_granted,
)
from apps.agents.services import (
    agent_check_connection,
    agent_create,
    agent_create_from_template,
    agent_delete,
    agent_file_add,
    agent_file_delete,
    agent_template_create,
    agent_template_delete,
    agent_template_publish,
    agent_template_update,
    agent_update,
    company_profile_update,
    explain_engine_error,
    group_set_agents,
    provider_credential_delete,
    provider_credential_set,
    user_set_agents,
    user_set_default_agent,
)
from apps.companies.admin import CompanyScopedAdminMixin, admin_actor, is_server_admin
from apps.companies.models import Company
from apps.core.encryption import mask
from apps.engines.base import EngineError

ADMIN_MEDIA = forms.Media(js=["agents/engine_fields.js"], css={"all": ["agents/admin.css"]})


SECRET_POST_FIELDS = [field_name(engine, attr) for engine in ENGINE_LABELS for attr in SECRET_ATTRS]


class EngineFieldsAdminMixin:
    """The per-engine fields are added by the form itself (``EngineFieldsMixin``); Django's form factory must
    only be told about the model's own fields. Error reports never show the typed keys."""

    @method_decorator(sensitive_post_parameters(*SECRET_POST_FIELDS))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        fields = kwargs.get("fields")
        if fields is None:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        # "company" stays: the company-scoping mixin adds it as a form field of its own.
        kwargs["fields"] = [name for name in fields if name == "company" or _is_model_field(self.model, name)]
        return super().get_form(request, obj, change=change, **kwargs)


def _is_model_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def key_status(obj, *, company_has_key: bool) -> str:
    """Where an agent's key comes from, masked: never the key itself."""
    if obj.api_key:
        return f"own key {mask(obj.api_key)}"
    if getattr(obj, "access_key_id", "") and getattr(obj, "secret_access_key", ""):
        return f"own access key {mask(obj.secret_access_key)}"
    if company_has_key:
        return "the company's provider settings"
    return "none" if obj.engine != "llama" else "none (self-hosted)"


class AgentFileInline(admin.TabularInline):
    model = AgentFile
    form = AgentFileForm
    extra = 1
    fields = ["file", "name", "size_display", "content_type", "uploaded"]
    readonly_fields = ["name", "size_display", "content_type", "uploaded"]
    verbose_name = "file"
    verbose_name_plural = "Files (documents the agent always has as context)"

    @admin.display(description="uploaded")
    def uploaded(self, obj: AgentFile):
        return obj.created if obj.pk is not None else ""

    @admin.display(description="size")
    def size_display(self, obj: AgentFile) -> str:
        if obj.pk is None:
            return ""
        size = obj.size
        for unit in ("bytes", "KB", "MB"):
            if size < 1024 or unit == "MB":
                return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
            size /= 1024
        return ""

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)


@admin.register(Agent)
class AgentAdmin(EngineFieldsAdminMixin, ServiceDeleteMixin, CompanyScopedAdminMixin, admin.ModelAdmin):
    form = AgentForm
    inlines = [AgentFileInline]
    list_display = ["name", "engine_label", "model_or_deployment", "is_active", "key", "granted_to_count", "updated"]
    list_filter = ["engine", "is_active"]
    search_fields = ["name", "description", "model", "deployment", "public_id"]
    readonly_fields = ["public_id", "key_summary", "granted_to", "template_name", "created", "updated"]
    actions = ["delete_selected"]
    change_form_template = "admin/agents/agent/change_form.html"
    change_list_template = "admin/agents/agent/change_list.html"

    @property
    def media(self):
        return super().media + ADMIN_MEDIA

    def get_queryset(self, request):
        queryset = super().get_queryset(request).alive()
        # Whether the company's provider settings hold a key for the agent's engine: one subquery, not one
        # query per row of the list. (An empty secret is stored as the empty string, so this needs no decryption.)
        company_key = ProviderCredential.objects.filter(company=OuterRef("company"), engine=OuterRef("engine")).exclude(
            api_key="", secret_access_key=""
        )
        return queryset.annotate(
            grant_count=Count("group_grants", distinct=True) + Count("user_grants", distinct=True),
            company_has_key=Exists(company_key),
        ).order_by("name", "id")

    def get_fieldsets(self, request, obj=None):
        general = ["name", "description", "instructions", "greeting", "greeting_description", "suggested_prompts"]
        general += ["image", "is_active"]
        fieldsets = [
            ("General settings", {"fields": general}),
            ("Agent engine", {"fields": ["engine"] + (["key_summary"] if obj else [])}),
            *engine_fieldsets(AgentForm.engine_specs, clear_keys=engines_with_stored_keys(obj)),
            (
                "Advanced settings: usage",
                {"fields": ["max_messages", "temperature", "max_tokens"]},
            ),
            (
                "Advanced settings: prices",
                {
                    "fields": ["input_price_per_million", "output_price_per_million"],
                    "description": "Prefilled with the provider's list price for known models; edit them for "
                    "negotiated rates, 0 for a self-hosted model.",
                },
            ),
        ]
        if obj is not None:
            fieldsets.append(("About", {"fields": ["public_id", "granted_to", "template_name", "created", "updated"]}))
        return self.with_company_choice(request, obj, fieldsets)

    # --- read-only displays ---

    @admin.display(description="engine", ordering="engine")
    def engine_label(self, obj: Agent) -> str:
        return ENGINE_LABELS.get(obj.engine, obj.engine)

    @admin.display(description="model")
    def model_or_deployment(self, obj: Agent) -> str:
        return obj.deployment or obj.model or "—"

    @admin.display(description="API key")
    def key(self, obj: Agent) -> str:
        return key_status(obj, company_has_key=obj.company_has_key)

    @admin.display(description="key in use")
    def key_summary(self, obj: Agent) -> str:
        credential = provider_credential_for(company=obj.company, engine=obj.engine)
        return key_status(obj, company_has_key=credential is not None and credential.has_key)

    @admin.display(description="grants", ordering="grant_count")
    def granted_to_count(self, obj: Agent) -> int:
        return obj.grant_count

    @admin.display(description="granted to")
    def granted_to(self, obj: Agent) -> str:
        groups = [
            (reverse("admin:accounts_group_change", args=[g.pk]), f"group {g.name}") for g in groups_granted(agent=obj)
        ]
        users = [
            (reverse("admin:accounts_applicationuser_change", args=[u.pk]), u.email) for u in users_granted(agent=obj)
        ]
        if not groups and not users:
            return "nobody yet: grant it on a group's or a user's page"
        return format_html_join(", ", '<a href="{}">{}</a>', groups + users)

    @admin.display(description="copied from default agent")
    def template_name(self, obj: Agent) -> str:
        return obj.template.name if obj.template else "—"

    # --- writes ---

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        data = form.cleaned_data
        values = dict(form.agent_values)
        values.pop("engine")
        image = data.get("image")
        if not change:
            agent = agent_create(
                company=form.target_company(),
                actor=actor,
                engine=data["engine"],
                is_active=data["is_active"],
                image=image or None,
                **{k: v for k, v in values.items() if v is not None},
            )
        else:
            agent = Agent.objects.get(pk=obj.pk)
            image_change = {} if image is None else {"image": image or None}
            agent = agent_update(
                company=agent.company,
                agent=agent,
                actor=actor,
                engine=data["engine"],
                is_active=data["is_active"],
                **image_change,
                **values,
            )
        for field in Agent._meta.concrete_fields:
            setattr(obj, field.attname, getattr(agent, field.attname))
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if formset.model is not AgentFile:
            return super().save_formset(request, form, formset, change)
        actor = admin_actor(request)
        agent = form.instance
        for file_form in formset.forms:
            if file_form in formset.deleted_forms:
                if file_form.instance.pk is not None:
                    agent_file_delete(company=agent.company, agent_file=file_form.instance, actor=actor)
            elif file_form.instance.pk is None and file_form.cleaned_data.get("file"):
                agent_file_add(company=agent.company, agent=agent, actor=actor, upload=file_form.cleaned_data["file"])
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        return None

    def delete_one(self, request, obj) -> None:
        agent_delete(company=obj.company, agent=obj, actor=admin_actor(request))

    def get_deleted_objects(self, objs, request):
        # A soft delete removes nothing else: files, grants and conversations stay for the history.
        return [str(obj) for obj in objs], {"agents": len(objs)}, set(), []

    # --- Test connection and "from a template" ---

    def get_urls(self):
        return [
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="agents_agent_test_connection",
            ),
            path(
                "add-from-template/",
                self.admin_site.admin_view(self.add_from_template_view),
                name="agents_agent_add_from_template",
            ),
            *super().get_urls(),
        ]

    def test_connection_view(self, request: HttpRequest, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        agent = self.get_object(request, object_id)
        if not self.has_change_permission(request, agent):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Test connection: {agent.name}",
            "agent": agent,
            "original": agent,
            "engine_label": ENGINE_LABELS.get(agent.engine, agent.engine),
        }
        try:
            context["check"] = agent_check_connection(company=agent.company, agent=agent, actor=admin_actor(request))
        except EngineError as exc:
            context["error"] = explain_engine_error(exc)
            context["error_kind"] = exc.kind
        return TemplateResponse(request, "admin/agents/agent/test_connection.html", context)

    def add_from_template_view(self, request: HttpRequest):
        if not self.has_add_permission(request):
            raise PermissionDenied
        server_admin = is_server_admin(request)
        companies = Company.objects.filter(is_active=True).order_by("name") if server_admin else None
        if request.method == "POST":
            template = AgentTemplate.objects.filter(pk=request.POST.get("template") or 0).first()
            company = request.user.company
            if server_admin:
                company = companies.filter(pk=request.POST.get("company") or 0).first()
            if template is None or company is None:
                raise Http404("No such default agent or company.")
            try:
                agent = agent_create_from_template(company=company, template=template, actor=admin_actor(request))
            except ValidationError as exc:
                self.message_validation_error(request, exc)
                return HttpResponseRedirect(reverse("admin:agents_agent_add_from_template"))
            self.message_user(
                request,
                f"Added {agent.name} from the default agent. Give it an API key (or set the company's provider "
                "settings), then grant it to groups or users.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:agents_agent_change", args=[agent.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Add an agent from a template",
            "templates": template_list(),
            "companies": companies,
        }
        return TemplateResponse(request, "admin/agents/agent/add_from_template.html", context)


# --- Admin > Company -----------------------------------------------------------------------------------------------


@admin.register(CompanyProfile)
class CompanyProfileAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """General Information: one row per company; a company admin goes straight to their own."""

    form = CompanyProfileForm
    list_display = ["company_name", "contact_email", "time_zone", "default_agent"]
    list_select_related = ["company", "default_agent"]
    fieldsets = [
        ("General information", {"fields": ["name", "logo", "contact_email", "time_zone"]}),
        ("Agents", {"fields": ["default_agent"]}),
    ]

    @admin.display(description="company", ordering="company__name")
    def company_name(self, obj: CompanyProfile) -> str:
        return obj.company.name

    @admin.display(description="contact email")
    def contact_email(self, obj: CompanyProfile) -> str:
        return obj.company.contact_email or "—"

    @admin.display(description="time zone")
    def time_zone(self, obj: CompanyProfile) -> str:
        return obj.company.time_zone

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if is_server_admin(request):
            for company in Company.objects.exclude(agents_companyprofile_set__isnull=False):
                company_profile_for(company=company)
            return super().changelist_view(request, extra_context)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        profile = company_profile_for(company=request.user.company)
        return HttpResponseRedirect(reverse("admin:agents_companyprofile_change", args=[profile.pk]))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        general = {"name": data["name"], "contact_email": data["contact_email"], "time_zone": data["time_zone"]}
        if data.get("logo") is not None:  # False: cleared, a file: uploaded, None: unchanged
            general["logo"] = data["logo"] or None
        company = Company.objects.get(pk=obj.company_id)
        profile = company_profile_update(
            company=company, actor=admin_actor(request), default_agent=data.get("default_agent"), **general
        )
        obj.default_agent_id = profile.default_agent_id

    def response_change(self, request, obj):
        if not is_server_admin(request) and "_save" in request.POST:
            self.message_user(request, "The company's general information was saved.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:agents_companyprofile_change", args=[obj.pk]))
        return super().response_change(request, obj)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(EngineFieldsAdminMixin, ServiceDeleteMixin, CompanyScopedAdminMixin, admin.ModelAdmin):
    """External Agent Provider Settings: per engine, what the company's agents without a key of their own use."""

    form = ProviderCredentialForm
    list_display = ["engine_label", "key", "base_url", "region", "updated"]
    actions = ["delete_selected"]

    @property
    def media(self):
        return super().media + ADMIN_MEDIA

    def get_fieldsets(self, request, obj=None):
        specs = ProviderCredentialForm.engine_specs
        if obj is None:
            fieldsets = [(None, {"fields": ["engine"]}), *engine_fieldsets(specs)]
        else:
            own = {obj.engine: specs[obj.engine]}
            fieldsets = [
                (None, {"fields": ["engine"]}),
                *engine_fieldsets(own, clear_keys=engines_with_stored_keys(obj)),
            ]
        return self.with_company_choice(request, obj, fieldsets)

    @admin.display(description="engine", ordering="engine")
    def engine_label(self, obj: ProviderCredential) -> str:
        return ENGINE_LABELS.get(obj.engine, obj.engine)

    @admin.display(description="key")
    def key(self, obj: ProviderCredential) -> str:
        if obj.api_key:
            return mask(obj.api_key)
        if obj.access_key_id and obj.secret_access_key:
            return f"access key {obj.access_key_id[:4]}… / {mask(obj.secret_access_key)}"
        return "—"

    def save_model(self, request, obj, form, change):
        engine = obj.engine if change else form.cleaned_data["engine"]
        company = obj.company if change else form.target_company()
        credential = provider_credential_set(
            company=company, engine=engine, actor=admin_actor(request), **form.credential_values
        )
        for field in ProviderCredential._meta.concrete_fields:
            setattr(obj, field.attname, getattr(credential, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Nothing related."""

    def delete_one(self, request, obj) -> None:
        provider_credential_delete(company=obj.company, credential=obj, actor=admin_actor(request))


# --- Server Admin > Default Agents ---------------------------------------------------------------------------------


class ServerAdminOnly:
    def has_module_permission(self, request) -> bool:
        return is_server_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_server_admin(request)

    def has_add_permission(self, request) -> bool:
        return is_server_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_server_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_server_admin(request)


@admin.register(AgentTemplate)
class AgentTemplateAdmin(ServerAdminOnly, EngineFieldsAdminMixin, ServiceDeleteMixin, admin.ModelAdmin):
    form = AgentTemplateForm
    list_display = ["name", "engine_label", "model", "published", "copies"]
    list_filter = ["engine", "published"]
    search_fields = ["name", "description", "model"]
    readonly_fields = ["published", "published_at", "created", "updated"]
    actions = ["publish", "delete_selected"]
    change_form_template = "admin/agents/agenttemplate/change_form.html"

    @property
    def media(self):
        return super().media + ADMIN_MEDIA

    def get_queryset(self, request):
        alive = Q(agents__deleted_at__isnull=True)
        return super().get_queryset(request).annotate(copy_count=Count("agents", filter=alive)).order_by("name", "id")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                "General settings",
                {
                    "fields": [
                        "name",
                        "description",
                        "instructions",
                        "greeting",
                        "greeting_description",
                        "suggested_prompts",
                    ]
                },
            ),
            (
                "Agent engine",
                {
                    "fields": ["engine"],
                    "description": "A default agent holds no keys: each company "
                    "gives its copy a key or uses its provider settings.",
                },
            ),
            *engine_fieldsets(AgentTemplateForm.engine_specs),
            ("Advanced settings: usage", {"fields": ["max_messages", "temperature", "max_tokens"]}),
            ("Advanced settings: prices", {"fields": ["input_price_per_million", "output_price_per_million"]}),
        ]
        if obj is not None:
            fieldsets.append(("Publication", {"fields": ["published", "published_at", "created", "updated"]}))
        return fieldsets

    @admin.display(description="engine", ordering="engine")
    def engine_label(self, obj: AgentTemplate) -> str:
        return ENGINE_LABELS.get(obj.engine, obj.engine)

    @admin.display(description="copies in companies", ordering="copy_count")
    def copies(self, obj: AgentTemplate) -> int:
        return obj.copy_count

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        values = {k: v for k, v in form.template_values.items() if v is not None or k.endswith("_per_million")}
        if not change:
            template = agent_template_create(actor=actor, **values)
        else:
            template = agent_template_update(template=AgentTemplate.objects.get(pk=obj.pk), actor=actor, **values)
        for field in AgentTemplate._meta.concrete_fields:
            setattr(obj, field.attname, getattr(template, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Nothing related."""

    def delete_one(self, request, obj) -> None:
        agent_template_delete(template=obj, actor=admin_actor(request))

    def get_deleted_objects(self, objs, request):
        # The companies' copies are independent agents and stay.
        return [str(obj) for obj in objs], {"default agents": len(objs)}, set(), []

    def get_urls(self):
        return [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="agents_agenttemplate_publish",
            ),
            *super().get_urls(),
        ]

    def publish_view(self, request: HttpRequest, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        template = self.get_object(request, object_id)
        if template is None:
            raise Http404
        if not self.has_change_permission(request, template):
            raise PermissionDenied
        self._publish(request, [template])
        return HttpResponseRedirect(reverse("admin:agents_agenttemplate_change", args=[template.pk]))

    def _publish(self, request, templates) -> None:
        actor = admin_actor(request)
        for template in templates:
            made = agent_template_publish(template=template, actor=actor)
            self.message_user(
                request,
                f"{template.name} is published to every company: {made} new copy(ies); new companies get one too.",
                messages.SUCCESS,
            )

    @admin.action(description="Publish the selected default agents to every company", permissions=["change"])
    def publish(self, request, queryset):
        self._publish(request, list(queryset))


# --- Users > agents, Groups > agents -------------------------------------------------------------------------------


def _agent_choices(request: HttpRequest, company: Company | None):
    agents = Agent.objects.alive().order_by("name")
    if not is_server_admin(request):
        return agents.filter(company=request.user.company)
    return agents.filter(company=company) if company is not None else agents.select_related("company")


class UserAgentsForm(UserForm):
    agents = forms.ModelMultipleChoiceField(
        queryset=Agent.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("agents", is_stacked=False),
        help_text="Agents granted to this person directly (they also get their groups' agents).",
    )
    default_agent = forms.ModelChoiceField(
        queryset=Agent.objects.none(),
        required=False,
        help_text="The agent their chat opens with; it must be one they may use (directly or through a group).",
    )
    agent_queryset = Agent.objects.none()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = self.agent_queryset
        self.fields["default_agent"].queryset = self.agent_queryset
        if self.instance.pk is not None and not self.is_bound:
            self.initial["agents"] = list(agents_granted_to_user(user=self.instance))
            self.initial["default_agent"] = user_default_agent(user=self.instance)

    def clean(self):
        data = super().clean()
        company = self.target_company()
        chosen = list(data.get("agents") or [])
        if any(agent.company_id != getattr(company, "pk", None) for agent in chosen):
            self.add_error("agents", "Choose only agents of the user's own company.")
        default = data.get("default_agent")
        if default is not None:
            via_groups = AgentGroupGrant.objects.filter(group__in=data.get("groups") or []).values_list(
                "agent_id", flat=True
            )
            usable = {agent.pk for agent in chosen} | set(via_groups)
            if default.company_id != getattr(company, "pk", None) or default.pk not in usable:
                self.add_error(
                    "default_agent", "Choose an agent this user may use: grant it above or to one of their groups."
                )
            elif not default.is_active:
                self.add_error("default_agent", f"{default.name} is inactive.")
            elif not data.get("is_active", True):
                self.add_error("default_agent", "An inactive user cannot have a default agent.")
        return data


class AgentAwareUserAdmin(ApplicationUserAdmin):
    form = UserAgentsForm

    def get_fieldsets(self, request, obj=None):
        return [*super().get_fieldsets(request, obj), ("Agents", {"fields": ["agents", "default_agent"]})]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.agent_queryset = _agent_choices(request, obj.company if obj is not None else None)
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        user = ApplicationUser.objects.get(pk=obj.pk)
        actor = admin_actor(request)
        user_set_agents(company=user.company, user=user, agents=form.cleaned_data["agents"], actor=actor)
        user_set_default_agent(company=user.company, user=user, agent=form.cleaned_data["default_agent"], actor=actor)


class GroupAgentsForm(GroupForm):
    agents = forms.ModelMultipleChoiceField(
        queryset=Agent.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("agents", is_stacked=False),
        help_text="The members of the group may use these agents.",
    )
    agent_queryset = Agent.objects.none()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = self.agent_queryset
        if self.instance.pk is not None and not self.is_bound:
            self.initial["agents"] = list(agents_granted_to_group(group=self.instance))

    def clean(self):
        data = super().clean()
        company = self.target_company()
        if any(agent.company_id != getattr(company, "pk", None) for agent in data.get("agents") or []):
            self.add_error("agents", "Choose only agents of the group's own company.")
        return data


class AgentAwareGroupAdmin(GroupAdmin):
    form = GroupAgentsForm

    def get_fieldsets(self, request, obj=None):
        return [*super().get_fieldsets(request, obj), ("Agents", {"fields": ["agents"]})]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.agent_queryset = _agent_choices(request, obj.company if obj is not None else None)
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        group = Group.objects.get(pk=obj.pk)
        group_set_agents(
            company=group.company, group=group, agents=form.cleaned_data["agents"], actor=admin_actor(request)
        )


# accounts sits below agents: its user and group screens gain their "Agents" sections here.
admin.site.unregister(ApplicationUser)
admin.site.register(ApplicationUser, AgentAwareUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, AgentAwareGroupAdmin)
