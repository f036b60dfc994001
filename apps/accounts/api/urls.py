"""The scoped Users and Groups API (routes keep the published spellings and match in any case)."""

urlpatterns: list = []
