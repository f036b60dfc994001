"""The Monitoring API (any case, like every route)."""

from apps.core import openapi  # noqa: F401  (registers the bearer scheme with drf-spectacular)
from apps.core.routing import ci_path
from apps.monitoring.api import views

urlpatterns = [
    ci_path("api/monitoring/rules", views.RulesView.as_view(), name="api-rules"),
    ci_path("api/monitoring/rules/<str:rule_id>", views.RuleView.as_view(), name="api-rule"),
    ci_path("api/monitoring/issues", views.IssuesView.as_view(), name="api-issues"),
    ci_path("api/monitoring/issues/<str:issue_id>", views.IssueView.as_view(), name="api-issue"),
    ci_path("api/monitoring/issues/<str:issue_id>/comments", views.IssueCommentsView.as_view(), name="api-comments"),
]
