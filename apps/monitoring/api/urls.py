"""The Monitoring API."""

urlpatterns: list = []
