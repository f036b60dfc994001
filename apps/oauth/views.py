"""The OAuth2 endpoints: authorize, token, revoke, introspect, server metadata, and the token's own context.

The first five are plain Django views: the published contract fixes statuses, content types and bodies
(``400 text/plain`` reason lines, ``401 application/problem+json``) more exactly than DRF's negotiation
would. They parse, authenticate the client and call one service or selector.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.services import Actor
from apps.core.net import client_ip
from apps.core.problems import problem_response, text_error
from apps.oauth import services
from apps.oauth.authentication import access_token_still_valid, effective_scope
from apps.oauth.grants import GRANTS, scope_string
from apps.oauth.models import APIUser
from apps.oauth.params import BadRequest, UnsupportedMediaType, basic_credentials, body_params, query_params
from apps.oauth.permissions import bearer_context
from apps.oauth.selectors import (
    access_token_for_client_company,
    api_client_authenticate,
    api_client_get_by_client_id,
    api_client_usable,
)
from apps.oauth.throttling import throttle_hit
from apps.oauth.tokens import InvalidToken, decode_access_token

AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "userid", "state", "code_challenge",
                    "code_challenge_method")  # fmt: skip
TOKEN_PARAMS = ("client_id", "client_secret", "redirect_uri", "code", "userid", "code_verifier", "grant_type")
TOKEN_ACTION_PARAMS = ("client_id", "client_secret", "token", "token_type_hint")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _expiration(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    return problem_response(request, 405, detail=f"Use {allowed}.", headers={"Allow": allowed})


def _unauthorized(request: HttpRequest, *, basic: bool) -> HttpResponse:
    # One shape for an unknown client and a wrong secret, so that client ids cannot be probed.
    headers = dict(NO_STORE)
    if basic:
        headers["WWW-Authenticate"] = 'Basic realm="airisk"'  # RFC 6749 §5.2
    return problem_response(request, 401, headers=headers)


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    return problem_response(
        request, 429, detail="Too many requests; retry later.", headers={"Retry-After": str(retry_after)}
    )


def _with_query(uri: str, pairs: list[tuple[str, str]]) -> str:
    """Append to the redirect URI's query (a query already registered in it is kept)."""
    extra = urlencode(pairs, quote_via=quote)
    if "?" not in uri:
        return f"{uri}?{extra}"
    return f"{uri}{extra}" if uri.endswith(("?", "&")) else f"{uri}&{extra}"


@csrf_exempt  # no cookies are read; without it a POST would be a CSRF 403 page instead of the 405 problem
def authorize(request: HttpRequest) -> HttpResponse:
    """``GET /api/oauth2``: a 302 to the registered redirect URI with a single-use code (and the state)."""
    if request.method != "GET":
        return _method_not_allowed(request, "GET")
    retry_after = throttle_hit(
        scope="authorize-ip", ident=client_ip(request) or "-", rate=settings.OAUTH_AUTHORIZE_RATE_PER_IP
    )
    if retry_after:
        return _too_many(request, retry_after)
    try:
        params = query_params(request, AUTHORIZE_PARAMS, keep_empty=("state",))
    except BadRequest as exc:
        return text_error(400, exc.reason)
    if "client_id" not in params:
        return text_error(400, "Invalid client_id")
    if "redirect_uri" not in params:
        return text_error(400, services.INVALID_REDIRECT_URI)
    client = api_client_get_by_client_id(params["client_id"])
    if not api_client_usable(client):
        return problem_response(request, 401)
    # Counted for usable clients only, so that made-up client ids cannot fill the cache with counters.
    retry_after = throttle_hit(
        scope="authorize-client", ident=client.client_id, rate=settings.OAUTH_AUTHORIZE_RATE_PER_CLIENT
    )
    if retry_after:
        return _too_many(request, retry_after)
    if params.get("response_type", "code") != "code":
        return text_error(400, "Invalid response_type")
    try:
        code = services.auth_code_issue(
            client=client,
            redirect_uri=params["redirect_uri"],
            userid=params.get("userid"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
            actor=Actor.from_request(request, client=client),
        )
    except services.OAuthRequestError as exc:
        return text_error(400, exc.reason)
    pairs = [("code", code)]
    if "state" in params:
        pairs.append(("state", params["state"]))
    response = HttpResponseRedirect(_with_query(params["redirect_uri"], pairs))
    # The code is in the Location: keep it out of caches and Referer headers.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _client_credentials(
    request: HttpRequest, params: dict[str, str]
) -> tuple[str | None, str | None, bool, HttpResponse | None]:
    """``(client_id, client_secret, used_basic, error_response)`` from HTTP Basic or the body."""
    try:
        basic = basic_credentials(request)
    except ValueError:
        return None, None, True, _unauthorized(request, basic=True)
    if basic is None:
        return params.get("client_id"), params.get("client_secret"), False, None
    # RFC 6749 §2.3: one authentication method per request. A client id repeated in the body is tolerated
    # (several libraries send it) when it is the same.
    if "client_secret" in params:
        return None, None, True, text_error(400, "Invalid client_secret: sent both in the body and by HTTP Basic")
    if params.get("client_id", basic[0]) != basic[0]:
        return None, None, True, text_error(400, "Invalid client_id: the body and HTTP Basic differ")
    return basic[0] or None, basic[1] or None, True, None


