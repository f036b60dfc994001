"""gunicorn's worker class for production: uvicorn serving airisk.asgi in each gunicorn worker process.

    gunicorn airisk.asgi:application -k airisk.workers.UvicornWorker

uvicorn's own proxy-header handling is off: which X-Forwarded-For hop is the client is decided once, by the
application (``apps.core.net.client_ip`` with TRUSTED_PROXY_COUNT), not twice.

The lifespan protocol is on: airisk/asgi.py closes answers left by a crashed process at startup and drains the
running chat answers at shutdown. On SIGTERM gunicorn gives a worker --graceful-timeout seconds before it kills it;
they are shared out in this order: open connections (streams included) get what the two later steps leave, then
the answers still running get CHAT_SHUTDOWN_GRACE_SECONDS to finish, then those stopped get DRAIN_STORE_SECONDS to
be stored. With the Dockerfile's 30 s and the default 20 s: 5 + 20 + 5.
"""

import logging

from uvicorn_worker import UvicornWorker as _UvicornWorker

logger = logging.getLogger("airisk.workers")


def connections_grace(graceful_timeout: float, answers_grace: float, store_seconds: float) -> float:
    """Seconds uvicorn waits for open connections on shutdown (at least 1): what the answers' drain leaves."""
    return max(1.0, graceful_timeout - answers_grace - store_seconds)


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "proxy_headers": False, "lifespan": "on"}

    def load_wsgi(self) -> None:
        super().load_wsgi()  # imports airisk.asgi: Django's settings are configured from here on
        from django.conf import settings

        from apps.chat.pipeline import DRAIN_STORE_SECONDS

        grace = settings.CHAT_SHUTDOWN_GRACE_SECONDS
        if grace + DRAIN_STORE_SECONDS + 1 > self.cfg.graceful_timeout:
            logger.warning(
                "CHAT_SHUTDOWN_GRACE_SECONDS (%s) + %s s to store the stopped answers exceeds gunicorn's "
                "--graceful-timeout (%s): answers may be killed before they are stored",
                grace,
                DRAIN_STORE_SECONDS,
                self.cfg.graceful_timeout,
            )
        self.config.timeout_graceful_shutdown = connections_grace(self.cfg.graceful_timeout, grace, DRAIN_STORE_SECONDS)
