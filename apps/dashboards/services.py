"""Writes: dashboards and their elements. Only a dashboard's owner changes it (the views and the API check it with
``ensure_owner`` before calling these); every write is audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
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

COMMON_FIELDS = ("title", "width", "period", "start_date", "end_date", "agent", "group", "user", "channel")
# The fields each kind uses beyond the common ones (the forms and the API show only these).
ELEMENT_FIELDS: dict[str, tuple[str, ...]] = {
    ElementKind.TOP_N: ("subject", "measure", "limit"),
    ElementKind.CHART: ("chart_type", "measure", "interval", "split", "category"),
    ElementKind.TOTALS: (),
    ElementKind.MAP: ("map_measure",),
}
KIND_DEFAULTS: dict[str, Any] = {
    "subject": "",
    "measure": "",
    "limit": 10,
    "chart_type": "",
    "interval": "",
    "split": "",
    "category": "",
    "map_measure": "",
}
CUSTOM_PERIOD_MAX_DAYS = 3 * 366
EDITABLE_FIELDS = (*COMMON_FIELDS, *KIND_DEFAULTS)


def ensure_owner(dashboard: Dashboard, user: ApplicationUser | None) -> None:
    if user is None or dashboard.owner_id != user.pk:
        raise PermissionDenied("Only the dashboard's owner can change it.")


def _choice(errors: dict, name: str, value, choices, *, required: bool = True) -> None:
    if value in (None, "") and not required:
        return
    if value not in choices:
        errors[name] = f"Choose one of: {', '.join(str(c) for c in choices if c)}."


def element_clean(*, company: Company, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The element's fields for ``kind``, validated; fields other kinds use are reset. Raises ValidationError with
    one message per bad field."""
    if kind not in ElementKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(ElementKind.values)}."})
    errors: dict[str, str] = {}
    clean = {name: values.get(name) for name in COMMON_FIELDS}
    clean["title"] = (clean["title"] or "").strip()
    if not clean["title"]:
        errors["title"] = "Give the element a title."
    elif len(clean["title"]) > 120:
        errors["title"] = "At most 120 characters."
    clean["width"] = clean["width"] or 2
    if not isinstance(clean["width"], int) or not 1 <= clean["width"] <= 4:
        errors["width"] = "1 (a quarter of the row) to 4 (the whole row)."
    clean["period"] = clean["period"] or Period.LAST_30
    _choice(errors, "period", clean["period"], Period.values)
    if clean["period"] == Period.CUSTOM:
        start, end = clean["start_date"], clean["end_date"]
        if not isinstance(start, date) or not isinstance(end, date):
            errors["start_date"] = "A custom period needs a start and an end date."
        elif end < start:
            errors["end_date"] = "The end date is before the start date."
        elif (end - start) > timedelta(days=CUSTOM_PERIOD_MAX_DAYS):
            errors["end_date"] = "A custom period is at most three years long."
    else:
        clean["start_date"] = clean["end_date"] = None
    for name, model in (("agent", Agent), ("group", Group), ("user", ApplicationUser)):
        obj = clean[name]
        if obj is not None and (not isinstance(obj, model) or obj.company_id != company.pk):
            errors[name] = f"No such {name} in this company."
    clean["channel"] = clean["channel"] or ""
    _choice(errors, "channel", clean["channel"], Channel.values)

    clean.update(KIND_DEFAULTS)
    for name in ELEMENT_FIELDS[kind]:
        value = values.get(name)
        if value not in (None, ""):
            clean[name] = value
    if kind == ElementKind.TOP_N:
        _choice(errors, "subject", clean["subject"], Subject.values)
        allowed = (Measure.HITS, Measure.BLOCKED) if clean["subject"] == Subject.SCANNERS else Measure.values
        clean["measure"] = clean["measure"] or (Measure.HITS if clean["subject"] == Subject.SCANNERS else "messages")
        _choice(errors, "measure", clean["measure"], allowed)
        if not isinstance(clean["limit"], int) or not 3 <= clean["limit"] <= 25:
            errors["limit"] = "N is 3 to 25."
    elif kind == ElementKind.CHART:
        _choice(errors, "chart_type", clean["chart_type"], ChartType.values)
        if clean["chart_type"] == ChartType.DOUGHNUT:
            _choice(errors, "category", clean["category"], Category.values)
            if clean["category"] == Category.OUTCOME:
                clean["measure"] = Measure.EXCHANGES
            elif clean["category"] == Category.SCANNER:
                clean["measure"] = Measure.HITS
            clean["measure"] = clean["measure"] or Measure.EXCHANGES
            _choice(errors, "measure", clean["measure"], Measure.values)
            clean["interval"] = clean["split"] = ""
        else:
            clean["measure"] = clean["measure"] or Measure.EXCHANGES
            _choice(errors, "measure", clean["measure"], Measure.values)
            clean["interval"] = clean["interval"] or Interval.DAY
            _choice(errors, "interval", clean["interval"], Interval.values)
            _choice(errors, "split", clean["split"], Split.values)
            clean["category"] = ""
    elif kind == ElementKind.MAP:
        clean["map_measure"] = clean["map_measure"] or MapMeasure.PROMPTS
        _choice(errors, "map_measure", clean["map_measure"], MapMeasure.values)
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def dashboard_create(
    *, company: Company, actor: Actor, owner: ApplicationUser, name: str, shared: bool = False
) -> Dashboard:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError({"name": "Give the dashboard a name (at most 120 characters)."})
    if owner.company_id != company.pk:
        raise ValidationError("A dashboard belongs to a person of its company.")
    dashboard = Dashboard.objects.create(company=company, owner=owner, name=name, shared=bool(shared))
    audit_event_record(
        action="dashboard.created", company=company, actor=actor, target=dashboard, detail={"shared": dashboard.shared}
    )
    return dashboard