def _authenticated_client(
    request: HttpRequest, client_id: str, client_secret: str, *, basic: bool
) -> tuple[APIUser | None, HttpResponse | None]:
    client = api_client_authenticate(client_id=client_id, client_secret=client_secret)
    if client is None:
        services.api_client_auth_failure_record(
            client_id=client_id, actor=Actor.from_request(request), reason="wrong secret or inactive client"
        )
        return None, _unauthorized(request, basic=basic)
    return client, None


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """``POST /api/oauth2/Token``: exchange a code for ``{access_token, expiration, token_type, expires_in}``."""
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    retry_after = throttle_hit(scope="token-ip", ident=client_ip(request) or "-", rate=settings.OAUTH_TOKEN_RATE_PER_IP)
    if retry_after:
        return _too_many(request, retry_after)
    try:
        params = body_params(request, TOKEN_PARAMS)
    except UnsupportedMediaType:
        return problem_response(
            request, 415, detail="Send application/x-www-form-urlencoded or application/json.", headers=NO_STORE
        )
    except BadRequest as exc:
        return text_error(400, exc.reason, headers=NO_STORE)
    client_id, client_secret, basic, error = _client_credentials(request, params)
    if error is not None:
        return error
    if not client_id:
        return text_error(400, "Invalid client_id", headers=NO_STORE)
    if not client_secret:
        return text_error(400, "Invalid client_secret", headers=NO_STORE)
    if params.get("grant_type", "authorization_code") != "authorization_code":
        return text_error(400, "Invalid grant_type", headers=NO_STORE)
    if "code" not in params:
        return text_error(400, services.INVALID_CODE, headers=NO_STORE)
    client, error = _authenticated_client(request, client_id, client_secret, basic=basic)
    if error is not None:
        return error
    # Counted per authenticated client: a stranger who only knows a client id cannot use up its budget.
    retry_after = throttle_hit(scope="token-client", ident=client.client_id, rate=settings.OAUTH_TOKEN_RATE_PER_CLIENT)
    if retry_after:
        return _too_many(request, retry_after)
    try:
        access_token, value = services.auth_code_exchange(
            client=client,
            code=params["code"],
            redirect_uri=params.get("redirect_uri"),
            userid=params.get("userid"),
            code_verifier=params.get("code_verifier"),
            actor=Actor.from_request(request, client=client),
        )
    except services.OAuthRequestError as exc:
        return text_error(400, exc.reason, headers=NO_STORE)
    return JsonResponse(
        {
            "access_token": value,
            "expiration": _expiration(access_token.expires_at),
            "token_type": "Bearer",
            "expires_in": settings.ACCESS_TOKEN_LIFETIME_SECONDS,
        },
        headers=NO_STORE,
    )


def _token_action_client(request: HttpRequest, scope: str) -> tuple[APIUser | None, dict, HttpResponse | None]:
    """The shared front of revoke and introspect: POST, throttle, body, client authentication, ``token``."""
    if request.method != "POST":
        return None, {}, _method_not_allowed(request, "POST")
    retry_after = throttle_hit(scope=scope, ident=client_ip(request) or "-", rate=settings.OAUTH_TOKEN_RATE_PER_IP)
    if retry_after:
        return None, {}, _too_many(request, retry_after)
    try:
        params = body_params(request, TOKEN_ACTION_PARAMS)
    except UnsupportedMediaType:
        return None, {}, problem_response(request, 415, detail="Send application/x-www-form-urlencoded.")
    except BadRequest as exc:
        return None, {}, text_error(400, exc.reason)
    client_id, client_secret, basic, error = _client_credentials(request, params)
    if error is None and not client_id:
        error = text_error(400, "Invalid client_id")
    if error is None and not client_secret:
        error = text_error(400, "Invalid client_secret")
    if error is None and "token" not in params:
        error = text_error(400, "Invalid token")
    if error is not None:
        return None, {}, error
    client, error = _authenticated_client(request, client_id, client_secret, basic=basic)
    return client, params, error


