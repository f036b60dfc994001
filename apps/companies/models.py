"""The tenant (Company) and the building blocks every company-owned model uses."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.core.validators import validate_image_upload


def time_zone_choices() -> list[tuple[str, str]]:
    # Not model-field choices: the list comes from the installed tz database and would change the migrations.
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone: {value}.", code="time_zone")


def company_logo_path(instance: Company, filename: str) -> str:
    return f"companies/{instance.slug}/logo/{filename}"


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
    # General Information (Admin > Company).
    # Database defaults too, so that code and migrations that predate these columns can still insert companies.
    logo = models.FileField(
        upload_to=company_logo_path,
        blank=True,
        db_default="",
        default="",
        validators=[validate_image_upload],
        help_text="PNG, JPEG, GIF or WebP, at most 2 MB; shown in the portal's header.",
    )
    contact_email = models.EmailField(
        blank=True,
        db_default="",
        default="",
        help_text="Where users and the server admins reach the company about AIRisk.",
    )
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        db_default="UTC",
        default="UTC",
        help_text="Dates on the company's pages, reports and alerts are shown in this time zone.",
    )

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
