"""Admin screens of API access: API clients (APIUser) and issued tokens.

A client secret exists in plain text only inside the request that creates or rotates it: the one-time page
is rendered as the response to that POST (never stored in the database, the session, a message or a log),
with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.companies.admin import (
    COMPACT_LIST_CSS,
    CompanyScopedAdminMixin,
    CompanyScopedForm,
    admin_actor,
    compact_datetime,
)
from apps.oauth.grants import GRANTS, default_grants, normalize_grants
from apps.oauth.models import AccessToken, APIUser
from apps.oauth.services import (
    access_tokens_revoke,
    access_tokens_revoke_selected,
    api_client_create,
    api_client_rotate_secret,
    api_client_set_active,
    api_client_update,
)
from apps.oauth.validators import clean_redirect_uris

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def grant_choices() -> list[tuple[str, str]]:
    """Each grant as a checkbox: its label and name, and below them what it lets the client do."""
    return [
        (
            grant.name,
            format_html(
                '<span class="grant-label">{}</span> <code>{}</code><span class="grant-description">{}</span>',
                grant.label,
                grant.name,
                grant.description,
            ),
        )
        for grant in GRANTS.values()
    ]


class APIClientForm(CompanyScopedForm):
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="One per line (or comma-separated). Each must be an absolute https:// URI (plain http only for "
        "localhost, 127.0.0.1 and [::1]), without a fragment, listed once. An authorization request's "
        "redirect_uri must equal one of them exactly.",
    )
    grants = forms.MultipleChoiceField(
        label="Grants",
        choices=grant_choices,
        initial=default_grants,  # a new client's; a ModelForm does not read model defaults for a new object
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "grant-choices"}),
        help_text="What this client's tokens may do. A user token carries only the grants its user's roles allow; "
        "a grant taken away here stops working at once, also for tokens already issued.",
    )

    class Meta:
        model = APIUser
        fields = ["name", "redirect_uris", "is_active", "allow_user_tokens", "require_pkce", "grants"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            self.initial["redirect_uris"] = "\n".join(self.instance.redirect_uri_list)

    def clean_redirect_uris(self) -> str:
        value = self.cleaned_data["redirect_uris"].replace("\r\n", "\n").replace("\n", ",")
        return ",".join(clean_redirect_uris(value))

    def clean_grants(self) -> list[str]:
        return normalize_grants(self.cleaned_data["grants"])


class GrantFilter(admin.SimpleListFilter):
    title = "grant"
    parameter_name = "grant"

    def lookups(self, request, model_admin):
        return [(grant.name, grant.name) for grant in GRANTS.values()]

    def queryset(self, request, queryset):
        if self.value() in GRANTS:
            # The JSON list's text holds each name in double quotes, on SQLite and PostgreSQL alike.
            return queryset.filter(grants__icontains=f'"{self.value()}"')
        return queryset


@admin.register(APIUser)
class APIUserAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    form = APIClientForm
    list_display = [
        "name",
        "client_id",
        "grant_lines",
        "is_active",
        "created_on",
        "last_used",
        "outstanding_tokens",
    ]
    list_filter = ["is_active", "allow_user_tokens", "require_pkce", GrantFilter]
    search_fields = ["name", "client_id", "redirect_uris"]
    readonly_fields = ["client_id", "client_secret", "created", "secret_rotated_at", "last_used_at", "outstanding"]
    actions = ["rotate_secret", "deactivate_clients", "activate_clients", "revoke_all_tokens"]

    class Media:
        css = {"all": [*COMPACT_LIST_CSS["all"], "oauth/grants.css"]}

    def get_queryset(self, request):
        live = Q(access_tokens__revoked_at__isnull=True, access_tokens__expires_at__gt=timezone.now())
        queryset = super().get_queryset(request).annotate(outstanding_token_count=Count("access_tokens", filter=live))
        # An aggregate drops Meta.ordering; keep the list (and its paginator) in a stable order.
        return queryset.order_by("name", "id")

    def get_fieldsets(self, request, obj=None):
        policy = ("Policy", {"fields": ["allow_user_tokens", "require_pkce", "grants"]})
        if obj is None:
            fieldsets = [(None, {"fields": ["name", "redirect_uris"]}), policy]
        else:
            fieldsets = [
                (None, {"fields": ["name", "client_id", "client_secret", "redirect_uris", "is_active"]}),
                policy,
                ("Activity", {"fields": ["created", "secret_rotated_at", "last_used_at", "outstanding"]}),
            ]
        return self.with_company_choice(request, obj, fieldsets)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deactivate instead: the audit trail keeps pointing at the client.
        return False

    # --- columns and read-only fields ---

    @admin.display(description="redirect URIs")
    def redirect_uri_summary(self, obj: APIUser) -> str:
        # The first URI and how many more (all of them in the tooltip and on the client's page): a client with
        # several long URIs keeps its row short.
        uris = obj.redirect_uri_list
        if not uris:
            return "—"
        more = format_html(" <small>(+{} more)</small>", len(uris) - 1) if len(uris) > 1 else ""
        return format_html('<span title="{}">{}</span>{}', "\n".join(uris), uris[0], more)

    @admin.display(description="created", ordering="created")
    def created_on(self, obj: APIUser) -> str:
        return compact_datetime(obj.created)

    @admin.display(description="grants")
    def grant_lines(self, obj: APIUser) -> str:
        return format_html_join(mark_safe("<br>"), "<code>{}</code>", ((name,) for name in obj.grants)) or "—"

    @admin.display(description="last used", ordering="last_used_at", empty_value="never")
    def last_used(self, obj: APIUser) -> str | None:
        return compact_datetime(obj.last_used_at)

    @admin.display(description="outstanding tokens", ordering="outstanding_token_count")
    def outstanding_tokens(self, obj: APIUser) -> int:
        return obj.outstanding_token_count

    @admin.display(description="outstanding tokens")
    def outstanding(self, obj: APIUser) -> str:
        url = reverse("admin:oauth_accesstoken_changelist")
        return format_html(
            '{} <a href="{}?client__id__exact={}&status=active">(list)</a>', obj.outstanding_token_count, url, obj.pk
        )

    @admin.display(description="client secret")
    def client_secret(self, obj: APIUser) -> str:
        url = reverse("admin:oauth_apiuser_rotate_secret", args=[obj.pk])
        return format_html(
            'Stored only as a hash: it cannot be shown again. <a class="button" id="rotate-secret" href="{}">'
            "Rotate secret…</a>",
            url,
        )

    # --- writes, all through the services ---

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        data = form.cleaned_data
        if not change:
            client, secret = api_client_create(
                company=form.target_company(),
                name=data["name"],
                redirect_uris=data["redirect_uris"],
                actor=actor,
                allow_user_tokens=data["allow_user_tokens"],
                require_pkce=data["require_pkce"],
                grants=data["grants"],
            )
            for field in APIUser._meta.concrete_fields:
                setattr(obj, field.attname, getattr(client, field.attname))
            obj._state.adding = False
            obj.one_time_secret = secret  # in memory only, for response_add below
            return
        client = APIUser.objects.get(pk=obj.pk)
        api_client_update(
            client=client,
            actor=actor,
            name=data["name"],
            redirect_uris=data["redirect_uris"],
            allow_user_tokens=data["allow_user_tokens"],
            require_pkce=data["require_pkce"],
            grants=data["grants"],
        )
        if data["is_active"] != client.is_active:
            api_client_set_active(client=client, active=data["is_active"], actor=actor)

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited on this form."""

    def response_add(self, request, obj, post_url_continue=None):
        secret = obj.__dict__.pop("one_time_secret")
        return self.one_time_secret_response(request, obj, secret, created=True)

    def one_time_secret_response(self, request: HttpRequest, client: APIUser, secret: str, *, created: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the client secret now",
            "client": client,
            "client_secret": secret,
            "created": created,
            "grants": [GRANTS[name] for name in client.grants if name in GRANTS],
            "media": self.media,
        }
        return TemplateResponse(request, "admin/oauth/apiuser/secret_once.html", context, headers=NO_STORE)

    def get_urls(self):
        urls = [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="oauth_apiuser_rotate_secret",
            )
        ]
        return urls + super().get_urls()

    def rotate_secret_view(self, request: HttpRequest, object_id: str):
        client = self.get_object(request, object_id)
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        if request.method == "POST":
            secret = api_client_rotate_secret(client=client, actor=admin_actor(request))
            return self.one_time_secret_response(request, client, secret, created=False)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Rotate the client secret?",
            "client": client,
            "original": client,
        }
        return TemplateResponse(request, "admin/oauth/apiuser/rotate_confirm.html", context)

    # --- actions ---

    @admin.action(description="Rotate the secret of the selected client…", permissions=["change"])
    def rotate_secret(self, request, queryset):
        if len(queryset) != 1:
            self.message_user(request, "Select exactly one client to rotate its secret.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:oauth_apiuser_rotate_secret", args=[queryset[0].pk]))

    @admin.action(description="Deactivate the selected clients (revokes their tokens)", permissions=["change"])
    def deactivate_clients(self, request, queryset):
        actor = admin_actor(request)
        for client in queryset:
            api_client_set_active(client=client, active=False, actor=actor)
        self.message_user(request, f"Deactivated {len(queryset)} client(s); their tokens are revoked.")

    @admin.action(description="Activate the selected clients", permissions=["change"])
    def activate_clients(self, request, queryset):
        actor = admin_actor(request)
        for client in queryset:
            api_client_set_active(client=client, active=True, actor=actor)
        self.message_user(request, f"Activated {len(queryset)} client(s).")

    @admin.action(description="Revoke all tokens of the selected clients", permissions=["change"])
    def revoke_all_tokens(self, request, queryset):
        actor = admin_actor(request)
        revoked = sum(
            access_tokens_revoke(company=client.company, client=client, actor=actor, reason="revoked by an admin")
            for client in queryset.select_related("company")
        )
        self.message_user(request, f"Revoked {revoked} token(s).")


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class TokenKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("generic", "Generic (no user)"), ("user", "User token")]

    def queryset(self, request, queryset):
        if self.value() in ("generic", "user"):
            return queryset.filter(user__isnull=self.value() == "generic")
        return queryset


