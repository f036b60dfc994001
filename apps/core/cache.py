"""Django's Redis cache backend with one ``redis.Redis`` client per connection pool instead of one per operation.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache call; redis-py's constructor
fills a table of about 170 response callbacks each time, which costs more CPU than the round trip itself (measured
188 µs against 51 µs per ``incr``). A client holds no connection of its own: it takes one from the pool for each
command and gives it back, so one client per pool is safe to share between threads (redis-py's documented
contract), and the pool is what Django already shares. Pipelines and pub/sub, which are stateful, are made per use
by redis-py from the shared client. Selected in settings.py when CACHE_URL is redis://.

``over_rate`` is the fixed-window check of every rate limit (the chat's prompts per user, the token and authorize
endpoints' and the Scanner API's throttles), and ``count_in_window`` its counter: one round trip on Redis, where
Django's ``incr`` takes two (``EXISTS``, then ``INCR``), and counting a window's first event with ``incr`` and
``add`` took up to four (``EXISTS``, ``SET NX``, ``EXISTS``, ``INCR``).
"""

from __future__ import annotations

import math
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as _RedisCache
from django.core.cache.backends.redis import RedisCacheClient as _RedisCacheClient

from apps.core.rates import parse_rate


class RedisCacheClient(_RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)  # random among the replicas for a read: chosen once here
        client = self._clients.get(index)
        if client is None:
            with self._lock:
                if index not in self._pools:
                    self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
                client = self._clients.setdefault(index, self._client(connection_pool=self._pools[index]))
        return client


class RedisCache(_RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def count_in_window(self, key: str, seconds: int) -> int:
        """Count one event under ``key`` and return the count, this one included: ``SET key 0 EX seconds NX`` then
        ``INCR key``, sent together in one round trip. The counter lives ``seconds`` from the window's first
        event; callers name one key per window and keep it longer than the window (the window plus a second), so
        that ``INCR`` never finds it expired and recreates it without an expiry."""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.set(key, 0, ex=seconds, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]


def count_in_window(key: str, seconds: int, alias: str = "default") -> int:
    """Count one event in a fixed window of the cache ``alias``; returns the window's count, this one included.
    ``key`` names the window (e.g. ``rate:<user>:<window number>``) and ``seconds`` is how long its counter is kept:
    longer than the window. Redis: one round trip (``RedisCache.count_in_window``). Other backends (the embedded
    default, local memory): ``incr``, and ``add`` for the window's first event; ``add`` loses a race to another
    ``add`` of the same key, and ``incr`` then counts this event too."""
    backend = caches[alias]
    if isinstance(backend, RedisCache):
        return backend.count_in_window(key, seconds)
    try:
        return backend.incr(key)
    except ValueError:  # the window's first event
        return 1 if backend.add(key, 1, timeout=seconds) else backend.incr(key)


def over_rate(key: str, rate: str) -> int | None:
    """Count one event of ``key`` (who and what is limited, e.g. ``chat:rate:<user>``) against ``rate`` (``N/period``,
    apps/core/rates.py) in fixed windows; the seconds until the window ends when this event is over the rate, else
    None. The chat's prompts per user, the token and authorize endpoints' and the Scanner API's throttles."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    if count_in_window(f"{key}:{period}:{window}", period + 1) <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))
