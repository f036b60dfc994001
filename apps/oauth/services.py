"""Writes of API clients and tokens. Each runs in a transaction and leaves an audit event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record, audit_event_record_once
from apps.companies.models import Company
from apps.oauth import crypto
from apps.oauth.grants import default_grants, grants_for_user, normalize_grants, scope_string
from apps.oauth.models import AccessToken, APIUser, AuthorizationCode
from apps.oauth.selectors import access_tokens_of_client, active_user_for_company, api_client_get_by_client_id
from apps.oauth.tokens import InvalidToken, decode_access_token, encode_access_token
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
    grants: Iterable[str] | None = None,
) -> tuple[APIUser, str]:
    """Register a client. Returns it and its plain secret, which is never stored and cannot be shown again.

    ``grants`` defaults to the default grants (reads and chat); writes are granted only when asked for.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError("The client name must not be empty.", code="name")
    grant_list = default_grants() if grants is None else normalize_grants(grants)
    secret = crypto.new_secret()
    client = APIUser(
        company=company,
        name=name,
        client_id=crypto.new_client_id(),
        secret_hash=crypto.hash_secret(secret),
        redirect_uris=",".join(clean_redirect_uris(redirect_uris)),
        allow_user_tokens=allow_user_tokens,
        require_pkce=require_pkce,
        grants=grant_list,
    )
    client.full_clean()
    client.save()
    audit_event_record(
        action="client.created",
        company=company,
        actor=actor,
        client=client,
        target=client,
        detail={"grants": grant_list},
    )
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
    grants: Iterable[str] | None = None,
) -> APIUser:
    """Change a client's settings. A grant taken away stops working at once for the client's outstanding
    tokens too (every request intersects the token's scope with the client's current grants)."""
    changed = {}
    detail = {}
    if name is not None and name.strip() != client.name:
        changed["name"] = client.name = name.strip()
    if redirect_uris is not None:
        cleaned = ",".join(clean_redirect_uris(redirect_uris))
        if cleaned != client.redirect_uris:
            changed["redirect_uris"] = client.redirect_uris = cleaned
    for field, value in (("allow_user_tokens", allow_user_tokens), ("require_pkce", require_pkce)):
        if value is not None and value != getattr(client, field):
            setattr(client, field, value)
            changed[field] = value
    if grants is not None:
        wanted = normalize_grants(grants)
        if wanted != client.grants:
            detail["grants_added"] = [name for name in wanted if name not in client.grants]
            detail["grants_removed"] = [name for name in client.grants if name not in wanted]
            changed["grants"] = client.grants = wanted
    if changed:
        client.full_clean()
        client.save(update_fields=list(changed))
        audit_event_record(
            action="client.updated",
            company=client.company,
            actor=actor,
            client=client,
            target=client,
            detail={"changed": sorted(changed), **detail},
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


def tokens_revoke_for_deactivated_company(sender, *, company: Company, actor: Actor, **kwargs) -> int:
    """Receiver of ``company_deactivated``: the company's outstanding tokens stop working at once."""
    return access_tokens_revoke(company=company, actor=actor, reason="company deactivated")


def tokens_revoke_for_deactivated_user(sender, *, user: ApplicationUser, actor: Actor, **kwargs) -> int:
    """Receiver of ``user_deactivated``: the user's outstanding tokens stop working at once."""
    if user.company is None:
        return 0
    return access_tokens_revoke(company=user.company, user=user, actor=actor, reason="user deactivated")


def access_token_issue(
    *, client: APIUser, user: ApplicationUser | None, code: AuthorizationCode | None = None
) -> tuple[AccessToken, str]:
    """Store a token row and return it with its signed JWT. The caller holds the transaction and audits.

    The JWT's ``scope`` is the client's grants, narrowed by the user's roles for a user token.
    """
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
        scope=scope_string(grants_for_user(client.grants, user)),
        issued_at=token.issued_at,
        expires_at=token.expires_at,
    )
    return token, jwt_value


# The authorization code flow. Reason lines are the published ``400 text/plain`` bodies; the audit reason
# says what exactly failed, and neither ever holds a code, secret, verifier or token value.


