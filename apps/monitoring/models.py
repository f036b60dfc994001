"""Alert rules, the issues they open, and what happens to an issue: linked events, comments, history and the
notifications sent about it (an outbox: written with the issue, delivered after the transaction commits).

A rule has one condition kind; the fields of the other kinds stay at their defaults. Event rules (a scanner hit,
a blocked prompt) are evaluated as the chat and the scanners record their events; period rules (a user's usage,
an agent's error rate, a login failure burst) by the ``evaluate_alerts`` command (login bursts also as they
happen). One rule keeps at most one *active* (open or acknowledged) issue per subject (a conversation, a
user and period, an agent and period, an account or address): repeated hits update it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Group
from apps.agents.models import Agent
from apps.audit.models import AuditEvent
from apps.chat.models import UsageRecord
from apps.companies.models import CompanyOwnedModel
from apps.core.fields import EncryptedTextField
from apps.scanners.models import SCANNER_CHOICES, ScanHit


def new_public_id() -> str:
    return str(uuid.uuid4())


class ConditionKind(models.TextChoices):
    SCANNER_HIT = "scanner_hit", "A scanner hit"
    BLOCKED_PROMPT = "blocked_prompt", "A blocked prompt"
    USAGE = "usage", "A user's cost or token use in a period"
    ERROR_RATE = "error_rate", "An agent's error rate in a period"
    LOGIN_FAILURES = "login_failures", "A burst of failed logins"


EVENT_KINDS = (ConditionKind.SCANNER_HIT, ConditionKind.BLOCKED_PROMPT)
PERIOD_KINDS = (ConditionKind.USAGE, ConditionKind.ERROR_RATE, ConditionKind.LOGIN_FAILURES)


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_ORDER = {value: rank for rank, value in enumerate(Severity.values)}


class Period(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class UsageMeasure(models.TextChoices):
    COST = "cost", "Cost (USD)"
    TOKENS = "tokens", "Tokens (input + output)"


class LoginKey(models.TextChoices):
    ACCOUNT = "account", "One account"
    ADDRESS = "address", "One IP address"


class Direction(models.TextChoices):
    PROMPT = "prompt", "Prompt"
    ANSWER = "answer", "Answer"
    FILE = "file", "File"


class HitAction(models.TextChoices):
    FLAG = "flag", "Flag"
    REDACT = "redact", "Redact"
    BLOCK = "block", "Block"


class AlertRule(CompanyOwnedModel):
    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    kind = models.CharField("condition", max_length=20, choices=ConditionKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    enabled = models.BooleanField(default=True)
    # (a) a scanner hit: which scanner, at least which score, optionally which direction and action.
    scanner = models.CharField(max_length=32, choices=SCANNER_CHOICES, blank=True)
    min_score = models.FloatField("at least the risk score", default=0.0)
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True, help_text="Empty: any.")
    hit_action = models.CharField("action", max_length=8, choices=HitAction.choices, blank=True)
    # (c) usage and (d) error rate: a threshold in a period; (d) also a minimum number of exchanges.
    measure = models.CharField(max_length=8, choices=UsageMeasure.choices, blank=True)
    threshold = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    period = models.CharField(max_length=8, choices=Period.choices, blank=True)
    min_exchanges = models.PositiveIntegerField(default=10)
    # (e) a login failure burst: N failures in M minutes for one account or one address.
    failure_count = models.PositiveIntegerField(default=5)
    window_minutes = models.PositiveIntegerField(default=10)
    login_key = models.CharField(max_length=8, choices=LoginKey.choices, blank=True)
    # Scope: empty means all. A user matches if named or a member of a named group.
    agents = models.ManyToManyField(Agent, blank=True, related_name="+")
    groups = models.ManyToManyField(Group, blank=True, related_name="+")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # What it does besides opening an issue.
    notify_email = models.BooleanField("e-mail the monitors", default=False)
    webhook_url = models.URLField(max_length=500, blank=True)
    # HMAC-SHA256 key of the webhook's signature: generated once, shown once, encrypted at rest.
    webhook_secret = EncryptedTextField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["company", "enabled", "kind"], name="monitoring_rule_enabled")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_period_rule(self) -> bool:
        return self.kind in PERIOD_KINDS


class IssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


ACTIVE_STATUSES = (IssueStatus.OPEN, IssueStatus.ACKNOWLEDGED)


class Issue(CompanyOwnedModel):
    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="issues")
    rule_name = models.CharField(max_length=120, blank=True, help_text="The rule's name when the issue opened.")
    kind = models.CharField("condition", max_length=20, choices=ConditionKind.choices)
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=14, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the issue is about: one rule keeps one active issue per key (conversation, user+period, ...).
    dedup_key = models.CharField(max_length=200)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation_public_id = models.CharField(max_length=36, blank=True)
    hit_count = models.PositiveIntegerField(default=1)
    detail = models.JSONField(default=dict, blank=True, help_text="The measured value of a period rule, etc.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen", "-id"]
        indexes = [
            models.Index(fields=["company", "status", "-last_seen"], name="monitoring_issue_queue"),
            models.Index(fields=["rule", "dedup_key"], name="monitoring_issue_key"),
        ]
        constraints = [
            # The database keeps repeated hits on one issue, even when two requests race.
            models.UniqueConstraint(
                fields=["rule", "dedup_key"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="monitoring_one_active_issue_per_key",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class IssueLink(CompanyOwnedModel):
    """One triggering event of an issue: an exchange (usage record), a scanner hit or an audit event."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="links")
    usage_record = models.ForeignKey(UsageRecord, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    scan_hit = models.ForeignKey(ScanHit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    audit_event = models.ForeignKey(AuditEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message_public_id = models.CharField(max_length=36, blank=True)
    conversation_public_id = models.CharField(max_length=36, blank=True)
    summary = models.CharField(max_length=300)
    occurred = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred", "-id"]


class IssueComment(CompanyOwnedModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_label = models.CharField(max_length=254)
    text = models.TextField()
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created", "id"]


class IssueChange(CompanyOwnedModel):
    """The issue's history: every change of a field, every comment and repeated hit, by whom."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_label = models.CharField(max_length=254)
    field = models.CharField(max_length=20)  # opened | status | assignee | severity | comment | repeated | notified
    before = models.CharField(max_length=300, blank=True)
    after = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created", "id"]


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(CompanyOwnedModel):
    """The outbox: written in the transaction that opens the issue, delivered after it commits (off the request
    path), retried with a growing wait; its result shows on the issue's page."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="The webhook URL, or the e-mail recipients.")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["status", "next_attempt"], name="monitoring_outbox_due")]
