"""Session lifetime: a login ends after SESSION_IDLE_TIMEOUT_SECONDS without a request (sliding), and sessions
live in the cache when the cache is Redis (in the database otherwise)."""

import time

from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD
from tests.helpers import json_line, run_manage


def _session_settings(env: dict) -> dict:
    script = (
        "import json; from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ('SESSION_ENGINE', 'SESSION_COOKIE_AGE',"
        " 'SESSION_SAVE_EVERY_REQUEST', 'SESSION_IDLE_TIMEOUT_SECONDS')}))"
    )
    result = run_manage("shell", "-c", script, env={"DEBUG": "true", **env})
    assert result.returncode == 0, result.stderr
    return json_line(result.stdout)


def test_idle_timeout_defaults_to_eight_hours_and_slides(monkeypatch):
    monkeypatch.delenv("SESSION_IDLE_TIMEOUT_SECONDS", raising=False)

    configured = _session_settings({})

    assert configured["SESSION_IDLE_TIMEOUT_SECONDS"] == 8 * 3600
    assert configured["SESSION_COOKIE_AGE"] == 8 * 3600
    assert configured["SESSION_SAVE_EVERY_REQUEST"] is True


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


def test_a_session_ends_after_the_idle_timeout_and_each_request_renews_it(client, admin_user, settings):
    # Real time, real session store (the database here; Redis in the PostgreSQL run): a 2-second idle timeout.
    settings.SESSION_COOKIE_AGE = 2
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
