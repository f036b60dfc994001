"""Who may write users and groups through the API."""

from rest_framework.permissions import BasePermission

from apps.accounts.models import Role
from apps.oauth.permissions import bearer_context

NEEDS_ADMIN_USER = (
    "Writing users and groups with a user token needs a user with the 'admin' role; this token's user is not a "
    "company admin."
)
NEEDS_MANAGE_USERS = (
    "Writing users and groups with a generic token needs the 'manage_users' permission on the API client "
    "(a company admin enables it), or use a user token of a company admin."
)


class CanManageUsers(BasePermission):
    """A user token of a company admin, or a generic token of a client with ``manage_users``.

    A user token never borrows its client's ``manage_users``: a non-admin user cannot write, whatever the client.
    """

    def has_permission(self, request, view) -> bool:
        context = bearer_context(request)
        if context is None:
            return False
        if context.user is not None:
            self.message = NEEDS_ADMIN_USER
            return context.user.has_role(Role.ADMIN)
        self.message = NEEDS_MANAGE_USERS
        return context.client.manage_users
