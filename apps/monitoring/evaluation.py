"""Evaluating alert rules.

Event rules (a scanner hit, a blocked prompt) run in the receivers of the chat's and the scanners' signals, in
the request that recorded the event: the company's enabled event rules come from the cache (one query per
company every few minutes, dropped whenever a rule changes), so an exchange that matches no rule costs one cache
read. Period rules (usage, error rate, login bursts) run in ``evaluate_alerts``: one grouped query per rule over
the indexed (company, created) columns, in calendar periods of the company's time zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.chat.models import ExchangeOutcome, UsageRecord
from apps.companies.models import Company
from apps.monitoring.models import (
    ACTIVE_STATUSES,
    EVENT_KINDS,
    PERIOD_KINDS,
    AlertRule,
    ConditionKind,
    Issue,
    LoginKey,
    Period,
    UsageMeasure,
)
from apps.monitoring.services import Trigger, issue_raise, rules_cache_key
from apps.scanners.models import ScanHit

RULES_CACHE_SECONDS = 300
LINKS_PER_PERIOD_ISSUE = 10


@dataclass(frozen=True)
class RuleSpec:
    """An enabled event rule as the cache keeps it: just what matching needs."""

    id: int
    kind: str
    scanner: str
    min_score: float
    direction: str
    hit_action: str
    agent_ids: frozenset[int]
    user_ids: frozenset[int]
    group_ids: frozenset[int]

    def matches_hit(self, hit: ScanHit) -> bool:
        return (
            hit.scanner == self.scanner
            and hit.score >= self.min_score
            and (not self.direction or hit.direction == self.direction)
            and (not self.hit_action or hit.action == self.hit_action)
        )


def event_rules(company_id: int) -> list[RuleSpec]:
    key = rules_cache_key(company_id)
    specs = cache.get(key)
    if specs is None:
        rules = AlertRule.objects.filter(company_id=company_id, enabled=True, kind__in=EVENT_KINDS).prefetch_related(
            "agents", "users", "groups"
        )
        specs = [
            RuleSpec(
                id=rule.pk,
                kind=rule.kind,
                scanner=rule.scanner,
                min_score=rule.min_score,
                direction=rule.direction,
                hit_action=rule.hit_action,
                agent_ids=frozenset(a.pk for a in rule.agents.all()),
                user_ids=frozenset(u.pk for u in rule.users.all()),
                group_ids=frozenset(g.pk for g in rule.groups.all()),
            )
            for rule in rules
        ]
        cache.set(key, specs, RULES_CACHE_SECONDS)
    return specs


class _Scope:
    """Does a rule's scope take in this agent and user? The user's groups are read once, only if needed."""

    def __init__(self, agent_id: int | None, user_id: int | None) -> None:
        self.agent_id, self.user_id = agent_id, user_id
        self._groups: set[int] | None = None

    def groups(self) -> set[int]:
        if self._groups is None:
            self._groups = (
                set(
                    Group.members.through.objects.filter(applicationuser_id=self.user_id).values_list(
                        "group_id", flat=True
                    )
                )
                if self.user_id
                else set()
            )
        return self._groups

    def takes(self, spec: RuleSpec) -> bool:
        if spec.agent_ids and self.agent_id not in spec.agent_ids:
            return False
        if not spec.user_ids and not spec.group_ids:
            return True
        return self.user_id in spec.user_ids or bool(spec.group_ids & self.groups())


def _raise_for(matches: list[tuple[RuleSpec, Trigger]]) -> list[tuple[Issue, bool]]:
    if not matches:
        return []
    rules = AlertRule.objects.select_related("company").in_bulk([spec.id for spec, _ in matches])
    return [issue_raise(rule=rules[spec.id], trigger=trigger) for spec, trigger in matches if spec.id in rules]


def _hit_title(rule_kind: str, hits: list[ScanHit], agent: Agent | None) -> str:
    where = f" with {agent.name}" if agent is not None else ""
    if rule_kind == ConditionKind.BLOCKED_PROMPT:
        names = ", ".join(sorted({h.scanner for h in hits})) or "a scanner"
        return f"Prompt blocked by {names}{where}"
    top = max(hits, key=lambda h: h.score)
    return f"{top.scanner} {top.action} on the {top.direction} (score {top.score:.2f}){where}"


def evaluate_exchange(record: UsageRecord, hits: list[ScanHit]) -> list[tuple[Issue, bool]]:
    """The event rules on one chat exchange (an answer, or a blocked prompt) and its scanner hits."""
    specs = event_rules(record.company_id)
    if not specs:
        return []
    scope = _Scope(record.agent_id, record.user_id)
    conversation = key = None  # looked up on the first match only: most exchanges match no rule
    matches = []
    for spec in specs:
        if not scope.takes(spec):
            continue
        if spec.kind == ConditionKind.BLOCKED_PROMPT:
            matched = [h for h in hits if h.action == "block"] if record.outcome == ExchangeOutcome.BLOCKED else []
            if record.outcome != ExchangeOutcome.BLOCKED:
                continue
        else:
            matched = [h for h in hits if spec.matches_hit(h)]
            if not matched:
                continue
        if key is None:
            conversation = next((h.conversation_public_id for h in hits if h.conversation_public_id), "")
            if not conversation and record.conversation_id:
                conversation = record.conversation.public_id
            key = f"conversation:{conversation}" if conversation else f"exchange-user:{record.user_id or 'none'}"
        trigger = Trigger(
            key=key,
            title=_hit_title(spec.kind, matched, record.agent),
            agent=record.agent,
            subject_user=record.user,
            conversation_public_id=conversation,
            usage_records=[record],
            scan_hits=matched,
        )
        matches.append((spec, trigger))
    return _raise_for(matches)


def evaluate_hits(company: Company, hits: list[ScanHit], actor: Actor, source: str) -> list[tuple[Issue, bool]]:
    """Scanner-hit rules on hits the Scanner API or a file upload recorded (chat hits come with their exchange)."""
    specs = [spec for spec in event_rules(company.pk) if spec.kind == ConditionKind.SCANNER_HIT]
    if not specs or not hits:
        return []
    user = actor.user
    agent_id = hits[0].agent_id
    scope = _Scope(agent_id, getattr(user, "pk", None))
    conversation = next((h.conversation_public_id for h in hits if h.conversation_public_id), "")
    if conversation:
        key = f"conversation:{conversation}"
    elif actor.client is not None:
        key = f"{source}:client:{actor.client.client_id}"
    else:
        key = f"{source}:user:{getattr(user, 'userid', 'none')}"
    agent = hits[0].agent if agent_id else None
    matches = []
    for spec in specs:
        matched = [h for h in hits if spec.matches_hit(h)]
        if matched and scope.takes(spec):
            trigger = Trigger(
                key=key,
                title=_hit_title(spec.kind, matched, agent) + f" ({source})",
                agent=agent,
                subject_user=user if isinstance(user, ApplicationUser) else None,
                conversation_public_id=conversation,
                scan_hits=matched,
            )
            matches.append((spec, trigger))
    return _raise_for(matches)


# --- period rules ---------------------------------------------------------------------------------------------------


def period_bounds(period: str, now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The calendar period (in the company's time zone) that holds ``now``: [start, end)."""
    local = timezone.localtime(now, zoneinfo.ZoneInfo(time_zone or "UTC"))
    if period == Period.HOUR:
        start = local.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.DAY:
        end = start + timedelta(days=1)
    elif period == Period.WEEK:
        start -= timedelta(days=start.weekday())
        end = start + timedelta(days=7)
    else:
        start = start.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    # Across a daylight-saving change the wall-clock bounds are what people mean; normalize their offsets.
    tz = start.tzinfo
    return start.replace(tzinfo=None).replace(tzinfo=tz), end.replace(tzinfo=None).replace(tzinfo=tz)


