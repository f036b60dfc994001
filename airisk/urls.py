from django.contrib import admin
from django.urls import include, path

from airisk.routing import ci_path
from airisk.views import healthz
from apps.accounts.admin import password_change as admin_password_change

admin.site.site_header = "AIRisk"
admin.site.site_title = "AIRisk admin"
admin.site.index_title = "Manage your company"
admin.site.site_url = None  # no public site to link to from the admin header

urlpatterns = [
    ci_path("healthz", healthz, name="healthz"),
    path("admin/password_change/", admin.site.admin_view(admin_password_change), name="admin_password_change"),
    path("admin/", admin.site.urls),
    path("", include("apps.oauth.urls")),
    path("", include("apps.accounts.api.urls")),
]
