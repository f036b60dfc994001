"""Who may read and write users and groups through the API.

Reads need the ``users:read`` grant; writes need ``users:write`` and, for a user token, a company admin. The
grant is checked on the token's scope (the client's grants, narrowed by the user's roles), so a user token can
never write users when its client may not, whoever the user is.
"""

from rest_framework.permissions import BasePermission

from apps.accounts.models import Role
from apps.oauth.grants import USERS_READ, USERS_WRITE
from apps.oauth.permissions import HasAccessToken, RequiresGrant, bearer_context

NEEDS_ADMIN_USER = (
    "Writing users and groups with a user token needs a user with the 'admin' role; this token's user is not a "
    "company admin."
)


class GenericOrAdminUserToken(BasePermission):
    """A generic token, or a user token of a company admin (on top of the ``users:write`` grant)."""

    message = NEEDS_ADMIN_USER

    def has_permission(self, request, view) -> bool:
        context = bearer_context(request)
        return context is not None and (context.user is None or context.user.has_role(Role.ADMIN))


READ_PERMISSIONS = [HasAccessToken, RequiresGrant(USERS_READ)]
WRITE_PERMISSIONS = [HasAccessToken, RequiresGrant(USERS_WRITE), GenericOrAdminUserToken]
