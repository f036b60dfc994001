"""Writes of monitoring: alert rules, issues (opened or repeated by the evaluation, changed and commented by
monitors), and the notification outbox. Every write is audited and every issue change lands in its history."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.agents.models import Agent
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.chat.models import UsageRecord
from apps.companies.models import Company
from apps.monitoring import delivery
from apps.monitoring.delivery import INTERNAL_WEBHOOK_MESSAGE, is_internal_host
from apps.monitoring.models import (
    ACTIVE_STATUSES,
    AlertRule,
    Channel,
    ConditionKind,
    Issue,
    IssueChange,
    IssueComment,
    IssueLink,
    IssueStatus,
    Notification,
    Severity,
)
from apps.scanners.models import ScanHit

# The fields each condition kind uses; the others are reset to their defaults when a rule is saved.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    ConditionKind.SCANNER_HIT: ("scanner", "min_score", "direction", "hit_action"),
    ConditionKind.BLOCKED_PROMPT: (),
    ConditionKind.USAGE: ("measure", "threshold", "period"),
    ConditionKind.ERROR_RATE: ("threshold", "period", "min_exchanges"),
    ConditionKind.LOGIN_FAILURES: ("failure_count", "window_minutes", "login_key"),
}
CONDITION_FIELDS = (
    "scanner",
    "min_score",
    "direction",
    "hit_action",
    "measure",
    "threshold",
    "period",
    "min_exchanges",
    "failure_count",
    "window_minutes",
    "login_key",
)
PLAIN_FIELDS = ("name", "description", "kind", "severity", "enabled", "notify_email", "webhook_url")
SCOPE_FIELDS = ("agents", "groups", "users")
MAX_LINKS_PER_ISSUE = 50  # a flood of hits on one conversation counts on, without a row per hit
WEBHOOK_SECRET_PREFIX = "whsec_"


def rules_cache_key(company_id: int) -> str:
    return f"airisk:monitoring:event-rules:{company_id}"


def _forget_cached_rules(company: Company) -> None:
    transaction.on_commit(lambda: cache.delete(rules_cache_key(company.pk)))


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def validate_webhook_url(url: str) -> None:
    parts = urlsplit(url or "")
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ValidationError({"webhook_url": "The webhook URL must be an http:// or https:// address."})
    # A name is resolved when the webhook is sent (delivery.py checks every address then); an address or
    # "localhost" given here is judged now.
    if url and not settings.MONITORING_WEBHOOK_ALLOW_PRIVATE and is_internal_host(parts.hostname):
        raise ValidationError({"webhook_url": INTERNAL_WEBHOOK_MESSAGE.format(host=parts.hostname)})


def validate_rule(company: Company, data: dict[str, Any]) -> dict[str, Any]:
    """The rule's fields checked for its condition kind, the other kinds' fields reset. Raises ValidationError
    with a message per field."""
    errors: dict[str, str] = {}
    kind = data.get("kind")
    if kind not in ConditionKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(ConditionKind.values)}."})
    if not (data.get("name") or "").strip():
        errors["name"] = "Give the rule a name."
    if data.get("severity") not in Severity.values:
        errors["severity"] = f"Choose one of: {', '.join(Severity.values)}."
    defaults = {name: AlertRule._meta.get_field(name).get_default() for name in CONDITION_FIELDS}
    clean = {**data, **{name: defaults[name] for name in CONDITION_FIELDS if name not in KIND_FIELDS[kind]}}
    for name in KIND_FIELDS[kind]:
        if clean.get(name) in (None, ""):
            clean[name] = defaults[name]
    if kind == ConditionKind.SCANNER_HIT:
        if not clean.get("scanner"):
            errors["scanner"] = "Choose the scanner whose hits raise the alert."
        if not 0 <= float(clean.get("min_score") or 0) <= 1:
            errors["min_score"] = "A risk score is between 0 and 1."
    if kind in (ConditionKind.USAGE, ConditionKind.ERROR_RATE):
        threshold = clean.get("threshold")
        if threshold is None or Decimal(threshold) <= 0:
            errors["threshold"] = "Give a threshold above 0."
        elif kind == ConditionKind.ERROR_RATE and Decimal(threshold) > 100:
            errors["threshold"] = "An error rate is a percentage: at most 100."
        if not clean.get("period"):
            errors["period"] = "Choose the period."
    if kind == ConditionKind.USAGE and not clean.get("measure"):
        errors["measure"] = "Choose cost or tokens."
    if kind == ConditionKind.ERROR_RATE and int(clean.get("min_exchanges") or 0) < 1:
        errors["min_exchanges"] = "At least 1 exchange."
    if kind == ConditionKind.LOGIN_FAILURES:
        if int(clean.get("failure_count") or 0) < 2:
            errors["failure_count"] = "A burst is at least 2 failed logins."
        if not 1 <= int(clean.get("window_minutes") or 0) <= 1440:
            errors["window_minutes"] = "Between 1 and 1440 minutes."
        if not clean.get("login_key"):
            errors["login_key"] = "Count per account or per address."
    try:
        validate_webhook_url(clean.get("webhook_url") or "")
    except ValidationError as exc:
        errors.update({key: value[0] for key, value in exc.message_dict.items()})
    for name in SCOPE_FIELDS:
        for obj in clean.get(name) or []:
            if obj.company_id != company.pk:  # the forms and the API look them up in the company already
                errors[name] = "Choose from your company only."
    if errors:
        raise ValidationError(errors)
    return clean


def _rule_changes(rule: AlertRule, clean: dict[str, Any]) -> list[str]:
    changed = [
        name for name in (*PLAIN_FIELDS, *CONDITION_FIELDS) if name in clean and getattr(rule, name) != clean[name]
    ]
    if rule.pk:
        for name in SCOPE_FIELDS:
            if name in clean and {o.pk for o in getattr(rule, name).all()} != {o.pk for o in clean[name]}:
                changed.append(name)
    return changed


def _apply(rule: AlertRule, clean: dict[str, Any]) -> None:
    for name in (*PLAIN_FIELDS, *CONDITION_FIELDS):
        if name in clean:
            setattr(rule, name, clean[name])


@transaction.atomic
def alert_rule_create(*, company: Company, actor: Actor, data: dict[str, Any]) -> tuple[AlertRule, str]:
    """A new rule. Returns it and its webhook secret (shown once; "" without a webhook)."""
    clean = validate_rule(company, data)
    rule = AlertRule(company=company, created_by=actor.user)
    _apply(rule, clean)
    secret = new_webhook_secret() if rule.webhook_url else ""
    rule.webhook_secret = secret
    rule.save()
    for name in SCOPE_FIELDS:
        getattr(rule, name).set(clean.get(name) or [])
    audit_event_record(
        action="monitoring.rule_created", company=company, actor=actor, target=rule, detail={"kind": rule.kind}
    )
    _forget_cached_rules(company)
    return rule, secret


@transaction.atomic
def alert_rule_update(
    *, company: Company, actor: Actor, rule: AlertRule, data: dict[str, Any]
) -> tuple[AlertRule, str]:
    """Change a rule (``data`` may hold only some fields). A webhook added to a rule without a secret gets one,
    returned once; otherwise the secret returned is ""."""
    assert rule.company_id == company.pk
    current = {name: getattr(rule, name) for name in (*PLAIN_FIELDS, *CONDITION_FIELDS)}
    current.update({name: list(getattr(rule, name).all()) for name in SCOPE_FIELDS})
    clean = validate_rule(company, {**current, **data})
    changed = _rule_changes(rule, clean)
    _apply(rule, clean)
    secret = ""
    if rule.webhook_url and not rule.webhook_secret:
        secret = rule.webhook_secret = new_webhook_secret()
    rule.updated = timezone.now()
    rule.save()
    for name in SCOPE_FIELDS:
        getattr(rule, name).set(clean.get(name) or [])
    if changed:
        audit_event_record(
            action="monitoring.rule_updated", company=company, actor=actor, target=rule, detail={"fields": changed}
        )
    _forget_cached_rules(company)
    return rule, secret


@transaction.atomic
def alert_rule_set_enabled(*, company: Company, actor: Actor, rule: AlertRule, enabled: bool) -> AlertRule:
    assert rule.company_id == company.pk
    if rule.enabled != enabled:
        rule.enabled = enabled
        rule.updated = timezone.now()
        rule.save(update_fields=["enabled", "updated"])
        audit_event_record(
            action="monitoring.rule_enabled" if enabled else "monitoring.rule_disabled",
            company=company,
            actor=actor,
            target=rule,
        )
        _forget_cached_rules(company)
    return rule


@transaction.atomic
def alert_rule_rotate_secret(*, company: Company, actor: Actor, rule: AlertRule) -> str:
    """A new webhook secret (the old one stops verifying at once). Returned once, never shown again."""
    assert rule.company_id == company.pk
    secret = rule.webhook_secret = new_webhook_secret()
    rule.save(update_fields=["webhook_secret"])
    audit_event_record(action="monitoring.rule_secret_rotated", company=company, actor=actor, target=rule)
    return secret


@transaction.atomic
def alert_rule_delete(*, company: Company, actor: Actor, rule: AlertRule) -> None:
    """Delete a rule; its issues stay (with the rule's name) for the record."""
    assert rule.company_id == company.pk
    audit_event_record(
        action="monitoring.rule_deleted", company=company, actor=actor, target=rule, detail={"name": rule.name}
    )
    rule.delete()
    _forget_cached_rules(company)


# --- issues ---------------------------------------------------------------------------------------------------


@dataclass
class Trigger:
    """What an evaluation found: the issue's subject and the events to link."""

    key: str
    title: str
    agent: Agent | None = None
    subject_user: ApplicationUser | None = None
    conversation_public_id: str = ""
    usage_records: list[UsageRecord] = field(default_factory=list)
    scan_hits: list[ScanHit] = field(default_factory=list)
    audit_events: list[AuditEvent] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    count: int = 1  # how many occurrences this trigger adds to a repeated issue
    when: datetime | None = None


def _label(actor: Actor) -> str:
    return actor.label[:254]


def _change(issue: Issue, actor: Actor, field_name: str, before: str = "", after: str = "") -> None:
    IssueChange.objects.create(
        company_id=issue.company_id,
        issue=issue,
        actor=actor.user,
        actor_label=_label(actor) if actor.type != "system" else "AIRisk",
        field=field_name,
        before=str(before)[:300],
        after=str(after)[:300],
    )


def _link_summary_hit(hit: ScanHit) -> str:
    return f"{hit.scanner} {hit.action} on the {hit.direction} (score {hit.score:.2f})"


def _link_summary_record(record: UsageRecord) -> str:
    outcome = {"completed": "answered", "incomplete": "answered in part", "failed": "failed", "blocked": "blocked"}
    return f"Exchange {outcome.get(record.outcome, record.outcome)} ({record.channel})"


def _add_links(issue: Issue, trigger: Trigger) -> None:
    room = MAX_LINKS_PER_ISSUE - issue.links.count()
    rows = []
    for hit in trigger.scan_hits:
        rows.append(
            IssueLink(
                scan_hit=hit,
                message_public_id=hit.message_public_id,
                conversation_public_id=hit.conversation_public_id,
                summary=_link_summary_hit(hit),
                occurred=hit.created or timezone.now(),
            )
        )
    for record in trigger.usage_records:
        rows.append(
            IssueLink(
                usage_record=record,
                message_public_id=record.message.public_id if record.message_id else "",
                conversation_public_id=trigger.conversation_public_id,
                summary=_link_summary_record(record),
                occurred=record.created,
            )
        )
    for event in trigger.audit_events:
        rows.append(
            IssueLink(
                audit_event=event,
                summary=f"{event.action} by {event.actor_label or event.actor_type} from {event.ip or '?'}"[:300],
                occurred=event.created,
            )
        )
    for row in rows[: max(room, 0)]:
        row.company_id = issue.company_id
        row.issue = issue
    if room > 0:
        IssueLink.objects.bulk_create(rows[:room])


def _active_issue(rule: AlertRule, key: str) -> Issue | None:
    return (
        Issue.objects.select_for_update()
        .filter(company_id=rule.company_id, rule=rule, dedup_key=key, status__in=ACTIVE_STATUSES)
        .first()
    )


def issue_raise(*, rule: AlertRule, trigger: Trigger, repeat: bool = True) -> tuple[Issue, bool]:
    """Open an issue for ``rule`` about ``trigger.key``, or, when one is active (open or acknowledged), count
    the trigger on it (``repeat``; period rules pass False: they only refresh the measured value, and never open
    a second issue for one key, i.e. one subject in one period). Notifications
    of a new issue go to the outbox in the same transaction. Returns (issue, opened)."""
    system = Actor.system()
    now = trigger.when or timezone.now()
    with transaction.atomic():
        issue = _active_issue(rule, trigger.key)
        if issue is None and not repeat:
            # A period rule's key names its period: an issue closed in this period stays closed until the next.
            closed = Issue.objects.filter(rule=rule, dedup_key=trigger.key).order_by("-id").first()
            if closed is not None:
                return closed, False
        if issue is None:
            try:
                with transaction.atomic():
                    issue = Issue.objects.create(
                        company_id=rule.company_id,
                        rule=rule,
                        rule_name=rule.name,
                        kind=rule.kind,
                        title=trigger.title[:300],
                        severity=rule.severity,
                        dedup_key=trigger.key,
                        agent=trigger.agent,
                        subject_user=trigger.subject_user,
                        conversation_public_id=trigger.conversation_public_id,
                        hit_count=trigger.count,
                        detail=trigger.detail,
                        first_seen=now,
                        last_seen=now,
                    )
            except IntegrityError:  # another request opened it a moment ago: count on it instead
                issue = _active_issue(rule, trigger.key)
            else:
                _change(issue, system, "opened", after=issue.title)
                _add_links(issue, trigger)
                audit_event_record(
                    action="monitoring.issue_opened",
                    company=rule.company,
                    actor=system,
                    target=issue,
                    detail={"rule": rule.name, "severity": issue.severity},
                )
                _queue_notifications(rule, issue)
                return issue, True
        if repeat:
            issue.hit_count += trigger.count
            issue.last_seen = now
            issue.updated = timezone.now()
            issue.save(update_fields=["hit_count", "last_seen", "updated"])
            _add_links(issue, trigger)
            _change(issue, system, "repeated", after=str(issue.hit_count))
            audit_event_record(
                action="monitoring.issue_repeated",
                company=rule.company,
                actor=system,
                target=issue,
                detail={"count": issue.hit_count},
            )
        elif trigger.detail and trigger.detail != issue.detail:
            issue.detail = trigger.detail
            issue.last_seen = now
            issue.updated = timezone.now()
            issue.save(update_fields=["detail", "last_seen", "updated"])
            _change(issue, system, "measured", after=trigger.detail.get("text", ""))
            audit_event_record(
                action="monitoring.issue_measured",
                company=rule.company,
                actor=system,
                target=issue,
                detail=trigger.detail,
            )
        return issue, False


def _assignee_label(user: ApplicationUser | None) -> str:
    return user.email if user is not None else "nobody"


def may_be_assigned(user: ApplicationUser, company: Company) -> bool:
    return user.company_id == company.pk and user.is_active and (user.role_monitor or user.role_admin)


_UNSET = object()


@transaction.atomic
def issue_update(
    *,
    company: Company,
    actor: Actor,
    issue: Issue,
    status: str | None = None,
    severity: str | None = None,
    assignee: ApplicationUser | object | None = _UNSET,
) -> list[str]:
    """Change an issue's status, severity and/or assignee (a monitor or admin of the company, or None). Each
    change is in the history and in one audit event. Returns the fields changed."""
    assert issue.company_id == company.pk
    issue = Issue.objects.select_for_update().get(pk=issue.pk)
    changed = []
    if status is not None and status != issue.status:
        if status not in IssueStatus.values:
            raise ValidationError({"status": f"Choose one of: {', '.join(IssueStatus.values)}."})
        if (
            status in ACTIVE_STATUSES
            and issue.rule_id
            and Issue.objects.filter(rule_id=issue.rule_id, dedup_key=issue.dedup_key, status__in=ACTIVE_STATUSES)
            .exclude(pk=issue.pk)
            .exists()
        ):
            raise ValidationError({"status": "A newer issue of this rule about the same subject is active."})
        _change(issue, actor, "status", issue.status, status)
        changed.append("status")
        issue.status = status
    if severity is not None and severity != issue.severity:
        if severity not in Severity.values:
            raise ValidationError({"severity": f"Choose one of: {', '.join(Severity.values)}."})
        _change(issue, actor, "severity", issue.severity, severity)
        changed.append("severity")
        issue.severity = severity
    if assignee is not _UNSET and getattr(assignee, "pk", None) != issue.assignee_id:
        if assignee is not None and not may_be_assigned(assignee, company):
            raise ValidationError({"assignee": "Assign the issue to a monitor or an admin of your company."})
        _change(issue, actor, "assignee", _assignee_label(issue.assignee), _assignee_label(assignee))
        changed.append("assignee")
        issue.assignee = assignee
    if changed:
        issue.updated = timezone.now()
        issue.save()
        audit_event_record(
            action="monitoring.issue_updated",
            company=company,
            actor=actor,
            target=issue,
            detail={"fields": changed, "status": issue.status, "severity": issue.severity},
        )
    return changed


@transaction.atomic
def issue_comment_add(*, company: Company, actor: Actor, issue: Issue, text: str) -> IssueComment:
    assert issue.company_id == company.pk
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write a comment."})
    if len(text) > 10_000:
        raise ValidationError({"text": "A comment has at most 10,000 characters."})
    comment = IssueComment.objects.create(
        company=company, issue=issue, author=actor.user, author_label=_label(actor), text=text
    )
    _change(issue, actor, "comment", after=text[:120])
    Issue.objects.filter(pk=issue.pk).update(updated=timezone.now())
    audit_event_record(action="monitoring.issue_commented", company=company, actor=actor, target=issue)
    return comment


# --- notifications (the outbox; delivery.py sends them) ------------------------------------------------------------


def monitor_emails(company: Company) -> list[str]:
    """The company's monitors (its admins when it has no monitor), active, with an e-mail address."""
    people = ApplicationUser.objects.filter(company=company, is_active=True).exclude(email="")
    monitors = list(people.filter(role_monitor=True).values_list("email", flat=True))
    return monitors or list(people.filter(role_admin=True).values_list("email", flat=True))


def issue_payload(issue: Issue, event: str = "issue.opened") -> dict[str, Any]:
    """The webhook's JSON body (and the e-mail's facts): no message text, only what identifies the issue."""
    return {
        "event": event,
        "company": issue.company.slug,
        "issue": {
            "id": issue.public_id,
            "title": issue.title,
            "severity": issue.severity,
            "status": issue.status,
            "condition": issue.kind,
            "rule": {"id": issue.rule.public_id, "name": issue.rule_name} if issue.rule_id else None,
            "count": issue.hit_count,
            "agent": issue.agent.public_id if issue.agent_id else None,
            "user": issue.subject_user.userid if issue.subject_user_id else None,
            "conversation": issue.conversation_public_id or None,
            "firstSeen": issue.first_seen.isoformat(),
            "detail": issue.detail,
        },
    }


def _queue_notifications(rule: AlertRule, issue: Issue) -> None:
    payload = issue_payload(issue)
    rows = []
    if rule.notify_email:
        rows.append(Notification(channel=Channel.EMAIL, target=", ".join(monitor_emails(rule.company))[:500]))
    if rule.webhook_url:
        rows.append(Notification(channel=Channel.WEBHOOK, target=rule.webhook_url))
    if not rows:
        return
    for row in rows:
        row.company_id = rule.company_id
        row.issue = issue
        row.payload = payload
    created = Notification.objects.bulk_create(rows)
    ids = [row.pk for row in created if row.pk] or list(
        Notification.objects.filter(issue=issue).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: delivery.deliver_in_background(ids))
