"""The ASGI application: Django's, plus the lifespan protocol, which Django's handler does not speak.

On startup each server process closes the answers a crashed process left in progress (in the background, only
those older than any live answer can be: apps/chat/recovery.py). On shutdown it lets the running chat answers
finish for CHAT_SHUTDOWN_GRACE_SECONDS, then stops and stores the rest as incomplete (``answers_drain``): uvicorn
waits for open connections, not for the answers of clients that already left, and the process would end with them.
"""

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries

from airisk import collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings")
django.setup(set_prefix=False)


class RequestThreadsASGIHandler(ASGIHandler):
    """Django's ASGI handler with the request threads kept for the next requests.

    Django runs each request's sync code (the sync views, ``response.close()`` and the ``request_finished``
    receivers at the end of every request) on a thread of the request's own: asgiref's ThreadSensitiveContext. By
    default that context makes a new single-thread executor for every request, and on exit starts one more thread
    to join it: two threads started per request, each start blocking the event loop until the new thread holds
    the GIL (profiled under 50 streaming users: 5 % of a server process's CPU, on the loop that writes the other
    answers' deltas). Here the context is given an executor from a free list, and the executor goes back to the
    list when the request ends. A request still runs all its sync code on one thread that no other request uses
    meanwhile, as before; the thread's database connections are closed at the end of each request by Django's
    ``request_finished`` receivers, which run on it. At most ``IDLE_MAX`` idle threads are kept (the rest of a
    burst's are shut down without waiting)."""

    IDLE_MAX = 64

    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < self.IDLE_MAX:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

    async def listen_for_disconnect(self, receive):
        """Django's, except that a disconnect ends this task instead of raising ``RequestAborted`` (which ``handle``
        only ignores). uvicorn answers ``receive()`` with a disconnect as soon as the response is complete, so the
        exception was raised for nearly every request, stored on the task and reraised by ``task.result()`` in
        ``handle``: its traceback held ``handle``'s frame, whose ``tasks`` held the task, a reference cycle that
        kept the request's objects (the request, its response, both tasks, about 80 objects) alive until the
        garbage collector found them. A task that ends either way still makes ``handle`` cancel the view's task,
        so a client that leaves mid-request cancels the view as before."""
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        # As Django's: nothing but a disconnect may come after the body.
        raise AssertionError(f"Invalid ASGI message after request body: {message['type']}")


django_application = RequestThreadsASGIHandler()


def request_start_receivers_for_wsgi_only() -> None:
    """Django closes the database connections of the request's thread, and clears their query logs, when a request
    starts. Under ASGI those receivers are sync, so every request hopped to a thread to run them (0.7 ms before a
    chat answer could start, measured in process), and there they never had anything to do: each ASGI request
    runs its sync code on a thread no other request uses meanwhile (asgiref's ThreadSensitiveContext), which holds
    no connection when the request starts, the request_finished receivers having closed it on that thread at the
    end of the request before (the query log, kept under DEBUG only, is bounded by Django). They stay connected
    for the WSGI handler (airisk/wsgi.py, the WSGI benchmarks); at the end of a request (request_finished) Django
    still closes what the request's thread opened."""
    for receiver in (reset_queries, close_old_connections):
        if request_started.disconnect(receiver):
            request_started.connect(receiver, sender=WSGIHandler)


request_start_receivers_for_wsgi_only()

logger = logging.getLogger("airisk.asgi")
_startup_tasks: set[asyncio.Task] = set()


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    else:
        await django_application(scope, receive, send)


async def lifespan(receive, send) -> None:
    from django.conf import settings

    from apps.chat.pipeline import DRAIN_STORE_SECONDS, answers_drain
    from apps.chat.recovery import interrupted_answers_close_in_worker

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            task = asyncio.get_running_loop().create_task(interrupted_answers_close_in_worker())
            _startup_tasks.add(task)
            task.add_done_callback(_startup_tasks.discard)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await answers_drain(settings.CHAT_SHUTDOWN_GRACE_SECONDS)
                if _startup_tasks:
                    await asyncio.wait(list(_startup_tasks), timeout=DRAIN_STORE_SECONDS)
            except Exception as error:
                logger.exception("draining the chat answers failed")
                await send({"type": "lifespan.shutdown.failed", "message": str(error)})
            else:
                await send({"type": "lifespan.shutdown.complete"})
            return


collector.settle()  # every view loaded, then the collector's settings for a server process (airisk/collector.py)
