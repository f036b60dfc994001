from django.apps import AppConfig


class UsersApiConfig(AppConfig):
    """The scoped Users and Groups REST API. It sits above oauth (bearer authentication, grants) and accounts."""

    name = "apps.users_api"
    label = "users_api"
