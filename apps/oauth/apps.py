from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "apps.oauth"
    label = "oauth"
    verbose_name = "API access (OAuth2)"

    def ready(self) -> None:
        from apps.oauth import schema  # noqa: F401 - registers the OpenAPI description of bearer tokens
