"""The Dashboards API (any case, like every route)."""

from apps.core import openapi  # noqa: F401  (registers the bearer scheme with drf-spectacular)
from apps.core.routing import ci_path
from apps.dashboards.api import views

urlpatterns = [
    ci_path("api/dashboards", views.DashboardListView.as_view(), name="dashboards-list"),
    # Element routes first: "elements" is never a dashboard id.
    ci_path("api/dashboards/elements/<element_id>", views.ElementDetailView.as_view(), name="dashboards-element"),
    ci_path(
        "api/dashboards/elements/<element_id>/data", views.ElementDataView.as_view(), name="dashboards-element-data"
    ),
    ci_path("api/dashboards/<dashboard_id>", views.DashboardDetailView.as_view(), name="dashboards-detail"),
    ci_path(
        "api/dashboards/<dashboard_id>/elements", views.DashboardElementsView.as_view(), name="dashboards-elements"
    ),
]
