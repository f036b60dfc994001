"""Writes of companies."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.companies.signals import changed_count, company_deactivated


@transaction.atomic
def company_create(*, name: str, slug: str | None = None, actor: Actor) -> Company:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Company name must not be empty.")
    slug = slug if slug is not None else slugify(name)
    company = Company(name=name, slug=slug)
    company.full_clean()
    company.save()
    audit_event_record(action="company.created", company=company, actor=actor, target=company)
    return company


@transaction.atomic
def company_rename(*, company: Company, name: str, actor: Actor) -> Company:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Company name must not be empty.")
    if name != company.name:
        before = company.name
        company.name = name
        company.full_clean()
        company.save(update_fields=["name"])
        audit_event_record(
            action="company.renamed", company=company, actor=actor, target=company, detail={"before": before}
        )
    return company


@transaction.atomic
def company_set_active(*, company: Company, active: bool, actor: Actor) -> Company:
    """Deactivating a company blocks its clients (codes and tokens) and revokes its outstanding tokens."""
    if company.is_active == active:
        return company
    company.is_active = active
    company.save(update_fields=["is_active"])
    # oauth (a layer above) revokes the company's tokens through its receiver of this signal.
    revoked = 0 if active else changed_count(company_deactivated.send(Company, company=company, actor=actor))
    audit_event_record(
        action="company.activated" if active else "company.deactivated",
        company=company,
        actor=actor,
        target=company,
        detail={"tokens_revoked": revoked},
    )
    return company
