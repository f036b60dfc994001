"""Reads of users and groups, always scoped to one company."""

from django.db.models import QuerySet

from apps.accounts.models import ApplicationUser, Group
from apps.companies.models import Company
from apps.companies.selectors import get_for_company


def user_list(*, company: Company | None) -> QuerySet[ApplicationUser]:
    return ApplicationUser.objects.for_company(company).order_by("created", "userid")


def get_user_for_company(company: Company | None, userid: str) -> ApplicationUser:
    """The company's user with this public id; Http404 otherwise (also for another company's user)."""
    return get_for_company(ApplicationUser.objects.all(), company, userid=userid)


def group_list(*, company: Company | None) -> QuerySet[Group]:
    return Group.objects.for_company(company).order_by("name")


def get_group_for_company(company: Company | None, group_id) -> Group:
    return get_for_company(Group.objects.all(), company, pk=group_id)


def email_taken(email: str) -> bool:
    return ApplicationUser.objects.filter(email__iexact=email.strip()).exists()
