from django.contrib import admin
from django.urls import include, path

from airisk.routing import ci_path
from airisk.views import healthz

admin.site.site_header = "AIRisk"
admin.site.site_title = "AIRisk admin"
admin.site.index_title = "Manage your company"

urlpatterns = [
    ci_path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("apps.oauth.urls")),
    path("", include("apps.accounts.api.urls")),
]
