"""Receivers of the chat's, the scanners' and Django's login signals (connected in MonitoringConfig.ready()).

They run in the request that recorded the event, after its transaction committed: cheap (the company's event
rules come from the cache) and never raising, so that monitoring can never break a chat, a scan or a login.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.audit.services import Actor
from apps.monitoring import evaluation
from apps.monitoring.models import AlertRule, ConditionKind

logger = logging.getLogger("apps.monitoring")


def on_exchange_recorded(sender, record, hits, **kwargs) -> None:
    try:
        evaluation.evaluate_exchange(record, list(hits or []))
    except Exception:
        logger.exception("Alert rules failed on exchange %s", getattr(record, "pk", None))


def on_hits_recorded(sender, company, hits, source, direction, actor: Actor, **kwargs) -> None:
    if source == "chat":  # the chat's hits arrive with their exchange (on_exchange_recorded)
        return
    try:
        evaluation.evaluate_hits(company, list(hits or []), actor, source)
    except Exception:
        logger.exception("Alert rules failed on %s hits of company %s", source, getattr(company, "pk", None))


def on_login_failed(sender, credentials: dict | None = None, request=None, **kwargs) -> None:
    """A login burst rule fires on the failure that completes the burst (the accounts app audited the failure
    before this receiver runs); evaluate_alerts catches up on whatever this misses."""
    email = ((credentials or {}).get("username") or "").strip()
    if not email or request is None:
        return
    try:
        user = ApplicationUser.objects.filter(email__iexact=email).only("company_id").first()
        if user is None or user.company_id is None:
            return
        rules = AlertRule.objects.filter(
            company_id=user.company_id, enabled=True, kind=ConditionKind.LOGIN_FAILURES
        ).select_related("company")
        now = timezone.now()
        for rule in rules:
            evaluation.evaluate_login_failures(rule, now)
    except Exception:
        logger.exception("Login burst rules failed")
