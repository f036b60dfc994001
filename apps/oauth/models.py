"""OAuth2 clients (APIUser), authorization codes and access tokens."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.companies.models import CompanyOwnedModel
from apps.oauth.grants import default_grants, validate_grants


def split_redirect_uris(value: str) -> list[str]:
    """The comma-separated column as a list; whitespace around commas is ignored."""
    return [uri.strip() for uri in (value or "").split(",") if uri.strip()]


class APIUser(CompanyOwnedModel):
    """A client registration of one company: what an integration authenticates as."""

    name = models.CharField(max_length=150, help_text="What this integration is, e.g. 'HR sync' or 'Mobile app'.")
    client_id = models.CharField(
        "client id", max_length=64, unique=True, editable=False, help_text="Public identifier of the client."
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    redirect_uris = models.TextField(
        "redirect URIs",
        help_text="Comma-separated. Each an absolute https URI (http only for localhost/127.0.0.1/[::1]), "
        "without a fragment. The authorize request's redirect_uri must equal one of them exactly.",
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="An inactive client cannot get codes or tokens, and its tokens stop working."
    )
    allow_user_tokens = models.BooleanField(
        default=True,
        help_text="May this client request tokens on behalf of a user (the userid parameter)? "
        "Such tokens let the client act as any active user of the company.",
    )
    require_pkce = models.BooleanField(
        "require PKCE", default=False, help_text="Require a PKCE S256 code_challenge on every authorization request."
    )
    grants = models.JSONField(
        default=default_grants,
        blank=True,  # a client without grants is allowed: its tokens can do nothing
        validators=[validate_grants],
        help_text="What this client's tokens may do (names from apps/oauth/grants.py). A user token carries "
        "them narrowed by its user's roles.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API client"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def redirect_uri_list(self) -> list[str]:
        return split_redirect_uris(self.redirect_uris)

    def clean(self) -> None:
        super().clean()
        # blank=True lets an empty list through, and with it None, which the column cannot store.
        if not isinstance(self.grants, list):
            raise ValidationError({"grants": "Grants must be a list of grant names."})

    def has_grant(self, grant: str) -> bool:
        return grant in self.grants


class AuthorizationCode(CompanyOwnedModel):
    """A single-use code. Kept after use (``used_at``) so that a replay is recognised."""

    code_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(APIUser, on_delete=models.CASCADE, related_name="authorization_codes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    redirect_uri = models.TextField()
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.client} at {self.created:%Y-%m-%d %H:%M:%S}"


class AccessToken(CompanyOwnedModel):
    """One row per issued JWT (by ``jti``), so that tokens can be listed and revoked."""

    jti = models.CharField("token id", max_length=64, unique=True)
    client = models.ForeignKey(APIUser, on_delete=models.CASCADE, related_name="access_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="access_tokens"
    )
    authorization_code = models.ForeignKey(
        AuthorizationCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="access_tokens"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "issued token"
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.jti} ({self.client})"

    @property
    def is_generic(self) -> bool:
        return self.user_id is None

    def is_usable(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())
