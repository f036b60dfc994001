"""Recording audit events. Every service that writes calls ``audit_event_record``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from apps.audit.models import ActorType, AuditEvent, Outcome
from apps.companies.models import Company
from apps.core.net import client_ip

# audit sits below accounts and oauth, so it names their models only as Django models: an ApplicationUser (with
# ``email``) and an APIUser (with ``name`` and ``client_id``). The foreign keys in models.py refer to them by label.
UserModel = models.Model
ClientModel = models.Model


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where: a person, an API client (possibly for a user), or the command line."""

    user: UserModel | None = None
    client: ClientModel | None = None
    ip: str | None = None
    trace_id: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls()

    @classmethod
    def from_request(cls, request: HttpRequest, *, user=None, client=None) -> Actor:
        if user is None and client is None:
            request_user = getattr(request, "user", None)
            user = request_user if getattr(request_user, "is_authenticated", False) else None
        return cls(user=user, client=client, ip=client_ip(request), trace_id=getattr(request, "trace_id", ""))

    @property
    def type(self) -> str:
        if self.client is not None:
            return ActorType.CLIENT
        if self.user is not None:
            return ActorType.USER
        return ActorType.SYSTEM if not self.ip else ActorType.ANONYMOUS

    @property
    def label(self) -> str:
        if self.client is not None:
            suffix = f" for {self.user.email}" if self.user is not None else ""
            return f"{self.client.name} ({self.client.client_id}){suffix}"
        if self.user is not None:
            return self.user.email
        return "command line" if not self.ip else "anonymous"


def audit_event_record(
    *,
    action: str,
    company: Company | None,
    actor: Actor,
    outcome: str = Outcome.SUCCESS,
    client: ClientModel | None = None,
    user: UserModel | None = None,
    target: models.Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. ``detail`` must never hold a secret, code or token value."""
    return AuditEvent.objects.create(
        company=company,
        action=action,
        outcome=outcome,
        actor_type=actor.type,
        actor_user=actor.user,
        actor_client=actor.client,
        actor_label=actor.label[:254],
        client=client if client is not None else actor.client,
        user=user,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=_public_id(target),
        target_label=str(target)[:254] if target is not None else "",
        ip=actor.ip,
        trace_id=actor.trace_id,
        detail=detail or {},
    )


# The public ids of the project's models, in order of preference; the primary key otherwise.
PUBLIC_ID_FIELDS = ("userid", "client_id", "public_id", "slug", "jti")


def public_id_field(model: type[models.Model]) -> str:
    """The name of the field that ``target_id`` holds for ``model``'s objects (``pk`` when it has none).

    Only a plain field of that very name counts: an access token's ``client_id`` is its client foreign key's
    column, not a public id of the token."""
    for name in PUBLIC_ID_FIELDS:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.name == name and not field.is_relation:
            return name
    return "pk"


def _public_id(obj: models.Model | None) -> str:
    if obj is None:
        return ""
    return str(getattr(obj, public_id_field(obj._meta.model)))  # _meta: obj may be a lazy request.user


def audit_event_record_once(*, key: str, window_seconds: int, **event: Any) -> AuditEvent | None:
    """Record the event unless one with the same ``key`` was recorded in the current window (None then).

    For events an anonymous caller can trigger at will (a failed client authentication): the first of each
    window says it happened and from where; repeats would only fill the table. The marker lives in the cache
    (shared by all processes with Redis); when the cache is cleared, the next event is recorded again.
    """
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # any key, a bounded cache-safe name
    if not cache.add(f"audit-once:{digest}:{window}", 1, timeout=window_seconds + 1):
        return None
    return audit_event_record(**event)


def audit_events_purge(
    *, older_than_days: int, actor: Actor, batch_size: int = 1000, progress: Callable[[int], None] | None = None
) -> int:
    """Delete audit events older than ``older_than_days`` in batches (each its own short transaction) and
    record that the purge happened, with the count. Returns the count."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    expired = AuditEvent.objects.filter(created__lt=cutoff)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(expired.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
        if progress is not None:
            progress(deleted)
    audit_event_record(
        action="audit.purged",
        company=None,
        actor=actor,
        detail={"count": deleted, "older_than_days": older_than_days},
    )
    return deleted


# An export's criteria are the query string of the Logs screen: bounded here, because it comes from the browser.
_CRITERIA_MAX_KEYS = 20
_CRITERIA_MAX_CHARS = 200


def audit_export_record(*, company: Company | None, actor: Actor, criteria: dict[str, str], fmt: str) -> AuditEvent:
    """Record that ``actor`` exported the logs matching ``criteria`` (the screen's filters) as ``fmt``.

    Recorded before the first row is sent: an export that breaks off half-way was still an export."""
    bounded = {
        str(key)[:_CRITERIA_MAX_CHARS]: str(value)[:_CRITERIA_MAX_CHARS]
        for key, value in sorted(criteria.items())[:_CRITERIA_MAX_KEYS]
    }
    return audit_event_record(
        action="audit.exported", company=company, actor=actor, detail={"format": fmt, "criteria": bounded}
    )
