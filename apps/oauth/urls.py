"""OAuth2 endpoints (routes keep the published spellings and match in any case)."""

from apps.core.routing import ci_path
from apps.oauth import views

urlpatterns = [
    ci_path("api/oauth2", views.authorize, name="oauth2-authorize"),
    ci_path("api/oauth2/Token", views.token, name="oauth2-token"),
    ci_path("api/oauth2/revoke", views.revoke, name="oauth2-revoke"),
    ci_path("api/oauth2/introspect", views.introspect, name="oauth2-introspect"),
    ci_path("api/oauth2/me", views.TokenContextView.as_view(), name="oauth2-me"),
    ci_path(".well-known/oauth-authorization-server", views.server_metadata, name="oauth2-metadata"),
]
