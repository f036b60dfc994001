"""The health check and the settings' fail-fast behaviour, run in fresh processes where the
configuration itself is under test."""

import json

from tests.helpers import run_manage

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-production-like-secret-key-0123456789-abcdef",
    "ALLOWED_HOSTS": "airisk.example.com",
    "SECURE_HSTS_PRELOAD": "true",
    "FIELD_ENCRYPTION_KEYS": "uoXNcUgpuI_1-uWxhE5TxbVJ2xSb9_eVU4y1hRXMLhA=",
    "DJANGO_SETTINGS_MODULE": "airisk.settings",
}


def test_healthz_is_200_when_the_database_answers(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_route_is_case_insensitive(client, db):
    assert client.get("/HealthZ").status_code == 200


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


def test_check_deploy_is_clean_with_production_like_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrations_match_the_models():
    result = run_manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "true"})

    assert result.returncode == 0, result.stdout + result.stderr


def test_startup_stops_on_a_malformed_authorize_rate():
    result = run_manage("check", env={**PRODUCTION_ENV, "OAUTH_AUTHORIZE_RATE_PER_IP": "lots"})

    assert result.returncode != 0
    assert "OAUTH_AUTHORIZE_RATE_PER_IP must look like 300/min" in result.stderr
    assert "Traceback" not in result.stderr


def test_startup_stops_on_a_negative_trusted_proxy_count():
    result = run_manage("check", env={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "-1"})

    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be 0" in result.stderr


def test_startup_stops_on_a_retention_of_zero_days():
    result = run_manage("check", env={**PRODUCTION_ENV, "AUDIT_RETENTION_DAYS": "0"})

    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS must be a positive number of days" in result.stderr
