"""Writes of companies."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company


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
