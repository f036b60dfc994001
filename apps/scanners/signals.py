"""What the scanners tell the apps above them without importing them.

``hits_recorded`` is sent after the transaction that stored scanner hits commits, with ``company``, ``hits`` (the
stored ScanHits), ``source`` (chat, api or file), ``direction`` and ``actor`` (apps.audit.services.Actor). Sent
with ``send_robust``: a receiver's error is logged and never undoes the scan.
"""

from django.dispatch import Signal

hits_recorded = Signal()
