"""Input and output shapes of the Dashboards API (camelCase on the wire, like the rest of the API)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.dashboards.models import (
    Category,
    Channel,
    ChartType,
    Dashboard,
    Element,
    ElementKind,
    Interval,
    MapMeasure,
    Measure,
    Period,
    Split,
    Subject,
)
from apps.users_api.serializers import PageQuerySerializer, StrictCharField, StrictInputSerializer, iso_datetime

# Wire name -> model field, for the element's own settings.
ELEMENT_WIRE = {
    "title": "title",
    "width": "width",
    "period": "period",
    "startDate": "start_date",
    "endDate": "end_date",
    "channel": "channel",
    "subject": "subject",
    "measure": "measure",
    "limit": "limit",
    "chartType": "chart_type",
    "interval": "interval",
    "split": "split",
    "category": "category",
    "mapMeasure": "map_measure",
}


class DashboardListQuerySerializer(PageQuerySerializer):
    """Pagination of the dashboards list."""


class DashboardInputSerializer(StrictInputSerializer):
    name = StrictCharField(min_length=1, max_length=120, help_text="The dashboard's name.")
    shared = serializers.BooleanField(
        required=False, help_text="Shared with the company (admins, monitors, compliance officers see it)."
    )


class DashboardUpdateSerializer(DashboardInputSerializer):
    name = StrictCharField(min_length=1, max_length=120, required=False, help_text="The dashboard's name.")


def _optional_choice(choices, help_text: str):
    return serializers.ChoiceField(choices=choices, required=False, allow_blank=True, help_text=help_text)


class ElementSettingsSerializer(StrictInputSerializer):
    """An element's settings; which apply depends on its kind (the others are ignored and reset)."""

    title = StrictCharField(max_length=120, required=False, help_text="Shown above the element.")
    width = serializers.IntegerField(min_value=1, max_value=4, required=False, help_text="Columns of 4 (default 2).")
    period = serializers.ChoiceField(choices=Period.values, required=False, help_text="Default last_30.")
    startDate = serializers.DateField(required=False, allow_null=True, help_text="First day of a custom period.")
    endDate = serializers.DateField(
        required=False, allow_null=True, help_text="Last day (included) of a custom period."
    )
    agentId = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Only this agent.")
    groupId = serializers.IntegerField(required=False, allow_null=True, help_text="Only the members of this group.")
    userId = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Only this user.")
    channel = _optional_choice(Channel.values, "Only this channel: api or web.")
    subject = _optional_choice(Subject.values, "Top N: what is ranked.")
    measure = _optional_choice(Measure.values, "Top N and charts: what is counted.")
    limit = serializers.IntegerField(min_value=3, max_value=25, required=False, help_text="Top N: N (3 to 25).")
    chartType = _optional_choice(ChartType.values, "Charts: line, bar or doughnut.")
    interval = _optional_choice(Interval.values, "Line and bar charts: day, week or month.")
    split = _optional_choice(Split.values, "Line and bar charts: one series per agent or user.")
    category = _optional_choice(Category.values, "Doughnut: the share by what.")
    mapMeasure = _optional_choice(MapMeasure.values, "Maps: prompts or blocked.")
    position = serializers.IntegerField(min_value=0, required=False, help_text="Place on the dashboard (0 = first).")


class ElementCreateSerializer(ElementSettingsSerializer):
    kind = serializers.ChoiceField(choices=ElementKind.values, help_text="top_n, chart, totals or map.")
    title = StrictCharField(max_length=120, help_text="Shown above the element.")


class ElementOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    dashboardId = serializers.CharField()
    kind = serializers.ChoiceField(choices=ElementKind.values)
    title = serializers.CharField()
    position = serializers.IntegerField()
    width = serializers.IntegerField()
    period = serializers.CharField()
    startDate = serializers.DateField(allow_null=True)
    endDate = serializers.DateField(allow_null=True)
    agentId = serializers.CharField(allow_null=True)
    groupId = serializers.IntegerField(allow_null=True)
    userId = serializers.CharField(allow_null=True)
    channel = serializers.CharField()
    subject = serializers.CharField()
    measure = serializers.CharField()
    limit = serializers.IntegerField()
    chartType = serializers.CharField()
    interval = serializers.CharField()
    split = serializers.CharField()
    category = serializers.CharField()
    mapMeasure = serializers.CharField()
    dataUrl = serializers.CharField(help_text="Where the element's numbers are.")


class OwnerSerializer(serializers.Serializer):
    userid = serializers.CharField()
    name = serializers.CharField()


class DashboardOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    shared = serializers.BooleanField()
    owner = OwnerSerializer()
    editable = serializers.BooleanField(help_text="True for the owner's token: only the owner changes a dashboard.")
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()


class DashboardDetailSerializer(DashboardOutputSerializer):
    elements = ElementOutputSerializer(many=True)


class DashboardPageSerializer(serializers.Serializer):
    data = DashboardOutputSerializer(many=True)
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class ElementDataSerializer(serializers.Serializer):
    """The element's numbers; beyond these keys, each kind has its own (docs/dashboards.md, API)."""

    id = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    period = serializers.DictField(help_text="start, end (ISO dates, included), days, label.")
    filters = serializers.CharField(help_text="The filters in words, empty when none.")


def element_representation(element: Element) -> dict[str, Any]:
    return {
        "id": element.public_id,
        "dashboardId": element.dashboard.public_id,
        "kind": element.kind,
        "agentId": element.agent.public_id if element.agent_id else None,
        "groupId": element.group_id,
        "userId": element.user.userid if element.user_id else None,
        "position": element.position,
        "dataUrl": f"/api/dashboards/elements/{element.public_id}/data",
        **{wire: getattr(element, name) for wire, name in ELEMENT_WIRE.items()},
    }


def dashboard_representation(dashboard: Dashboard, *, user, elements: list[Element] | None = None) -> dict[str, Any]:
    body = {
        "id": dashboard.public_id,
        "name": dashboard.name,
        "shared": dashboard.shared,
        "owner": {"userid": dashboard.owner.userid, "name": dashboard.owner.name or dashboard.owner.email},
        "editable": user is not None and dashboard.owner_id == user.pk,
        "created": iso_datetime(dashboard.created),
        "updated": iso_datetime(dashboard.updated),
    }
    if elements is not None:
        body["elements"] = [element_representation(element) for element in elements]
    return body
