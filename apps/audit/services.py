"""Recording audit events. Every service that writes calls ``audit_event_record``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest

from apps.audit.models import ActorType, AuditEvent, Outcome
from apps.companies.models import Company

# audit sits below accounts and oauth, so it names their models only as Django models: an ApplicationUser (with
# ``email``) and an APIUser (with ``name`` and ``client_id``). The foreign keys in models.py refer to them by label.
UserModel = models.Model
ClientModel = models.Model


def client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is caller-controlled unless a trusted proxy rewrites it.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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


def _public_id(obj: models.Model | None) -> str:
    if obj is None:
        return ""
    for attr in ("userid", "client_id", "public_id", "slug"):
        if hasattr(obj, attr):
            return str(getattr(obj, attr))
    return str(obj.pk)
