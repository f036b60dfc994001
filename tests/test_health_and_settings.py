"""The health check and the settings' fail-fast behaviour, run in fresh processes where the
configuration itself is under test."""

import json

import pytest

from tests.helpers import run_manage

# What the README tells production to set (and nothing more: HSTS preload keeps its default).
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-production-like-secret-key-0123456789-abcdef",
    "ALLOWED_HOSTS": "airisk.example.com",
    "JWT_SIGNING_KEY": "j" * 20 + "-production-like-signing-key-0123456789",
    "OAUTH_HMAC_KEY": "h" * 20 + "-production-like-hmac-key-0123456789",
    "CACHE_URL": "redis://127.0.0.1:6379/9",
    "FIELD_ENCRYPTION_KEYS": "uoXNcUgpuI_1-uWxhE5TxbVJ2xSb9_eVU4y1hRXMLhA=",
    "DJANGO_SETTINGS_MODULE": "airisk.settings",
}


def test_healthz_is_200_when_the_database_answers(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_route_is_case_insensitive(client, db):
    assert client.get("/HealthZ").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/HealthZ"])
def test_healthz_answers_the_local_probe_when_allowed_hosts_is_the_real_domain(client, db, settings, path):
    settings.ALLOWED_HOSTS = ["airisk.example.com"]

    response = client.get(path, HTTP_HOST="127.0.0.1:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/admin/login/", "/api/oauth2/me", "/healthz/x", "/api/healthz"])
def test_every_other_path_still_refuses_a_host_that_is_not_allowed(client, db, settings, path):
    settings.ALLOWED_HOSTS = ["airisk.example.com"]

    assert client.get(path, HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_healthz_is_503_when_the_database_is_unreachable():
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    result = run_manage(
        "shell",
        "-c",
        script,
        env={
            **PRODUCTION_ENV,
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing",
        },
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"status": 503, "body": {"status": "unavailable", "database": "unreachable"}}


def test_startup_stops_without_secret_key_when_debug_is_off():
    result = run_manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": ""})

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_uses_a_development_secret_key():
    result = run_manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "", "DEBUG": "true"})

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("preload", [None, "false", "true"])
def test_check_deploy_is_clean_with_production_like_settings(preload):
    env = PRODUCTION_ENV if preload is None else {**PRODUCTION_ENV, "SECURE_HSTS_PRELOAD": preload}

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (" in result.stdout


def test_check_deploy_still_warns_about_a_real_gap():
    result = run_manage("check", "--deploy", env={**PRODUCTION_ENV, "SECURE_HSTS_SECONDS": "0"})

    assert "security.W004" in result.stdout + result.stderr
    assert "security.W021" not in result.stdout + result.stderr


def test_migrations_match_the_models():
    result = run_manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "true"})

    assert result.returncode == 0, result.stdout + result.stderr


def test_startup_stops_on_a_malformed_authorize_rate():
    result = run_manage("check", env={**PRODUCTION_ENV, "OAUTH_AUTHORIZE_RATE_PER_IP": "lots"})

    assert result.returncode != 0
    assert "OAUTH_AUTHORIZE_RATE_PER_IP must look like 300/min" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("rate", ["60/week", "60", "0/min"])
def test_startup_stops_on_a_malformed_chat_rate(rate):
    # Read on every prompt: a rate it cannot read failed every prompt with a 500 before startup checked it.
    result = run_manage("check", env={**PRODUCTION_ENV, "CHAT_RATE_PER_USER": rate})

    assert result.returncode != 0
    assert "CHAT_RATE_PER_USER must look like 300/min" in result.stderr
    assert "Traceback" not in result.stderr


def test_startup_stops_on_a_negative_trusted_proxy_count():
    result = run_manage("check", env={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "-1"})

    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be 0" in result.stderr


def test_startup_stops_on_a_retention_of_zero_days():
    result = run_manage("check", env={**PRODUCTION_ENV, "AUDIT_RETENTION_DAYS": "0"})

    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS must be a positive number of days" in result.stderr


# Each gap a deploy check names only when the middleware it concerns is in MIDDLEWARE.
MIDDLEWARE_GAPS = {
    "SECURE_HSTS_SECONDS": (0, "security.W004"),
    "SECURE_CONTENT_TYPE_NOSNIFF": (False, "security.W006"),
    "SECURE_SSL_REDIRECT": (False, "security.W008"),
    "SESSION_COOKIE_SECURE": (False, "security.W012"),
    "CSRF_COOKIE_SECURE": (False, "security.W016"),
    "X_FRAME_OPTIONS": ("SAMEORIGIN", "security.W019"),
}


def _deploy_check_ids() -> set[str]:
    from django.core import checks

    return {message.id for message in checks.run_checks(include_deployment_checks=True, tags=["security"])}


def test_deploy_checks_count_the_projects_middleware_as_djangos(settings):
    # apps.core.middleware subclasses Django's security, clickjacking, CSRF and session middleware; Django's
    # checks look for those by path and, without apps/core/checks.py, would pass every gap below unseen.
    from apps.core.checks import middleware_as_django_reads_it

    for name, (value, _check_id) in MIDDLEWARE_GAPS.items():
        setattr(settings, name, value)
    ours = _deploy_check_ids()
    settings.MIDDLEWARE = middleware_as_django_reads_it(settings.MIDDLEWARE)
    djangos = _deploy_check_ids()

    assert {check_id for _value, check_id in MIDDLEWARE_GAPS.values()} <= ours
    assert ours == djangos


def test_deploy_checks_see_a_missing_security_middleware(settings):
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if not path.endswith(".SecurityMiddleware")]

    assert "security.W001" in _deploy_check_ids()
