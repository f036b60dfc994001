from django.apps import AppConfig


class CoreConfig(AppConfig):
    """HTTP plumbing every app uses: problem responses, case-insensitive routing, trace ids, the command base,
    the OpenAPI hooks and /healthz. It has no models and imports no other app."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from apps.core import checks, middleware

        checks.register()
        user_logged_in.connect(middleware.renewal_starts_at_login, dispatch_uid="core.renewal_starts_at_login")
