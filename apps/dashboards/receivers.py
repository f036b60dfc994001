"""Keep the daily rollups current as exchanges and scanner hits are recorded (one upsert statement per exchange on
PostgreSQL, one per rollup level on SQLite: apps/dashboards/rollups.py).

Connected in DashboardsConfig.ready(). The chat and the scanners send these signals with ``send_robust`` after
their transaction commits, so an error here is logged and never loses an answer; ``rebuild_rollups`` repairs the
rollups from the facts if a receiver ever failed.
"""

from __future__ import annotations

from django.dispatch import receiver

from apps.chat.signals import exchange_recorded
from apps.dashboards import rollups
from apps.scanners.models import ScanHit
from apps.scanners.signals import hits_recorded


@receiver(exchange_recorded, dispatch_uid="dashboards-rollup-exchange")
def on_exchange_recorded(sender, record, hits, **kwargs) -> None:
    rollups.exchange_add(record, hits)


@receiver(hits_recorded, dispatch_uid="dashboards-rollup-hits")
def on_hits_recorded(sender, company, hits, source, **kwargs) -> None:
    # A chat exchange's hits arrive with exchange_recorded too, which knows their user and channel.
    if source == ScanHit.Source.CHAT:
        return
    rollups.hits_add(company, hits, source=source)
