"""apps/core/cache.py: the Redis backend's shared client and the rate limits' fixed-window counter, on a real Redis
(a database of its own, whatever CACHE_URL the suite runs with) and on the embedded default (local memory)."""

import secrets
import threading
import time

import pytest
from django.core.cache import caches

from apps.core.cache import RedisCache, count_in_window, over_rate

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_cache():
    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    yield backend
    backend.clear()
    backend.close()


def test_redis_counter_counts_and_expires(redis_cache):
    key = "window:1"
    assert [redis_cache.count_in_window(key, 5) for _ in range(3)] == [1, 2, 3]
    client = redis_cache._cache.get_client(write=True)
    ttl = client.ttl(redis_cache.make_and_validate_key(key))
    assert 0 < ttl <= 5  # the first event set the expiry; later ones kept it
    assert redis_cache.get(key) == 3  # Django's cache reads the counter as the integer it is


def test_redis_counter_expiry_starts_the_window_again(redis_cache):
    assert redis_cache.count_in_window("short", 1) == 1
    assert redis_cache.count_in_window("short", 1) == 2
    time.sleep(1.2)
    assert redis_cache.count_in_window("short", 1) == 1


def test_redis_counter_counts_every_event_of_concurrent_callers(redis_cache):
    counts: list[int] = []
    lock = threading.Lock()

    def hit():
        for _ in range(25):
            count = redis_cache.count_in_window("busy", 30)
            with lock:
                counts.append(count)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 101))  # no event lost, none counted twice


def test_redis_counter_one_round_trip_no_exists(redis_cache):
    """SET NX and INCR go together; Django's incr() would send EXISTS first (a round trip of its own)."""
    client = redis_cache._cache.get_client(write=True)
    sent: list[tuple] = []
    pool = client.connection_pool
    connection = pool.get_connection()
    original = connection.send_packed_command

    def recording(command, *args, **kwargs):
        sent.append(tuple(command) if isinstance(command, list) else (command,))
        return original(command, *args, **kwargs)

    connection.send_packed_command = recording
    pool.release(connection)  # the next command takes this connection back from the pool
    try:
        assert redis_cache.count_in_window("trip", 10) == 1
    finally:
        connection.send_packed_command = original
    assert len(sent) == 1  # one write: both commands
    packed = b"".join(b"".join(part) if isinstance(part, tuple) else part for part in sent[0])
    assert b"SET" in packed and b"INCR" in packed and b"EXISTS" not in packed


def test_module_function_uses_the_redis_pipeline(settings):
    prefix = f"test-{secrets.token_hex(4)}"
    location = {"BACKEND": "apps.core.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    settings.CACHES = {**settings.CACHES, "counter": location}
    assert [count_in_window("m", 10, alias="counter") for _ in range(2)] == [1, 2]
    assert caches["counter"].get("m") == 2
    caches["counter"].clear()


def test_module_function_on_local_memory(settings):
    location = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": secrets.token_hex(4)}
    settings.CACHES = {**settings.CACHES, "counter": location}
    assert [count_in_window("m", 10, alias="counter") for _ in range(3)] == [1, 2, 3]
    assert caches["counter"].get("m") == 3


def test_over_rate_allows_the_rate_then_says_how_long_the_window_has_left(settings):
    # The suite's cache (Redis or local memory): the chat's and the throttles' one fixed-window check.
    key = f"test-over-rate:{secrets.token_hex(4)}"
    assert [over_rate(key, "3/min") for _ in range(3)] == [None, None, None]
    waits = [over_rate(key, "3/min") for _ in range(2)]
    assert all(wait is not None and 1 <= wait <= 60 for wait in waits)
    assert over_rate(f"{key}-other", "3/min") is None  # another key counts apart
