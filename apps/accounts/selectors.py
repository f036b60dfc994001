"""Reads of users and groups, always scoped to one company."""

from django.db import connection
from django.db.models import Count, Q, QuerySet

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


# The API's view of users is built from plain rows (no model instances): ListUsers is the hottest read of the
# API, and rows plus one grouped query for the page's memberships keep it to a fixed, small number of queries.
USER_ROW_FIELDS = ("id", "userid", "email", "name", "is_active", "created", *ROLE_FIELDS.values())


def user_api_list(
    *,
    company: Company | None,
    search: str | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> QuerySet:
    """The company's users as rows (dicts of ``USER_ROW_FIELDS``), filtered, in a stable order (created, userid)."""
    users = user_list(company=company)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
    if role:
        users = users.with_role(role)
    if active is not None:
        users = users.filter(is_active=active)
    return users.values(*USER_ROW_FIELDS)


def get_user_row_for_company(company: Company | None, userid: str) -> dict:
    """The company's user with this public id as a row; Http404 otherwise (also for another company's user)."""
    return get_for_company(ApplicationUser.objects.values(*USER_ROW_FIELDS), company, userid=userid)


def group_summaries_by_user(*, user_ids: list[int]) -> dict[int, list[dict]]:
    """``{user pk: [{"id", "name"}, ...]}`` for these users, each list ordered by group name, in one query.

    Plain SQL on purpose: this runs on every ListUsers page, and the ORM's query building costs more than the
    query itself here. Only table and column names from the models and placeholders go into the text.
    """
    if not user_ids:
        return {}
    quote = connection.ops.quote_name
    through = Group.members.through._meta
    user_column = quote(through.get_field("applicationuser").column)
    group_column = quote(through.get_field("group").column)
    placeholders = ", ".join(["%s"] * len(user_ids))
    sql = (
        f"SELECT m.{user_column}, g.{quote('id')}, g.{quote('name')} "  # noqa: S608 - names from the models only
        f"FROM {quote(through.db_table)} m JOIN {quote(Group._meta.db_table)} g ON g.{quote('id')} = m.{group_column} "
        f"WHERE m.{user_column} IN ({placeholders}) ORDER BY g.{quote('name')}, g.{quote('id')}"
    )
    groups: dict[int, list[dict]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, list(user_ids))
        for user_id, group_id, name in cursor.fetchall():
            groups.setdefault(user_id, []).append({"id": group_id, "name": name})
    return groups


def group_api_list(*, company: Company | None, search: str | None = None) -> QuerySet[Group]:
    """The company's groups with their member counts, ordered by name (unique per company), then id."""
    groups = Group.objects.for_company(company)
    if search:
        groups = groups.filter(name__icontains=search)
    return groups.annotate(member_count=Count("members")).order_by("name", "id")


def get_group_for_company_api(company: Company | None, group_id) -> Group:
    return get_for_company(Group.objects.annotate(member_count=Count("members")), company, pk=group_id)
