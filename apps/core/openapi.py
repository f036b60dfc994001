"""The OpenAPI 3 schema (drf-spectacular): case-insensitive routes under their published
spellings, strict request bodies, and the OAuth2 endpoints, which are plain Django views outside DRF and are
documented here from their published contract. The bearer scheme is described by apps/oauth/schema.py."""

from __future__ import annotations

import copy
import re
from typing import Any

CLIENT_BASIC_SCHEME = "clientSecretBasic"
PROBLEM = "application/problem+json"


# ci_path turns each letter into "[Xx]"; the documented path is the published spelling (the first of each pair).
_LETTER_PAIR = re.compile(r"\[([A-Za-z])([A-Za-z])\]")
_ESCAPED = re.compile(r"\\(.)")


def _published_spelling(path: str) -> str:
    path = _LETTER_PAIR.sub(lambda m: m.group(1) if m.group(2) == m.group(1).swapcase() else m.group(0), path)
    return _ESCAPED.sub(r"\1", path)


def preprocess_published_paths(endpoints: list) -> list:
    return [(_published_spelling(path), regex, method, callback) for path, regex, method, callback in endpoints]


def postprocess_schema(result: dict, generator, request, public) -> dict:
    components = result.setdefault("components", {})
    for name, schema in components.get("schemas", {}).items():
        # Request bodies refuse unknown fields (the API answers 400 naming them); say so in the schema.
        if name.endswith("Input") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    components.setdefault("securitySchemes", {})[CLIENT_BASIC_SCHEME] = {
        "type": "http",
        "scheme": "basic",
        "description": "OAuth2 client authentication (RFC 6749 §2.3.1): client_id and client_secret, "
        "form-URL-encoded, as user name and password. The body may carry them instead.",
    }
    components["schemas"].update(copy.deepcopy(OAUTH_SCHEMAS))
    for path, operations in OAUTH_PATHS.items():
        result["paths"].setdefault(path, copy.deepcopy(operations))
    result.setdefault("tags", [])
    if not any(tag.get("name") == "OAuth2" for tag in result["tags"]):
        result["tags"].append({"name": "OAuth2", "description": "Authorization codes and access tokens."})
    _merge_tags_differing_in_case(result)
    return result


