"""Monitoring's pages (/monitoring/...) and JSON API (/api/monitoring/...)."""

from django.urls import include, path

from apps.monitoring import web

app_name = "monitoring"

urlpatterns = [
    path("monitoring/", web.issue_queue, name="index"),
    path("monitoring/issues/<str:issue_id>/", web.issue_detail, name="issue"),
    path("monitoring/issues/<str:issue_id>/update/", web.issue_update_view, name="issue-update"),
    path("monitoring/issues/<str:issue_id>/comment/", web.issue_comment_view, name="issue-comment"),
    path("monitoring/rules/", web.rule_list_view, name="rules"),
    path("monitoring/rules/new/", web.rule_create_view, name="rule-create"),
    path("monitoring/rules/<str:rule_id>/", web.rule_edit_view, name="rule-edit"),
    path("monitoring/rules/<str:rule_id>/toggle/", web.rule_toggle_view, name="rule-toggle"),
    path("monitoring/rules/<str:rule_id>/secret/", web.rule_secret_view, name="rule-secret"),
    path("monitoring/rules/<str:rule_id>/delete/", web.rule_delete_view, name="rule-delete"),
    path("", include("apps.monitoring.api.urls")),
]
