"""Test settings: the real settings with fast password hashing and no HTTPS redirects."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# A fixed test key (a Fernet key derived from the test SECRET_KEY): DEBUG is off here, so one must be set.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "1bf5_wy78UQwSrZixH83vLwSlRB5MOrAb3ph940V-kQ=")

from airisk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# The live server of the browser tests speaks plain HTTP on loopback.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Each test reads token rows fresh, as if every request reached another process; tests of the one-second row
# memory turn it on themselves (apps/oauth/tests/test_token_cache.py).
BEARER_ROW_MAX_AGE_SECONDS = 0
