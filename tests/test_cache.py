"""The cache named by CACHE_URL: local memory by default, Redis with redis:// (CI runs the PostgreSQL suite
with CACHE_URL=redis://…, so there this round trip goes through a real Redis)."""

import json
import uuid

from django.core.cache import cache

from tests.helpers import run_manage


def test_configured_cache_round_trips_and_expires_keys():
    key = f"airisk-test-{uuid.uuid4()}"

    cache.set(key, {"value": 42}, timeout=30)
    assert cache.get(key) == {"value": 42}
    cache.delete(key)
    assert cache.get(key) is None
    counter = f"{key}-n"
    assert cache.add(counter, 1, timeout=30)
    assert not cache.add(counter, 5, timeout=30)
    assert cache.incr(counter) == 2
    cache.delete(counter)


def _cache_setting(cache_url: str | None) -> dict:
    env = {"DEBUG": "true"}
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    script = "import json; from django.conf import settings; print(json.dumps(settings.CACHES['default']))"
    result = run_manage("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cache_defaults_to_local_memory(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)

    assert _cache_setting(None)["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_cache_url_selects_djangos_redis_backend():
    setting = _cache_setting("redis://127.0.0.1:6379/3")

    assert setting["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert setting["LOCATION"] == "redis://127.0.0.1:6379/3"
