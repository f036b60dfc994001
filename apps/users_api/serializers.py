"""Input and output serializers of the Users and Groups API.

Input serializers are strict: a field of the wrong JSON type is an error rather than coerced (``"5"`` is not
an integer, ``5`` is not a string), unknown fields are errors that name them, and repeated query parameters
are refused. Output serializers build plain dicts from prefetched objects and never query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.core.validators import RegexValidator
from django.http import QueryDict
from rest_framework import serializers

from apps.accounts.models import ROLE_FIELDS, Group, Role

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
# A page beyond this could only be empty; the cap keeps OFFSET arithmetic far from any integer limit.
MAX_PAGE = 10**9

# Lone surrogates cannot be encoded to UTF-8, so the database driver would fail on them.
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_CANONICAL_INT = re.compile(r"^-?(0|[1-9][0-9]{0,18})$")
# NUL characters cannot be stored (PostgreSQL refuses them); names must also show something that is not
# whitespace. Stated as patterns so that the schema says exactly what is accepted.
_NO_NUL = RegexValidator(r"^[^\x00]*$", message="Null characters are not allowed.")
_VISIBLE = RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$", message="Must contain a visible character and no NUL.")


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else (DRF's CharField would turn ``5`` into ``"5"``).

    Ids, searches and emails are taken as sent (``trim_whitespace=False``): trimming would turn a value the schema
    calls invalid, such as ``" a@b.example"``, into a valid one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or _SURROGATES.search(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or _SURROGATES.search(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a boolean, a float or a numeric string)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """An integer query parameter in canonical decimal form (no sign tricks, spaces, decimals or leading 0s)."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not _CANONICAL_INT.match(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBooleanField(serializers.BooleanField):
    """``true`` or ``false``, as OpenAPI serializes a boolean query parameter."""

    def to_internal_value(self, data: Any) -> bool:
        if data == "true":
            return True
        if data == "false":
            return False
        self.fail("invalid", input=data)


class StrictInputSerializer(serializers.Serializer):
    """Refuses anything but a JSON object, and names every unknown field."""

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(str(name) for name in set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictQuerySerializer(StrictInputSerializer):
    """Query parameters: each at most once, unknown ones refused."""

    @classmethod
    def validated_query(cls, query: QueryDict) -> dict:
        """``from_query(query).validated_data``, remembered per distinct query string: the answer depends on the
        parameters alone, and building a DRF serializer (a deep copy of its fields) costs more than the rest of
        a ListUsers request's Python. Refused queries are not remembered; they raise every time."""
        return dict(_validated_query(cls, tuple((key, tuple(values)) for key, values in query.lists())))

    @classmethod
    def from_query(cls, query: QueryDict) -> StrictQuerySerializer:
        repeated = sorted(name for name, values in query.lists() if len(values) > 1)
        if repeated:
            raise serializers.ValidationError({name: ["Give this parameter at most once."] for name in repeated})
        serializer = cls(data=query.dict())
        serializer.is_valid(raise_exception=True)
        return serializer


@lru_cache(maxsize=512)
def _validated_query(cls: type[StrictQuerySerializer], items: tuple[tuple[str, tuple[str, ...]], ...]) -> dict:
    query = QueryDict(mutable=True)
    for key, values in items:
        query.setlist(key, list(values))
    return cls.from_query(query).validated_data


# Query parameters


class PageQuerySerializer(StrictQuerySerializer):
    """Page-number pagination."""

    page = QueryIntegerField(required=False, default=1, min_value=1, max_value=MAX_PAGE, help_text="1-based page.")
    pageSize = QueryIntegerField(
        required=False,
        default=DEFAULT_PAGE_SIZE,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        help_text=f"Items per page, 1 to {MAX_PAGE_SIZE}.",
    )


class UserListQuerySerializer(PageQuerySerializer):
    """Pagination and filters of ListUsers."""

    search = StrictCharField(
        required=False,
        min_length=1,
        trim_whitespace=False,
        max_length=254,
        validators=[_NO_NUL],
        help_text="Part of the email address or name, case-insensitive.",
    )
    role = serializers.ChoiceField(choices=Role.values, required=False, help_text="Only users with this role.")
    active = QueryBooleanField(required=False, help_text="Only active (true) or inactive (false) users.")


class GroupListQuerySerializer(PageQuerySerializer):
    """Pagination and filter of ListGroups."""

    search = StrictCharField(
        required=False,
        min_length=1,
        trim_whitespace=False,
        max_length=150,
        validators=[_NO_NUL],
        help_text="Part of the group name, case-insensitive.",
    )


class UserIdQuerySerializer(StrictQuerySerializer):
    """Which user."""

    userid = StrictCharField(
        min_length=1, max_length=64, trim_whitespace=False, validators=[_NO_NUL], help_text="The user's public id."
    )


class GroupIdQuerySerializer(StrictQuerySerializer):
    """Which group."""

    groupId = QueryIntegerField(min_value=1, max_value=2**63 - 1, help_text="The group's id.")


# Request bodies


class CreateUserInputSerializer(StrictInputSerializer):
    """A new user of the token's company."""

    email = StrictEmailField(
        max_length=254, trim_whitespace=False, help_text="Unique on this server, case-insensitive."
    )
    name = StrictCharField(min_length=1, max_length=150, validators=[_VISIBLE], help_text="Display name.")
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.values),
        required=False,
        max_length=len(Role.values),
        help_text='Roles of the user; default: ["user"].',
    )
    groups = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=100,
        help_text="Ids of the company's groups the user joins.",
    )