def _scope_user_ids(rule: AlertRule) -> set[int] | None:
    """The users a rule's scope names (directly or through groups), or None for everyone."""
    users = {u.pk for u in rule.users.all()}
    groups = [g.pk for g in rule.groups.all()]
    if not users and not groups:
        return None
    members = Group.members.through.objects.filter(group_id__in=groups).values_list("applicationuser_id", flat=True)
    return users | set(members)


def _scoped_records(rule: AlertRule, start: datetime, end: datetime):
    records = UsageRecord.objects.filter(company_id=rule.company_id, created__gte=start, created__lt=end)
    agent_ids = [a.pk for a in rule.agents.all()]
    if agent_ids:
        records = records.filter(agent_id__in=agent_ids)
    user_ids = _scope_user_ids(rule)
    if user_ids is not None:
        records = records.filter(user_id__in=user_ids)
    return records


def _fmt(value: Decimal, measure: str) -> str:
    return f"${value:.2f}" if measure == UsageMeasure.COST else f"{int(value):,} tokens"


def evaluate_usage(rule: AlertRule, now: datetime) -> list[tuple[Issue, bool]]:
    start, end = period_bounds(rule.period, now, rule.company.time_zone)
    records = _scoped_records(rule, start, end).exclude(user_id=None)
    total = Sum("cost") if rule.measure == UsageMeasure.COST else Sum(F("input_tokens") + F("output_tokens"))
    rows = list(records.values("user_id").annotate(total=total).filter(total__gte=rule.threshold))
    users = ApplicationUser.objects.in_bulk([row["user_id"] for row in rows])
    results = []
    for row in rows:
        user = users[row["user_id"]]
        value = Decimal(row["total"])
        # The sum's scale differs between databases: keep 6 decimals of a cost, whole tokens.
        value = value.quantize(Decimal("0.000001")) if rule.measure == UsageMeasure.COST else Decimal(int(value))
        limit = _fmt(rule.threshold, rule.measure)
        text = f"{user.email} used {_fmt(value, rule.measure)} this {rule.period} (threshold {limit})"
        latest = list(
            records.filter(user_id=user.pk).select_related("message").order_by("-created")[:LINKS_PER_PERIOD_ISSUE]
        )
        trigger = Trigger(
            key=f"user:{user.userid}:{rule.period}:{start.isoformat()}",
            title=f"{rule.name}: {text}",
            subject_user=user,
            usage_records=latest,
            detail={
                "measure": rule.measure,
                "value": str(value),
                "threshold": str(rule.threshold),
                "period": rule.period,
                "periodStart": start.isoformat(),
                "text": text,
            },
            when=now,
        )
        results.append(issue_raise(rule=rule, trigger=trigger, repeat=False))
    return results


