"""Writes of API clients and tokens. Each runs in a transaction and leaves an audit event."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.oauth import crypto
from apps.oauth.models import AccessToken, APIUser, AuthorizationCode
from apps.oauth.tokens import encode_access_token
from apps.oauth.validators import clean_redirect_uris


@transaction.atomic
def api_client_create(
    *,
    company: Company,
    name: str,
    redirect_uris: str | list[str],
    actor: Actor,
    allow_user_tokens: bool = True,
    require_pkce: bool = False,
    manage_users: bool = False,
) -> tuple[APIUser, str]:
    """Register a client. Returns it and its plain secret, which is never stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("The client name must not be empty.", code="name")
    secret = crypto.new_secret()
    client = APIUser(
        company=company,
        name=name,
        client_id=crypto.new_client_id(),
        secret_hash=crypto.hash_secret(secret),
        redirect_uris=",".join(clean_redirect_uris(redirect_uris)),
        allow_user_tokens=allow_user_tokens,
        require_pkce=require_pkce,
        manage_users=manage_users,
    )
    client.full_clean()
    client.save()
    audit_event_record(action="client.created", company=company, actor=actor, client=client, target=client)
    return client, secret


@transaction.atomic
def api_client_rotate_secret(*, client: APIUser, actor: Actor) -> str:
    """Issue a new secret; the old one stops working and every outstanding token of the client is revoked."""
    secret = crypto.new_secret()
    client.secret_hash = crypto.hash_secret(secret)
    client.secret_rotated_at = timezone.now()
    client.save(update_fields=["secret_hash", "secret_rotated_at"])
    revoked = access_tokens_revoke(company=client.company, client=client, actor=actor, reason="secret rotated")
    audit_event_record(
        action="client.secret_rotated",
        company=client.company,
        actor=actor,
        client=client,
        target=client,
        detail={"tokens_revoked": revoked},
    )
    return secret


@transaction.atomic
def api_client_set_active(*, client: APIUser, active: bool, actor: Actor) -> APIUser:
    client.is_active = active
    client.save(update_fields=["is_active"])
    revoked = 0
    if not active:
        revoked = access_tokens_revoke(company=client.company, client=client, actor=actor, reason="client deactivated")
    audit_event_record(
        action="client.activated" if active else "client.deactivated",
        company=client.company,
        actor=actor,
        client=client,
        target=client,
        detail={"tokens_revoked": revoked},
    )
    return client


@transaction.atomic
def api_client_update(
    *,
    client: APIUser,
    actor: Actor,
    name: str | None = None,
    redirect_uris: str | list[str] | None = None,
    allow_user_tokens: bool | None = None,
    require_pkce: bool | None = None,
    manage_users: bool | None = None,
) -> APIUser:
    changed = {}
    if name is not None and name.strip() != client.name:
        changed["name"] = client.name = name.strip()
    if redirect_uris is not None:
        cleaned = ",".join(clean_redirect_uris(redirect_uris))
        if cleaned != client.redirect_uris:
            changed["redirect_uris"] = client.redirect_uris = cleaned
    for field, value in (
        ("allow_user_tokens", allow_user_tokens),
        ("require_pkce", require_pkce),
        ("manage_users", manage_users),
    ):
        if value is not None and value != getattr(client, field):
            setattr(client, field, value)
            changed[field] = value
    if changed:
        client.full_clean()
        client.save(update_fields=list(changed))
        audit_event_record(
            action="client.updated",
            company=client.company,
            actor=actor,
            client=client,
            target=client,
            detail={"changed": sorted(changed)},
        )
    return client


def access_tokens_revoke(
    *,
    company: Company,
    actor: Actor,
    reason: str,
    client: APIUser | None = None,
    user: ApplicationUser | None = None,
    code: AuthorizationCode | None = None,
) -> int:
    """Revoke the company's outstanding tokens of a client, a user and/or an authorization code."""
    tokens = AccessToken.objects.for_company(company).filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    if client is not None:
        tokens = tokens.filter(client=client)
    if user is not None:
        tokens = tokens.filter(user=user)
    if code is not None:
        tokens = tokens.filter(authorization_code=code)
    count = tokens.update(revoked_at=timezone.now())
    if count:
        audit_event_record(
            action="token.revoked",
            company=company,
            actor=actor,
            client=client,
            user=user,
            detail={"count": count, "reason": reason},
        )
    return count


def access_token_issue(
    *, client: APIUser, user: ApplicationUser | None, code: AuthorizationCode | None = None
) -> tuple[AccessToken, str]:
    """Store a token row and return it with its signed JWT. The caller holds the transaction and audits."""
    now = timezone.now().replace(microsecond=0)
    token = AccessToken.objects.create(
        company_id=client.company_id,
        jti=secrets.token_urlsafe(24),
        client=client,
        user=user,
        authorization_code=code,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.ACCESS_TOKEN_LIFETIME_SECONDS),
    )
    jwt_value = encode_access_token(
        jti=token.jti,
        client_id=client.client_id,
        company_slug=client.company.slug,
        userid=user.userid if user is not None else None,
        issued_at=token.issued_at,
        expires_at=token.expires_at,
    )
    return token, jwt_value


@transaction.atomic
def access_tokens_revoke_selected(*, company: Company, token_ids: list[int], actor: Actor) -> int:
    """Revoke the company's outstanding tokens among ``token_ids`` (the admin's "revoke" action);
    ids of another company's tokens are ignored."""
    tokens = AccessToken.objects.for_company(company).filter(
        pk__in=token_ids, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    revoked = list(tokens.select_related("client", "user"))
    if not revoked:
        return 0
    AccessToken.objects.filter(pk__in=[token.pk for token in revoked]).update(revoked_at=timezone.now())
    for token in revoked:
        audit_event_record(
            action="token.revoked",
            company=company,
            actor=actor,
            client=token.client,
            user=token.user,
            detail={"count": 1, "jti": token.jti, "reason": "revoked by an admin"},
        )
    return len(revoked)
