"""Who may open a portal page (chat, monitoring, compliance, dashboards): a signed-in person of an active company
who holds one of the page's roles.

Someone not signed in goes to the portal's login page and comes back; a signed-in person without the role gets
the 403 page that names the roles (a company admin adds the role on the user's page); a person of another company
never reaches another company's object, because every selector behind these pages is scoped to
``request.user.company`` and answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from apps.accounts.models import ROLE_FIELDS

PORTAL_LOGIN_URL = "chat:login"  # the portal's login page (/login/), a URL name so that no app import is needed

# Who may open each oversight area; the API grants of the same names carry these roles (apps/oauth/grants.py).
MONITORING_ROLES = ("admin", "monitor")
COMPLIANCE_ROLES = ("compliance",)
DASHBOARD_ROLES = ("admin", "monitor", "compliance")


def has_any_role(user, roles: tuple[str, ...]) -> bool:
    """True for an active user of an active company who holds one of ``roles``."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    company = getattr(user, "company", None)
    if company is None or not company.is_active:
        return False
    return any(getattr(user, ROLE_FIELDS[role]) for role in roles)


def roles_text(roles: tuple[str, ...]) -> str:
    names = [f"'{role}'" for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def portal_roles_required(*roles: str) -> Callable:
    """Decorate a portal view: signed in (else the login page), and one of ``roles`` (else 403)."""
    unknown = set(roles) - set(ROLE_FIELDS)
    if not roles or unknown:
        raise ValueError(f"Unknown roles: {sorted(unknown) or 'none given'}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), resolve_url(PORTAL_LOGIN_URL))
            if not has_any_role(request.user, roles):
                raise PermissionDenied(
                    f"This page needs the {roles_text(roles)} role in your company. A company admin can add it on "
                    "your user's page in the web admin."
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
