"""Dashboards, their elements, and the daily rollups their numbers come from.

A Dashboard belongs to one person (its owner, the only one who may change it) and is either private or shared
with the company (every admin, monitor and compliance officer of the company sees it). An Element is one tile:
Top N, a chart, totals or a map, with a title, a period and filters.

DailyUsage and DailyScanHits are rollups of the chat's UsageRecords and the scanners' ScanHits: one row per
company, day (in the company's time zone), agent, user, channel and country (usage) or scanner (hits). They are
kept current by receivers of the chat's and scanners' signals (apps/dashboards/receivers.py) and can be rebuilt
from the facts at any time (``manage.py rebuild_rollups``); nothing else depends on them.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.accounts.models import Group
from apps.agents.models import Agent
from apps.companies.models import CompanyOwnedModel


def new_public_id() -> str:
    return str(uuid.uuid4())


class Dashboard(CompanyOwnedModel):
    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboards")
    name = models.CharField(max_length=120)
    shared = models.BooleanField(
        "shared with the company",
        default=False,
        help_text="Every admin, monitor and compliance officer of the company sees it; only its owner changes it.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["company", "owner"], name="dashboards_company_owner")]

    def __str__(self) -> str:
        return self.name


class ElementKind(models.TextChoices):
    TOP_N = "top_n", "Top N"
    CHART = "chart", "Chart"
    TOTALS = "totals", "Totals"
    MAP = "map", "Map"


class Period(models.TextChoices):
    LAST_7 = "last_7", "Last 7 days"
    LAST_30 = "last_30", "Last 30 days"
    LAST_90 = "last_90", "Last 90 days"
    THIS_MONTH = "this_month", "This month"
    LAST_MONTH = "last_month", "Last month"
    CUSTOM = "custom", "Custom dates"


class Subject(models.TextChoices):
    USERS = "users", "Users"
    AGENTS = "agents", "Agents"
    GROUPS = "groups", "Groups"
    SCANNERS = "scanners", "Scanner kinds"


class Measure(models.TextChoices):
    EXCHANGES = "exchanges", "Exchanges (prompts)"
    MESSAGES = "messages", "Messages"
    TOKENS = "tokens", "Tokens"
    COST = "cost", "Cost (USD)"
    FLAGGED = "flagged", "Flagged exchanges"
    BLOCKED = "blocked", "Blocked prompts"
    HITS = "hits", "Scanner hits"


class ChartType(models.TextChoices):
    LINE = "line", "Line (over time)"
    BAR = "bar", "Bar (over time)"
    DOUGHNUT = "doughnut", "Doughnut (share by category)"


class Interval(models.TextChoices):
    DAY = "day", "By day"
    WEEK = "week", "By week"
    MONTH = "month", "By month"


class Split(models.TextChoices):
    NONE = "", "No split"
    AGENT = "agent", "By agent"
    USER = "user", "By user"


class Category(models.TextChoices):
    AGENT = "agent", "Agent"
    USER = "user", "User"
    OUTCOME = "outcome", "Outcome"
    SCANNER = "scanner", "Scanner kind"
    CHANNEL = "channel", "Channel"


class MapMeasure(models.TextChoices):
    PROMPTS = "prompts", "Prompts"
    BLOCKED = "blocked", "Blocked prompts"


class Channel(models.TextChoices):
    ANY = "", "Any channel"
    API = "api", "API"
    WEB = "web", "Web"


class Element(CompanyOwnedModel):
    """One tile of a dashboard. Which fields matter depends on ``kind`` (services.ELEMENT_FIELDS)."""

    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="elements")
    kind = models.CharField(max_length=8, choices=ElementKind.choices)
    title = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    width = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text="Quarters of the dashboard's width: 1 (a quarter) to 4 (the whole row).",
    )
    period = models.CharField(max_length=12, choices=Period.choices, default=Period.LAST_30)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    # Filters (all optional, combined with AND).
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, blank=True, default="")
    # Top N
    subject = models.CharField(max_length=10, choices=Subject.choices, blank=True, default="")
    limit = models.PositiveSmallIntegerField(
        "N", default=10, validators=[MinValueValidator(3), MaxValueValidator(25)], help_text="3 to 25."
    )
    # Top N and charts
    measure = models.CharField(max_length=10, choices=Measure.choices, blank=True, default="")
    # Charts
    chart_type = models.CharField(max_length=10, choices=ChartType.choices, blank=True, default="")
    interval = models.CharField(max_length=6, choices=Interval.choices, blank=True, default="")
    split = models.CharField(max_length=6, choices=Split.choices, blank=True, default="")
    category = models.CharField(max_length=8, choices=Category.choices, blank=True, default="")
    # Maps
    map_measure = models.CharField(max_length=8, choices=MapMeasure.choices, blank=True, default="")
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class UsageCounts(models.Model):
    """What an exchange adds to a rollup row (apps/dashboards/rollups.py, ``usage_counts``)."""

    exchanges = models.PositiveIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0, help_text="Conversations whose first exchange this is.")
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal(0))
    flagged = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    incomplete = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DailyUsage(CompanyOwnedModel, UsageCounts):
    """The exchanges of one day (company time zone), agent, user, channel and caller country, summed: the rollup
    every element can be computed from, whatever its filters."""

    day = models.DateField()
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    channel = models.CharField(max_length=8)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day", "agent", "user", "channel", "country"], name="dashboards_usage_key"
            )
        ]
        indexes = [models.Index(fields=["company", "day"], name="dashboards_usage_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.exchanges} exchanges"


class DailyUserUsage(CompanyOwnedModel, UsageCounts):
    """The same sums per day and user only: about a sixth of DailyUsage's rows, for the elements that neither
    filter nor group by agent, channel or country (totals, per-person rankings and charts)."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "day", "user"], name="dashboards_user_usage_key")]
        indexes = [models.Index(fields=["company", "day"], name="dashboards_user_usage_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.exchanges} exchanges"


class DailyAgentUsage(CompanyOwnedModel, UsageCounts):
    """The same sums per day, agent and channel: for the elements about agents, channels and outcomes without a
    person filter (a few rows a day)."""

    day = models.DateField()
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "day", "agent", "channel"], name="dashboards_agent_usage_key")
        ]
        indexes = [models.Index(fields=["company", "day"], name="dashboards_agent_usage_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.exchanges} exchanges"


class DailyScanHits(CompanyOwnedModel):
    """The scanner hits of one day (company time zone), agent, user, channel and scanner, counted."""

    day = models.DateField()
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, null=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    channel = models.CharField(max_length=8, blank=True)
    scanner = models.CharField(max_length=32)
    hits = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day", "agent", "user", "channel", "scanner"], name="dashboards_hits_key"
            )
        ]
        indexes = [models.Index(fields=["company", "day"], name="dashboards_hits_day")]


class DailyAgentScanHits(CompanyOwnedModel):
    """Scanner hits per day, agent and scanner only, for the elements without a person or channel filter."""

    day = models.DateField()
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, null=True, related_name="+")
    scanner = models.CharField(max_length=32)
    hits = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "day", "agent", "scanner"], name="dashboards_agent_hits_key")
        ]
        indexes = [models.Index(fields=["company", "day"], name="dashboards_agent_hits_day")]
