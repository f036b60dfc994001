"""Session lifetime: a login ends after SESSION_IDLE_TIMEOUT_SECONDS without a request (sliding, renewed at most
once per SESSION_RENEW_SECONDS), and sessions live in the cache when the cache is Redis (in the database
otherwise)."""

import time
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from apps.core.middleware import RENEWED_AT
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import json_line, run_manage


def _session_settings(env: dict) -> dict:
    script = (
        "import json; from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ('SESSION_ENGINE', 'SESSION_COOKIE_AGE',"
        " 'SESSION_SAVE_EVERY_REQUEST', 'SESSION_IDLE_TIMEOUT_SECONDS', 'SESSION_RENEW_SECONDS')}))"
    )
    result = run_manage("shell", "-c", script, env={"DEBUG": "true", **env})
    assert result.returncode == 0, result.stderr
    return json_line(result.stdout)


def test_idle_timeout_defaults_to_eight_hours_renewed_each_minute_not_each_request(monkeypatch):
    monkeypatch.delenv("SESSION_IDLE_TIMEOUT_SECONDS", raising=False)
    monkeypatch.delenv("SESSION_RENEW_SECONDS", raising=False)

    configured = _session_settings({})

    assert configured["SESSION_IDLE_TIMEOUT_SECONDS"] == 8 * 3600
    assert configured["SESSION_COOKIE_AGE"] == 8 * 3600
    assert configured["SESSION_RENEW_SECONDS"] == 60
    assert configured["SESSION_SAVE_EVERY_REQUEST"] is False


def test_the_renewal_interval_is_read_from_the_environment_and_stays_below_a_short_idle_timeout():
    assert _session_settings({"SESSION_RENEW_SECONDS": "300"})["SESSION_RENEW_SECONDS"] == 300
    assert _session_settings({"SESSION_IDLE_TIMEOUT_SECONDS": "90"})["SESSION_RENEW_SECONDS"] == 45


@pytest.mark.parametrize("renew", ["-1", "900"])
def test_a_renewal_interval_out_of_range_stops_the_start(renew):
    result = run_manage(
        "check", env={"DEBUG": "true", "SESSION_IDLE_TIMEOUT_SECONDS": "900", "SESSION_RENEW_SECONDS": renew}
    )

    assert result.returncode != 0
    assert "SESSION_RENEW_SECONDS must be 0 or more and less than SESSION_IDLE_TIMEOUT_SECONDS" in result.stderr


def test_idle_timeout_is_read_from_the_environment():
    assert _session_settings({"SESSION_IDLE_TIMEOUT_SECONDS": "900"})["SESSION_COOKIE_AGE"] == 900


def test_a_non_positive_idle_timeout_stops_the_start():
    result = run_manage("check", env={"DEBUG": "true", "SESSION_IDLE_TIMEOUT_SECONDS": "0"})

    assert result.returncode != 0
    assert "SESSION_IDLE_TIMEOUT_SECONDS must be a positive number" in result.stderr


def test_sessions_live_in_the_cache_when_it_is_redis():
    assert _session_settings({"CACHE_URL": "redis://127.0.0.1:6379/7"})["SESSION_ENGINE"] == (
        "django.contrib.sessions.backends.cache"
    )


def test_sessions_live_in_the_database_with_the_per_process_memory_cache(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)

    assert _session_settings({})["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


@pytest.fixture
def session_saves(monkeypatch):
    """The number of session saves (writes to the store) so far."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    saves = []
    original = store.save

    def counting(self, *args, **kwargs):
        saves.append(self.session_key)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(store, "save", counting)
    return saves


def _log_in(client, user):
    login = client.post(reverse("admin:login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 302


def test_requests_within_the_renewal_interval_write_no_session(client, admin_user, session_saves):
    _log_in(client, admin_user)
    session_saves.clear()

    pages = [client.get(reverse("admin:index")) for _ in range(3)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert session_saves == []
    assert all(django_settings.SESSION_COOKIE_NAME not in page.cookies for page in pages)


def test_a_login_outside_the_middleware_counts_as_a_renewal(client, admin_user, session_saves):
    client.force_login(admin_user)  # saves the session itself
    session_saves.clear()

    assert client.get(reverse("admin:index")).status_code == 200
    assert session_saves == []


def test_the_first_request_after_the_renewal_interval_renews_the_session(client, admin_user, session_saves):
    _log_in(client, admin_user)
    session = client.session
    session[RENEWED_AT] -= django_settings.SESSION_RENEW_SECONDS  # renewed an interval ago
    session.save()
    session_saves.clear()

    renewing = client.get(reverse("admin:index"))
    after = client.get(reverse("admin:index"))

    assert (renewing.status_code, after.status_code) == (200, 200)
    assert session_saves == [session.session_key]  # the first request renewed, the second did not
    cookie = renewing.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie.value == session.session_key
    assert cookie["max-age"] == django_settings.SESSION_COOKIE_AGE
    assert abs(client.session[RENEWED_AT] - time.time()) < 5


def test_a_cookie_naming_no_live_session_creates_none(client, db, session_saves):
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "no-such-session-key-0123456789abcdef"

    page = client.get(reverse("admin:login"))

    assert page.status_code == 200
    assert session_saves == []


def test_a_session_ends_after_the_idle_timeout_and_requests_renew_it(client, admin_user, settings):
    # Real time, real session store (the database here; Redis in the PostgreSQL run): a 2-second idle timeout,
    # renewed by any request at least 1 second after the last renewal.
    settings.SESSION_COOKIE_AGE = 2
    settings.SESSION_RENEW_SECONDS = 1
    login = client.post(reverse("admin:login"), {"username": admin_user.email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 302

    # Busy for 3.6 s, longer than the timeout, with never more than 1.2 s between requests: still logged in.
    for _ in range(3):
        time.sleep(1.2)
        assert client.get(reverse("admin:index")).status_code == 200

    time.sleep(2.5)
    idle = client.get(reverse("admin:index"))

    assert idle.status_code == 302
    assert idle["Location"].startswith(reverse("admin:login"))
