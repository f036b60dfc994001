"""Reads of monitoring, scoped to one company: rules, the issue queue, an issue's page and the conversation
excerpt around a hit (the hit message and its neighbours, truncated; never the user's whole history)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import ApplicationUser
from apps.agents.models import Agent
from apps.chat.models import Conversation, Message
from apps.companies.models import Company
from apps.monitoring.models import AlertRule, Issue, IssueLink

EXCERPT_NEIGHBOURS = 2  # messages shown before and after the hit message
EXCERPT_CHARS = 600


def rule_list(*, company: Company | None) -> QuerySet[AlertRule]:
    return AlertRule.objects.for_company(company).prefetch_related("agents", "groups", "users")


def get_rule_for_company(company: Company | None, public_id: str) -> AlertRule:
    return get_object_or_404(rule_list(company=company), public_id=str(public_id))


def issue_list(
    *,
    company: Company | None,
    status: str = "",
    severity: str = "",
    rule: str = "",
    assignee: str = "",
    agent: str = "",
) -> QuerySet[Issue]:
    """The queue, newest activity first. ``assignee`` is a userid or "none"; ``rule`` and ``agent`` public ids;
    ``status`` may be "active" (open or acknowledged)."""
    issues = Issue.objects.for_company(company).select_related("rule", "assignee", "agent", "subject_user")
    if status == "active":
        issues = issues.filter(status__in=["open", "acknowledged"])
    elif status:
        issues = issues.filter(status=status)
    if severity:
        issues = issues.filter(severity=severity)
    if rule:
        issues = issues.filter(rule__public_id=rule)
    if assignee == "none":
        issues = issues.filter(assignee__isnull=True)
    elif assignee:
        issues = issues.filter(assignee__userid=assignee)
    if agent:
        issues = issues.filter(agent__public_id=agent)
    return issues


def get_issue_for_company(company: Company | None, public_id: str) -> Issue:
    return get_object_or_404(issue_list(company=company), public_id=str(public_id))


def assignable_users(company: Company | None) -> QuerySet[ApplicationUser]:
    """Who may be assigned an issue: the company's active monitors and admins."""
    return (
        ApplicationUser.objects.for_company(company)
        .filter(is_active=True)
        .filter(Q(role_monitor=True) | Q(role_admin=True))
        .order_by("email")
    )


def agent_choices(company: Company | None) -> QuerySet[Agent]:
    return Agent.objects.for_company(company).filter(deleted_at__isnull=True).order_by("name")


def issue_links(issue: Issue) -> QuerySet[IssueLink]:
    return issue.links.select_related("scan_hit", "usage_record", "audit_event")


@dataclass
class ExcerptLine:
    message: Message
    text: str
    truncated: bool
    is_hit: bool


@dataclass
class Excerpt:
    conversation: Conversation
    lines: list[ExcerptLine] = field(default_factory=list)
    blocked_note: bool = False  # the triggering prompt was refused and never stored


def _line(message: Message, hit_ids: set[str]) -> ExcerptLine:
    text = message.text or ""
    return ExcerptLine(message, text[:EXCERPT_CHARS], len(text) > EXCERPT_CHARS, message.public_id in hit_ids)


def issue_excerpt(issue: Issue) -> Excerpt | None:
    """The messages around the issue's latest hit in its conversation: the hit message and EXCERPT_NEIGHBOURS
    on each side (or, for a blocked prompt that was never stored, the messages just before it)."""
    if not issue.conversation_public_id:
        return None
    conversation = (
        Conversation.objects.for_company(issue.company)
        .filter(public_id=issue.conversation_public_id)
        .select_related("user", "agent")
        .first()
    )
    if conversation is None:
        return None
    links = list(issue.links.order_by("-occurred", "-id")[:20])
    hit_ids = {link.message_public_id for link in links if link.message_public_id}
    messages = Message.objects.filter(company=issue.company, conversation=conversation)
    anchor = messages.filter(public_id__in=hit_ids).order_by("-created", "-id").first()
    excerpt = Excerpt(conversation)
    if anchor is not None:
        before = list(
            messages.filter(Q(created__lt=anchor.created) | Q(created=anchor.created, id__lt=anchor.id)).order_by(
                "-created", "-id"
            )[:EXCERPT_NEIGHBOURS]
        )
        after = list(
            messages.filter(Q(created__gt=anchor.created) | Q(created=anchor.created, id__gt=anchor.id)).order_by(
                "created", "id"
            )[:EXCERPT_NEIGHBOURS]
        )
        window = [*reversed(before), anchor, *after]
    else:
        when = links[0].occurred if links else issue.last_seen
        window = list(
            reversed(messages.filter(created__lte=when).order_by("-created", "-id")[: EXCERPT_NEIGHBOURS + 1])
        )
        excerpt.blocked_note = True
    excerpt.lines = [_line(message, hit_ids) for message in window]
    return excerpt
