"""The garbage collector's settings for a server process, applied once the application is loaded (airisk/asgi.py,
airisk/wsgi.py).

1. Every view is loaded, then the long-lived objects of the loaded application (several hundred thousand: modules,
   classes, URL patterns, settings) are moved out of the collector's sight (``gc.freeze``). Otherwise each full
   collection walks all of them again; on the hottest API reads that was a fifth of the request's CPU time.
   Objects created later are collected as usual.
2. The young generation is collected after ``GC_GEN0_THRESHOLD`` net allocations of container objects instead of
   Python's 700. Under 50 streaming answers the default ran a young collection every ~60 ms, so that the objects
   of every answer in flight (half a second long) were promoted, and the older generations' collections walked them:
   4 ms each for the middle one, 30-120 ms for the oldest, every few seconds, each a pause of the whole process,
   event loop included. With 5000, the collector's time fell from about 500 to about 130 ms per process in 25 s,
   and p99 of the time added to the first token from 55-62 to 27-31 ms (bench/chat.py, docs/chat-api.md). Objects
   freed by their reference count, most of a request's, never wait for a collection; the threshold only delays
   freeing the ones in reference cycles, by a few thousand objects.
"""

import gc

from django.conf import settings
from django.urls import get_resolver


def settle() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports every view module now, before the freeze
    gc.freeze()
    _first, second, third = gc.get_threshold()
    gc.set_threshold(settings.GC_GEN0_THRESHOLD, second, third)
