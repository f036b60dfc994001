"""gunicorn's worker class for production: uvicorn serving airisk.asgi in each gunicorn worker process.

    gunicorn airisk.asgi:application -k airisk.workers.UvicornWorker

uvicorn's own proxy-header handling is off: which X-Forwarded-For hop is the client is decided once, by the
application (``apps.core.net.client_ip`` with TRUSTED_PROXY_COUNT), not twice.
"""

from uvicorn_worker import UvicornWorker as _UvicornWorker


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "proxy_headers": False, "lifespan": "off"}
