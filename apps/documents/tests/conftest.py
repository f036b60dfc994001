import pytest

from apps.audit.services import Actor


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored files go to a fresh folder per test, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def actor(admin_user):
    return Actor(user=admin_user, ip="127.0.0.1")
