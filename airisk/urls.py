from django.contrib import admin
from django.urls import include, path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import passwords
from apps.accounts.admin import password_change as admin_password_change
from apps.core.autocomplete import autocomplete_view
from apps.core.routing import ci_path
from apps.core.views import healthz

admin.site.site_header = "AIRisk"
admin.site.site_title = "AIRisk admin"
admin.site.index_title = "Manage your company"
admin.site.site_url = None  # no public site to link to from the admin header

urlpatterns = [
    # The Chat API first: its prompts are the busiest requests, and Django tries the patterns in order (no other
    # route shares its paths).
    path("", include("apps.chat.api.urls")),
    ci_path("healthz", healthz, name="healthz"),
    path("admin/password_change/", admin.site.admin_view(admin_password_change), name="admin_password_change"),
    # Ahead of admin.site.urls: Django's own view answers 500 for a reverse relation (apps/core/autocomplete.py).
    path("admin/autocomplete/", autocomplete_view(admin.site), name="admin-autocomplete"),
    # Password reset by email, in the admin's look (the admin's login page links to it).
    path("admin/password_reset/", passwords.password_reset, name="admin_password_reset"),
    path("admin/password_reset/done/", passwords.password_reset_done, name="password_reset_done"),
    path("admin/reset/<uidb64>/<token>/", passwords.password_reset_confirm, name="password_reset_confirm"),
    path("admin/reset/done/", passwords.password_reset_complete, name="password_reset_complete"),
    path("admin/", admin.site.urls),
    path("", include("apps.oauth.urls")),
    path("", include("apps.users_api.urls")),
    path("", include("apps.scanners.urls")),
    path("", include("apps.monitoring.urls")),
    path("", include("apps.compliance.urls")),  # /compliance/ and /api/compliance/
    path("", include("apps.dashboards.api.urls")),
    path("", include("apps.dashboards.urls")),  # /dashboards/ (the pages)
    path("", include("apps.chat.urls_web")),  # /, /login/, /logout/, /chat/ (the chat in the browser)
    # The OpenAPI schema (JSON; ?format=yaml for YAML) and its reference page, both public, assets served locally.
    # JSON answers both the OpenAPI media type and plain application/json (what Postman and openapi-generator ask).
    ci_path(
        "api/schema",
        SpectacularAPIView.as_view(renderer_classes=[OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer]),
        name="schema",
    ),
    # The split view serves Swagger UI's start-up script as a file (?script): no inline script for the CSP.
    ci_path(
        "api/docs",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]

# Under /api/ errors are problem+json with a traceId; elsewhere the HTML pages of templates/ (apps/core/errors.py).
handler400 = "apps.core.errors.bad_request"
handler403 = "apps.core.errors.permission_denied"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"