def evaluate_error_rate(rule: AlertRule, now: datetime) -> list[tuple[Issue, bool]]:
    start, end = period_bounds(rule.period, now, rule.company.time_zone)
    # A blocked prompt never reached the engine: it counts neither as an exchange nor as an error of the engine.
    records = _scoped_records(rule, start, end).exclude(outcome=ExchangeOutcome.BLOCKED)
    rows = (
        records.values("agent_id")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(outcome=ExchangeOutcome.FAILED)))
        .filter(total__gte=rule.min_exchanges, failed__gt=0)
    )
    results = []
    agents = None
    for row in rows:
        rate = Decimal(row["failed"] * 100) / Decimal(row["total"])
        if rate < rule.threshold:
            continue
        if agents is None:
            agents = Agent.objects.filter(company_id=rule.company_id).in_bulk()
        agent = agents[row["agent_id"]]
        text = (
            f"{agent.name} failed {row['failed']} of {row['total']} exchanges ({rate:.1f}%) this {rule.period} "
            f"(threshold {rule.threshold:.1f}%)"
        )
        failed = list(
            records.filter(agent_id=agent.pk, outcome=ExchangeOutcome.FAILED)
            .select_related("message")
            .order_by("-created")[:LINKS_PER_PERIOD_ISSUE]
        )
        trigger = Trigger(
            key=f"agent:{agent.public_id}:{rule.period}:{start.isoformat()}",
            title=f"{rule.name}: {text}",
            agent=agent,
            usage_records=failed,
            detail={
                "failed": row["failed"],
                "exchanges": row["total"],
                "rate": f"{rate:.1f}",
                "threshold": str(rule.threshold),
                "period": rule.period,
                "periodStart": start.isoformat(),
                "text": text,
            },
            when=now,
        )
        results.append(issue_raise(rule=rule, trigger=trigger, repeat=False))
    return results