@csrf_exempt
def revoke(request: HttpRequest) -> HttpResponse:
    """``POST /api/oauth2/revoke`` (RFC 7009): 200 whether or not the token was the client's and valid."""
    client, params, error = _token_action_client(request, "revoke-ip")
    if error is not None:
        return error
    services.access_token_revoke(
        client=client, token_value=params["token"], actor=Actor.from_request(request, client=client)
    )
    # RFC 7009 §2.2 asks only for a 200; an empty JSON object keeps the API's responses JSON throughout.
    return JsonResponse({}, headers=NO_STORE)


@csrf_exempt
def introspect(request: HttpRequest) -> HttpResponse:
    """``POST /api/oauth2/introspect`` (RFC 7662): ``{"active": false}`` unless a live token of this company."""
    client, params, error = _token_action_client(request, "introspect-ip")
    if error is not None:
        return error
    inactive = JsonResponse({"active": False}, headers=NO_STORE)
    try:
        claims = decode_access_token(params["token"])
    except InvalidToken:
        return inactive
    row = access_token_for_client_company(client=client, jti=claims.jti)
    if row is None or not access_token_still_valid(row, claims):
        return inactive
    return JsonResponse(
        {
            "active": True,
            "token_type": "Bearer",
            "client_id": row.client.client_id,
            "sub": claims.sub,
            "userid": row.user.userid if row.user else None,
            "kind": claims.kind,
            "scope": scope_string(effective_scope(row, claims)),
            "company": row.company.slug,
            "iss": settings.JWT_ISSUER,
            "jti": row.jti,
            "iat": int(row.issued_at.timestamp()),
            "exp": int(row.expires_at.timestamp()),
        },
        headers=NO_STORE,
    )


@csrf_exempt  # a POST gets the 405 problem, not a CSRF page
def server_metadata(request: HttpRequest) -> HttpResponse:
    """``GET /.well-known/oauth-authorization-server`` (RFC 8414)."""
    if request.method != "GET":
        return _method_not_allowed(request, "GET")
    origin = request.build_absolute_uri("/").rstrip("/")
    issuer = settings.JWT_ISSUER if settings.JWT_ISSUER.startswith(("https://", "http://")) else origin
    auth_methods = ["client_secret_post", "client_secret_basic"]
    return JsonResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": origin + reverse("oauth2-authorize"),
            "token_endpoint": origin + reverse("oauth2-token"),
            "revocation_endpoint": origin + reverse("oauth2-revoke"),
            "introspection_endpoint": origin + reverse("oauth2-introspect"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            # The grants a token's scope may hold; they are given to a client, never asked for by a request.
            "scopes_supported": list(GRANTS),
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
        }
    )


class TokenContextOutputSerializer(serializers.Serializer):
    company = serializers.CharField(help_text="Slug of the token's company.")
    client_id = serializers.CharField()
    userid = serializers.CharField(allow_null=True, help_text="The user of a user token; null for a generic one.")
    kind = serializers.ChoiceField(choices=["generic", "user"])
    scope = serializers.CharField(
        allow_blank=True,
        help_text="What the token may do now: its grants, space-separated (e.g. `users:read chat agents:read`). "
        "The client's grants, narrowed by the user's roles for a user token, and never more than the client has "
        "now.",
    )
    expires = serializers.CharField(help_text="UTC expiry, e.g. 2025-03-31T13:12:17Z.")


class TokenContextView(APIView):
    """``GET /api/oauth2/me``: what the presented bearer token grants (any valid token of the company)."""

    @extend_schema(responses=TokenContextOutputSerializer, summary="Describe the presented access token")
    def get(self, request: Request) -> Response:
        context = bearer_context(request)
        return Response(
            {
                "company": context.company.slug,
                "client_id": context.client.client_id,
                "userid": context.user.userid if context.user else None,
                "kind": "user" if context.is_user_token else "generic",
                "scope": scope_string(context.scope),
                "expires": _expiration(context.token.expires_at),
            },
            headers={"Cache-Control": "no-store"},
        )
