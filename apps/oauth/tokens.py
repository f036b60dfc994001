"""Access tokens as JWTs (PyJWT), signed by the server with a key ring so that keys can rotate.

The current key (``JWT_SIGNING_KEY`` / ``JWT_KEY_ID``) signs; it and the retired keys in
``JWT_PREVIOUS_KEYS`` verify. Only the algorithm the server signs with is accepted, so ``alg: none``
and algorithm-confusion tokens fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt
from django.conf import settings

ALGORITHM = "HS256"
KIND_GENERIC = "generic"
KIND_USER = "user"
_REQUIRED_CLAIMS = ["iss", "sub", "client_id", "company", "jti", "iat", "exp", "kind"]


class InvalidToken(Exception):
    """The token is malformed, forged, signed with an unknown key, expired or otherwise unacceptable."""


@dataclass(frozen=True)
class TokenClaims:
    jti: str
    sub: str
    client_id: str
    company: str
    kind: str
    exp: int
    # The grants the token was issued with; None for a token issued before grants existed (its client's
    # current grants, narrowed by the user's roles, apply then).
    scope: frozenset[str] | None = None


def _verification_keys() -> dict[str, str]:
    keys = dict(settings.JWT_PREVIOUS_KEYS)
    keys[settings.JWT_KEY_ID] = settings.JWT_SIGNING_KEY
    return keys


def encode_access_token(
    *,
    jti: str,
    client_id: str,
    company_slug: str,
    userid: str | None,
    scope: str,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    payload = {
        "iss": settings.JWT_ISSUER,
        "sub": userid or client_id,
        "client_id": client_id,
        "company": company_slug,
        "jti": jti,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "kind": KIND_USER if userid else KIND_GENERIC,
        "scope": scope,
    }
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM, headers={"kid": settings.JWT_KEY_ID})


def decode_access_token(token: str) -> TokenClaims:
    try:
        header = jwt.get_unverified_header(token)
        key = _verification_keys().get(header.get("kid"))
        if key is None:
            raise InvalidToken("unknown key id")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=settings.JWT_ISSUER,
            options={"require": _REQUIRED_CLAIMS},
            leeway=settings.JWT_LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims["kind"] not in (KIND_GENERIC, KIND_USER) or not isinstance(claims["jti"], str):
        raise InvalidToken("bad claims")
    scope = claims.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise InvalidToken("bad scope claim")
    return TokenClaims(
        jti=claims["jti"],
        sub=str(claims["sub"]),
        client_id=str(claims["client_id"]),
        company=str(claims["company"]),
        kind=claims["kind"],
        exp=int(claims["exp"]),
        scope=frozenset(scope.split()) if scope is not None else None,
    )
