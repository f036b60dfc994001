"""The tenant (Company) and the building blocks every company-owned model uses."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Company(models.Model):
    name = models.CharField(max_length=200, help_text="The company's display name.")
    slug = models.SlugField(
        max_length=64, unique=True, help_text="Short unique identifier used by commands and URLs, e.g. 'acme'."
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="An inactive company's API clients cannot get codes or tokens, and its tokens stop working.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class CompanyQuerySet(models.QuerySet):
    """A queryset of company-owned rows. Scope it with ``.for_company(company)`` before reading."""

    def for_company(self, company: Company | None) -> CompanyQuerySet:
        # No company means no rows: an unscoped path must return nothing rather than everything.
        if company is None:
            return self.none()
        return self.filter(company=company)


class CompanyOwnedModel(models.Model):
    """Abstract base for tenant data: a required company and a scoped default queryset."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set", editable=False
    )

    objects = CompanyQuerySet.as_manager()

    class Meta:
        abstract = True