class OAuthRequestError(Exception):
    """A refused authorize or token request: ``reason`` is the response line, ``audit_reason`` the cause."""

    def __init__(self, reason: str, audit_reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.audit_reason = audit_reason


INVALID_CODE = "Invalid Code"
INVALID_REDIRECT_URI = "Invalid redirect_uri"
INVALID_USERID = "Invalid userid"
INVALID_CODE_CHALLENGE = "Invalid code_challenge"
INVALID_CODE_VERIFIER = "Invalid code_verifier"

_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url(SHA-256) without padding
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1
_LAST_USED_PRECISION = timedelta(minutes=5)


def pkce_s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _refuse(*, action: str, client: APIUser, actor: Actor, error: OAuthRequestError) -> None:
    audit_event_record(
        action=action,
        company=client.company,
        actor=actor,
        client=client,
        outcome=Outcome.FAILURE,
        detail={"reason": error.audit_reason},
    )


def _authorize_user(client: APIUser, userid: str | None) -> ApplicationUser | None:
    if userid is None:
        return None
    if not client.allow_user_tokens:
        raise OAuthRequestError(INVALID_USERID, "client may not request user tokens")
    user = active_user_for_company(client.company, userid)
    if user is None:
        raise OAuthRequestError(INVALID_USERID, "userid is not an active user of the client's company")
    return user


def _authorize_pkce(client: APIUser, challenge: str | None, method: str | None) -> None:
    if challenge is None and method is None:
        if client.require_pkce:
            raise OAuthRequestError(INVALID_CODE_CHALLENGE, "client requires PKCE and no code_challenge was sent")
        return
    # A challenge without a method means "plain" (RFC 7636 §4.3), which is refused like an explicit plain.
    if method != "S256":
        raise OAuthRequestError(INVALID_CODE_CHALLENGE, "code_challenge_method is not S256")
    if challenge is None or not _S256_CHALLENGE.fullmatch(challenge):
        raise OAuthRequestError(INVALID_CODE_CHALLENGE, "code_challenge is missing or malformed")


def auth_code_issue(
    *,
    client: APIUser,
    redirect_uri: str,
    actor: Actor,
    userid: str | None = None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> str:
    """Issue a single-use authorization code for a usable client and return its value (only a hash is kept).

    Raises ``OAuthRequestError`` (and audits it) for a redirect URI that is not registered exactly, a userid
    that is not an active user of the client's company or that the client may not use, and a PKCE
    challenge that is not S256 (or missing when the client requires PKCE).
    """
    try:
        if redirect_uri not in client.redirect_uri_list:
            raise OAuthRequestError(INVALID_REDIRECT_URI, "redirect_uri is not registered for the client")
        user = _authorize_user(client, userid)
        _authorize_pkce(client, code_challenge, code_challenge_method)
    except OAuthRequestError as error:
        _refuse(action="code.refused", client=client, actor=actor, error=error)
        raise
    code = crypto.new_secret()
    now = timezone.now()
    # No audit event for an issued code: anyone can ask for codes, and the code row itself records client,
    # user, PKCE and time until purge_expired. The exchange is audited (token.issued), as are refusals.
    AuthorizationCode.objects.create(
        company_id=client.company_id,
        code_hash=crypto.hash_secret(code),
        client=client,
        user=user,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge or "",
        code_challenge_method=code_challenge_method or "",
        created=now,
        expires_at=now + timedelta(seconds=settings.AUTH_CODE_LIFETIME_SECONDS),
    )
    return code


def _check_exchange(
    row: AuthorizationCode | None,
    *,
    client: APIUser,
    now,
    redirect_uri: str | None,
    userid: str | None,
    code_verifier: str | None,
) -> None:
    """Every binding of the code; raises ``OAuthRequestError``. A used code is handled by the caller."""
    if row is None:
        raise OAuthRequestError(INVALID_CODE, "unknown code")
    if row.client_id != client.pk:
        raise OAuthRequestError(INVALID_CODE, "code was issued to another client")
    if row.expires_at <= now:
        raise OAuthRequestError(INVALID_CODE, "code expired")
    if redirect_uri is not None and redirect_uri != row.redirect_uri:
        raise OAuthRequestError(INVALID_REDIRECT_URI, "redirect_uri differs from the authorization request's")
    if userid is not None and (row.user is None or row.user.userid != userid):
        raise OAuthRequestError(INVALID_USERID, "userid differs from the authorization request's")
    if row.user is not None and not (
        client.allow_user_tokens and row.user.is_active and row.user.company_id == client.company_id
    ):
        raise OAuthRequestError(INVALID_USERID, "user deactivated or user tokens disallowed since the code was issued")
    if row.code_challenge:
        if code_verifier is None:
            raise OAuthRequestError(INVALID_CODE_VERIFIER, "code_verifier missing")
        if not _VERIFIER.fullmatch(code_verifier) or not hmac.compare_digest(
            pkce_s256(code_verifier), row.code_challenge
        ):
            raise OAuthRequestError(INVALID_CODE_VERIFIER, "code_verifier does not match the code_challenge")
    elif code_verifier is not None:
        raise OAuthRequestError(INVALID_CODE_VERIFIER, "code_verifier sent for a code without a code_challenge")


def _code_replayed(*, row: AuthorizationCode, client: APIUser, actor: Actor) -> OAuthRequestError:
    """A used code came again: it may have leaked, so every token issued from it is revoked (RFC 6749 §4.1.2)."""
    with transaction.atomic():
        revoked = access_tokens_revoke(company=client.company, actor=actor, reason="code replayed", code=row)
    return OAuthRequestError(INVALID_CODE, f"code already used; {revoked} token(s) issued from it revoked")


def auth_code_exchange(
    *,
    client: APIUser,
    code: str,
    actor: Actor,
    redirect_uri: str | None = None,
    userid: str | None = None,
    code_verifier: str | None = None,
) -> tuple[AccessToken, str]:
    """Exchange a code of an authenticated client for an access token (its row and its JWT).

    ``redirect_uri`` and ``userid`` may be omitted (the code's own bindings hold) but must match when given.
    The code is consumed by a conditional UPDATE, so of concurrent exchanges exactly one wins; a code that
    was already used fails and revokes the tokens issued from it. Every failure is audited and raised as
    ``OAuthRequestError``; bindings that do not match leave the code usable by its rightful client.
    """
    now = timezone.now()
    row = AuthorizationCode.objects.select_related("user").filter(code_hash=crypto.hash_secret(code)).first()
    try:
        if row is not None and row.client_id == client.pk and row.used_at is not None:
            raise _code_replayed(row=row, client=client, actor=actor)
        _check_exchange(
            row, client=client, now=now, redirect_uri=redirect_uri, userid=userid, code_verifier=code_verifier
        )
        with transaction.atomic():
            # The UPDATE is the transaction's first statement: on PostgreSQL a concurrent exchange waits for
            # this row lock and then finds used_at set; on SQLite it takes the write lock before any read.
            consumed = AuthorizationCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
            if consumed:
                token, value = access_token_issue(client=client, user=row.user, code=row)
                _token_issued_audit(client=client, token=token, actor=actor)
                if client.last_used_at is None or now - client.last_used_at > _LAST_USED_PRECISION:
                    APIUser.objects.filter(pk=client.pk).update(last_used_at=now)
                return token, value
        raise _code_replayed(row=row, client=client, actor=actor)
    except OAuthRequestError as error:
        _refuse(action="token.exchange_failed", client=client, actor=actor, error=error)
        raise


def _token_issued_audit(*, client: APIUser, token: AccessToken, actor: Actor) -> None:
    user = token.user
    detail = {
        "jti": token.jti,
        "kind": "user" if user else "generic",
        "scope": scope_string(grants_for_user(client.grants, user)),
        "expires_at": token.expires_at.isoformat(),
    }
    audit_event_record(
        action="token.issued",
        company=client.company,
        actor=actor,
        client=client,
        user=user,
        target=token,
        detail=detail,
    )
    if user is not None:
        # The published userid parameter lets a client act as any active user of its company: say so.
        audit_event_record(
            action="user.impersonated",
            company=client.company,
            actor=actor,
            client=client,
            user=user,
            target=user,
            detail={"jti": token.jti},
        )


AUTH_FAILURE_WINDOW_SECONDS = 60


def api_client_auth_failure_record(*, client_id: str, actor: Actor, reason: str) -> None:
    """Audit a failed client authentication, once per client and minute (all unknown client ids count as one
    client), in the client's company when the client id is known. Repeats are refused all the same; they are
    just not written again, so that a flood of wrong secrets cannot flood the audit table."""
    client = api_client_get_by_client_id(client_id) if client_id else None
    audit_event_record_once(
        key=f"client.auth_failed:{client.pk if client else 'unknown'}",
        window_seconds=AUTH_FAILURE_WINDOW_SECONDS,
        action="client.auth_failed",
        company=client.company if client else None,
        actor=actor,
        client=client,
        outcome=Outcome.FAILURE,
        detail={"reason": reason if client else "unknown client_id"},
    )


@transaction.atomic
def access_token_revoke(*, client: APIUser, token_value: str, actor: Actor) -> bool:
    """RFC 7009: revoke one of the client's own tokens. Any other value is silently ignored (False), so that
    the endpoint cannot be used to probe tokens."""
    try:
        claims = decode_access_token(token_value)
    except InvalidToken:
        return False
    now = timezone.now()
    revoked = access_tokens_of_client(client).filter(jti=claims.jti, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        audit_event_record(
            action="token.revoked",
            company=client.company,
            actor=actor,
            client=client,
            detail={"count": revoked, "reason": "revoked by the client", "jti": claims.jti},
        )
    return bool(revoked)


def oauth_expired_purge(
    *, actor: Actor, batch_size: int = 1000, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Delete expired tokens and spent codes in batches (each its own short transaction).

    A code is kept until every token it could have produced has expired too, so that a late replay can
    still revoke them; revoked tokens that have not yet expired are kept for the record.
    """
    now = timezone.now()
    targets = {
        "tokens": AccessToken.objects.filter(expires_at__lt=now),
        "codes": AuthorizationCode.objects.filter(
            expires_at__lt=now - timedelta(seconds=settings.ACCESS_TOKEN_LIFETIME_SECONDS)
        ),
    }
    counts = dict.fromkeys(targets, 0)
    for name, queryset in targets.items():
        while True:
            with transaction.atomic():
                ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                deleted = queryset.model.objects.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)
            counts[name] += deleted
            if progress is not None:
                progress(name, counts[name])
    audit_event_record(action="oauth.purged", company=None, actor=actor, detail=counts)
    return counts


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
