"""Which dashboards and elements a person (or an API client) may see: always inside one company.

A person sees their own dashboards and the ones shared with the company; someone else's private dashboard, or
another company's, is a 404 exactly like one that does not exist. A generic API token (no person) sees the
shared dashboards of its company.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.accounts.models import ApplicationUser
from apps.companies.models import Company
from apps.dashboards.models import Dashboard, Element


def dashboards_visible(*, company: Company, user: ApplicationUser | None) -> QuerySet[Dashboard]:
    dashboards = Dashboard.objects.for_company(company).select_related("owner")
    if user is None:
        return dashboards.filter(shared=True)
    return dashboards.filter(Q(owner=user) | Q(shared=True))


def get_dashboard_for(*, company: Company, user: ApplicationUser | None, public_id: str) -> Dashboard:
    dashboard = dashboards_visible(company=company, user=user).filter(public_id=public_id).first()
    if dashboard is None:
        raise Http404("No such dashboard.")
    return dashboard


def get_element_for(*, company: Company, user: ApplicationUser | None, public_id: str) -> Element:
    visible = dashboards_visible(company=company, user=user)
    element = (
        Element.objects.for_company(company)
        .filter(public_id=public_id, dashboard__in=visible)
        .select_related("dashboard", "dashboard__owner", "company", "agent", "group", "user")
        .first()
    )
    if element is None:
        raise Http404("No such element.")
    return element


def elements_of(dashboard: Dashboard) -> QuerySet[Element]:
    return (
        Element.objects.filter(company_id=dashboard.company_id, dashboard=dashboard)
        .select_related("agent", "group", "user")
        .order_by("position", "id")
    )
