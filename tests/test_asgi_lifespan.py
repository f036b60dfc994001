"""airisk.asgi speaks the ASGI lifespan protocol around Django's handler, and the servers turn it on: gunicorn's
worker class (with the shutdown budget shared out under --graceful-timeout) and `make run`."""

import asyncio
import logging
import os
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from airisk import asgi
from airisk.workers import UvicornWorker, connections_grace
from apps.chat.models import Conversation, Message, MessageStatus, MessageType, UsageRecord
from apps.chat.pipeline import DRAIN_STORE_SECONDS
from apps.chat.recovery import interrupted_after_seconds
from tests.factories import AgentFactory, CompanyFactory, UserFactory
from tests.helpers import ROOT


def left_in_progress(age_seconds):
    company = CompanyFactory()
    conversation = Conversation.objects.create(
        company=company, user=UserFactory(company=company), agent=AgentFactory(company=company)
    )
    created = timezone.now() - timedelta(seconds=age_seconds)
    common = {"company": company, "conversation": conversation, "created": created}
    Message.objects.create(message_type=MessageType.USER, text="Hello?", **common)
    return Message.objects.create(message_type=MessageType.AI, status=MessageStatus.IN_PROGRESS, **common)


async def http_get(path):
    """One request through the wrapper, as a server would send it."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    sent = []
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    await asgi.application(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.django_db(transaction=True)
def test_lifespan_round_trip_closes_interrupted_answers_and_http_is_still_served():
    stale = left_in_progress(interrupted_after_seconds() + 10)
    fresh = left_in_progress(30)

    async def main():
        inbox: asyncio.Queue = asyncio.Queue()
        sent = []

        async def send(message):
            sent.append(message["type"])

        lifespan = asyncio.create_task(
            asgi.application({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
        )
        await inbox.put({"type": "lifespan.startup"})
        while not sent:
            await asyncio.sleep(0.01)
        assert sent == ["lifespan.startup.complete"]
        await asyncio.gather(*asgi._startup_tasks)  # the closing runs behind the startup, in a worker thread
        status, body = await http_get("/healthz")
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(lifespan, 10)
        return sent, status, body

    sent, status, body = asyncio.run(main())

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert status == 200 and body
    stale.refresh_from_db()
    assert (stale.status, stale.incomplete_reason) == (MessageStatus.INCOMPLETE, "interrupted")
    assert UsageRecord.objects.filter(message=stale).count() == 1
    fresh.refresh_from_db()
    assert fresh.status == MessageStatus.IN_PROGRESS  # another process may be generating it


class GunicornApp(BaseApplication):
    def __init__(self, **options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return asgi.application


@pytest.fixture
def restore_uvicorn_loggers():
    """The worker hands uvicorn's loggers to gunicorn's handlers: give them back to the test run afterwards."""
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn.access")]
    saved = {logger.name: (logger.handlers[:], logger.propagate, logger.level) for logger in loggers}
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


def worker_for(graceful_timeout):
    app = GunicornApp(graceful_timeout=graceful_timeout)
    worker = UvicornWorker(0, os.getpid(), [], app, 30, app.cfg, Logger(app.cfg))
    worker.load_wsgi()
    return worker


def test_the_gunicorn_worker_turns_lifespan_on_and_shares_out_the_graceful_timeout(restore_uvicorn_loggers, caplog):
    worker = worker_for(30)

    assert worker.config.lifespan == "on" and worker.wsgi is asgi.application
    # 30 s: open connections get 5, the running answers CHAT_SHUTDOWN_GRACE_SECONDS (20), their stores 5.
    assert worker.config.timeout_graceful_shutdown == 30 - settings.CHAT_SHUTDOWN_GRACE_SECONDS - DRAIN_STORE_SECONDS
    assert "exceeds gunicorn's --graceful-timeout" not in caplog.text

    short = worker_for(20)

    assert short.config.timeout_graceful_shutdown == 1.0
    assert "exceeds gunicorn's --graceful-timeout (20)" in caplog.text


def test_connections_get_what_the_drain_leaves_and_at_least_a_second():
    assert connections_grace(30, 20, 5) == 5
    assert connections_grace(60, 20, 5) == 35
    assert connections_grace(10, 20, 5) == 1.0


def test_the_image_and_make_run_serve_with_lifespan_on_and_a_consistent_budget():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    graceful = int(re.search(r'"--graceful-timeout", "(\d+)"', dockerfile).group(1))
    assert '"airisk.workers.UvicornWorker"' in dockerfile
    assert graceful > settings.CHAT_SHUTDOWN_GRACE_SECONDS + DRAIN_STORE_SECONDS
    run_line = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "uvicorn airisk.asgi" in line)
    assert "--lifespan on" in run_line and "--timeout-graceful-shutdown" in run_line
