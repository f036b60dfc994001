"""Each element's numbers, from the daily rollups (selectors: every query is scoped to the element's company).

One function per kind returns the JSON the browser draws and the API serves. A few grouped, indexed queries on
DailyUsage / DailyScanHits each (company, day); names are looked up once per answer, never per row.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.dashboards.models import (
    Category,
    ChartType,
    Element,
    ElementKind,
    Interval,
    MapMeasure,
    Measure,
    Split,
    Subject,
)
from apps.dashboards.periods import DayRange, company_today, resolve_period
from apps.dashboards.rollups import HIT_LEVELS, USAGE_LEVELS

SERIES_LIMIT = 6  # lines or bars of a split chart; the rest is summed as "Other"
SLICES_LIMIT = 8  # slices of a doughnut
WORLD_JSON = Path(settings.BASE_DIR) / "static" / "vendor" / "world-atlas-2.0.2" / "countries-110m.json"

USAGE_MEASURES = {
    Measure.EXCHANGES: Sum("exchanges"),
    Measure.MESSAGES: Sum("messages"),
    Measure.TOKENS: Sum(F("input_tokens") + F("output_tokens")),
    Measure.COST: Sum("cost"),
    Measure.FLAGGED: Sum("flagged"),
    Measure.BLOCKED: Sum("blocked"),
}
OUTCOME_LABELS = {"completed": "Completed", "incomplete": "Incomplete", "failed": "Failed", "blocked": "Blocked"}
CHANNEL_LABELS = {"web": "Web", "api": "API", "": "Scanner API / files"}
TOTALS = [
    ("conversations", "Conversations"),
    ("messages", "Messages"),
    ("tokens", "Tokens"),
    ("cost", "Cost (USD)"),
    ("flagged", "Flagged messages"),
    ("active_users", "Active users"),
]


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO alpha-2 -> name, from the vendored world map (static/vendor/README.md)."""
    try:
        countries = json.loads(WORLD_JSON.read_text())["countries"]
    except (OSError, ValueError, KeyError):
        return {}
    return {code: entry.get("name", code) for code, entry in countries.items()}


