"""Who may call an endpoint: any token, a user token, or a user token whose user has a role."""

from rest_framework.permissions import BasePermission

from apps.oauth.authentication import BearerContext


def bearer_context(request) -> BearerContext | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, BearerContext) else None


class HasAccessToken(BasePermission):
    """Any valid token of the company, generic or user."""

    def has_permission(self, request, view) -> bool:
        return bearer_context(request) is not None


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
