"""Admin screens of people: users (ApplicationUser) and company groups. Every write goes through a service
of ``apps.accounts.services`` so that it leaves an audit event and obeys the last-admin rule."""

from __future__ import annotations

import logging

from axes.models import AccessAttempt
from django import forms
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F, Sum, Window
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import ApplicationUser, Group, Role
from apps.accounts.services import (
    group_create,
    group_delete,
    group_rename,
    group_set_members,
    login_lockout_reset,
    login_record_failure,
    user_admin_guard,
    user_create,
    user_delete,
    user_password_link_send,
    user_set_active,
    user_set_groups,
    user_set_password,
    user_update,
    user_update_roles,
)
from apps.audit.services import Actor
from apps.companies.admin import CompanyScopedAdminMixin, CompanyScopedForm, admin_actor, is_server_admin

logger = logging.getLogger(__name__)

# AIRisk has its own company-scoped groups; Django's permission groups are not used.
admin.site.unregister(AuthGroup)

NOT_AN_ADMIN_MESSAGE = (
    "The web admin is for company admins. Your account has no admin role in an active company, so there is "
    "nothing to manage here. If you need to manage users or API clients, ask your company's admin."
)


class CompanyAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, saying plainly who the web admin is for (Django speaks of "staff accounts")."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct email and password. The password is case-sensitive.",
        "not_an_admin": NOT_AN_ADMIN_MESSAGE,
    }

    def confirm_login_allowed(self, user) -> None:
        if user.is_active and not user.is_staff:
            login_record_failure(
                email=user.email,
                actor=Actor.from_request(self.request, user=None),
                user_agent=self.request.headers.get("User-Agent", ""),
                reason="not a company admin",
            )
            raise ValidationError(self.error_messages["not_an_admin"], code="not_an_admin")
        super().confirm_login_allowed(user)


admin.site.login_form = CompanyAdminAuthenticationForm


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's own "change password" page, through the service so that it is audited like any change."""

    request = None

    def save(self, commit: bool = True) -> ApplicationUser:
        actor = Actor.from_request(self.request) if self.request is not None else Actor(user=self.user)
        return user_set_password(user=self.user, password=self.cleaned_data["new_password1"], actor=actor)


class AuditedPasswordChangeView(PasswordChangeView):
    form_class = AuditedPasswordChangeForm
    template_name = "registration/password_change_form.html"

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.request = self.request
        return form


def password_change(request):
    """Served at the admin's own password-change URL (see airisk/urls.py), which Django's AdminSite does not
    let us configure."""
    request.current_app = admin.site.name
    view = AuditedPasswordChangeView.as_view(
        success_url=reverse("admin:password_change_done"), extra_context=admin.site.each_context(request)
    )
    return view(request)


