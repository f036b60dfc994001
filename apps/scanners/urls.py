"""The Scanner API (published spellings, any case)."""

from apps.core import openapi  # noqa: F401  (registers the bearer scheme with drf-spectacular)
from apps.core.routing import ci_path
from apps.scanners.api import views

urlpatterns = [
    ci_path("api/Scanner/Scan", views.ScanView.as_view(), name="scanner-scan"),
    ci_path("api/Scanner/ScanFile", views.ScanFileView.as_view(), name="scanner-scan-file"),
]