def number(value) -> int | float:
    """JSON-friendly: integers stay integers, money keeps 4 decimals."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return float(round(value, 4))
    return int(value) if float(value).is_integer() else round(float(value), 4)


def _filtered(queryset: QuerySet, element: Element) -> QuerySet:
    if element.agent_id:
        queryset = queryset.filter(agent_id=element.agent_id)
    if element.user_id:
        queryset = queryset.filter(user_id=element.user_id)
    if element.group_id:
        members = Group.members.through.objects.filter(group_id=element.group_id).values("applicationuser_id")
        queryset = queryset.filter(user_id__in=members)
    if element.channel:
        queryset = queryset.filter(channel=element.channel)
    return queryset


def _needed(element: Element, group_by: tuple[str, ...]) -> set[str]:
    """The rollup columns an element needs: what it groups by and what it filters on."""
    needed = set(group_by)
    if element.agent_id:
        needed.add("agent_id")
    if element.user_id or element.group_id:
        needed.add("user_id")
    if element.channel:
        needed.add("channel")
    return needed


def _level(levels, needed: set[str]):
    """The rollup with the fewest rows that has every needed column (the full level has them all)."""
    for model, fields in sorted(levels, key=lambda level: len(level[1])):
        if needed <= set(fields):
            return model
    return levels[0][0]


def usage_rows(element: Element, days: DayRange, group_by: tuple[str, ...] = ()) -> QuerySet:
    model = _level(USAGE_LEVELS, _needed(element, group_by))
    rows = model.objects.filter(company_id=element.company_id, day__gte=days.start, day__lte=days.end)
    return _filtered(rows, element)


def hit_rows(element: Element, days: DayRange, group_by: tuple[str, ...] = ()) -> QuerySet:
    model = _level(HIT_LEVELS, _needed(element, group_by))
    rows = model.objects.filter(company_id=element.company_id, day__gte=days.start, day__lte=days.end)
    return _filtered(rows, element)


def _measured(
    element: Element, days: DayRange, measure: str, group_by: tuple[str, ...] = ()
) -> tuple[QuerySet, object]:
    """The rows to sum and the sum, for a measure (scanner hits come from their own rollup)."""
    if measure == Measure.HITS:
        return hit_rows(element, days, group_by), Sum("hits")
    return usage_rows(element, days, group_by), USAGE_MEASURES.get(measure, Sum("exchanges"))


def user_names(company_id: int, ids) -> dict:
    ids = [i for i in ids if i is not None]
    rows = ApplicationUser.objects.filter(company_id=company_id, pk__in=ids).values_list("pk", "name", "email")
    names = {pk: name or email for pk, name, email in rows}
    names[None] = "(deleted user)"
    return names


def agent_names(company_id: int, ids) -> dict:
    rows = Agent.objects.filter(company_id=company_id, pk__in=[i for i in ids if i is not None])
    names = {pk: name for pk, name in rows.values_list("pk", "name")}
    names[None] = "(no agent)"
    return names


def measure_meta(measure: str) -> dict:
    return {"measure": measure, "measure_label": Measure(measure).label, "unit": "USD" if measure == "cost" else ""}


# -- Top N -----------------------------------------------------------------------------------------------------


SUBJECT_LABELS = {Subject.USERS: "User", Subject.AGENTS: "Agent", Subject.GROUPS: "Group", Subject.SCANNERS: "Scanner"}


def top_n_data(element: Element, days: DayRange) -> dict:
    return {
        "subject": element.subject,
        "subject_label": SUBJECT_LABELS.get(element.subject, "Name"),
        "limit": element.limit,
        **_top_n(element, days),
    }


def _top_n(element: Element, days: DayRange) -> dict:
    measure = element.measure or Measure.EXCHANGES
    company_id = element.company_id
    if element.subject == Subject.SCANNERS:
        rows = hit_rows(element, days, ("scanner",)).values("scanner")
        field = "blocked" if measure == Measure.BLOCKED else "hits"
        ranked = rows.annotate(value=Sum(field)).order_by("-value", "scanner")[: element.limit]
        items = [{"label": row["scanner"], "value": number(row["value"])} for row in ranked]
        return {**measure_meta(measure if measure == Measure.BLOCKED else Measure.HITS), "rows": _nonzero(items)}
    group_by = ("agent_id",) if element.subject == Subject.AGENTS else ("user_id",)
    rows, total = _measured(element, days, measure, group_by)
    if element.subject == Subject.AGENTS:
        ranked = list(rows.values("agent_id").annotate(value=total).order_by("-value", "agent_id")[: element.limit])
        names = agent_names(company_id, [r["agent_id"] for r in ranked])
        items = [{"label": names.get(r["agent_id"], "?"), "value": number(r["value"])} for r in ranked]
    elif element.subject == Subject.GROUPS:
        per_user = {r["user_id"]: r["value"] for r in rows.values("user_id").annotate(value=total)}
        groups = dict(Group.objects.filter(company_id=company_id).values_list("pk", "name"))
        sums: dict[int, Decimal | int] = {}
        memberships = Group.members.through.objects.filter(group_id__in=list(groups)).values_list(
            "group_id", "applicationuser_id"
        )
        for group_id, user_id in memberships:
            if user_id in per_user:
                sums[group_id] = sums.get(group_id, 0) + (per_user[user_id] or 0)
        ranked = sorted(sums.items(), key=lambda item: (-item[1], groups[item[0]]))[: element.limit]
        items = [{"label": groups[group_id], "value": number(value)} for group_id, value in ranked]
    else:
        # Per person: rows without one (a deleted user, a Scanner API hit) count in totals, not in rankings.
        rows = rows.exclude(user_id=None)
        ranked = list(rows.values("user_id").annotate(value=total).order_by("-value", "user_id")[: element.limit])
        names = user_names(company_id, [r["user_id"] for r in ranked])
        items = [{"label": names.get(r["user_id"], "?"), "value": number(r["value"])} for r in ranked]
    return {**measure_meta(measure), "rows": _nonzero(items)}


def _nonzero(items: list[dict]) -> list[dict]:
    return [item for item in items if item["value"]]


# -- Charts ------------------------------------------------------------------------------------------------------


def bucket_of(day: date, interval: str) -> date:
    if interval == Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval == Interval.MONTH:
        return day.replace(day=1)
    return day


def buckets(days: DayRange, interval: str) -> list[date]:
    found, day = [], days.start
    while day <= days.end:
        bucket = bucket_of(day, interval)
        if not found or found[-1] != bucket:
            found.append(bucket)
        day += timedelta(days=1)
    return found


def bucket_label(bucket: date, interval: str) -> str:
    if interval == Interval.MONTH:
        return bucket.strftime("%b %Y")
    if interval == Interval.WEEK:
        return "Week of " + bucket.strftime("%-d %b")
    return bucket.strftime("%-d %b")


def chart_data(element: Element, days: DayRange) -> dict:
    if element.chart_type == ChartType.DOUGHNUT:
        return doughnut_data(element, days)
    measure = element.measure or Measure.EXCHANGES
    interval = element.interval or Interval.DAY
    split_field = {Split.AGENT: "agent_id", Split.USER: "user_id"}.get(element.split)
    rows, total = _measured(element, days, measure, (split_field,) if split_field else ())
    if split_field == "user_id":
        rows = rows.exclude(user_id=None)

    axis = buckets(days, interval)
    index = {bucket: position for position, bucket in enumerate(axis)}
    # Summed per bucket by the database (a day, a week, a month), so that few rows come back.
    bucket_expr = {Interval.WEEK: TruncWeek("day"), Interval.MONTH: TruncMonth("day")}.get(interval, F("day"))
    per_bucket = rows.annotate(bucket=bucket_expr)

    def series_of(points, key_field=None) -> dict[object, list]:
        series: dict[object, list] = {}
        for point in points:
            values = series.setdefault(point[key_field] if key_field else "all", [0] * len(axis))
            values[index[bucket_of(point["bucket"], interval)]] += point["value"] or 0
        return series

    if split_field:
        # The largest series first (one small query), then only their points, and "Other" as the rest.
        ranked = [row[split_field] for row in rows.values(split_field).annotate(value=total).order_by(
            "-value", split_field) if row["value"]]  # fmt: skip
        keep, rest = ranked[:SERIES_LIMIT], ranked[SERIES_LIMIT:]
        kept = per_bucket.filter(**{f"{split_field}__in": keep}).values("bucket", split_field)
        series = series_of(kept.annotate(value=total).order_by(), split_field)
        names = (agent_names if split_field == "agent_id" else user_names)(element.company_id, keep)
        empty = [0] * len(axis)
        datasets = [{"label": names.get(key, "?"), "data": [number(v) for v in series.get(key, empty)]} for key in keep]
        if rest:
            everything = series_of(per_bucket.values("bucket").annotate(value=total).order_by()).get("all", empty)
            other = [everything[i] - sum(series.get(key, empty)[i] for key in keep) for i in range(len(axis))]
            datasets.append({"label": f"Other ({len(rest)})", "data": [number(v) for v in other]})
    else:
        values = series_of(per_bucket.values("bucket").annotate(value=total).order_by()).get("all", [0] * len(axis))
        datasets = [{"label": Measure(measure).label, "data": [number(v) for v in values]}]
    return {
        **measure_meta(measure),
        "chart_type": element.chart_type or ChartType.LINE,
        "interval": interval,
        "labels": [bucket_label(bucket, interval) for bucket in axis],
        "buckets": [bucket.isoformat() for bucket in axis],
        "datasets": datasets,
    }


def doughnut_data(element: Element, days: DayRange) -> dict:
    category = element.category or Category.AGENT
    measure = element.measure or Measure.EXCHANGES
    company_id = element.company_id
    if category == Category.OUTCOME:
        measure = Measure.EXCHANGES
        sums = usage_rows(element, days).aggregate(
            exchanges=Sum("exchanges"), blocked=Sum("blocked"), failed=Sum("failed"), incomplete=Sum("incomplete")
        )
        counts = {name: sums[name] or 0 for name in ("blocked", "failed", "incomplete")}
        counts["completed"] = (sums["exchanges"] or 0) - sum(counts.values())
        slices = [(OUTCOME_LABELS[name], counts[name]) for name in OUTCOME_LABELS]
    elif category == Category.SCANNER:
        measure = Measure.HITS
        rows = hit_rows(element, days, ("scanner",)).values("scanner").annotate(value=Sum("hits"))
        rows = rows.order_by("-value", "scanner")
        slices = [(row["scanner"], row["value"]) for row in rows]
    else:
        field = {Category.AGENT: "agent_id", Category.USER: "user_id", Category.CHANNEL: "channel"}[category]
        rows, total = _measured(element, days, measure, (field,))
        if category == Category.USER:
            rows = rows.exclude(user_id=None)
        grouped = list(rows.values(field).annotate(value=total).order_by("-value", field))
        keys = [row[field] for row in grouped]
        if category == Category.AGENT:
            names = agent_names(company_id, keys)
        elif category == Category.USER:
            names = user_names(company_id, keys[:SLICES_LIMIT])
        else:
            names = CHANNEL_LABELS
        slices = [(names.get(row[field], str(row[field])), row["value"]) for row in grouped]
    slices = [(label, value) for label, value in slices if value]
    if len(slices) > SLICES_LIMIT:
        rest = slices[SLICES_LIMIT - 1 :]
        slices = [*slices[: SLICES_LIMIT - 1], (f"Other ({len(rest)})", sum(value for _, value in rest))]
    return {
        **measure_meta(measure),
        "chart_type": ChartType.DOUGHNUT,
        "category": category,
        "labels": [label for label, _ in slices],
        "values": [number(value) for _, value in slices],
    }


# -- Totals --------------------------------------------------------------------------------------------------------


def _totals(element: Element, days: DayRange, previous: DayRange) -> tuple[dict, dict]:
    """Both periods' sums in one scan of the rollup (conditional aggregates)."""
    rows = usage_rows(element, DayRange(previous.start, days.end), ("user_id",))
    sums = {}
    for prefix, where in (("current", Q(day__gte=days.start)), ("previous", Q(day__lte=previous.end))):
        sums.update(
            {
                f"{prefix}_conversations": Sum("conversations", filter=where),
                f"{prefix}_messages": Sum("messages", filter=where),
                f"{prefix}_tokens": Sum(F("input_tokens") + F("output_tokens"), filter=where),
                f"{prefix}_cost": Sum("cost", filter=where),
                f"{prefix}_flagged": Sum("flagged", filter=where),
                f"{prefix}_active_users": Count("user_id", distinct=True, filter=where),
            }
        )
    found = rows.aggregate(**sums)
    current = {key: number(found[f"current_{key}"]) for key, _ in TOTALS}
    before = {key: number(found[f"previous_{key}"]) for key, _ in TOTALS}
    return current, before