class ServiceDeleteMixin:
    """Deletion through a service (audit event, business rules) from both the object's delete page and the
    "delete selected" action; a refusal (ValidationError) becomes an error message, nothing is deleted."""

    def delete_one(self, request, obj) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.delete_one(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_one(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_validation_error(request, exc)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    @admin.action(description="Delete the selected %(verbose_name_plural)s", permissions=["delete"])
    def delete_selected(self, request, queryset):
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)  # the confirmation page
        try:
            with transaction.atomic():
                count = len(queryset)
                self.log_deletions(request, queryset)
                self.delete_queryset(request, queryset)
        except ValidationError as exc:
            self.message_validation_error(request, exc)
            return None
        self.message_user(request, f"Deleted {count} {self.opts.verbose_name_plural}.", messages.SUCCESS)
        return None


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() in Role.values:
            return queryset.with_role(self.value())
        return queryset


class PasswordChoice(models.TextChoices):
    INVITE = "invite", "Email an invitation link (recommended)"
    SET = "set", "Set a password now"
    NONE = "none", "No password (API only)"


class UserForm(CompanyScopedForm):
    password_choice = forms.ChoiceField(
        label="How they get a password",
        choices=PasswordChoice.choices,
        required=False,
        initial=PasswordChoice.INVITE,
        widget=forms.RadioSelect,
        help_text=f"Invitation: the person gets a link that works once, for {settings.PASSWORD_RESET_TIMEOUT // 3600} "
        "hours, and chooses a password nobody else knows. Set now: share it safely; they should change it "
        "after their first login. No password: they cannot log in; integrations can still act for them by userid.",
    )
    new_password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text='Only with "Set a password now".',
    )
    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Company admin: manages users, groups, API clients and settings. Monitor: monitoring and "
        "reporting on activity. Compliance: compliance standards and auditing. User: chats with the agents "
        "granted to them.",
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("groups", is_stacked=False),
        help_text="The company groups this person belongs to (agents are granted to groups).",
    )

    acting_user: ApplicationUser | None = None  # set by the admin: who is making the change
    group_queryset = Group.objects.none()  # set by the admin: the groups that may be offered

    class Meta:
        model = ApplicationUser
        fields = ["email", "name", "password_choice", "new_password", "roles", "groups", "is_active"]
        help_texts = {"name": "How the person is shown in the portal and the API, e.g. 'Ada Lovelace'."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = self.group_queryset
        if self.instance.pk is not None:
            self.fields["new_password"].label = "New password"
            self.fields["new_password"].help_text = "Leave empty to keep the current password."
            if not self.is_bound:
                self.initial["roles"] = self.instance.roles
                self.initial["groups"] = list(self.instance.groups.all())
        elif not self.is_bound:
            self.initial["roles"] = [Role.USER]

    def clean_email(self) -> str:
        email = ApplicationUser.objects.normalize_email(self.cleaned_data["email"].strip())
        if ApplicationUser.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError(f"A user with the email {email} already exists.", code="duplicate_email")
        return email

    def clean(self):
        data = super().clean()
        company = self.target_company()
        if any(group.company_id != getattr(company, "pk", None) for group in data.get("groups") or []):
            self.add_error("groups", "Choose only groups of the user's own company.")
        password = data.get("new_password")
        if self.instance.pk is None:
            # A form posted without the choice (a script, not the browser) means what its password field says.
            choice = data.get("password_choice") or (PasswordChoice.SET if password else PasswordChoice.INVITE)
            data["password_choice"] = choice
            if choice == PasswordChoice.SET and not password:
                self.add_error("new_password", "Enter the password, or choose another way to get one.")
            elif choice != PasswordChoice.SET and password:
                self.add_error("new_password", 'Choose "Set a password now" to use this password, or empty it.')
        if password:
            try:
                validate_password(password, self.instance)
            except ValidationError as exc:
                self.add_error("new_password", exc)
        if self.instance.pk is not None and "roles" in data and "is_active" in data:
            try:
                user_admin_guard(
                    user=self.instance,
                    actor=Actor(user=self.acting_user),
                    roles=data["roles"],
                    active=data["is_active"],
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


@admin.register(ApplicationUser)
class ApplicationUserAdmin(ServiceDeleteMixin, CompanyScopedAdminMixin, admin.ModelAdmin):
    form = UserForm
    list_display = ["email", "name", "role_list", "is_active", "created", "last_login"]
    list_filter = [RoleFilter, "is_active", "groups"]
    search_fields = ["email", "name", "userid"]
    readonly_fields = ["userid", "created", "last_login"]
    actions = ["send_password_link", "deactivate_users", "activate_users", "delete_selected"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fieldsets = [
                (None, {"fields": ["email", "name"]}),
                ("Password", {"fields": ["password_choice", "new_password"]}),
                ("Access", {"fields": ["roles", "groups", "is_active"]}),
            ]
        else:
            fieldsets = [
                (None, {"fields": ["userid", "email", "name", "new_password"]}),
                ("Access", {"fields": ["roles", "groups", "is_active"]}),
                ("Activity", {"fields": ["created", "last_login"]}),
            ]
        return self.with_company_choice(request, obj, fieldsets)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        groups = Group.objects.all()
        if not is_server_admin(request):
            groups = groups.filter(company=request.user.company)
        elif obj is not None:
            groups = groups.filter(company=obj.company_id)
        form.acting_user = request.user
        form.group_queryset = groups.select_related("company") if is_server_admin(request) else groups
        return form

    @admin.display(description="roles")
    def role_list(self, obj: ApplicationUser) -> str:
        labels = dict(Role.choices)
        return ", ".join(labels[role] for role in obj.roles) or "—"

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        data = form.cleaned_data
        if not change:
            user = user_create(
                company=form.target_company(),
                email=data["email"],
                name=data["name"],
                roles=data["roles"],
                password=(data["new_password"] or None) if data["password_choice"] == PasswordChoice.SET else None,
                actor=actor,
            )
        else:
            user = ApplicationUser.objects.get(pk=obj.pk)
            user_update(user=user, name=data["name"], email=data["email"], actor=actor)
            user_update_roles(user=user, roles=data["roles"], actor=actor)
            if data["new_password"]:
                user_set_password(user=user, password=data["new_password"], actor=actor)
        user_set_groups(user=user, groups=data["groups"], actor=actor)
        user_set_active(user=user, active=data["is_active"], actor=actor)
        if not change and data["password_choice"] == PasswordChoice.INVITE and user.is_active:
            self._send_link(request, user, invitation=True)
        for field in ApplicationUser._meta.concrete_fields:
            setattr(obj, field.attname, getattr(user, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Group membership is saved by save_model through the services."""

    def delete_one(self, request, obj) -> None:
        user_delete(user=obj, actor=admin_actor(request))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A user's tokens go with the user by design; nobody deletes tokens one by one.
        # (accounts sits below oauth: the token model is named by its label, not imported.)
        perms_needed.discard(django_apps.get_model("oauth", "AccessToken")._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def _send_link(self, request, user: ApplicationUser, *, invitation: bool) -> bool:
        try:
            user_password_link_send(
                user=user, actor=admin_actor(request), base_url=request.build_absolute_uri("/"), invitation=invitation
            )
        except ValidationError as exc:
            self.message_validation_error(request, exc)
            return False
        except OSError:  # SMTP refused or unreachable: the user exists; say how to retry
            logger.exception("Could not email a set-your-password link to user %s", user.userid)
            self.message_user(
                request,
                f"The email to {user.email} could not be sent (see the server log; check EMAIL_URL). "
                'Send it again later with the action "Email a set-your-password link".',
                messages.ERROR,
            )
            return False
        what = "An invitation" if invitation else "A set-your-password link"
        self.message_user(request, f"{what} was emailed to {user.email}.", messages.SUCCESS)
        return True

    @admin.action(description="Email a set-your-password link (works once, expires)", permissions=["change"])
    def send_password_link(self, request, queryset):
        for user in queryset:
            self._send_link(request, user, invitation=not user.has_usable_password())

    def _set_active(self, request, queryset, active: bool) -> None:
        actor = admin_actor(request)
        try:
            with transaction.atomic():
                for user in queryset:
                    user_set_active(user=user, active=active, actor=actor)
        except ValidationError as exc:
            self.message_validation_error(request, exc)
            return
        verb = "Activated" if active else "Deactivated"
        self.message_user(request, f"{verb} {len(queryset)} user(s).", messages.SUCCESS)

    @admin.action(description="Deactivate the selected users (revokes their tokens)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Activate the selected users", permissions=["change"])
    def activate_users(self, request, queryset):
        self._set_active(request, queryset, True)


class GroupForm(CompanyScopedForm):
    class Meta:
        model = Group
        fields = ["name", "members"]
        help_texts = {
            "name": "Unique within the company, e.g. 'Engineering'.",
            "members": "The users of the company in this group.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            members = self.fields["members"]
            members.queryset = members.queryset.filter(company=self.instance.company_id)

    def clean(self):
        data = super().clean()
        company = self.target_company()
        name = (data.get("name") or "").strip()
        if company is not None and name:
            taken = Group.objects.for_company(company).filter(name=name).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", f"The company already has a group named {name}.")
        if any(user.company_id != getattr(company, "pk", None) for user in data.get("members") or []):
            self.add_error("members", "Choose only users of the group's own company.")
        return data


@admin.register(Group)
class GroupAdmin(ServiceDeleteMixin, CompanyScopedAdminMixin, admin.ModelAdmin):
    form = GroupForm
    list_display = ["name", "member_count", "created"]
    search_fields = ["name", "members__email"]
    filter_horizontal = ["members"]
    readonly_fields = ["created"]
    actions = ["delete_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members")).order_by("name", "id")

    def get_fieldsets(self, request, obj=None):
        fields = ["name", "members"] if obj is None else ["name", "members", "created"]
        return self.with_company_choice(request, obj, [(None, {"fields": fields})])

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Group) -> int:
        return obj.member_count

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        data = form.cleaned_data
        if not change:
            group = group_create(company=form.target_company(), name=data["name"], actor=actor)
        else:
            group = Group.objects.get(pk=obj.pk)
            group_rename(group=group, name=data["name"], actor=actor)
        group_set_members(group=group, users=data["members"], actor=actor)
        for field in Group._meta.concrete_fields:
            setattr(obj, field.attname, getattr(group, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Membership is saved by save_model through the services."""

    def delete_one(self, request, obj) -> None:
        group_delete(group=obj, actor=admin_actor(request))


@admin.register(AccessAttempt)
class LoginLockoutAdmin(admin.ModelAdmin):
    """Server admins only (the ``axes`` app is not one of a company admin's apps): the failed-login records of
    django-axes, and the audited way to lift a lockout. ``manage.py axes_reset`` does the same from a shell."""

    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "lock_status", "user_agent"]
    search_fields = ["username", "ip_address"]
    list_filter = ["attempt_time"]
    ordering = ["-attempt_time"]
    fields = ["username", "ip_address", "failures_since_start", "attempt_time", "user_agent", "path_info"]
    readonly_fields = fields
    actions = ["unlock"]

    def get_queryset(self, request):
        # The lockout counts an account's failures over every address, and an address's over every account.
        return (
            super()
            .get_queryset(request)
            .annotate(
                account_failures=Window(Sum("failures_since_start"), partition_by=[F("username")]),
                address_failures=Window(Sum("failures_since_start"), partition_by=[F("ip_address")]),
            )
        )

    @admin.display(description="status")
    def lock_status(self, obj: AccessAttempt) -> str:
        limit = settings.AXES_FAILURE_LIMIT
        if settings.AXES_COOLOFF_TIME is not None and obj.attempt_time + settings.AXES_COOLOFF_TIME <= timezone.now():
            return "expired"
        locked = [
            what
            for what, failures in (("account", obj.account_failures), ("address", obj.address_failures))
            if failures >= limit
        ]
        if not locked:
            return f"{max(obj.account_failures, obj.address_failures)} of {limit} failures"
        until = (
            f" until {timezone.localtime(obj.attempt_time + settings.AXES_COOLOFF_TIME):%H:%M}"
            if settings.AXES_COOLOFF_TIME is not None
            else ""
        )
        return f"{' and '.join(locked)} locked{until}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # unlocking goes through the audited action below

    def has_unlock_permission(self, request) -> bool:
        return is_server_admin(request)

    @admin.action(description="Unlock: forget the selected failed logins", permissions=["unlock"])
    def unlock(self, request, queryset):
        removed = login_lockout_reset(attempts=list(queryset), actor=admin_actor(request))
        self.message_user(request, f"Removed {removed} record(s): those accounts and addresses may log in again.")
