"""The ASGI application: Django's, plus the lifespan protocol, which Django's handler does not speak.

On startup each server process closes the answers a crashed process left in progress (in the background, only
those older than any live answer can be: apps/chat/recovery.py). On shutdown it lets the running chat answers
finish for CHAT_SHUTDOWN_GRACE_SECONDS, then stops and stores the rest as incomplete (``answers_drain``): uvicorn
waits for open connections, not for the answers of clients that already left, and the process would end with them.
"""

import asyncio
import gc
import logging
import os

from django.core.asgi import get_asgi_application
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings")
django_application = get_asgi_application()


def request_start_receivers_for_wsgi_only() -> None:
    """Django closes the database connections of the request's thread, and clears their query logs, when a request
    starts. Under ASGI those receivers are sync, so every request hopped to a thread to run them (0.7 ms before a
    chat answer could start, measured in process), and there they never had anything to do: each ASGI request
    runs its sync code in a thread of its own (asgiref's ThreadSensitiveContext), which holds no connection when
    the request starts. They stay connected for the WSGI handler (airisk/wsgi.py, the WSGI benchmarks); at the end
    of a request (request_finished) Django still closes what the request's thread opened."""
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


# As in wsgi.py: load every view now and keep the long-lived objects of the loaded application out of the garbage
# collector's sight, so that full collections triggered by requests do not walk them again.
_url_patterns = get_resolver().url_patterns
gc.freeze()
