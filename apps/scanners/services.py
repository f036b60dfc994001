"""Writes of the scanners app: company defaults, agent overrides, recorded hits. Each one is audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.agents.models import Agent
from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.scanners.detectors.base import ScanResult
from apps.scanners.models import AgentScannerOverride, ScanHit, ScannerDefault
from apps.scanners.pipeline import finding_to_dict
from apps.scanners.registry import SCANNERS, ScannerConfigError
from apps.scanners.signals import hits_recorded


def validate_scanner_settings(scanner: str, data: Any) -> dict[str, Any]:
    """The settings normalised by the detector (``to_dict`` of ``from_dict``), or a ValidationError whose
    message is the detector's own (re2's reason for a bad pattern, the accepted range of a threshold ...)."""
    if scanner not in SCANNERS:
        raise ValidationError(f"Unknown scanner {scanner!r}.", code="unknown_scanner")
    try:
        return SCANNERS[scanner].parse(data).to_dict()
    except ScannerConfigError as exc:
        raise ValidationError(str(exc), code="invalid_settings") from None
    except (TypeError, ValueError) as exc:  # a wrong type deep inside a value
        raise ValidationError(f"{scanner}: {exc}", code="invalid_settings") from None


def scanner_default_set(
    *, company: Company, actor: Actor, scanner: str, enabled: bool, settings: dict[str, Any]
) -> ScannerDefault:
    normalised = validate_scanner_settings(scanner, settings)
    with transaction.atomic():
        row, created = ScannerDefault.objects.select_for_update().get_or_create(
            company=company, scanner=scanner, defaults={"enabled": enabled, "settings": normalised}
        )
        changed = created or row.enabled != enabled or row.settings != normalised
        if not created and changed:
            row.enabled, row.settings = enabled, normalised
            row.save(update_fields=["enabled", "settings", "updated"])
        if changed:
            audit_event_record(
                action="scanner.default_set",
                company=company,
                actor=actor,
                target=company,
                detail={"scanner": scanner, "enabled": enabled},
            )
    return row


def agent_scanner_override_set(
    *, company: Company, actor: Actor, agent: Agent, scanner: str, enabled: bool, settings: dict[str, Any]
) -> AgentScannerOverride:
    if agent.company_id != company.pk:
        raise ValidationError("The agent belongs to another company.", code="cross_company")
    normalised = validate_scanner_settings(scanner, settings)
    with transaction.atomic():
        row, created = AgentScannerOverride.objects.select_for_update().get_or_create(
            company=company, agent=agent, scanner=scanner, defaults={"enabled": enabled, "settings": normalised}
        )
        changed = created or row.enabled != enabled or row.settings != normalised
        if not created and changed:
            row.enabled, row.settings = enabled, normalised
            row.save(update_fields=["enabled", "settings", "updated"])
        if changed:
            audit_event_record(
                action="scanner.agent_override_set",
                company=company,
                actor=actor,
                target=agent,
                detail={"scanner": scanner, "enabled": enabled},
            )
    return row


def agent_scanner_override_clear(*, company: Company, actor: Actor, agent: Agent, scanner: str) -> bool:
    """Back to "inherit the company default". True when there was an override to remove."""
    deleted, _ = AgentScannerOverride.objects.for_company(company).filter(agent=agent, scanner=scanner).delete()
    if deleted:
        audit_event_record(
            action="scanner.agent_override_cleared",
            company=company,
            actor=actor,
            target=agent,
            detail={"scanner": scanner},
        )
    return bool(deleted)


def scan_hits_record(
    *,
    company: Company,
    actor: Actor,
    results: list[ScanResult],
    direction: str,
    source: str,
    agent: Agent | None = None,
    message_public_id: str = "",
    conversation_public_id: str = "",
) -> list[ScanHit]:
    """Store and audit every non-"allow" result (a hit). Findings keep types, offsets and scores only."""
    hits = [
        ScanHit(
            company=company,
            scanner=r.scanner,
            direction=direction,
            source=source,
            action=r.action,
            score=float(r.risk_score),
            threshold=float(r.threshold),
            findings=[finding_to_dict(f) for f in r.findings],
            details=r.details,
            agent=agent,
            message_public_id=message_public_id,
            conversation_public_id=conversation_public_id,
        )
        for r in results
        if r.action != "allow"
    ]
    if not hits:
        return []
    with transaction.atomic():
        ScanHit.objects.bulk_create(hits)
        transaction.on_commit(
            lambda: hits_recorded.send_robust(
                sender=ScanHit, company=company, hits=hits, source=source, direction=direction, actor=actor
            )
        )
        for hit in hits:
            audit_event_record(
                action="scanner.blocked"
                if hit.action == "block"
                else ("scanner.redacted" if hit.action == "redact" else "scanner.flagged"),
                company=company,
                actor=actor,
                outcome=Outcome.FAILURE if hit.action == "block" else Outcome.SUCCESS,
                target=agent,
                detail={
                    "scanner": hit.scanner,
                    "direction": direction,
                    "source": source,
                    "score": round(hit.score, 4),
                    "types": sorted({f["type"] for f in hit.findings}),
                    "message": message_public_id,
                    "conversation": conversation_public_id,
                },
            )
    return hits