def _merge_tags_differing_in_case(result: dict) -> None:
    """One tag per name whatever its case: drf-spectacular tags a DRF view by its path's first segment
    (``/api/oauth2/me`` becomes "oauth2"), which would split the OAuth2 operations in two groups in the docs.
    The spelling declared in ``tags`` (or else the first one met) wins."""
    spelling = {tag["name"].lower(): tag["name"] for tag in result["tags"]}
    for operations in result["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "tags" in operation:
                names = [spelling.setdefault(name.lower(), name) for name in operation["tags"]]
                operation["tags"] = list(dict.fromkeys(names))


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict:
    return {"description": description, "content": {PROBLEM: {"schema": _ref("Problem")}}}


def _text(description: str, example: str) -> dict:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string", "example": example}}}}


def _param(name: str, description: str, *, required: bool = False, **schema: Any) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


_CLIENT_AUTH_NOTE = (
    "The client authenticates with client_id and client_secret in the body, or with HTTP Basic "
    "(RFC 6749 §2.3.1), not both."
)
_NO_STORE_HEADERS = {
    "Cache-Control": {"schema": {"type": "string", "example": "no-store"}},
    "Pragma": {"schema": {"type": "string", "example": "no-cache"}},
}
_UNAUTHORIZED = _problem(
    "Unknown or inactive client, or wrong secret (one shape for all, so client ids cannot be probed): "
    '`{"type": "https://tools.ietf.org/html/rfc9110#section-15.5.2", "title": "Unauthorized", "status": 401, '
    '"traceId": "00-<32 hex>-<16 hex>-00"}`.'
)
_TOO_MANY = {
    **_problem("Too many requests from this client or address."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}
_CLIENT_SECURITY = [{CLIENT_BASIC_SCHEME: []}, {}]

OAUTH_SCHEMAS: dict[str, Any] = {
    "TokenRequest": {
        "type": "object",
        "description": "Unknown parameters are ignored. redirect_uri and userid may be omitted: the code's own "
        "bindings then hold; when sent they must match the authorization request.",
        "properties": {
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "code": {"type": "string", "description": "The authorization code (single use, short-lived)."},
            "redirect_uri": {"type": "string", "description": "The redirect_uri of the authorization request."},
            "userid": {"type": "string", "description": "The userid of the authorization request, if any."},
            "code_verifier": {"type": "string", "description": "PKCE verifier (RFC 7636), when a challenge was sent."},
            "grant_type": {"type": "string", "enum": ["authorization_code"]},
        },
        "required": ["code"],
    },
    "TokenResponse": {
        "type": "object",
        "properties": {
            "access_token": {"type": "string", "description": "A JWT; send it as `Authorization: Bearer …`."},
            "expiration": {"type": "string", "format": "date-time", "example": "2025-03-31T13:12:17Z"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "example": 3600},
        },
        "required": ["access_token", "expiration", "token_type", "expires_in"],
    },
    "TokenActionRequest": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "The access token."},
            "token_type_hint": {"type": "string", "enum": ["access_token"]},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
        },
        "required": ["token"],
    },
    "IntrospectionResponse": {
        "type": "object",
        "description": "RFC 7662. Only `active` for a token that is inactive, unknown or of another company.",
        "properties": {
            "active": {"type": "boolean"},
            "client_id": {"type": "string"},
            "sub": {"type": "string"},
            "token_type": {"type": "string"},
            "exp": {"type": "integer"},
            "iat": {"type": "integer"},
            "iss": {"type": "string"},
            "jti": {"type": "string"},
            "company": {"type": "string"},
            "userid": {"type": "string"},
            "kind": {"type": "string", "enum": ["generic", "user"]},
            "scope": {
                "type": "string",
                "description": "What the token may do now: its grants, space-separated (e.g. `users:read chat`).",
            },
        },
        "required": ["active"],
    },
    "AuthorizationServerMetadata": {
        "type": "object",
        "description": "RFC 8414 metadata.",
        "properties": {
            "issuer": {"type": "string"},
            "authorization_endpoint": {"type": "string", "format": "uri"},
            "token_endpoint": {"type": "string", "format": "uri"},
            "revocation_endpoint": {"type": "string", "format": "uri"},
            "introspection_endpoint": {"type": "string", "format": "uri"},
            "response_types_supported": {"type": "array", "items": {"type": "string"}},
            "grant_types_supported": {"type": "array", "items": {"type": "string"}},
            "code_challenge_methods_supported": {"type": "array", "items": {"type": "string"}},
            "scopes_supported": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Every grant a token's scope may hold.",
            },
            "token_endpoint_auth_methods_supported": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["issuer", "authorization_endpoint", "token_endpoint"],
    },
}

_FORM_OR_JSON = {
    "application/x-www-form-urlencoded": {"schema": _ref("TokenRequest")},
    "application/json": {"schema": _ref("TokenRequest")},
}
_TOKEN_ACTION_BODY = {"application/x-www-form-urlencoded": {"schema": _ref("TokenActionRequest")}}

