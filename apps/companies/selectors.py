"""Reads of companies and the generic tenant-scoped lookup."""

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

from apps.companies.models import Company

M = TypeVar("M", bound=Model)


def company_get_by_slug(*, slug: str) -> Company | None:
    return Company.objects.filter(slug=slug).first()


def get_for_company(queryset: QuerySet[M], company: Company | None, **lookup) -> M:
    """One row of ``company`` matching ``lookup``; Http404 for a missing row *and* for another company's row,
    so that the two cannot be told apart."""
    if company is None:
        raise Http404
    try:
        return queryset.filter(company=company).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
