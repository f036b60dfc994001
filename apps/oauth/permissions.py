"""Who may call an endpoint: any token, a token carrying a grant, a user token, or a user token whose user has a
role."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from apps.oauth.authentication import BearerContext
from apps.oauth.grants import GRANTS, grants_for_user, roles_text


def bearer_context(request) -> BearerContext | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, BearerContext) else None


class HasAccessToken(BasePermission):
    """Any valid token of the company, generic or user."""

    def has_permission(self, request, view) -> bool:
        return bearer_context(request) is not None


class InsufficientScope(exceptions.PermissionDenied):
    """403 for a token without a grant the endpoint needs; the challenge names it (RFC 6750 §3.1)."""

    def __init__(self, grant: str, detail: str) -> None:
        super().__init__(detail, code="insufficient_scope")
        self.grant = grant
        self.www_authenticate = f'Bearer error="insufficient_scope", scope="{grant}"'


def missing_grant_message(context: BearerContext, grant: str) -> str:
    """Why the token lacks the grant, so that the caller knows whom to ask."""
    lacks = f"This token lacks the '{grant}' grant"
    if not context.client.has_grant(grant):
        return f"{lacks}: its API client does not have it (a company admin grants it on the client's page)."
    if grant not in grants_for_user([grant], context.user):
        return f"{lacks}: a user token carries it only for a user with the {roles_text(grant)} role."
    return f"{lacks}: it was issued before its API client got the grant; request a new token."


class RequiresGrant(BasePermission):
    """A token whose scope holds ``grant``: ``permission_classes = [HasAccessToken, RequiresGrant("users:read")]``.

    An instance stands in for a class in ``permission_classes`` (DRF instantiates each entry; calling this one
    returns itself). It keeps no per-request state, so one instance serves every thread.
    """

    def __init__(self, grant: str) -> None:
        if grant not in GRANTS:
            raise ValueError(f"Unknown grant {grant!r}")
        self.grant = grant

    def __call__(self) -> RequiresGrant:
        return self

    def __repr__(self) -> str:
        return f"RequiresGrant({self.grant!r})"

    def has_permission(self, request, view) -> bool:
        context = bearer_context(request)
        if context is None:
            return False  # not authenticated: DRF answers 401
        if not context.has_grant(self.grant):
            raise InsufficientScope(self.grant, missing_grant_message(context, self.grant))
        return True


class UserTokenRequired(BasePermission):
    message = "This endpoint needs a user token: request the token with the userid parameter."

    def has_permission(self, request, view) -> bool:
        context = bearer_context(request)
        return context is not None and context.is_user_token


def role_required(role: str) -> type[BasePermission]:
    """A permission class that needs a user token whose user holds ``role``."""

    class RoleRequired(UserTokenRequired):
        def has_permission(self, request, view) -> bool:
            if not super().has_permission(request, view):
                return False
            self.message = f"This endpoint needs a user token of a user with the '{role}' role."
            return bearer_context(request).user.has_role(role)

    RoleRequired.__name__ = f"Role{role.title()}Required"
    return RoleRequired
