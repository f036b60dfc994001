"""Saved searches of the compliance officers. The searched data (conversations, messages, scanner hits) belongs to
the chat and scanners apps; the full-text index over messages is created by migration 0002 (see there)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.companies.models import CompanyOwnedModel


def new_public_id() -> str:
    return str(uuid.uuid4())


class SavedSearch(CompanyOwnedModel):
    """A named search of one compliance officer (criteria as the search form's fields), run again in one click;
    ``shared``: the company's other compliance officers see and run it too (only its owner changes it)."""

    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    criteria = models.JSONField(default=dict, blank=True)
    shared = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "owner", "name"], name="compliance_saved_name_per_owner")
        ]
        verbose_name_plural = "saved searches"

    def __str__(self) -> str:
        return self.name
