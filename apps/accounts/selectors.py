"""Reads of users and groups, always scoped to one company."""

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.accounts.models import ROLE_FIELDS, ApplicationUser, Group
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


# The API's view of users: only the columns it shows, and each user's groups (id and name) fetched in one
# extra query for the whole page, into ``user.group_summaries``.
USER_API_FIELDS = ("id", "userid", "email", "name", "is_active", "created", "company_id", *ROLE_FIELDS.values())


def _with_group_summaries(users: QuerySet[ApplicationUser]) -> QuerySet[ApplicationUser]:
    groups = Group.objects.only("id", "name").order_by("name", "id")
    return users.only(*USER_API_FIELDS).prefetch_related(Prefetch("groups", queryset=groups, to_attr="group_summaries"))


def user_api_list(
    *,
    company: Company | None,
    search: str | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> QuerySet[ApplicationUser]:
    """The company's users for the API, filtered, in a stable order (created, then userid), groups prefetched."""
    users = user_list(company=company)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
    if role:
        users = users.with_role(role)
    if active is not None:
        users = users.filter(is_active=active)
    return _with_group_summaries(users)


def get_user_for_company_api(company: Company | None, userid: str) -> ApplicationUser:
    """Like ``get_user_for_company``, with the API's columns and the user's groups prefetched."""
    return get_for_company(_with_group_summaries(ApplicationUser.objects.all()), company, userid=userid)


def group_api_list(*, company: Company | None, search: str | None = None) -> QuerySet[Group]:
    """The company's groups with their member counts, ordered by name (unique per company), then id."""
    groups = Group.objects.for_company(company)
    if search:
        groups = groups.filter(name__icontains=search)
    return groups.annotate(member_count=Count("members")).order_by("name", "id")


def get_group_for_company_api(company: Company | None, group_id) -> Group:
    return get_for_company(Group.objects.annotate(member_count=Count("members")), company, pk=group_id)
