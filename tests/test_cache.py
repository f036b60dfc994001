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


def test_redis_cache_url_selects_djangos_redis_backend_with_one_client_per_pool():
    setting = _cache_setting("redis://127.0.0.1:6379/3")

    assert setting["BACKEND"] == "apps.core.cache.RedisCache"
    assert setting["LOCATION"] == "redis://127.0.0.1:6379/3"


def test_redis_backend_reuses_one_client_across_calls_and_threads():
    """A real Redis (the one CI runs): Django's backend built a new redis.Redis per call; ours keeps one per pool,
    shared by threads, and every operation still round-trips."""
    from concurrent.futures import ThreadPoolExecutor

    from apps.core.cache import RedisCache

    backend = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": f"t-{uuid.uuid4()}"})
    first = backend._cache.get_client(write=True)
    assert backend._cache.get_client() is first and backend._cache.get_client(write=True) is first

    def bump(_):
        return backend.incr("n")

    backend.set("n", 0, timeout=30)
    with ThreadPoolExecutor(8) as pool:
        results = sorted(pool.map(bump, range(200)))
    assert results == list(range(1, 201)) and backend.get("n") == 200
    assert backend._cache.get_client() is first and len(backend._cache._pools) == 1
    backend.delete("n")
