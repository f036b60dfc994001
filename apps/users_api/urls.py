"""The scoped Users and Groups API (routes keep the published spellings and match in any case)."""

from apps.core import openapi  # noqa: F401  (registers the bearer scheme with drf-spectacular)
from apps.core.routing import ci_path
from apps.users_api import views

urlpatterns = [
    ci_path("api/Users/ListUsers", views.ListUsersView.as_view(), name="users-list"),
    ci_path("api/ListUsers", views.ListUsersShortView.as_view(), name="users-list-short"),
    ci_path("api/Users/GetUser", views.GetUserView.as_view(), name="users-get"),
    ci_path("api/Users/CreateUser", views.CreateUserView.as_view(), name="users-create"),
    ci_path("api/Users/AddUserToGroup", views.AddUserToGroupView.as_view(), name="users-add-to-group"),
    ci_path("api/Users/RemoveUserFromGroup", views.RemoveUserFromGroupView.as_view(), name="users-remove-from-group"),
    ci_path("api/Users/DeleteUser", views.DeleteUserView.as_view(), name="users-delete"),
    ci_path("api/Groups/ListGroups", views.ListGroupsView.as_view(), name="groups-list"),
    ci_path("api/Groups/CreateGroup", views.CreateGroupView.as_view(), name="groups-create"),
    ci_path("api/Groups/DeleteGroup", views.DeleteGroupView.as_view(), name="groups-delete"),
]