def evaluate_login_failures(rule: AlertRule, now: datetime) -> list[tuple[Issue, bool]]:
    """N failed logins in the last M minutes for one account or address of the company. Failures already counted
    on an issue of this rule (open or closed) are not counted again, so a burst opens one issue once."""
    events = AuditEvent.objects.filter(
        company_id=rule.company_id, action="login.failed", created__gte=now - timedelta(minutes=rule.window_minutes)
    ).filter(created__lte=now)
    user_ids = _scope_user_ids(rule)
    if user_ids is not None:
        events = events.filter(user_id__in=user_ids)
    by_account = rule.login_key == LoginKey.ACCOUNT
    column = "user_id" if by_account else "ip"
    candidates = (
        events.exclude(**{f"{column}__isnull": True})
        .values(column)
        .annotate(n=Count("id"), last=Max("created"))
        .filter(n__gte=rule.failure_count)
    )
    results = []
    for row in candidates:
        value = row[column]
        if by_account:
            user = ApplicationUser.objects.filter(pk=value).first()
            if user is None:
                continue
            key, who = f"account:{user.userid}", user.email
        else:
            user, key, who = None, f"address:{value}", value
        latest = Issue.objects.filter(rule=rule, dedup_key=key).order_by("-last_seen").first()
        mine = events.filter(**{column: value})
        if latest is not None:
            mine = mine.filter(created__gt=latest.last_seen)
        fresh = list(mine.order_by("-created")[:200])
        active = latest is not None and latest.status in ACTIVE_STATUSES
        if not fresh or (not active and len(fresh) < rule.failure_count):
            continue
        text = f"{len(fresh)} failed logins for {who} within {rule.window_minutes} minutes"
        trigger = Trigger(
            key=key,
            title=f"{rule.name}: {text}",
            subject_user=user,
            audit_events=fresh[:LINKS_PER_PERIOD_ISSUE],
            detail={"failures": len(fresh), "windowMinutes": rule.window_minutes, "text": text},
            count=len(fresh),
            when=fresh[0].created,
        )
        results.append(issue_raise(rule=rule, trigger=trigger))
    return results


EVALUATORS: dict[str, Callable[[AlertRule, datetime], list[tuple[Issue, bool]]]] = {
    ConditionKind.USAGE: evaluate_usage,
    ConditionKind.ERROR_RATE: evaluate_error_rate,
    ConditionKind.LOGIN_FAILURES: evaluate_login_failures,
}


@dataclass
class EvaluationSummary:
    rules: int = 0
    opened: int = 0
    updated: int = 0


def evaluate_period_rules(
    *,
    now: datetime | None = None,
    company: Company | None = None,
    kinds: tuple[str, ...] = PERIOD_KINDS,
    progress: Callable[[AlertRule, list[tuple[Issue, bool]]], None] | None = None,
) -> EvaluationSummary:
    """Every enabled period rule (of one company, or all active companies). Idempotent: what a run found is
    already on an issue the next run finds."""
    now = now or timezone.now()
    rules = (
        AlertRule.objects.filter(enabled=True, kind__in=kinds, company__is_active=True)
        .select_related("company")
        .prefetch_related("agents", "users", "groups")
        .order_by("company_id", "id")
    )
    if company is not None:
        rules = rules.filter(company=company)
    summary = EvaluationSummary()
    for rule in rules:
        results = EVALUATORS[rule.kind](rule, now)
        summary.rules += 1
        summary.opened += sum(1 for _, opened in results if opened)
        summary.updated += sum(1 for _, opened in results if not opened)
        if progress is not None:
            progress(rule, results)
    return summary