class MembershipInputSerializer(StrictInputSerializer):
    """A user and a group of the token's company."""

    userid = StrictCharField(
        min_length=1, max_length=64, trim_whitespace=False, validators=[_NO_NUL], help_text="The user's public id."
    )
    groupId = StrictIntegerField(min_value=1, max_value=2**63 - 1, help_text="The group's id.")


class CreateGroupInputSerializer(StrictInputSerializer):
    """A new group of the token's company."""

    name = StrictCharField(min_length=1, max_length=150, validators=[_VISIBLE], help_text="Unique within the company.")


# Responses


def iso_datetime(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def user_representations(rows: list[dict]) -> list[dict[str, Any]]:
    """The API's users from selector rows (``USER_ROW_FIELDS``, groups included: no query here)."""
    role_fields = ROLE_FIELDS.items()
    return [
        {
            "userid": row["userid"],
            "email": row["email"],
            "name": row["name"],
            "roles": [role for role, field in role_fields if row[field]],
            "groups": row["group_summaries"],
            "active": row["is_active"],
            "created": iso_datetime(row["created"]),
        }
        for row in rows
    ]


def group_representation(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "memberCount": getattr(group, "member_count", 0),
        "created": iso_datetime(group.created),
    }


class GroupSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UserOutputSerializer(serializers.Serializer):
    """Documents the user shape; the dicts themselves are built by ``user_representations`` (fast, few queries)."""

    userid = serializers.CharField()
    email = serializers.EmailField()
    name = serializers.CharField(allow_blank=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.values))
    groups = GroupSummarySerializer(many=True)
    active = serializers.BooleanField()
    created = serializers.DateTimeField()


class GroupOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    memberCount = serializers.IntegerField()
    created = serializers.DateTimeField()

    def to_representation(self, instance: Group) -> dict[str, Any]:
        return group_representation(instance)


class PageOutputSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class UserPageOutputSerializer(PageOutputSerializer):
    data = UserOutputSerializer(many=True)


class GroupPageOutputSerializer(PageOutputSerializer):
    data = GroupOutputSerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem, as every error of this API is shaped."""

    type = serializers.CharField(help_text="A link to the RFC section of the status.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False, help_text="What went wrong, and what is missing.")
    errors = serializers.DictField(
        required=False, help_text="For 400s: the invalid fields or parameters, each with its messages."
    )
    traceId = serializers.CharField(help_text="W3C trace id of the request, e.g. 00-<32 hex>-<16 hex>-00.")


def total_pages(total: int, page_size: int) -> int:
    return math.ceil(total / page_size)
