"""Bearer authentication for the REST API: ``Authorization: Bearer <JWT>`` becomes a request context.

Cost: the signature and expiry are checked without the database; then one indexed query (the token row
by ``jti`` joined to its client, company and user) tells revocation and whether any of them was
deactivated since. Tokens are never read from the query string (RFC 6750 §2.3, RFC 9700 §4.3.2).

The context's ``scope`` is the token's ``scope`` claim intersected with the client's current grants (narrowed by
the user's current roles), computed from that same row: a grant taken from a client, or a role taken from a
user, stops working for outstanding tokens at once, without another query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.accounts.models import ApplicationUser
from apps.companies.models import Company
from apps.oauth.grants import grants_for_user
from apps.oauth.models import AccessToken, APIUser
from apps.oauth.token_cache import access_token_row, verified_claims
from apps.oauth.tokens import InvalidToken, TokenClaims

INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


@dataclass(frozen=True)
class BearerContext:
    """What a valid token grants: the company, the client, and the user for a user token."""

    company: Company
    client: APIUser
    user: ApplicationUser | None
    token: AccessToken
    scope: frozenset[str] = frozenset()

    @property
    def is_user_token(self) -> bool:
        return self.user is not None

    def has_grant(self, grant: str) -> bool:
        return grant in self.scope


class InvalidBearerToken(exceptions.AuthenticationFailed):
    default_detail = "The access token is invalid, expired or revoked."
    default_code = "invalid_token"


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise InvalidBearerToken("The Authorization header must be 'Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
            claims = verified_claims(raw)
        except (UnicodeDecodeError, InvalidToken):
            raise InvalidBearerToken() from None

        # The row may be up to BEARER_ROW_MAX_AGE_SECONDS (<= 1 s) old: see apps/oauth/token_cache.py.
        token = access_token_row(claims.jti)
        if token is None or not access_token_still_valid(token, claims):
            raise InvalidBearerToken()
        context = BearerContext(
            company=token.company,
            client=token.client,
            user=token.user,
            token=token,
            scope=effective_scope(token, claims),
        )
        return (token.user or AnonymousUser(), context)

    def authenticate_header(self, request) -> str:
        return "Bearer"


def access_token_still_valid(token: AccessToken, claims: TokenClaims) -> bool:
    """The row-side checks of a verified JWT (revoked, expired, deactivated client/company/user, claims that
    disagree with the row). Bearer authentication and introspection (RFC 7662) apply the same rules."""
    user = token.user
    return (
        token.revoked_at is None
        and token.expires_at > timezone.now()
        and token.client.is_active
        and token.company.is_active
        and token.client.company_id == token.company_id
        and token.client.client_id == claims.client_id
        and token.company.slug == claims.company
        and (
            user is None
            if claims.kind == "generic"
            else user is not None
            and user.is_active
            and user.company_id == token.company_id
            and user.userid == claims.sub
        )
    )


def effective_scope(token: AccessToken, claims: TokenClaims) -> frozenset[str]:
    """What a still-valid token may do now: its ``scope`` claim within the client's current grants, narrowed by
    the user's current roles. A token issued before grants existed has no claim: the current grants apply."""
    current = grants_for_user(token.client.grants, token.user)
    return current if claims.scope is None else claims.scope & current
