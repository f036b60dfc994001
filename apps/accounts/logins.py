"""Logins to the web admin: the audit trail of logins, failed logins and logouts, and the pieces django-axes
calls (which username an attempt counts against, the lockout page). Connected in AccountsConfig.ready()."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.accounts.models import ApplicationUser
from apps.accounts.services import login_record_failure, login_record_success, logout_record
from apps.audit.services import Actor


def _user_agent(request: HttpRequest | None) -> str:
    return request.headers.get("User-Agent", "") if request is not None else ""


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account an attempt counts against (AXES_USERNAME_CALLABLE): the email as typed, trimmed and
    lower-cased, so that ``Admin@Acme.example`` cannot dodge the lockout of ``admin@acme.example``."""
    value = (credentials or {}).get("username") or request.POST.get("username")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE), in the admin's look, with status 429."""
    request.current_app = admin.site.name
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "cooloff_minutes": settings.AXES_COOLOFF_MINUTES,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    response = TemplateResponse(request, "accounts/login_locked_out.html", context, status=429)
    return response.render()


def _refused_unchecked(request: HttpRequest) -> bool:
    """Was this attempt refused by an existing lockout (the password never checked), rather than being the
    failure that reached the limit? django-axes counts both; the former exceed the limit."""
    return bool(getattr(request, "axes_locked_out", False)) and (
        getattr(request, "axes_failures_since_start", 0) > settings.AXES_FAILURE_LIMIT
    )


@receiver(user_login_failed, dispatch_uid="airisk.accounts.login_failed")
def record_failed_login(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None:  # a login outside a request (a script) is not a web login
        return
    locked = bool(getattr(request, "axes_locked_out", False))
    login_record_failure(
        email=(credentials or {}).get("username") or "",
        actor=Actor.from_request(request, user=None),
        user_agent=_user_agent(request),
        reason="locked out" if locked else "wrong email or password",
        refused_while_locked_out=_refused_unchecked(request),
    )


@receiver(user_logged_in, dispatch_uid="airisk.accounts.logged_in")
def record_login(sender, request: HttpRequest | None, user: ApplicationUser, **kwargs) -> None:
    if request is None:
        return
    login_record_success(user=user, actor=Actor.from_request(request, user=user), user_agent=_user_agent(request))


@receiver(user_logged_out, dispatch_uid="airisk.accounts.logged_out")
def record_logout(sender, request: HttpRequest | None, user: ApplicationUser | None, **kwargs) -> None:
    if request is None or user is None:  # logging out an anonymous visitor changes nothing
        return
    logout_record(user=user, actor=Actor.from_request(request, user=user), user_agent=_user_agent(request))