@transaction.atomic
def dashboard_update(
    *, company: Company, actor: Actor, dashboard: Dashboard, name: str | None = None, shared: bool | None = None
) -> Dashboard:
    changes = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 120:
            raise ValidationError({"name": "Give the dashboard a name (at most 120 characters)."})
        if name != dashboard.name:
            changes["name"] = [dashboard.name, name]
            dashboard.name = name
    if shared is not None and bool(shared) != dashboard.shared:
        changes["shared"] = [dashboard.shared, bool(shared)]
        dashboard.shared = bool(shared)
    if changes:
        dashboard.updated = timezone.now()
        dashboard.save(update_fields=["name", "shared", "updated"])
        audit_event_record(
            action="dashboard.updated", company=company, actor=actor, target=dashboard, detail={"changes": changes}
        )
    return dashboard


@transaction.atomic
def dashboard_delete(*, company: Company, actor: Actor, dashboard: Dashboard) -> None:
    audit_event_record(
        action="dashboard.deleted",
        company=company,
        actor=actor,
        target=dashboard,
        detail={"elements": dashboard.elements.count()},
    )
    dashboard.delete()


def _touch(dashboard: Dashboard) -> None:
    Dashboard.objects.filter(pk=dashboard.pk).update(updated=timezone.now())


@transaction.atomic
def element_create(*, company: Company, actor: Actor, dashboard: Dashboard, kind: str, **values) -> Element:
    clean = element_clean(company=company, kind=kind, values=values)
    last = Element.objects.filter(dashboard=dashboard).aggregate(last=Max("position"))["last"]
    element = Element.objects.create(
        company=company, dashboard=dashboard, kind=kind, position=0 if last is None else last + 1, **clean
    )
    _touch(dashboard)
    audit_event_record(
        action="dashboard.element_added",
        company=company,
        actor=actor,
        target=dashboard,
        detail={"element": element.public_id, "kind": kind, "title": element.title},
    )
    return element


@transaction.atomic
def element_update(*, company: Company, actor: Actor, element: Element, **values) -> Element:
    current = {name: getattr(element, name) for name in EDITABLE_FIELDS}
    clean = element_clean(company=company, kind=element.kind, values={**current, **values})
    changed = sorted(name for name, value in clean.items() if current[name] != value)
    for name, value in clean.items():
        setattr(element, name, value)
    element.save()
    _touch(element.dashboard)
    if changed:
        audit_event_record(
            action="dashboard.element_changed",
            company=company,
            actor=actor,
            target=element.dashboard,
            detail={"element": element.public_id, "title": element.title, "fields": ", ".join(changed)},
        )
    return element


@transaction.atomic
def element_delete(*, company: Company, actor: Actor, element: Element) -> None:
    dashboard = element.dashboard
    audit_event_record(
        action="dashboard.element_removed",
        company=company,
        actor=actor,
        target=dashboard,
        detail={"element": element.public_id, "title": element.title},
    )
    element.delete()
    _touch(dashboard)


@transaction.atomic
def element_move(*, company: Company, actor: Actor, element: Element, to: int) -> Element:
    """Put the element at place ``to`` (0 = first) of its dashboard; the others keep their order."""
    dashboard = element.dashboard
    siblings = list(Element.objects.filter(dashboard=dashboard).select_for_update().order_by("position", "id"))
    current = next(index for index, e in enumerate(siblings) if e.pk == element.pk)
    to = max(0, min(len(siblings) - 1, to))
    if to == current:
        return element
    siblings.insert(to, siblings.pop(current))
    for index, sibling in enumerate(siblings):
        sibling.position = index
    Element.objects.bulk_update(siblings, ["position"])
    element.position = to
    _touch(dashboard)
    audit_event_record(
        action="dashboard.element_moved",
        company=company,
        actor=actor,
        target=dashboard,
        detail={"element": element.public_id, "title": element.title, "position": to + 1},
    )
    return element


# The layout a new user can start from: one element of each kind.
STARTER_LAYOUT: list[dict[str, Any]] = [
    {"kind": "totals", "title": "This month at a glance", "period": "last_30", "width": 4},
    {"kind": "chart", "title": "Exchanges per day by agent", "chart_type": "line", "measure": "exchanges",
     "interval": "day", "split": "agent", "period": "last_30", "width": 2},
    {"kind": "chart", "title": "How exchanges ended", "chart_type": "doughnut", "category": "outcome",
     "period": "last_30", "width": 2},
    {"kind": "top_n", "title": "Top 10 users by tokens", "subject": "users", "measure": "tokens", "limit": 10,
     "period": "last_30", "width": 2},
    {"kind": "top_n", "title": "Scanner hits by kind", "subject": "scanners", "measure": "hits", "limit": 8,
     "period": "last_30", "width": 2},
    {"kind": "map", "title": "Prompts by country", "map_measure": "prompts", "period": "last_30", "width": 4},
]  # fmt: skip


@transaction.atomic
def dashboard_create_starter(*, company: Company, actor: Actor, owner: ApplicationUser, name: str = "") -> Dashboard:
    dashboard = dashboard_create(company=company, actor=actor, owner=owner, name=name or "Overview")
    for spec in STARTER_LAYOUT:
        element_create(company=company, actor=actor, dashboard=dashboard, **spec)
    return dashboard
