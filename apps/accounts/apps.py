from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Users and groups"

    def ready(self) -> None:
        # Audit receivers of logins, failed logins and logouts.
        from apps.accounts import logins  # noqa: F401
