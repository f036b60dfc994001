"""The compliance pages under /compliance/ and the Compliance API under /api/compliance/ (any case)."""

from django.urls import path

from apps.compliance import views
from apps.compliance.api import views as api
from apps.core import openapi  # noqa: F401  (registers the bearer scheme with drf-spectacular)
from apps.core.routing import ci_path

app_name = "compliance"

urlpatterns = [
    path("compliance/", views.index, name="index"),
    path("compliance/results/", views.results, name="results"),
    path("compliance/export/", views.export_results, name="export"),
    path("compliance/conversations/<str:conversation_id>/", views.conversation, name="conversation"),
    path("compliance/saved/", views.saved_searches, name="saved"),
    path("compliance/saved/<str:search_id>/delete/", views.saved_search_delete, name="saved-delete"),
    path("compliance/saved/<str:search_id>/share/", views.saved_search_share, name="saved-share"),
    ci_path("api/compliance/search", api.SearchView.as_view(), name="api-search"),
    ci_path("api/compliance/export", api.ExportView.as_view(), name="api-export"),
    ci_path(
        "api/compliance/conversations/<str:conversation_id>", api.ConversationView.as_view(), name="api-conversation"
    ),
    ci_path("api/compliance/saved-searches", api.SavedSearchListView.as_view(), name="api-saved-list"),
    ci_path("api/compliance/saved-searches/<str:search_id>", api.SavedSearchView.as_view(), name="api-saved"),
]