OAUTH_PATHS: dict[str, Any] = {
    "/api/oauth2": {
        "get": {
            "operationId": "OAuth2Authorize",
            "tags": ["OAuth2"],
            "summary": "Authorization endpoint: issue a single-use code by redirect",
            "description": "A generic code without `userid`; a user-specific code with it (the client must allow "
            "user tokens). Errors before the redirect URI is known are never redirected.",
            "security": [],
            "parameters": [
                _param("client_id", "The client's id.", required=True),
                _param("redirect_uri", "One of the client's registered redirect URIs, exactly.", required=True),
                _param("userid", "For a user-specific token: an active user of the client's company."),
                _param("state", "Returned unchanged in the redirect (CSRF protection)."),
                _param("response_type", "Accepted for compatibility; only `code`.", enum=["code"]),
                _param("code_challenge", "PKCE S256 challenge (RFC 7636), 43 base64url characters."),
                _param("code_challenge_method", "PKCE method; only S256.", enum=["S256"]),
            ],
            "responses": {
                "302": {
                    "description": "Redirect to `{redirect_uri}?code=…` (plus `&state=…` when given).",
                    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
                },
                "400": _text(
                    "A missing or invalid parameter: `Invalid client_id`, `Invalid redirect_uri`, `Invalid userid`, "
                    "`Invalid response_type` or `Invalid code_challenge`.",
                    "Invalid redirect_uri",
                ),
                "401": _problem("Unknown or inactive client."),
                "405": _problem("Method not allowed (GET only)."),
                "429": _TOO_MANY,
            },
        }
    },
    "/api/oauth2/Token": {
        "post": {
            "operationId": "OAuth2Token",
            "tags": ["OAuth2"],
            "summary": "Token endpoint: exchange a code for an access token",
            "description": _CLIENT_AUTH_NOTE + " The path matches in any case (`/api/oauth2/token`).",
            "security": _CLIENT_SECURITY,
            "requestBody": {"required": True, "content": _FORM_OR_JSON},
            "responses": {
                "200": {
                    "description": "The access token.",
                    "headers": _NO_STORE_HEADERS,
                    "content": {"application/json": {"schema": _ref("TokenResponse")}},
                },
                "400": _text(
                    "A missing or invalid parameter: `Invalid client_id`, `Invalid client_secret`, `Invalid Code`, "
                    "`Invalid redirect_uri`, `Invalid userid`, `Invalid code_verifier`, or a malformed body.",
                    "Invalid Code",
                ),
                "401": _UNAUTHORIZED,
                "405": _problem("Method not allowed (POST only)."),
                "415": _problem("The body is neither form-URL-encoded nor JSON."),
                "429": _TOO_MANY,
            },
        }
    },
    "/api/oauth2/revoke": {
        "post": {
            "operationId": "OAuth2Revoke",
            "tags": ["OAuth2"],
            "summary": "Revoke an access token (RFC 7009)",
            "description": _CLIENT_AUTH_NOTE + " Answers 200 for an unknown or already revoked token too.",
            "security": _CLIENT_SECURITY,
            "requestBody": {"required": True, "content": _TOKEN_ACTION_BODY},
            "responses": {
                "200": {
                    "description": "Revoked (or nothing to revoke): an empty JSON object.",
                    "headers": _NO_STORE_HEADERS,
                    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0, "example": {}}}},
                },
                "400": _text("A missing parameter.", "Invalid token"),
                "401": _UNAUTHORIZED,
                "405": _problem("Method not allowed (POST only)."),
                "415": _problem("The body is not form-URL-encoded."),
                "429": _TOO_MANY,
            },
        }
    },
    "/api/oauth2/introspect": {
        "post": {
            "operationId": "OAuth2Introspect",
            "tags": ["OAuth2"],
            "summary": "Introspect an access token (RFC 7662); only the client's own company's tokens",
            "description": _CLIENT_AUTH_NOTE,
            "security": _CLIENT_SECURITY,
            "requestBody": {"required": True, "content": _TOKEN_ACTION_BODY},
            "responses": {
                "200": {
                    "description": "The token's state.",
                    "headers": _NO_STORE_HEADERS,
                    "content": {"application/json": {"schema": _ref("IntrospectionResponse")}},
                },
                "400": _text("A missing parameter.", "Invalid token"),
                "401": _UNAUTHORIZED,
                "405": _problem("Method not allowed (POST only)."),
                "415": _problem("The body is not form-URL-encoded."),
                "429": _TOO_MANY,
            },
        }
    },
    "/.well-known/oauth-authorization-server": {
        "get": {
            "operationId": "OAuth2Metadata",
            "tags": ["OAuth2"],
            "summary": "Authorization server metadata (RFC 8414)",
            "security": [],
            "responses": {
                "200": {
                    "description": "The endpoints, `S256`, and the client authentication methods.",
                    "content": {"application/json": {"schema": _ref("AuthorizationServerMetadata")}},
                },
                "405": _problem("Method not allowed (GET only)."),
            },
        }
    },
}
