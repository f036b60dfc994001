"""Compliance writes: the audit trail of every search, conversation view and export, and saved searches.

Reading conversations is the compliance officer's power, so every read is recorded with what was looked for.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.chat.models import Conversation
from apps.companies.models import Company
from apps.compliance.models import SavedSearch

NAME_MAX = 120


def compliance_search_record(
    *, company: Company, actor: Actor, criteria: dict, page: int, results: int, channel: str
) -> AuditEvent:
    """Record that ``actor`` ran a search (each page of results is a run: it shows more messages)."""
    return audit_event_record(
        action="compliance.searched",
        company=company,
        actor=actor,
        detail={"criteria": criteria, "page": page, "results": results, "channel": channel},
    )


def compliance_export_record(*, company: Company, actor: Actor, criteria: dict, fmt: str, channel: str) -> AuditEvent:
    """Record an export before its first row is sent: an export that breaks off half-way was still an export."""
    return audit_event_record(
        action="compliance.exported",
        company=company,
        actor=actor,
        detail={"criteria": criteria, "format": fmt, "channel": channel},
    )


def compliance_conversation_view_record(
    *, company: Company, actor: Actor, conversation: Conversation, criteria: dict | None, channel: str
) -> AuditEvent:
    """Record that ``actor`` read a whole conversation (and from which search, when known)."""
    return audit_event_record(
        action="compliance.conversation_viewed",
        company=company,
        actor=actor,
        target=conversation,
        user=conversation.user,
        detail={"criteria": criteria or {}, "channel": channel},
    )


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the search a name."}, code="invalid")
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"At most {NAME_MAX} characters."}, code="invalid")
    return name


def _duplicate(name: str) -> ValidationError:
    return ValidationError(f"You already have a saved search named “{name}”.", code="duplicate_name")


@transaction.atomic
def saved_search_create(
    *, company: Company, actor: Actor, owner: ApplicationUser, name: str, criteria: dict, shared: bool = False
) -> SavedSearch:
    name = _clean_name(name)
    if SavedSearch.objects.for_company(company).filter(owner=owner, name=name).exists():
        raise _duplicate(name)
    try:
        with transaction.atomic():
            search = SavedSearch.objects.create(
                company=company, owner=owner, name=name, criteria=criteria, shared=shared
            )
    except IntegrityError:
        raise _duplicate(name) from None
    audit_event_record(
        action="compliance.search_saved",
        company=company,
        actor=actor,
        target=search,
        detail={"name": name, "criteria": criteria, "shared": shared},
    )
    return search


@transaction.atomic
def saved_search_update(
    *,
    company: Company,
    actor: Actor,
    search: SavedSearch,
    name: str | None = None,
    criteria: dict | None = None,
    shared: bool | None = None,
) -> SavedSearch:
    if name is not None:
        name = _clean_name(name)
        clash = SavedSearch.objects.for_company(company).filter(owner=search.owner, name=name).exclude(pk=search.pk)
        if clash.exists():
            raise _duplicate(name)
        search.name = name
    if criteria is not None:
        search.criteria = criteria
    if shared is not None:
        search.shared = shared
    search.updated = timezone.now()
    search.save()
    audit_event_record(
        action="compliance.search_changed",
        company=company,
        actor=actor,
        target=search,
        detail={"name": search.name, "criteria": search.criteria, "shared": search.shared},
    )
    return search


@transaction.atomic
def saved_search_delete(*, company: Company, actor: Actor, search: SavedSearch) -> None:
    audit_event_record(
        action="compliance.search_deleted", company=company, actor=actor, target=search, detail={"name": search.name}
    )
    search.delete()