def change_text(current: float, previous: float) -> tuple[float | None, str]:
    if not previous:
        return (None, "new" if current else "no change")
    change = (current - previous) / previous * 100
    if round(change) == 0:
        return (round(change, 1), "±0%")
    return (round(change, 1), f"{'+' if change > 0 else '-'}{abs(round(change))}%")


def totals_data(element: Element, days: DayRange) -> dict:
    previous_days = days.previous()
    current, previous = _totals(element, days, previous_days)
    metrics = []
    for key, label in TOTALS:
        change, text = change_text(current[key], previous[key])
        metrics.append(
            {
                "key": key,
                "label": label,
                "value": current[key],
                "previous": previous[key],
                "change": change,
                "change_text": text,
                "unit": "USD" if key == "cost" else "",
            }
        )
    return {"previous_period": previous_days.as_dict(), "metrics": metrics}


# -- Maps --------------------------------------------------------------------------------------------------------


def map_data(element: Element, days: DayRange) -> dict:
    measure = element.map_measure or MapMeasure.PROMPTS
    field = "blocked" if measure == MapMeasure.BLOCKED else "exchanges"
    rows = (
        usage_rows(element, days, ("country",))
        .values("country")
        .annotate(value=Sum(field))
        .order_by("-value", "country")
    )
    names = country_names()
    countries, internal = [], 0
    for row in rows:
        if not row["value"]:
            continue
        if not row["country"]:
            internal = row["value"]
            continue
        countries.append({"code": row["country"], "name": names.get(row["country"], row["country"]),
                          "value": number(row["value"])})  # fmt: skip
    return {
        "measure": measure,
        "measure_label": MapMeasure(measure).label,
        "unit": "",
        "countries": countries,
        "internal": number(internal),
        "max": max((c["value"] for c in countries), default=0),
    }


BUILDERS = {
    ElementKind.TOP_N: top_n_data,
    ElementKind.CHART: chart_data,
    ElementKind.TOTALS: totals_data,
    ElementKind.MAP: map_data,
}


def filters_text(element: Element) -> str:
    parts = []
    if element.agent_id:
        parts.append(f"agent {element.agent.name}")
    if element.group_id:
        parts.append(f"group {element.group.name}")
    if element.user_id:
        parts.append(f"user {element.user.name or element.user.email}")
    if element.channel:
        parts.append(f"channel {CHANNEL_LABELS[element.channel]}")
    return ", ".join(parts)


def element_data(element: Element, *, today: date | None = None) -> dict:
    """The element's numbers for its period as of ``today`` (default: the company's today)."""
    today = today or company_today(element.company)
    days = resolve_period(element.period, today=today, start=element.start_date, end=element.end_date)
    return {
        "id": element.public_id,
        "kind": element.kind,
        "title": element.title,
        "period": days.as_dict(),
        "filters": filters_text(element),
        **BUILDERS[element.kind](element, days),
    }
