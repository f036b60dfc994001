"""Log lines carry the request's trace id, the ``traceId`` a caller finds in every problem+json body, so that
a support person can go from an error the caller saw to the server's log line of that request."""

from __future__ import annotations

import logging
from contextvars import ContextVar

# Set by TraceIdMiddleware for the duration of a request (per thread or task, as contextvars are).
current_trace_id: ContextVar[str | None] = ContextVar("current_trace_id", default=None)


def trace_id_of_record(record: logging.LogRecord) -> str:
    # Django logs a request's 4xx/5xx line after the middleware has returned, with the request in ``extra``.
    request = getattr(record, "request", None)
    return getattr(request, "trace_id", None) or current_trace_id.get() or "-"


class TraceIdFormatter(logging.Formatter):
    """A formatter whose format may use ``%(trace_id)s`` (``-`` outside a request)."""

    def format(self, record: logging.LogRecord) -> str:
        if not isinstance(getattr(record, "trace_id", None), str):
            record.trace_id = trace_id_of_record(record)
        return super().format(record)
