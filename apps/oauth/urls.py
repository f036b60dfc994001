"""OAuth2 endpoints (routes keep the published spellings and match in any case)."""

urlpatterns: list = []
