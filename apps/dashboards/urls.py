"""The dashboards' pages, under /dashboards/ (the API is in apps/dashboards/api/urls.py)."""

from django.urls import path

from apps.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboards/", views.dashboard_list, name="index"),
    path("dashboards/new", views.dashboard_create, name="create"),
    path("dashboards/starter", views.dashboard_create_starter, name="create-starter"),
    path("dashboards/elements/<str:element_id>/data", views.element_data_json, name="element-data"),
    path("dashboards/<str:public_id>/", views.dashboard_detail, name="detail"),
    path("dashboards/<str:public_id>/settings", views.dashboard_settings, name="settings"),
    path("dashboards/<str:public_id>/delete", views.dashboard_delete, name="delete"),
    path("dashboards/<str:public_id>/elements/new", views.element_create, name="element-create"),
    path("dashboards/<str:public_id>/elements/<str:element_id>/edit", views.element_edit, name="element-edit"),
    path("dashboards/<str:public_id>/elements/<str:element_id>/remove", views.element_remove, name="element-remove"),
    path("dashboards/<str:public_id>/elements/<str:element_id>/move", views.element_move, name="element-move"),
    path("dashboards/<str:public_id>/elements/<str:element_id>/resize", views.element_resize, name="element-resize"),
]
