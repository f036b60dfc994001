"""Django's deploy checks, told that apps.core.middleware's subclasses are the middleware they look for.

Django's security checks find its middleware by dotted path (``"django.middleware.security.SecurityMiddleware" in
settings.MIDDLEWARE``): with a subclass in its place they warn that the middleware is missing (security.W001,
W002, W003) and pass every check that depends on it without looking (HSTS, SSL redirect, nosniff, the CSRF and
session cookies, X-Frame-Options). So each of them runs here against MIDDLEWARE as Django would read it: a
subclass of one of its middleware named by that middleware's path. The checks, their ids, their messages and
SILENCED_SYSTEM_CHECKS stay Django's own.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

# The middleware Django's security checks look for by path.
CHECKED_PATHS = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
)


def middleware_as_django_reads_it(middleware: list[str]) -> list[str]:
    checked = {path: import_string(path) for path in CHECKED_PATHS}
    named = []
    for path in middleware:
        factory = import_string(path)  # a class, or a function making the middleware
        extends = [name for name, cls in checked.items() if isinstance(factory, type) and issubclass(factory, cls)]
        named.append(extends[0] if extends else path)
    return named


def _reading_subclasses(check):
    @functools.wraps(check)
    def wrapped(app_configs, **kwargs):
        middleware = middleware_as_django_reads_it(settings.MIDDLEWARE)
        if middleware == list(settings.MIDDLEWARE):
            return check(app_configs, **kwargs)
        from django.test.utils import override_settings  # the public way to read settings otherwise for a moment

        with override_settings(MIDDLEWARE=middleware):
            return check(app_configs, **kwargs)

    wrapped.reads_subclasses = True
    return wrapped


def register() -> None:
    """Replaces Django's registered deploy security checks by the same checks reading MIDDLEWARE as above (once:
    the registry is global, and AppConfig.ready may run again when a test reloads the apps)."""
    registry = checks.registry.registry
    for check in list(registry.deployment_checks):
        if check.__module__.startswith("django.core.checks.security.") and not getattr(
            check, "reads_subclasses", False
        ):
            registry.deployment_checks.discard(check)
            registry.register(_reading_subclasses(check), *check.tags, deploy=True)
