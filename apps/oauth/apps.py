from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "apps.oauth"
    label = "oauth"
    verbose_name = "API access (OAuth2)"

    def ready(self) -> None:
        from apps.accounts.signals import user_deactivated
        from apps.companies.signals import company_deactivated
        from apps.oauth import schema  # noqa: F401 - registers the OpenAPI description of bearer tokens
        from apps.oauth.services import tokens_revoke_for_deactivated_company, tokens_revoke_for_deactivated_user

        # Deactivating a company or a user (lower layers) revokes their outstanding tokens here.
        company_deactivated.connect(tokens_revoke_for_deactivated_company, dispatch_uid="oauth.company_deactivated")
        user_deactivated.connect(tokens_revoke_for_deactivated_user, dispatch_uid="oauth.user_deactivated")