@admin.register(AccessToken)
class AccessTokenAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """Read-only list of issued tokens; the only write is the revoke action."""

    # The status says revoked/expired/active; the revocation time is on the token's page.
    list_display = ["short_jti", "client", "user_or_generic", "issued", "expires", "status"]
    list_filter = [TokenStatusFilter, TokenKindFilter, "client", "user", "issued_at"]
    list_select_related = ["client", "user"]
    search_fields = ["jti", "client__name", "client__client_id", "user__email"]
    date_hierarchy = "issued_at"
    fields = ["jti", "client", "user", "issued_at", "expires_at", "revoked_at", "status"]
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("oauth.change_accesstoken")

    class Media:
        css = COMPACT_LIST_CSS

    @admin.display(description="token id", ordering="jti")
    def short_jti(self, obj: AccessToken) -> str:
        # Enough of the id to tell tokens apart; the whole id is on the token's page and searchable.
        return f"{obj.jti[:10]}…"

    @admin.display(description="issued", ordering="issued_at")
    def issued(self, obj: AccessToken) -> str:
        return compact_datetime(obj.issued_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: AccessToken) -> str:
        return compact_datetime(obj.expires_at)

    @admin.display(description="user")
    def user_or_generic(self, obj: AccessToken) -> str:
        return obj.user.email if obj.user is not None else "— (generic token)"

    @admin.display(description="status")
    def status(self, obj: AccessToken) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "active" if obj.expires_at > timezone.now() else "expired"

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        actor = admin_actor(request)
        by_company: dict = {}
        for token in queryset.select_related("company"):
            by_company.setdefault(token.company, []).append(token.pk)
        revoked = sum(
            access_tokens_revoke_selected(company=company, token_ids=ids, actor=actor)
            for company, ids in by_company.items()
        )
        self.message_user(request, f"Revoked {revoked} token(s).")
