"""What the chat tells the apps above it (monitoring, dashboards) without importing them.

``exchange_recorded`` is sent once per usage record (an answer stored, or a prompt a scanner blocked), after the
transaction that wrote it commits, with ``record`` (the UsageRecord) and ``hits`` (the ScanHits of that exchange,
prompt and answer). Receivers run in the request or task that recorded the exchange, so they must be cheap; they
are called with ``send_robust``: a receiver's error is logged and never loses the answer or its cost record.
"""

from django.dispatch import Signal

exchange_recorded = Signal()
