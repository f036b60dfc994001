"""Writes of companies."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.companies.signals import changed_count, company_created, company_deactivated


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
    company_created.send(Company, company=company, actor=actor)
    return company


_UNSET = object()


@transaction.atomic
def company_update_profile(
    *,
    company: Company,
    actor: Actor,
    name: str | None = None,
    contact_email: str | None = None,
    time_zone: str | None = None,
    logo=_UNSET,
) -> Company:
    """Change the General Information of a company. ``logo``: an uploaded file, or None/False to remove it."""
    changed = []
    if name is not None:
        before = company.name
        company_rename(company=company, name=name, actor=actor)
        if company.name != before:
            changed.append("name")
    for field, value in (("contact_email", contact_email), ("time_zone", time_zone)):
        if value is not None and value.strip() != getattr(company, field):
            setattr(company, field, value.strip())
            changed.append(field)
    old_logo = company.logo.name if company.logo else ""
    if logo is not _UNSET:
        if logo:
            company.logo = logo
            changed.append("logo")
        elif old_logo:
            company.logo = ""
            changed.append("logo")
    other = [field for field in changed if field != "name"]
    if other:
        company.full_clean()
        company.save(update_fields=other)
        if "logo" in other and old_logo and old_logo != company.logo.name:
            # The old file goes once the row no longer points at it.
            storage, name_ = company.logo.storage, old_logo
            transaction.on_commit(lambda: storage.delete(name_))
        audit_event_record(
            action="company.profile_updated", company=company, actor=actor, target=company, detail={"changed": other}
        )
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
