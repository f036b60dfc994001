"""Reads of users and groups, always scoped to one company."""

import json
from datetime import UTC
from functools import lru_cache

from django.db import NotSupportedError, connection
from django.db.models import Count, F, Func, JSONField, Q, QuerySet, Window
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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


class GroupSummaries(Func):
    """The user's groups as a JSON array of ``{"id", "name"}`` ordered by name, then id: a correlated subquery,
    so that a page of users and their groups come back in one round trip.

    Written per database because neither has a portable ordered JSON aggregate. Only table and column names from
    the models go into the text; the user column is compiled by Django.
    """

    output_field = JSONField()

    def __init__(self) -> None:
        super().__init__(F("id"))

    def _parts(self, compiler, connection) -> tuple[str, list, dict[str, str]]:
        user_sql, params = compiler.compile(self.source_expressions[0])
        quote = connection.ops.quote_name
        through = Group.members.through._meta
        names = {
            "members": quote(through.db_table),
            "groups": quote(Group._meta.db_table),
            "member_user": quote(through.get_field("applicationuser").column),
            "member_group": quote(through.get_field("group").column),
            "id": quote("id"),
            "name": quote("name"),
        }
        return user_sql, params, names

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"GroupSummaries is written for PostgreSQL and SQLite, not {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra_context):
        user_sql, params, n = self._parts(compiler, connection)
        sql = (
            f"COALESCE((SELECT jsonb_agg(jsonb_build_object('id', g.{n['id']}, 'name', g.{n['name']}) "  # noqa: S608
            f"ORDER BY g.{n['name']}, g.{n['id']}) FROM {n['members']} m JOIN {n['groups']} g "
            f"ON g.{n['id']} = m.{n['member_group']} WHERE m.{n['member_user']} = {user_sql}), '[]'::jsonb)"
        )
        return sql, params

    def as_sqlite(self, compiler, connection, **extra_context):
        user_sql, params, n = self._parts(compiler, connection)
        # json_group_array keeps the order of the inner, ordered SELECT.
        sql = (
            f"(SELECT json_group_array(json_object('id', o.{n['id']}, 'name', o.{n['name']})) FROM "  # noqa: S608
            f"(SELECT g.{n['id']}, g.{n['name']} FROM {n['members']} m JOIN {n['groups']} g "
            f"ON g.{n['id']} = m.{n['member_group']} WHERE m.{n['member_user']} = {user_sql} "
            f"ORDER BY g.{n['name']}, g.{n['id']}) o)"
        )
        return sql, params


# The API's view of users is built from plain rows (no model instances): ListUsers is the hottest read of the
# API, and rows that carry their groups keep it to one query.
USER_ROW_FIELDS = ("id", "userid", "email", "name", "is_active", "created", "group_summaries", *ROLE_FIELDS.values())


def _user_rows(users: QuerySet[ApplicationUser]) -> QuerySet:
    return users.annotate(group_summaries=GroupSummaries()).values(*USER_ROW_FIELDS)


def user_api_list(
    *,
    company: Company | None,
    search: str | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> QuerySet:
    """The company's users as rows (dicts of ``USER_ROW_FIELDS``; ``group_summaries`` is a list of ``{"id",
    "name"}``), filtered, in a stable order (created, userid)."""
    users = user_list(company=company)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
    if role:
        users = users.with_role(role)
    if active is not None:
        users = users.filter(is_active=active)
    return _user_rows(users)


def user_api_page(
    *,
    company: Company | None,
    search: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    offset: int,
    limit: int,
) -> tuple[list[dict], int]:
    """Rows ``offset`` to ``offset + limit`` of ``user_api_list`` (same filters, same row dicts) and the number of
    all matching users.

    ListUsers is the API's hottest read, and for it building the query and the ORM's per-row work cost more than
    the query itself. So the SQL of each distinct request (company, filters, page) is built by the ORM once per
    process and kept, and the rows are read with a plain cursor. One query carries the page and the total
    (``COUNT(*) OVER ()``); only an empty page beyond the first needs a count query.
    """
    if company is None:
        return [], 0
    sql, params, names = _user_page_sql(connection.vendor, company.pk, search, role, active, offset, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        sqlite = connection.vendor == "sqlite"
        rows = [_user_row(dict(zip(names, values, strict=True)), sqlite=sqlite) for values in cursor.fetchall()]
    if rows:
        total = rows[0].pop("page_total")
        for row in rows[1:]:
            del row["page_total"]
    else:
        total = 0 if offset == 0 else user_api_list(company=company, search=search, role=role, active=active).count()
    return rows, total


@lru_cache(maxsize=1024)
def _user_page_sql(
    vendor: str, company_id: int, search: str | None, role: str | None, active: bool | None, offset: int, limit: int
) -> tuple[str, tuple, tuple[str, ...]]:
    # Every input of the SQL is in the key, so a kept statement is exactly what the ORM would build again.
    users = user_api_list(company=Company(pk=company_id), search=search, role=role, active=active)
    page = users.annotate(page_total=Window(Count("*")))[offset : offset + limit]
    sql, params = page.query.sql_with_params()
    return sql, tuple(params), (*USER_ROW_FIELDS, "page_total")


def _user_row(row: dict, *, sqlite: bool) -> dict:
    """The conversions the ORM would make: the groups' JSON text; on SQLite also booleans (0/1) and datetimes
    (text or naive). PostgreSQL's driver already returns booleans and aware datetimes."""
    groups = row["group_summaries"]
    row["group_summaries"] = [] if groups == "[]" else json.loads(groups) if isinstance(groups, str) else groups
    if sqlite:
        for field in ("is_active", *ROLE_FIELDS.values()):
            row[field] = bool(row[field])
        created = row["created"]
        if isinstance(created, str):
            created = parse_datetime(created)
        if timezone.is_naive(created):
            created = timezone.make_aware(created, UTC)
        row["created"] = created
    return row


def get_user_row_for_company(company: Company | None, userid: str) -> dict:
    """The company's user with this public id as a row; Http404 otherwise (also for another company's user)."""
    return get_for_company(_user_rows(ApplicationUser.objects.all()), company, userid=userid)


def group_api_list(*, company: Company | None, search: str | None = None) -> QuerySet[Group]:
    """The company's groups with their member counts, ordered by name (unique per company), then id."""
    groups = Group.objects.for_company(company)
    if search:
        groups = groups.filter(name__icontains=search)
    return groups.annotate(member_count=Count("members")).order_by("name", "id")


def get_group_for_company_api(company: Company | None, group_id) -> Group:
    return get_for_company(Group.objects.annotate(member_count=Count("members")), company, pk=group_id)
